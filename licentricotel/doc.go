// Package licentricotel records what a licentric client does as
// OpenTelemetry metrics and traces. It implements licentric.Observer (the
// client itself has no OpenTelemetry dependency), as go-redis's redisotel
// does for go-redis:
//
//	obs, err := licentricotel.NewObserver(
//		licentricotel.WithMeterProvider(mp),  // default: otel.GetMeterProvider()
//		licentricotel.WithTracerProvider(tp)) // default: otel.GetTracerProvider()
//	if err != nil { ... }
//	defer obs.Close()
//	client, err := licentric.NewClient(licentric.WithObserver(obs), ...)
//
// Guards built on the client report through the same observer. One observer
// may serve several clients.
//
// # Metrics
//
//	licentric.validations              counter (obs.) licentric.code ("VALID", "SUSPENDED", ...),
//	                                                  licentric.source ("service", "cache", "stale", "fleet")
//	http.client.request.duration       histogram (s)  http.request.method, http.response.status_code,
//	                                                  url.template, server.address, server.port,
//	                                                  error.type (on failure); one per HTTP attempt
//	licentric.ratelimit.remaining      gauge          licentric.tier ("validation", "activation", "management"):
//	                                                  the last X-RateLimit-Remaining of the tier
//	licentric.ratelimit.rejections     counter        licentric.tier: responses 429
//	licentric.budget.waits             counter        licentric.tier: attempts that waited for the
//	                                                  client's own rate budget
//	licentric.guard.allowed            gauge (0/1)    licentric.source ("service", "cache", "license-file", "none")
//	licentric.license_file.remaining   gauge (s)      seconds until the guard's license file in force expires
//	licentric.fleet.fallbacks          counter        licentric.fleet.operation ("lookup", "store", "lock",
//	                                                  "budget", "invalidate"): fleet calls that failed while
//	                                                  the client went on with its local state
//
// The HTTP metric follows OpenTelemetry's semantic conventions (v1.43.0):
// error.type is the status code of an answer of 400 or more, else one of
// licentric's ErrorType constants ("timeout", "connection_refused", "dns",
// "tls", ...). A guard's gauge reports the source of its current decision
// only; with several guards, a source's value is 1 only when every guard
// deciding from it allows. The guard gauges are observed in a callback, read
// when the gauges are collected.
//
// Every attribute set is small and fixed: URL templates
// ("/api/v1/licenses/{id}"), never paths; result codes beyond the documented
// ones count as "_OTHER" once 32 of them have been seen.
//
// licentric.validations is an observable counter: a validation adds one to
// an atomic count kept per code and source (with its attribute set made
// when the observer is), and the count is read when the metrics are
// collected. A cached validation thus costs the observer one map lookup and
// one atomic addition, and allocates nothing (BENCHMARKS.md: 1.07x the same
// call without an observer, in instructions).
//
// Close unregisters the callback of the observable instruments
// (licentric.validations, licentric.guard.allowed,
// licentric.license_file.remaining), which are no longer reported after
// it: call it when done with the observer, after the last collection that
// should hold them (a meter provider's Shutdown collects once more, so
// shut the provider down first, as examples/telemetry does).
//
// # Traces
//
// One client span per API call (not per retry), named "{METHOD}
// {url.template}" (e.g. "POST /api/v1/licenses/validate-key"), with the HTTP
// attributes above, http.request.resend_count after retries, error.type and
// an error status on failure, and licentric.code on a validation's span. The
// span covers the call's waits for the rate budget (each an event
// licentric.budget.wait) and the decoding of its answer. The W3C trace
// context is injected into every attempt through the global propagator,
// otel.GetTextMapPropagator(), read at each call: set one, e.g.
// otel.SetTextMapPropagator(propagation.TraceContext{}), for the service to
// see it. A validation answered from the cache makes no span.
//
// # Secrets
//
// No license key, API key, agent token or fingerprint reaches a span name,
// attribute, event or metric attribute: the client names calls by their URL
// templates, and this package records no error text (a span's status
// description is its error.type).
//
// # A package of the licentric-go module
//
// licentricotel is a package of the module github.com/licentric/licentric-go,
// not a module of its own (as redisotel is for go-redis). The README's test
// command, go test ./..., then covers it, and the adapter and the hooks it
// implements change together in one commit and one version. The cost is that
// the module's go.mod requires go.opentelemetry.io/otel; the licentric package
// imports none of it, so an application that does not import licentricotel
// compiles and links no OpenTelemetry code (Go's module graph pruning keeps it
// out of the application's own go.mod too).
package licentricotel
