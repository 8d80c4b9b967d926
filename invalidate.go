package licentric

import (
	"context"
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
	// quiet: what the guards of the license decided stands (a machine was
	// activated or beat), so they are not asked to recheck. Every other
	// invalidation has them ask the service again, on every member of the
	// fleet: a license changed, a seat was freed.
	quiet bool
}

// dropsNothing is the invalidation of a write that changes no validation.
func dropsNothing() invalidation { return invalidation{} }

// dropsLicenseKey drops the results of license key k.
func dropsLicenseKey(k string) invalidation { return invalidation{keys: []string{k}} }

// dropsOwnMachine drops the results of license key k after this machine
// was activated or beat: quietly (see invalidation.quiet).
func dropsOwnMachine(k string) invalidation { return invalidation{keys: []string{k}, quiet: true} }

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
		r.dropAll(inv.quiet)
		return
	}
	for _, k := range inv.keys {
		r.dropKey(k, inv.quiet)
	}
	for _, id := range inv.ids {
		r.dropID(id, inv.quiet)
	}
	if inv.ofResult {
		switch o := out.(type) {
		case *License:
			if o != nil {
				r.dropKey(o.Key, inv.quiet)
				r.dropID(o.ID, inv.quiet)
			}
		case *Machine:
			if o != nil {
				r.dropID(o.LicenseID, inv.quiet)
			}
		}
	}
}

// dropKey drops every result of license key, in every environment, locally
// and in the fleet, and has the guards of the license ask the service
// again unless quiet: those of this client, and through the fleet those of
// every member (the fleet tells this member too; when it cannot, this
// client's guards are told directly).
func (r *results) dropKey(key string, quiet bool) {
	if key == "" {
		return
	}
	r.invalidations.Add(1)
	if r.store != nil {
		for _, env := range []Environment{EnvironmentLive, EnvironmentTest, EnvironmentNone} {
			r.store.DeletePrefix(r.licensePrefix(env, key))
		}
	}
	told := false
	if r.fleet != nil {
		fctx, cancel := context.WithTimeout(context.Background(), fleetTimeout)
		// The fleet tells every member's guards too (this one's
		// included), unless quiet: recheck = !quiet.
		told = r.fleetResult(context.Background(), FleetOpInvalidate, r.fleet.InvalidateLicense(fctx, r.licenseDigest(key), !quiet))
		cancel()
	}
	if !quiet && !told {
		r.recheck(key)
	}
}

// dropID drops the results of the license with id if its key is known
// (results carry the license's id and key; the last few thousand are
// indexed), and reports whether it was. It drops nothing for a license
// this client does not know: a caller that must not keep a result the
// change contradicts then drops everything (see HandleWebhookEvent).
func (r *results) dropID(id string, quiet bool) bool {
	if id == "" {
		return false
	}
	r.idMu.Lock()
	key, ok := r.ids[id]
	r.idMu.Unlock()
	if ok {
		r.dropKey(key, quiet)
	}
	return ok
}

// dropAll drops every cached result, locally and in the fleet, and has
// every guard ask the service again unless quiet (as dropKey).
func (r *results) dropAll(quiet bool) {
	r.invalidations.Add(1)
	if r.store != nil {
		r.store.DeletePrefix(cacheKeyVersion + "/")
	}
	told := false
	if r.fleet != nil {
		fctx, cancel := context.WithTimeout(context.Background(), fleetTimeout)
		told = r.fleetResult(context.Background(), FleetOpInvalidate, r.fleet.InvalidateAll(fctx))
		cancel()
	}
	if !quiet && !told {
		r.recheck("")
	}
}

// InvalidateLicense drops every cached validation result of license key,
// in every environment (and, with WithFleet, for the whole fleet), so that
// the next Validate asks the service, and has the license's guards (with
// WithFleet, every member's) ask the service again at once.
func (c *Client) InvalidateLicense(key string) { c.results.dropKey(key, false) }

// InvalidateLicenseID drops the cached validation results of the license
// with id, if this client has cached a result naming it (results carry the
// license's id and key; the client keeps an index of the last few
// thousand). It reports whether the license was known; an unknown one
// drops nothing.
func (c *Client) InvalidateLicenseID(id string) bool { return c.results.dropID(id, false) }
