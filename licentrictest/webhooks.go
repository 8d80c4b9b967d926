package licentrictest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/licentric/licentric-go/internal/wire"
)

// Delivery is one webhook delivery attempt.
type Delivery struct {
	URL       string
	EventID   string
	EventType string
	Attempt   int    // 1, 2 or 3
	Status    int    // the receiver's HTTP status; 0 when no response arrived
	Err       string // transport error, if any
	Body      []byte // the raw body sent
	Header    http.Header
}

const maxAttempts = 3

func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkWebhookURL: https to any host; http only to loopback.
func checkWebhookURL(is *issues, raw string) {
	u, err := url.Parse(raw)
	switch {
	case raw == "" || len(raw) > 2048 || err != nil || u.Host == "" || u.Hostname() == "":
		is.add("url", "invalid_string", "Invalid URL")
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopbackHost(u.Hostname()):
	default:
		is.add("url", "invalid_string", "Webhook URLs must use https (http only to loopback in the test server)")
	}
}

func checkEvents(is *issues, events []string) {
	if len(events) == 0 {
		is.add("events", "too_small", "At least one event is required")
		return
	}
	known := map[string]bool{wire.EventAll: true}
	for _, t := range wire.EventTypes() {
		known[t] = true
	}
	for i, ev := range events {
		if !known[ev] {
			is.add("events."+itoa(i), "invalid_enum_value", "Unknown event type %q", ev)
		}
	}
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

func hCreateWebhook(c *call) (int, any, *apiError) {
	var req wire.WebhookRequest
	if e := decodeBody(c.body, &req, false); e != nil {
		return 0, nil, e
	}
	w, e := c.s.createWebhook(c.st, c.env, req, c.now, hasMember(c.body, "events"))
	if e != nil {
		return 0, nil, e
	}
	v := webhookView(w, c.s.accountID)
	v.Secret = w.secret
	return http.StatusCreated, wire.Data[*wire.Webhook]{Data: v}, nil
}

// hasMember reports whether the JSON object body has member name (so an
// explicit empty list can be told from an absent one).
func hasMember(body []byte, name string) bool {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return false
	}
	_, ok := m[name]
	return ok
}

func (s *Server) createWebhook(st *state, env string, req wire.WebhookRequest, now time.Time, eventsSent bool) (*webhookRec, *apiError) {
	var is issues
	if !has(req.URL) {
		is.add("url", "invalid_type", "Required")
	} else {
		checkWebhookURL(&is, get(req.URL))
	}
	events := req.Events
	if events == nil && !eventsSent {
		events = []string{wire.EventAll}
	}
	checkEvents(&is, events)
	if e := is.err(); e != nil {
		return nil, e
	}
	w := &webhookRec{
		base:   st.newBase(env, now, nil),
		url:    get(req.URL),
		events: append([]string{}, events...),
		secret: wire.WebhookSecretPrefix + randomHex(24),
	}
	st.webhooks = append(st.webhooks, w)
	st.byID[w.id] = w
	return w, nil
}

func hListWebhooks(c *call) (int, any, *apiError) {
	return listPage(c, c.st.webhooks, nil, func(w *webhookRec) any { return webhookView(w, "") })
}

func webhookParam(c *call) (*webhookRec, *apiError) { return param[*webhookRec](c, "Webhook") }

func webhookData(c *call, w *webhookRec) wire.Data[*wire.Webhook] {
	return wire.Data[*wire.Webhook]{Data: webhookView(w, c.s.accountID)}
}

func hUpdateWebhook(c *call) (int, any, *apiError) {
	w, e := webhookParam(c)
	if e != nil {
		return 0, nil, e
	}
	var req wire.WebhookRequest
	if e := decodeBody(c.body, &req, true); e != nil {
		return 0, nil, e
	}
	var is issues
	if has(req.URL) {
		checkWebhookURL(&is, get(req.URL))
	}
	if req.Events != nil || hasMember(c.body, "events") {
		checkEvents(&is, req.Events)
	}
	if e := is.err(); e != nil {
		return 0, nil, e
	}
	set(&w.url, req.URL)
	if req.Events != nil {
		w.events = append([]string{}, req.Events...)
	}
	w.updatedAt = c.now
	return http.StatusOK, webhookData(c, w), nil
}

