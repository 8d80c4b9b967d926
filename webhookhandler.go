package licentric

import (
	"context"
	"fmt"
	"strings"

	"github.com/licentric/licentric-go/webhook"
)

// HandleWebhookEvent drops the cached validation results that e may have
// changed: those of the license of a license.* event (found by its key and
// id) and of a machine.* event (found by its licenseId; when this client has
// no result naming that license, every cached result is dropped, since the
// event may contradict one of them). validation.* events, which every
// validation fires, and other events change nothing. The guards of the
// license (this client's, and with WithFleet every member's) ask the
// service again, except for events that change no guard's decision
// (license.activated, license.limit_reached, machine.activated,
// machine.heartbeat). It never makes a request itself. Use it from a webhook consumer of your own; WebhookHandler wires
// it up.
func (c *Client) HandleWebhookEvent(ctx context.Context, e *webhook.Event) error {
	if e == nil {
		return fmt.Errorf("%w: nil webhook event", ErrInvalidArgument)
	}
	switch {
	case strings.HasPrefix(e.Type, "license."):
		// The first validation (activated) and an activation refused for
		// the machine limit (limit_reached) change no guard's decision;
		// the guards asking again would fire them again.
		quiet := e.Type == webhook.EventLicenseActivated || e.Type == webhook.EventLicenseLimitReached
		if l, err := e.License(); err == nil {
			c.results.dropKey(l.Key, quiet)
			c.results.dropID(l.ID, quiet)
		} else if id := e.LicenseID(); id != "" && !c.results.dropID(id, quiet) {
			c.results.dropAll(quiet)
		}
	case strings.HasPrefix(e.Type, "machine."):
		// A machine deactivated or dead frees a seat: guards denied for
		// the machine limit ask again. One activated or beating changes
		// no guard's decision.
		quiet := e.Type == webhook.EventMachineActivated || e.Type == webhook.EventMachineHeartbeat
		if !c.results.dropID(e.LicenseID(), quiet) {
			c.results.dropAll(quiet)
		}
	}
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
