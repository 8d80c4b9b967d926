// Package licentric is a Go client for the Licentric software-licensing API.
//
// A licensed application builds a Client with NewClient and uses three
// calls: Validate checks a license key (a license that is not valid is a
// result with a Code, not an error), Activate registers this machine on the
// license, identified by a fingerprint (see WithAppID and package
// fingerprint), and StartHeartbeat keeps the machine alive when the policy
// requires heartbeats. Vendors' back ends add an API key (WithAPIKey) for the
// management calls; its lk_live_ or lk_test_ prefix selects the environment,
// and a test key validates test licenses.
//
// Requests go over HTTPS (plain http only to loopback), carry the contract's
// headers, and are retried with jittered exponential backoff on 429, 5xx and
// transport errors, honouring Retry-After; requests that create something
// are retried only on 429, except activation, which recovers its machine
// when a retry meets FINGERPRINT_CONFLICT. Responses are capped at 1 MiB.
// Every non-2xx is an *APIError (a *RateLimitError for 429) that matches
// sentinel errors such as ErrNotFound with errors.Is; error texts and logs
// never contain the API key or a full license key.
//
// Package licentrictest runs a complete in-process server for tests and
// examples; package offline verifies license files without a network.
package licentric
