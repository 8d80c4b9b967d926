package licentric

import (
	"context"
	"iter"

	"github.com/licentric/licentric-go/internal/wire"
)

// WebhooksService manages webhook endpoints: POST, GET, PATCH and DELETE
// /webhooks. Reach it as Client.Webhooks; verify deliveries with package
// webhook.
type WebhooksService service

func checkWebhookResource(w *Webhook) error { return needID("webhook", w.ID) }

// Create registers a webhook endpoint and returns it with its signing
// secret (Webhook.Secret, "whsec_…"). The secret is returned by this call
// only: store it now. URL must be https; Events defaults to every event.
//
// Create is not idempotent (a lost response would leave an endpoint whose
// secret nobody has), so it is retried only on 429.
func (s *WebhooksService) Create(ctx context.Context, req *WebhookRequest) (*Webhook, error) {
	return createResource(ctx, s.client, wire.PathWebhooks, req, dropsNothing(), checkWebhookResource)
}

// Get returns webhook id (without its secret), or an error matching
// ErrNotFound.
func (s *WebhooksService) Get(ctx context.Context, id string) (*Webhook, error) {
	if err := checkID("webhook ID", id); err != nil {
		return nil, err
	}
	return getResource(ctx, s.client, wire.ResourcePath(wire.PathWebhooks, id), checkWebhookResource)
}

// Update changes the URL or events of webhook id and returns it.
func (s *WebhooksService) Update(ctx context.Context, id string, req *WebhookRequest) (*Webhook, error) {
	if err := checkID("webhook ID", id); err != nil {
		return nil, err
	}
	return updateResource(ctx, s.client, wire.ResourcePath(wire.PathWebhooks, id), req, dropsNothing(), checkWebhookResource)
}

// Delete deletes webhook id; no more events are delivered to it.
func (s *WebhooksService) Delete(ctx context.Context, id string) error {
	if err := checkID("webhook ID", id); err != nil {
		return err
	}
	return deleteResource(ctx, s.client, wire.ResourcePath(wire.PathWebhooks, id), dropsNothing())
}

// List yields every webhook (without secrets), oldest first; see
// ListOptions.
func (s *WebhooksService) List(ctx context.Context, opts *ListOptions) iter.Seq2[*Webhook, error] {
	return s.lister(opts).all(ctx)
}

// ListPage returns one page of webhooks.
func (s *WebhooksService) ListPage(ctx context.Context, opts *ListOptions) (*Page[Webhook], error) {
	return s.lister(opts).first(ctx)
}

func (s *WebhooksService) lister(opts *ListOptions) *lister[Webhook] {
	return newLister(s.client, wire.PathWebhooks, opts, nil, checkWebhookResource)
}
