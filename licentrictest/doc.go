// Package licentrictest runs an in-process Licentric service, for tests of
// the SDK and of applications that use it, in the manner of
// net/http/httptest. It implements the wire contract in full over real
// HTTP: licenses, machines, validation, offline checkout with
// Ed25519-signed license files, products, policies, entitlements, webhooks
// (really delivered, signed and retried), analytics, AI-agent identities
// with tokens and meters, live/test environments, API-key scopes and rate
// limits. Its clock flows with real time and can be moved (Advance, SetNow)
// or frozen (WithFrozenClock, Freeze), so expiry, heartbeats, file TTLs and
// rate windows can be tested without sleeping; faults can be injected;
// requests, events and deliveries can be inspected.
//
//	srv := licentrictest.NewServer()
//	defer srv.Close()
//	fx, _ := srv.Seed(licentrictest.Seed{})
//	// point a client at srv.URL with srv.TestAPIKey(); validate fx.License.Key
//
// # Time
//
// By default the server's clock reads its start (time.Now() at NewServer,
// or WithStartTime) plus the real time elapsed since, plus whatever Advance
// and SetNow added (SetNow sets the current reading; time flows on from
// there). A client on the wall clock therefore sees honest rate-limit
// windows: after a 429, retrying after Retry-After real seconds succeeds.
// A test that wants exact time uses WithFrozenClock (or Freeze) and passes
// srv.Clock() to licentric.WithClock, so client and server share one
// simulated time in which only Advance and SetNow move anything. The
// Clock's After channels fire when the server clock reaches their deadline,
// by real time (while it flows) or by Advance and SetNow.
//
// # Without a socket: testing/synctest
//
// WithInMemory starts a server that opens no socket; Client and Transport
// call its handler in the calling goroutine. Inside a testing/synctest
// bubble such a server, started in the bubble, runs on the bubble's clock
// (its flowing clock is built on time.Now), so a test can let 14 days pass
// in microseconds of real time with no WithClock at all:
//
//	synctest.Test(t, func(t *testing.T) {
//		srv := licentrictest.NewServer(licentrictest.WithInMemory())
//		defer srv.Close()
//		client := srv.Client() // or &http.Client{Transport: srv.Transport()}
//		// ... validate, then time.Sleep(14 * 24 * time.Hour), validate again
//	})
//
// Webhook deliveries can stay in memory too: WithWebhookTransport(
// HandlerTransport(receiver)). A server that listens on loopback can still
// be reached through Transport, but its accept loop is network I/O, which a
// bubble never counts as durably blocked; use WithInMemory there.
//
// # Standalone: licentric serve and the control API
//
// WithAddr picks the loopback address to listen on, ControlURL serves a
// small unauthenticated control API on the same listener (advance the
// clock, toggle rate limits, mint scoped keys, ban a license, list
// requests; see ControlURL), and SeedFile / SeedJSON load fixtures from a
// JSON file with this shape (every member optional):
//
//	{
//	  "entitlements": [{"env": "test", "code": "pro", "name": "Pro"}],
//	  "products": [{
//	    "env": "test",
//	    "name": "Desktop App", "code": "desktop", "keyPrefix": "DSK",
//	    "policies": [{
//	      "name": "Standard", "maxMachines": 3, "offlineAllowed": true,
//	      "entitlements": ["pro"],
//	      "licenses": [
//	        {"key": "DSK-TEST-0000-0000-0001", "name": "CI", "entitlements": ["pro"]},
//	        {"key": "DSK-TEST-0000-0000-0002", "status": "suspended"}
//	      ]
//	    }]
//	  }]
//	}
//
// env is "test" (the default) or "live"; policies and licenses live in
// their product's. A product takes the members of POST /products, a policy
// those of POST /policies (productId is implied; an absent maxMachines
// means unlimited, as with Seed), a license those of POST /licenses
// (productId and policyId implied; key optional, generated when absent;
// expiresAt, metadata, ... as in the API). "entitlements" lists codes, of
// this file or already on the server. A license's "status" is active (the
// default), suspended, revoked or banned. Unknown members are errors, and a
// seed with any error creates nothing.
//
// # Environments
//
// Every resource lives in the live or the test environment (EnvLive,
// EnvTest), and an API key's prefix names its environment. Seed, SeedJSON
// and licentric serve --seed create fixtures in test unless told live.
// validate-key without an API key, as an application client without one
// sends it, looks the key up in live, so it answers NOT_FOUND for a license
// seeded in test: seed that license with Env: EnvLive ("env": "live" in a
// seed file), or validate with TestAPIKey. License-key auth
// ("Authorization: License <key>") finds a license in either environment.
//
// # The OpenAPI document, and where the server differs from the live service
//
// The server serves the OpenAPI 3.1 document of its API at
// GET /api/v1/openapi.json (OpenAPI, Server.OpenAPIURL), generated from its
// route table and wire types and checked against every exchange of this
// package's tests. docs/licentrictest.md in the SDK's repository lists
// where the server differs from the live service and the decisions it
// takes where the service's documentation is silent; docs/wire-protocol.md
// describes the protocol it serves.
package licentrictest
