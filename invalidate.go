package licentric

import (
	"context"
	"fmt"
	"strings"

	"github.com/licentric/licentric-go/webhook"
)

// HandleWebhookEvent drops the cached validation results that e may have
// changed: those of the license of a license.* event (found by its key and
// id) and of a machine.* event (found by its licenseId, for licenses this
// client has validated). validation.* events, which every validation
// fires, and other events change nothing. It never makes a request. Use it
// from a webhook consumer of your own; WebhookHandler wires it up.
func (c *Client) HandleWebhookEvent(ctx context.Context, e *webhook.Event) error {
	if e == nil {
		return fmt.Errorf("%w: nil webhook event", ErrInvalidArgument)
	}
	switch {
	case strings.HasPrefix(e.Type, "license."):
		if l, err := e.License(); err == nil {
			c.InvalidateLicense(l.Key)
			c.InvalidateLicenseID(l.ID)
		}
	case strings.HasPrefix(e.Type, "machine."):
		c.InvalidateLicenseID(e.LicenseID())
	}
	return nil
}

// WebhookHandler returns a webhook.Handler that verifies deliveries with
// secrets (several during a rotation), drops the cached validation results
// each event may have changed (see HandleWebhookEvent), and then calls next,
// if not nil. So a license suspended, revoked, renewed or changed on the
// service is seen by the next Validate at once, not after the cache TTL.
// opts are further webhook.HandlerOptions (logger, dedup size, body cap).
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
	all := append([]webhook.HandlerOption{webhook.WithSecrets(secrets...)}, opts...)
	return webhook.NewHandler(fn, all...)
}
