// Package licentric is a Go client for the Licentric software-licensing API.
//
// The shortest safe path for an application is a Guard (NewGuard): it
// validates, activates this machine, keeps heartbeats and an offline
// license file, falls back to that file when the service is unreachable,
// and follows webhooks, in a few lines.
//
// A licensed application that wants the parts builds a Client with NewClient and uses three
// calls: Validate checks a license key (a license that is not valid is a
// result with a Code, not an error; Validation.Err turns it into a sentinel
// such as ErrExpired), Activate registers this machine on the license,
// identified by a fingerprint (see WithAppID and package fingerprint), and
// StartHeartbeat keeps the machine alive when the policy requires
// heartbeats. Vendors' back ends add an API key (WithAPIKey) for the
// management calls; its lk_live_ or lk_test_ prefix selects the
// environment, and a test key validates test licenses.
//
// Validations are cheap to repeat. Results are cached (in memory by default,
// for DefaultCacheTTL; see WithValidationCache and package cache) under the
// environment, key, fingerprint and entitlements, never past the license's
// expiry; concurrent identical calls share one request; and a client-side
// rate budget per tier (WithRateBudget) keeps the client inside the
// service's limits, serving a cached result marked Stale, or waiting, rather
// than sending a request that would be refused. When the service is down,
// the last result is served marked Stale for a while (WithStaleIfError).
// WebhookHandler (see package webhook) and InvalidateLicense drop cached
// results at once, so a suspension is seen by the next Validate.
//
// The management API is reached through services on the client, in the
// go-github style: Products, Policies, Entitlements, Licenses, Machines,
// Webhooks, Keys, Analytics and Agents, each with typed requests whose unset fields stay off
// the wire. Lists are iterators (iter.Seq2) that page transparently, or
// ListPage for a page at a time.
//
// Checkout obtains a signed license file for offline use, and
// RefreshLicenseFile keeps a stored one fresh; package offline verifies it
// without a network. A machine that can never reach the service is licensed
// with a file carried each way: NewOfflineRequest describes it there (no
// socket), FulfillOfflineRequest activates it once and checks out its file
// on a connected computer (again: a renewal, never a second machine), and
// ReleaseOfflineRequest frees its seat when it is retired; each needs the
// license key only, as do EnsureActivated and DeactivateFingerprint.
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
// An Observer (WithObserver) hears what the client and its guards do: each
// API call by its URL template, each validation and where its answer came
// from, budget waits, fleet fallbacks, guard states. Package licentricotel
// implements it on OpenTelemetry; without one nothing is called.
//
// Options follow one pattern. What is built takes its own option type:
// NewClient an Option, NewGuard a GuardOption, StartHeartbeat a
// HeartbeatOption; a single call takes a value of its own (ValidateOption,
// AnalyticsOption, AgentVerifyOption). With* sets one thing, On* registers
// a callback, and Without* turns a thing off whatever the other options
// say, wherever it stands among them. An idea has one name: WithEntitlements
// requires entitlements of a Validate call and of a Guard's every decision.
//
// Package licentrictest runs a complete in-process server for tests and
// examples.
package licentric