// emit records an event of env and starts its deliveries; s.mu is held.
// Deliveries run in their own goroutines, outside the lock.
func (s *Server) emit(env, typ string, data any, now time.Time) {
	raw, err := json.Marshal(data)
	if err != nil {
		raw = []byte("null")
	}
	ev := wire.Event{ID: "evt_" + randomHex(16), Type: typ, CreatedAt: ts(now), Data: raw}
	s.st.events[env].push(ev)
	if s.closed {
		return
	}
	var body []byte
	for _, w := range s.st.webhooks {
		if w.env != env || w.deleted() || !subscribed(w.events, typ) {
			continue
		}
		if body == nil {
			body, _ = json.Marshal(ev)
		}
		if !s.hooks.add() {
			return
		}
		go s.deliver(w.url, w.secret, ev, body)
	}
}

func subscribed(events []string, typ string) bool {
	for _, e := range events {
		if e == wire.EventAll || e == typ {
			return true
		}
	}
	return false
}

// sign is the lowercase hex HMAC-SHA256 of body keyed with the secret's bytes.
func sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// deliver POSTs one event, with up to three attempts in all: it waits the
// backoff base before the second and twice that before the third.
func (s *Server) deliver(target, secret string, ev wire.Event, body []byte) {
	defer s.hooks.done()
	wait := s.cfg.hookBackoff
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		if attempt > 1 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-s.hookCtx.Done():
				t.Stop()
				return
			}
			wait *= 2
		}
		d := s.attempt(target, secret, ev, body, attempt)
		s.dmu.Lock()
		s.deliveries.push(d)
		s.dmu.Unlock()
		s.cfg.logger.Debug("licentrictest webhook", "url", target, "event", ev.Type, "attempt", attempt, "status", d.Status, "err", d.Err)
		if d.Status >= 200 && d.Status < 300 {
			return
		}
		if s.hookCtx.Err() != nil {
			return
		}
	}
}

func (s *Server) attempt(target, secret string, ev wire.Event, body []byte, n int) Delivery {
	d := Delivery{URL: target, EventID: ev.ID, EventType: ev.Type, Attempt: n, Body: body}
	req, err := http.NewRequestWithContext(s.hookCtx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		d.Err = err.Error()
		return d
	}
	req.Header.Set(wire.HeaderContentType, wire.ContentTypeJSON)
	req.Header.Set(wire.HeaderUserAgent, "licentrictest-webhooks/1")
	req.Header.Set(wire.HeaderWebhookSignature, sign(secret, body))
	req.Header.Set(wire.HeaderWebhookID, ev.ID)
	req.Header.Set(wire.HeaderWebhookEvent, ev.Type)
	d.Header = req.Header.Clone()
	resp, err := s.hookHTTP.Do(req)
	if err != nil {
		d.Err = err.Error()
		return d
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	_ = resp.Body.Close()
	d.Status = resp.StatusCode
	return d
}

// Deliveries returns the webhook delivery attempts made so far, in the
// order they finished, as far as the log keeps them (the last
// WithEventLogSize, default 10,000).
func (s *Server) Deliveries() []Delivery {
	s.dmu.Lock()
	defer s.dmu.Unlock()
	out := make([]Delivery, 0, s.deliveries.len())
	s.deliveries.each(func(d Delivery) {
		d.Body = append([]byte(nil), d.Body...)
		d.Header = d.Header.Clone()
		out = append(out, d)
	})
	return out
}

// Events returns the events emitted in env, delivered or not, oldest first,
// as far as the log keeps them (the last WithEventLogSize, default 10,000,
// per environment).
func (s *Server) Events(env string) []Event {
	s.lock()
	defer s.unlock()
	r := s.st.events[env]
	if r == nil {
		return []Event{}
	}
	out := make([]Event, 0, r.len())
	r.each(func(e Event) {
		e.Data = append([]byte(nil), e.Data...)
		out = append(out, e)
	})
	return out
}

// FlushWebhooks waits until every pending delivery, retries included, has
// finished, or ctx ends.
func (s *Server) FlushWebhooks(ctx context.Context) error {
	return s.hooks.wait(ctx)
}
