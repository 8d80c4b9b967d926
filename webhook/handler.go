package webhook

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/licentric/licentric-go/cache"
	"github.com/licentric/licentric-go/clock"
	"github.com/licentric/licentric-go/internal/wire"
)

// DefaultDedupSize is how many processed event ids a Handler remembers
// unless WithDedupSize says otherwise.
const DefaultDedupSize = 1024

// Handler is an http.Handler that receives webhook deliveries. Build it with
// NewHandler. It is safe for concurrent use.
//
// For each request it answers:
//   - 405 to anything but POST;
//   - 413 to a body over the cap (MaxBodyBytes by default);
//   - 401 when X-Webhook-Signature is missing or does not verify;
//   - 400 when the body is not a valid event;
//   - 400 when the event's signed createdAt is missing or further than the
//     tolerance (DefaultTolerance, WithTolerance) from the Handler's clock,
//     in the past (a replay: ErrTooOld) or the future; the callback does
//     not run. A 400, not a 401 or 500: the signature held, and retrying
//     the same bytes cannot succeed (the service's own retries all come
//     within seconds of createdAt), while the failure stays visible in the
//     service's delivery log when the receiver's clock is wrong;
//   - 200 without calling the callback when the event id was already
//     processed (a duplicate delivery);
//   - 500 when the callback returns an error — the id is not remembered,
//     so the service's retry is processed;
//   - 200 when the callback succeeds; the id is then remembered.
//
// A delivery whose id is being processed by another request waits for that
// request to finish (or for its own context to end, answering 503), so the
// callback never runs twice at once for one id. The memory of ids is
// bounded (WithDedupSize) and lost on restart unless WithDedupStore adds a
// store that survives it; the tolerance bounds how long an id must be
// remembered. See the package documentation.
//
// The service waits 10 s for an answer: a slow callback should hand the
// event off (to a queue) rather than do the work inline.
type Handler struct {
	fn        func(ctx context.Context, e *Event) error
	secrets   []string
	maxBody   int64
	log       *slog.Logger
	clock     clock.Clock
	tolerance time.Duration
	store     cache.Store // optional durable memory of processed ids

	mu       sync.Mutex
	seen     *idRing
	inflight map[string]chan struct{}

	onWait func(id string) // test hook: a request starts waiting for id
}

// HandlerOption configures a Handler.
type HandlerOption func(*Handler) error

// WithSecrets sets the signing secrets (required). Give the old and the new
// secret during a rotation. No secret, or any empty one, is an error
// matching ErrNoSecret.
func WithSecrets(secrets ...string) HandlerOption {
	return func(h *Handler) error {
		if err := checkSecrets(secrets); err != nil {
			return err
		}
		h.secrets = append([]string(nil), secrets...)
		return nil
	}
}

// WithDedupSize sets how many processed event ids the Handler remembers
// (default DefaultDedupSize); the oldest is forgotten first. Zero turns the
// memory off (concurrent deliveries of one id are still serialised);
// a negative size is an error.
func WithDedupSize(n int) HandlerOption {
	return func(h *Handler) error {
		if n < 0 {
			return fmt.Errorf("webhook: dedup size %d is negative", n)
		}
		h.seen = newIDRing(n)
		return nil
	}
}

// WithTolerance sets how far an event's signed createdAt may lie from the
// Handler's clock, in the past or the future (default DefaultTolerance). A
// d <= 0 is an error: the check can't be turned off, because without it a
// captured delivery replays once its id has left the dedup memory.
func WithTolerance(d time.Duration) HandlerOption {
	return func(h *Handler) error {
		if d <= 0 {
			return fmt.Errorf("webhook: tolerance %v is not positive", d)
		}
		h.tolerance = d
		return nil
	}
}

// WithClock sets the clock the tolerance is checked against (default
// clock.Wall{}); pass the application's clock, or a licentrictest
// server's in tests. A nil clock is an error.
func WithClock(c clock.Clock) HandlerOption {
	return func(h *Handler) error {
		if c == nil {
			return errors.New("webhook: nil clock")
		}
		h.clock = c
		return nil
	}
}

// WithDedupStore adds a store, such as a cache.File, that remembers
// processed event ids beyond the in-memory ring and across restarts. Each id
// is kept (under its SHA-256, never the raw id) for twice the tolerance,
// longer than a delivery with its createdAt is accepted, so the store's TTL
// expiry is all the pruning it needs. A failure to write the store is
// logged; the delivery still succeeds. A nil store is an error.
func WithDedupStore(s cache.Store) HandlerOption {
	return func(h *Handler) error {
		if s == nil {
			return errors.New("webhook: nil dedup store")
		}
		h.store = s
		return nil
	}
}

// WithMaxBodyBytes sets the largest body accepted (default MaxBodyBytes);
// it must be positive.
func WithMaxBodyBytes(n int64) HandlerOption {
	return func(h *Handler) error {
		if n <= 0 {
			return fmt.Errorf("webhook: max body bytes %d is not positive", n)
		}
		h.maxBody = n
		return nil
	}
}

// WithLogger sets the logger for refused and failed deliveries. The
// default, and a nil logger, log nothing.
func WithLogger(l *slog.Logger) HandlerOption {
	return func(h *Handler) error {
		if l == nil {
			l = slog.New(slog.DiscardHandler)
		}
		h.log = l
		return nil
	}
}

