package webhook

import (
	"bytes"
	"context"
	"net/http"

	"github.com/licentric/licentric-go/internal/wire"
)

// NewRequest builds a signed delivery of body to url, as Licentric sends
// it: a POST with Content-Type application/json and the headers
// X-Webhook-Signature, X-Webhook-Id and X-Webhook-Event. It is meant for
// testing a receiver. body must parse (see Parse); an empty secret is an
// error matching ErrNoSecret.
func NewRequest(ctx context.Context, url string, body []byte, secret string) (*http.Request, error) {
	if err := checkSecrets([]string{secret}); err != nil {
		return nil, err
	}
	e, err := Parse(body)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set(wire.HeaderContentType, wire.ContentTypeJSON)
	req.Header.Set(wire.HeaderWebhookSignature, Sign(body, secret))
	req.Header.Set(wire.HeaderWebhookID, e.ID)
	req.Header.Set(wire.HeaderWebhookEvent, e.Type)
	return req, nil
}
