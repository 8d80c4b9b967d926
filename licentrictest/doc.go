// Package licentrictest runs an in-process Licentric service on a loopback
// port, for tests of the SDK and of applications that use it. It implements
// the wire contract in full over real HTTP: licenses, machines, validation,
// offline checkout with Ed25519-signed license files, products, policies,
// entitlements, webhooks (really delivered, signed and retried), live/test
// environments, API-key scopes and rate limits. Its clock is controllable
// (Advance, SetNow), so expiry, heartbeats, file TTLs and rate windows can
// be tested without sleeping; faults can be injected; every request, event
// and delivery can be inspected.
//
//	srv := licentrictest.NewServer()
//	defer srv.Close()
//	fx, _ := srv.Seed(licentrictest.Seed{})
//	// point a client at srv.URL with srv.TestAPIKey(); validate fx.License.Key
//
// # How it differs from the live service
//
//   - State lives in memory, inside the Server value, and is gone after
//     Close. Every Server is its own account with its own keys.
//   - It serves plain HTTP on 127.0.0.1 (the client accepts http:// only for
//     loopback); there is no TLS, no proxy and no CDN in front of it.
//   - Its clock is simulated and stands still unless moved; the live service
//     runs on real time.
//   - Every client reaches it from 127.0.0.1, so the per-IP tiers
//     (VALIDATION, ACTIVATION) are shared by every client in the test process.
//   - Webhooks may target http:// loopback URLs (the live service takes only
//     public https URLs), and retry waits can be shortened.
//   - Plan quotas (monthly requests, license counts), the dashboard, Stripe
//     provisioning and the MCP/agent endpoints are not implemented.
//   - Helpers that have no API (BanLicense, SetLicenseStatus, Seed, fault
//     injection, request and delivery logs) exist only here.
//
// # Decisions where the contract is silent
//
//   - The clock stands still: it moves only with Advance and SetNow. Lists
//     order by creation sequence, so equal timestamps don't matter.
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
//   - Rate limits are counted before routing and auth, so 401s and 404s use
//     budget too; unknown routes are MANAGEMENT. MANAGEMENT is keyed by the
//     Bearer token when it is a known, unrevoked key, else by client IP (so
//     random tokens can't mint fresh budgets). A refused request does not use
//     budget. With limits off (WithoutRateLimits, or a limit <= 0) the headers
//     report the tier's default limit with full remaining. Injected faults are
//     answered before rate limiting and use no budget; their headers show the
//     current window (Remaining 0 for an injected 429).
//   - Request checks run: rate limit, route (404), auth (401), scope (403),
//     body size (400), body JSON (400), then the endpoint's own order. JSON
//     member names are matched as encoding/json does (case-insensitively);
//     unknown members are ignored.
//   - validate-key: key is required (1..512 chars); a fingerprint of any
//     length is accepted (one no machine has is FINGERPRINT_NOT_FOUND); an
//     empty fingerprint counts as absent. license.activated
//     fires after the first validation.success. Soft-deleted licenses are
//     NOT_FOUND and their keys are refused (401) as License credentials.
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
//     resources that are not deleted. Custom license keys are 1..255 chars
//     without whitespace, unique across both environments and deleted licenses.
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
//     (plus banned), machines by status, activations per UTC day for the last
//     7 days (including machines deleted since) and validate-key calls that
//     found a license.
//   - Injected faults match the first queued fault by method and path; a
//     Status fault with Status 0 answers 500; Retry-After is sent for 429
//     (possibly 0) and for 503 when RetryAfter > 0.
package licentrictest
