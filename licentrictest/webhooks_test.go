package licentrictest

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

type received struct {
	header http.Header
	body   []byte
}

// receiver is a loopback webhook endpoint answering the statuses in plan
// (then 200 forever) and recording what arrives.
type receiver struct {
	*httptest.Server
	mu   sync.Mutex
	got  []received
	plan []int
}

func newReceiver(t *testing.T, plan ...int) *receiver {
	r := &receiver{plan: plan}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, received{req.Header.Clone(), body})
		status := 200
		if len(r.plan) > 0 {
			status, r.plan = r.plan[0], r.plan[1:]
		}
		r.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) all() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

func flush(t *testing.T, s *tsrv) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.FlushWebhooks(ctx); err != nil {
		t.Fatalf("FlushWebhooks: %v", err)
	}
}

func TestWebhookDeliverySignature(t *testing.T) {
	s := start(t, WithWebhookBackoff(time.Millisecond))
	rcv := newReceiver(t)
	api := bearer(s.TestAPIKey())
	w := s.ok(201, "POST", "/webhooks", api, map[string]any{"url": rcv.URL + "/hook", "events": []string{"license.created", "license.suspended"}})
	secret, _ := w["secret"].(string)
	if !strings.HasPrefix(secret, "whsec_") || len(secret) < 20 {
		t.Fatalf("secret = %q", secret)
	}
	// The secret is returned by create only.
	if g := s.ok(200, "GET", "/webhooks/"+w["id"].(string), api, nil); g["secret"] != nil {
		t.Errorf("GET returns the secret")
	}
	_, _, list := s.do("GET", "/webhooks", api, nil)
	if item := list["data"].([]any)[0].(map[string]any); item["secret"] != nil || item["accountId"] != nil {
		t.Errorf("list item = %v", item)
	}
	fx := s.seed(Seed{})
	s.ok(200, "POST", "/licenses/"+fx.License.ID+"/suspend", api, nil)
	s.ok(200, "POST", "/licenses/"+fx.License.ID+"/reinstate", api, nil) // not subscribed
	flush(t, s)
	got := rcv.all()
	if len(got) != 2 {
		t.Fatalf("received %d deliveries, want 2", len(got))
	}
	types := map[string]bool{}
	for _, r := range got {
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(r.body)
		if want := hex.EncodeToString(mac.Sum(nil)); r.header.Get("X-Webhook-Signature") != want {
			t.Errorf("signature %q, want %q", r.header.Get("X-Webhook-Signature"), want)
		}
		var ev struct {
			ID, Type, CreatedAt string
			Data                map[string]any
		}
		if err := json.Unmarshal(r.body, &ev); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(ev.ID, "evt_") || r.header.Get("X-Webhook-Id") != ev.ID || r.header.Get("X-Webhook-Event") != ev.Type ||
			ev.CreatedAt == "" || ev.Data["id"] != fx.License.ID || r.header.Get("Content-Type") != "application/json" {
			t.Errorf("delivery %s %v", r.body, r.header)
		}
		types[ev.Type] = true
	}
	if !types["license.created"] || !types["license.suspended"] {
		t.Errorf("types = %v", types)
	}
	// Machine events carry the machine.
	s.ok(200, "PATCH", "/webhooks/"+w["id"].(string), api, map[string]any{"events": []string{"machine.activated"}})
	m := s.activate(fx.License.Key, "machine-fp-1")
	flush(t, s)
	got = rcv.all()
	if last := got[len(got)-1]; !strings.Contains(string(last.body), `"fingerprint":"machine-fp-1"`) || !strings.Contains(string(last.body), m["id"].(string)) {
		t.Errorf("machine event = %s", last.body)
	}
	// Other environment's events are not delivered here.
	s.seed(Seed{Env: EnvLive})
	flush(t, s)
	if n := len(rcv.all()); n != 3 {
		t.Errorf("deliveries = %d after a live event", n)
	}
}

