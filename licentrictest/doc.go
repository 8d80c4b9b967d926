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
// # How it differs from the live service
//
//   - State lives in memory, inside the Server value, and is gone after
//     Close. Every Server is its own account with its own keys.
//   - It serves plain HTTP on loopback only (the client accepts http://
//     only for loopback); there is no TLS, no proxy and no CDN in front of
//     it. WithAddr refuses any non-loopback address. WithInMemory serves no
//     socket at all, at the placeholder URL http://127.0.0.1:0.
//   - Its clock can be moved and frozen; the live service runs on real time.
//     X-RateLimit-Reset, the Date header and every timestamp are on the
//     server's clock, so
//     after Advance or SetNow they differ from the wall clock.
//   - Every client reaches it from 127.0.0.1, so the per-IP tiers
//     (VALIDATION, ACTIVATION) are shared by every client in the test
//     process, in-memory clients included.
//   - Webhooks may target http:// loopback URLs (the live service takes only
//     public https URLs), retry waits can be shortened, and deliveries can
//     go through any RoundTripper (WithWebhookTransport).
//   - Plan quotas (monthly requests, license counts), the dashboard, Stripe
//     provisioning, invoices and migrations endpoints are not implemented.
//   - Helpers that have no API (BanLicense, SetLicenseStatus, Seed, SeedJSON,
//     fault injection, request and delivery logs, the control API) exist
//     only here.
//   - The request log keeps the last WithRequestLogSize requests (default
//     10,000), and Events and Deliveries the last WithEventLogSize (default
//     10,000) per environment and in all; Requests, CountRequests, Events
//     and Deliveries see only what is retained. A logged path or query is
//     cut at 2048 bytes.
//   - The server waits at most WithReadTimeout (default 5 s) for a
//     request's headers and body, and answers a declared Content-Length over
//     1 MiB at once, without reading the body.
//
// # Decisions where the contract is silent
//
//   - Lists order by creation sequence, so equal timestamps don't matter.
//   - A license is expired when now >= expiresAt (the same bound as a license
//     file's "now < expiresAt"). license.expired fires once per expiresAt, the
//     first time any request (or inspection method) sees it; renewing or
//     changing expiresAt re-arms it. Under REVOKE, validate-key then fires
//     license.revoked.
//   - Time-driven state (license.expired, machine.dead, culling) is evaluated
//     on every request and on every Go inspection method (License, Machine,
//     Events, Seed, ...). A machine culled under DEACTIVATE_DEAD fires only
//     machine.dead, not machine.deactivated. A heartbeat re-arms machine.dead.
//   - Heartbeats are accepted whatever the license's status.
//   - Routing is net/http.ServeMux with method and path patterns; an
//     unknown route or method (HEAD included), a path that is not clean
//     (ServeMux would redirect it) and "*" answer 404 NOT_FOUND in the error
//     envelope, never ServeMux's plain-text 404 or 405.
//   - Rate limits are counted before routing and auth, so 401s and 404s use
//     budget too; the tier of a request is wire.TierOf (the client's budget
//     reads the same function), so unknown routes are MANAGEMENT. MANAGEMENT
//     is keyed by the Bearer token when it is a known, unrevoked API key or
//     a known agent token, else by client IP (so random tokens can't mint
//     fresh budgets). A refused request does not use budget. With limits off
//     (WithoutRateLimits, SetRateLimits(false), or a limit <= 0) the headers
//     report the tier's default limit with full remaining. Injected faults
//     are answered before rate limiting and use no budget; their headers show
//     the current window (Remaining 0 for an injected 429).
//   - Request checks run: rate limit, route (404), auth (401), scope (403),
//     body size (400), body JSON (400), then the endpoint's own order. JSON
//     member names are matched as encoding/json does (case-insensitively);
//     unknown members are ignored. A body over 1 MiB is a 400
//     VALIDATION_ERROR and the connection closes after the answer.
//   - License keys (contract §13.1): a custom key is 1 to 16384 characters
//     of UTF-8, without control characters (Unicode Cc) and without leading
//     or trailing whitespace (Unicode White_Space); it is stored and
//     compared byte for byte, unique across both environments and deleted
//     licenses. validate-key, GET /licenses/by-key/{key} and license-key
//     auth take any key up to 16384 characters and refuse a longer one with
//     400 VALIDATION_ERROR; an unknown key is NOT_FOUND for validate-key and
//     by-key, and 401 for license-key auth (contract §2). In the header
//     "Authorization: License <key>" the credential is everything after the
//     scheme and the whitespace that follows it, so a key may contain
//     spaces. In a by-key path the key is one path-escaped segment
//     (wire.LicenseByKeyPath; "." and ".." are sent as %2E), so '/', '%',
//     spaces and non-ASCII letters round-trip.
//   - Metadata (contract §13.2) is stored as given, numbers with their
//     digits; member order is not kept. Serialized over 64 KiB it is a 400.
//   - validate-key: a fingerprint of any length is accepted (one no machine
//     has is FINGERPRINT_NOT_FOUND); an empty fingerprint counts as absent.
//     license.activated fires after the first validation.success.
//     Soft-deleted licenses are NOT_FOUND and their keys are refused (401)
//     as License credentials.
//   - GET /licenses/{id} and GET /licenses/by-key/{key} always carry
//     "machines" (the live machines, oldest first, dead ones under KEEP_DEAD
//     included; [] when none); no other response does.
//   - Machines: with an API key, licenseId is required (400); with license
//     auth, a licenseId naming another license is 404. cores must be >= 0.
//   - Deleting a license soft-deletes its machines (no machine events) and
//     fires license.deleted. Deleting a product, policy or entitlement is
//     always allowed: licenses keep their (now deleted) policy, shown in the
//     snapshot with deletedAt; a deleted entitlement disappears from every
//     entitlements list; new licenses can't use deleted resources (404).
//   - PATCH /licenses accepts name, userEmail, userName, expiresAt,
//     max*Override (null clears), metadata (replaced whole), entitlementIds
//     (replace the set) and policyId (same product only); key and productId
//     are ignored. It and attach/detach fire license.updated.
//   - renew checks the transition (409) before durationDays (422); the 422
//     uses code VALIDATION_ERROR as the contract says.
//   - Policies: maxMachines, maxUses >= 0; durationDays, trialDurationDays,
//     heartbeatIntervalMinutes, offlineMaxDays >= 1. Explicit null maxMachines
//     needs allowUnlimitedActivations even under the saas template (which
//     sets null itself when the field is absent). overridable defaults to
//     false. A PATCH of template stores it without refilling defaults.
//   - Product codes and entitlement codes are unique among the environment's
//     resources that are not deleted.
//   - Lists: an unknown filter id gives an empty page; an unknown status
//     filter is a 400; a cursor from the other environment is unknown (400).
//   - Checkout: only a missing (or empty) fingerprint is a 400 (§11.11); one
//     of any other length that no machine has is FINGERPRINT_NOT_FOUND in its
//     place in the order. ttl may be written 3600.0;
//     "ttl": null means the default; a License-key caller addressing another
//     license gets 404 after the 400 checks. The file's expiresAt is
//     issuedAt plus ttl, not capped by the license's expiresAt.
//   - Webhooks: the HMAC key is the whole secret string ("whsec_…") as bytes.
//     Redirects are not followed (a 3xx is a failed attempt). An explicit
//     empty events list is a 400. GET lists omit accountId. BanLicense fires
//     no event (no event type exists for it).
//   - GET /analytics counts the environment's licenses by reported status
//     (plus banned) and billable = total - expired, machines by status,
//     activations per UTC day for the last 7 days (including machines
//     deleted since) and validate-key calls that found a license.
//   - Agents (contract §12): ids are "agt_" and 32 hex digits; a name is 1
//     to 128 bytes. Tokens are "AGT-" and 43 base64url characters, stored
//     as their SHA-256, and expire on the server clock (ttlSeconds 60 to
//     2592000, default 3600, an integer); authorize needs 1 to 32 scopes of
//     [a-z0-9_.:-]. Deleting an agent deletes its tokens. Verify answers 401
//     for any token that is not live and well formed, including an API key;
//     a body that is not JSON, a quantity outside 1..1000000 or without
//     meterName, or a bad meter name is a 400. A meter that verify names
//     before any PUT exists with no limits and a monthly period. warning is
//     used > softLimit after the call; a blocked call records nothing. PUT
//     replaces both limits (absent = null = none; softLimit <= hardLimit,
//     both >= 0; period required) and keeps the usage unless the period
//     changes, which restarts the count.
//   - Injected faults match the first queued fault by method and path; a
//     Status fault with Status 0 answers 500; Retry-After is sent for 429
//     (possibly 0) and for 503 when RetryAfter > 0.
package licentrictest