// NewHandler returns a Handler that calls fn once for each verified,
// parsed, not yet processed event. WithSecrets is required.
func NewHandler(fn func(ctx context.Context, e *Event) error, opts ...HandlerOption) (*Handler, error) {
	if fn == nil {
		return nil, errors.New("webhook: NewHandler: nil callback")
	}
	h := &Handler{
		fn:        fn,
		maxBody:   MaxBodyBytes,
		log:       slog.New(slog.DiscardHandler),
		clock:     clock.Wall{},
		tolerance: DefaultTolerance,
		seen:      newIDRing(DefaultDedupSize),
		inflight:  make(map[string]chan struct{}),
	}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(h); err != nil {
			return nil, err
		}
	}
	if len(h.secrets) == 0 {
		return nil, fmt.Errorf("%w: NewHandler needs WithSecrets", ErrNoSecret)
	}
	return h, nil
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if r.ContentLength > h.maxBody {
		h.log.LogAttrs(ctx, slog.LevelWarn, "webhook: body too large", slog.Int64("length", r.ContentLength))
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.maxBody))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			h.log.LogAttrs(ctx, slog.LevelWarn, "webhook: body too large")
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		h.log.LogAttrs(ctx, slog.LevelWarn, "webhook: reading body", slog.String("error", err.Error()))
		http.Error(w, "cannot read body", http.StatusBadRequest)
		return
	}
	if err := Verify(body, r.Header.Get(wire.HeaderWebhookSignature), h.secrets...); err != nil {
		h.log.LogAttrs(ctx, slog.LevelWarn, "webhook: signature refused", slog.String("error", err.Error()))
		http.Error(w, "invalid signature", http.StatusUnauthorized)
		return
	}
	e, err := parse(body)
	if err != nil {
		h.log.LogAttrs(ctx, slog.LevelWarn, "webhook: bad event", slog.String("error", err.Error()))
		http.Error(w, "invalid event", http.StatusBadRequest)
		return
	}
	if err := e.CheckTimestamp(h.clock.Now(), h.tolerance); err != nil {
		h.log.LogAttrs(ctx, slog.LevelWarn, "webhook: event timestamp refused",
			slog.String("id", e.ID), slog.String("error", err.Error()))
		http.Error(w, "event timestamp outside the tolerance", http.StatusBadRequest)
		return
	}
	if id := r.Header.Get(wire.HeaderWebhookID); id != "" && id != e.ID {
		h.log.LogAttrs(ctx, slog.LevelWarn, "webhook: id header differs from body; using the body's",
			slog.String("id", e.ID))
	}
	if t := r.Header.Get(wire.HeaderWebhookEvent); t != "" && t != e.Type {
		h.log.LogAttrs(ctx, slog.LevelWarn, "webhook: event header differs from body; using the body's",
			slog.String("type", e.Type))
	}

	done, ok := h.claim(ctx, e.ID)
	if !ok {
		http.Error(w, "event is being processed", http.StatusServiceUnavailable)
		return
	}
	if done == nil {
		h.log.LogAttrs(ctx, slog.LevelDebug, "webhook: duplicate event", slog.String("id", e.ID))
		w.WriteHeader(http.StatusOK)
		return
	}
	if err := h.run(ctx, e, done); err != nil {
		h.log.LogAttrs(ctx, slog.LevelError, "webhook: callback failed",
			slog.String("id", e.ID), slog.String("type", e.Type), slog.String("error", err.Error()))
		http.Error(w, "event not processed", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// claim marks id in flight and returns the channel to close when done. It
// returns a nil channel when id was already processed, and ok == false
// when ctx ended while another request held id.
func (h *Handler) claim(ctx context.Context, id string) (done chan struct{}, ok bool) {
	for {
		h.mu.Lock()
		if h.seen.has(id) {
			h.mu.Unlock()
			return nil, true
		}
		busy, inFlight := h.inflight[id]
		if !inFlight {
			done = make(chan struct{})
			h.inflight[id] = done
			h.mu.Unlock()
			return h.checkStore(id, done), true
		}
		h.mu.Unlock()
		if h.onWait != nil {
			h.onWait(id)
		}
		select {
		case <-busy:
		case <-ctx.Done():
			return nil, false
		}
	}
}

// checkStore asks the dedup store, if any, about an id this request has
// claimed: outside the lock, so a slow store delays only deliveries of this
// id (which wait for the claim). An id found there is released as already
// processed (nil channel).
func (h *Handler) checkStore(id string, done chan struct{}) chan struct{} {
	if h.store == nil {
		return done
	}
	if _, ok := h.store.Get(storeKey(id)); !ok {
		return done
	}
	h.mu.Lock()
	h.seen.add(id)
	delete(h.inflight, id)
	h.mu.Unlock()
	close(done)
	return nil
}

// run calls the callback and releases the id, remembering it only on
// success. The release also happens if the callback panics.
func (h *Handler) run(ctx context.Context, e *Event, done chan struct{}) (err error) {
	succeeded := false
	defer func() {
		h.mu.Lock()
		if succeeded {
			h.seen.add(e.ID)
		}
		delete(h.inflight, e.ID)
		h.mu.Unlock()
		if succeeded && h.store != nil {
			if err := h.store.Set(storeKey(e.ID), []byte{1}, 2*h.tolerance); err != nil {
				h.log.LogAttrs(ctx, slog.LevelWarn, "webhook: could not record event id in the dedup store",
					slog.String("id", e.ID), slog.String("error", err.Error()))
			}
		}
		close(done)
	}()
	err = h.fn(ctx, e)
	succeeded = err == nil
	return err
}

// storeKeyPrefix starts the dedup store's keys.
const storeKeyPrefix = "webhook/v1/"

// storeKey is the dedup store's key of an event id: a hash, so that ids of
// any length make short keys.
func storeKey(id string) string {
	sum := sha256.Sum256([]byte(id))
	return storeKeyPrefix + hex.EncodeToString(sum[:16])
}
