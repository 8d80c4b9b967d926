// Package webhook receives Licentric webhook deliveries: it checks their
// signature, parses them into typed events and serves them as an
// http.Handler that drops duplicates.
//
// Licentric POSTs each event as a JSON body
// {"id": "evt_…", "type": "license.created", "createdAt": "…", "data": {…}}
// with the header X-Webhook-Signature holding the lowercase hex
// HMAC-SHA256 of the raw body, keyed with the webhook's signing secret.
// [Verify] checks that signature in constant time against one or more
// secrets (several during a rotation); [Parse] decodes the body;
// [ConstructEvent] does both and hands out data only after the signature
// holds. [Sign] and [NewRequest] build signed deliveries for tests.
//
// Delivery is at least once: a delivery that fails or times out is retried,
// so the same event id can arrive more than once, and events can arrive out
// of order. Consumers must be idempotent and dedupe on the event id; order
// by CreatedAt or by the resource's updatedAt, not by arrival. [Handler]
// keeps a bounded memory of recently processed ids, never runs the callback
// twice at once for one id, and does not remember an id whose callback
// failed, so the service's retry is processed.
//
// Replays: the signature covers the body only, and anyone who captured a
// delivery can resend it unchanged. The body's createdAt is signed with it,
// so [Handler] refuses (400, [ErrTooOld]) a delivery whose createdAt is
// further from its clock than the tolerance ([DefaultTolerance], five
// minutes, well past the service's retry schedule; [WithTolerance],
// [WithClock]), in the past or the future, and one without createdAt; the
// memory of seen ids only has to cover that window. [WithDedupStore] keeps
// that memory in a cache.Store (a cache.File survives restarts). After
// [ConstructEvent], [Event.CheckTimestamp] runs the same check. Effects
// that must happen exactly once still belong behind a durable check of the
// event id in the consumer's own store.
//
// Event types are the untyped string constants [EventLicenseCreated] and
// the rest ([EventTypes] lists them), which compare with [Event.Type].
// A Handler and an Event format (fmt) and log (slog) without secrets or
// the license data.
//
// This package imports nothing from the licentric root package (it uses the
// leaf packages cache, clock and resource).
package webhook
