package licentric

import (
	"context"
	"fmt"
	"strings"

	"github.com/licentric/licentric-go/webhook"
)

// Every write names, where it is called, the cached validation results it
// changes: an invalidation. Client.call drops them after the write
// succeeds (or after a retried write is found to have acted), so the client
// never contradicts its own writes; nothing is guessed from URLs or types.

// invalidation is what a write drops from the cache. The zero value drops
// nothing.
type invalidation struct {
	all  bool     // every result (a policy, product or entitlement changed)
	keys []string // every result of these license keys
	ids  []string // every result of the licenses with these ids
	// ofResult also drops the license named by the write's answer: a
	// *License (its key and id) or a *Machine (its license id).
	ofResult bool
}

// dropsNothing is the invalidation of a write that changes no validation.
func dropsNothing() invalidation { return invalidation{} }

// dropsLicenseKey drops the results of license key k.
func dropsLicenseKey(k string) invalidation { return invalidation{keys: []string{k}} }

// dropsLicenseID drops the results of the license with id, and of the
// license the answer names.
func dropsLicenseID(id string) invalidation {
	return invalidation{ids: []string{id}, ofResult: true}
}

// dropsAnswer drops the results of the license the answer names.
func dropsAnswer() invalidation { return invalidation{ofResult: true} }

// dropsAll drops every cached result.
func dropsAll() invalidation { return invalidation{all: true} }

// drop carries out inv after a write whose decoded answer is out (nil when
// it has none).
func (r *results) drop(inv invalidation, out any) {
	if inv.all {
		r.dropAll()
		return
	}
	for _, k := range inv.keys {
		r.dropKey(k)
	}
	for _, id := range inv.ids {
		r.dropID(id)
	}
	if inv.ofResult {
		switch o := out.(type) {
		case *License:
			if o != nil {
				r.dropKey(o.Key)
				r.dropID(o.ID)
			}
		case *Machine:
			if o != nil {
				r.dropID(o.LicenseID)
			}
		}
	}
}

// dropKey drops every result of license key, in every environment, locally
// and in the fleet.
func (r *results) dropKey(key string) {
	if key == "" {
		return
	}
	r.invalidations.Add(1)
	if r.store == nil {
		return
	}
	for _, env := range []Environment{EnvironmentLive, EnvironmentTest, EnvironmentNone} {
		r.store.DeletePrefix(r.licensePrefix(env, key))
	}
	if r.fleet != nil {
		fctx, cancel := context.WithTimeout(context.Background(), fleetTimeout)
		// recheck: this client does not yet tell a machine's activity
		// from a change of the license (see onFleetInvalidation).
		r.fleetResult(r.fleet.InvalidateLicense(fctx, r.licenseDigest(key), true))
		cancel()
	}
}

// dropID drops the results of the license with id if its key is known
// (results carry the license's id and key; the last few thousand are
// indexed). A license this client does not know is dropped conservatively:
// every result goes, rather than one the change contradicts.
func (r *results) dropID(id string) bool {
	if id == "" {
		return false
	}
	r.idMu.Lock()
	key, ok := r.ids[id]
	r.idMu.Unlock()
	if ok {
		r.dropKey(key)
	}
	return ok
}

// dropAll drops every cached result, locally and in the fleet.
func (r *results) dropAll() {
	r.invalidations.Add(1)
	if r.store == nil {
		return
	}
	r.store.DeletePrefix(cacheKeyVersion + "/")
	if r.fleet != nil {
		fctx, cancel := context.WithTimeout(context.Background(), fleetTimeout)
		r.fleetResult(r.fleet.InvalidateAll(fctx))
		cancel()
	}
}

// InvalidateLicense drops every cached validation result of license key,
// in every environment (and, with WithFleet, for the whole fleet), so that
// the next Validate asks the service.
func (c *Client) InvalidateLicense(key string) { c.results.dropKey(key) }

// InvalidateLicenseID drops the cached validation results of the license
// with id, if this client has cached a result naming it (results carry the
// license's id and key; the client keeps an index of the last few
// thousand). It reports whether the license was known; an unknown one
// drops nothing.
func (c *Client) InvalidateLicenseID(id string) bool { return c.results.dropID(id) }

// HandleWebhookEvent drops the cached validation results that e may have
// changed: those of the license of a license.* event (found by its key and
// id) and of a machine.* event (found by its licenseId; when this client has
// no result naming that license, every cached result is dropped, since the
// event may contradict one of them). validation.* events, which every
// validation fires, and other events change nothing. It never makes a
// request. Use it from a webhook consumer of your own; WebhookHandler wires
// it up.
func (c *Client) HandleWebhookEvent(ctx context.Context, e *webhook.Event) error {
	if e == nil {
		return fmt.Errorf("%w: nil webhook event", ErrInvalidArgument)
	}
	switch {
	case strings.HasPrefix(e.Type, "license."):
		if l, err := e.License(); err == nil {
			c.results.dropKey(l.Key)
			c.results.dropID(l.ID)
		} else if id := e.LicenseID(); id != "" && !c.results.dropID(id) {
			c.results.dropAll()
		}
	case strings.HasPrefix(e.Type, "machine."):
		if !c.results.dropID(e.LicenseID()) {
			c.results.dropAll()
		}
	}
	c.notifyGuards(e)
	return nil
}

// WebhookHandler returns a webhook.Handler that verifies deliveries with
// secrets (several during a rotation), drops the cached validation results
// each event may have changed (see HandleWebhookEvent), tells the client's
// guards (see Guard), and then calls next, if not nil. So a license
// suspended, revoked, renewed or changed on the service is seen by the next
// Validate at once, not after the cache TTL. opts are further
// webhook.HandlerOptions (logger, dedup store, tolerance, body cap); the
// age of a delivery is judged on the client's clock (WithClock).
//
// Register the handler's URL as a webhook for at least the license.* and
// machine.* events.
func (c *Client) WebhookHandler(secrets []string, next func(ctx context.Context, e *webhook.Event) error, opts ...webhook.HandlerOption) (*webhook.Handler, error) {
	fn := func(ctx context.Context, e *webhook.Event) error {
		if err := c.HandleWebhookEvent(ctx, e); err != nil {
			return err
		}
		if next != nil {
			return next(ctx, e)
		}
		return nil
	}
	// Deliveries' ages are judged on the client's clock (opts may say
	// otherwise).
	all := append([]webhook.HandlerOption{webhook.WithSecrets(secrets...), webhook.WithClock(c.cfg.clock)}, opts...)
	return webhook.NewHandler(fn, all...)
}
