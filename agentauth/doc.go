// Package agentauth is net/http middleware for servers that sell access to
// AI agents (Licentric's MCP monetization, docs/wire-protocol.md §12): MCP servers built
// on net/http and plain HTTP tool servers alike.
//
// Each request must carry an agent token, "Authorization: Bearer AGT-…",
// issued by the vendor with client.Agents.Authorize. The middleware checks
// it with the service (client.Agents.Verify), records the request's usage
// on a meter when the route is metered, puts the agent's identity in the
// request context (FromContext) and calls the next handler. Otherwise it
// answers with a JSON body an MCP client can show,
//
//	{"error": "invalid or expired agent credential", "code": "UNAUTHORIZED"}
//
// and these statuses:
//
//   - 401 UNAUTHORIZED for a missing, malformed, unknown, expired or revoked
//     token, with WWW-Authenticate: Bearer realm="…" (and error="invalid_token"
//     when a token was given);
//   - 402 METER_LIMIT_EXCEEDED when the call would pass the meter's hard
//     limit (the body's "meter" member holds the meter's state); nothing is
//     recorded;
//   - 403 FORBIDDEN when the token lacks a scope WithScopes requires
//     (WWW-Authenticate error="insufficient_scope");
//   - 429 RATE_LIMITED when the service rate-limits the token, and 503
//     SERVICE_UNAVAILABLE when it cannot be asked (both with Retry-After
//     when known); 500 INTERNAL_ERROR for the server's own configuration
//     errors (a meter name the service refuses).
//
// # Caching, metering and outages
//
// A positive answer is cached for DefaultCacheTTL (30 s), in a bounded
// cache keyed by the SHA-256 of the token (the token itself is never kept,
// logged or shown). So on unmetered routes an
// agent's token is checked with the service about twice a minute, and a
// token that expired, or whose agent was deleted, is refused within 30 s
// (a deleted agent's at once after ForgetAgent). The service's answer does
// not say when a token expires, so the cache cannot stop at the expiry
// itself.
//
// A metered request always calls the service, because only the service can
// record its usage and enforce the hard limit: a cached answer cannot
// charge. When the service cannot be asked, a metered request is refused
// with 503 rather than served unrecorded. This is the safe choice for a
// paywall: an outage never becomes free (or over-limit) use, and usage is
// never recorded twice (a metered verify is not retried after a 5xx or a
// lost answer, see licentric.AgentsService.Verify).
//
// On unmetered routes the rules are those of licentric.Client.Validate:
// when the service cannot be asked (network error, 5xx, 429, or the
// client's own rate budget spent), a token the service accepted within the
// last DefaultStaleIfError (5 minutes; WithStaleIfError) is served marked
// Stale, with the error in StaleReason; with such an answer to fall back
// on the middleware does not wait for the rate budget. Past that window,
// or for a token never seen, the answer is 503: an outage is never taken
// for an authorization (though within the window a token that has just
// expired may still be served; WithStaleIfError(0) turns this off).
//
// When WithScopes is set, a metered route checks the scopes before it
// records anything (a token's scopes are fixed when it is issued), so a
// refused call is never charged.
//
// # Rate limits
//
// Verify calls count against the *licentric.Client's MANAGEMENT rate
// budget (120 a minute by default), which the client shares with its
// API-key calls. Give the middleware a Client of its own (it needs no API
// key) and WithClock the same clock.
//
// # Floods of unknown tokens
//
// Anyone can send well-formed AGT- tokens the service never issued, and
// each would cost a verify call. So the middleware remembers a refused
// token for DefaultRefusalTTL (1 minute; WithRefusalTTL), by its SHA-256,
// and answers it 401 again without asking; and a token it does not know
// (no answer of the service cached) is verified within a share of the
// budget: DefaultUnknownTokenRate (30) calls a minute in all, at most
// DefaultUnknownTokenRatePerClient (10) from one client address
// (WithUnknownTokenRate; WithClientAddress behind a proxy). Past the share
// it is answered 503 SERVICE_UNAVAILABLE with Retry-After at once; it never
// waits for the budget. Concurrent requests of one unknown token share one
// verification (on a metered route an unknown token is first identified,
// then charged). Agents the service accepted keep the rest of the budget,
// and a new agent keeps working while one client floods. What remains: a
// flood from many addresses spends the whole share, and new agents then
// wait for it like the flood (known agents still do not).
package agentauth