func TestWebhookRetries(t *testing.T) {
	for _, tc := range []struct {
		name     string
		plan     []int
		attempts int
	}{
		{"fails twice then succeeds", []int{500, 503}, 3},
		{"always fails", []int{500, 500, 500, 500}, 3},
		{"redirect is a failure", []int{302, 200}, 2},
		{"first try", nil, 1},
		{"any 2xx", []int{204}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := start(t, WithWebhookBackoff(time.Millisecond))
			rcv := newReceiver(t, tc.plan...)
			s.ok(201, "POST", "/webhooks", bearer(s.TestAPIKey()), map[string]any{"url": rcv.URL, "events": []string{"license.created"}})
			s.seed(Seed{})
			flush(t, s)
			got := rcv.all()
			if len(got) != tc.attempts {
				t.Fatalf("attempts = %d, want %d", len(got), tc.attempts)
			}
			id := got[0].header.Get("X-Webhook-Id")
			for _, r := range got {
				if r.header.Get("X-Webhook-Id") != id || string(r.body) != string(got[0].body) {
					t.Error("retries changed the event")
				}
			}
			ds := s.Deliveries()
			if len(ds) != tc.attempts || ds[len(ds)-1].Attempt != tc.attempts || ds[0].EventID != id || ds[0].EventType != "license.created" {
				t.Errorf("Deliveries = %+v", ds)
			}
		})
	}
}

func TestWebhookTransportErrorAndTimeout(t *testing.T) {
	s := start(t, WithWebhookBackoff(time.Millisecond), WithWebhookTimeout(50*time.Millisecond))
	block := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(block)
	s.ok(201, "POST", "/webhooks", bearer(s.TestAPIKey()), map[string]any{"url": slow.URL})
	s.seed(Seed{})
	flush(t, s)
	ds := s.Deliveries()
	if len(ds) != 3 {
		t.Fatalf("deliveries = %d", len(ds))
	}
	for _, d := range ds {
		if d.Status != 0 || d.Err == "" {
			t.Errorf("delivery = %+v, want a timeout error", d)
		}
	}
}

func TestWebhookRegistration(t *testing.T) {
	s := start(t)
	api := bearer(s.TestAPIKey())
	for _, tc := range []struct {
		body   map[string]any
		status int
	}{
		{map[string]any{"url": "https://hooks.example.com/x"}, 201},
		{map[string]any{"url": "http://127.0.0.1:9/x"}, 201},
		{map[string]any{"url": "http://localhost:9/x"}, 201},
		{map[string]any{"url": "http://[::1]:9/x"}, 201},
		{map[string]any{"url": "http://example.com/x"}, 400},
		{map[string]any{"url": "ftp://example.com/x"}, 400},
		{map[string]any{"url": "not a url"}, 400},
		{map[string]any{}, 400},
		{map[string]any{"url": "https://e.com", "events": []string{}}, 400},
		{map[string]any{"url": "https://e.com", "events": []string{"license.exploded"}}, 400},
		{map[string]any{"url": "https://e.com", "events": []string{"*"}}, 201},
	} {
		st, _, m := s.do("POST", "/webhooks", api, tc.body)
		if st != tc.status {
			t.Errorf("%v = %d %v, want %d", tc.body, st, m, tc.status)
		}
	}
	w := s.ok(201, "POST", "/webhooks", api, map[string]any{"url": "https://e.com"})
	if ev := w["events"].([]any); len(ev) != 1 || ev[0] != "*" {
		t.Errorf("default events = %v", ev)
	}
	s.ok(204, "DELETE", "/webhooks/"+w["id"].(string), api, nil)
	s.fail(404, "NOT_FOUND", "GET", "/webhooks/"+w["id"].(string), api, nil)
}

func TestCloseCancelsDeliveries(t *testing.T) {
	s := NewServer(WithWebhookBackoff(time.Hour))
	rcv := newReceiver(t, 500)
	s.Seed(Seed{}) //nolint:errcheck
	req, _ := http.NewRequest("POST", s.URL+"/api/v1/webhooks", strings.NewReader(`{"url":"`+rcv.URL+`"}`))
	req.Header.Set("Authorization", "Bearer "+s.TestAPIKey())
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if _, err := s.Seed(Seed{}); err != nil {
		t.Fatal(err)
	}
	// The first attempt fails; the retry would wait an hour. Close must not.
	for len(rcv.all()) == 0 {
		time.Sleep(time.Millisecond) // wait for arrival only
	}
	s.Close()
	if err := s.FlushWebhooks(context.Background()); err != nil {
		t.Fatal(err)
	}
}
