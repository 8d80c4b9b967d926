package licentric

import (
	"testing"
	"time"

	"github.com/licentric/licentric-go/internal/wire"
	"github.com/licentric/licentric-go/offline"
)

func FuzzDecodeCheckout(f *testing.F) {
	for _, seed := range []string{
		`{"data":{"certificate":"Y2VydA==","issuedAt":"2026-01-15T10:30:00.000Z","expiresAt":"2026-01-29T10:30:00.000Z","ttl":1209600,"keyId":"0123456789abcdef"}}`,
		`{"data":{"certificate":"x","issuedAt":"2026-01-29T10:30:00.000Z","expiresAt":"2026-01-15T10:30:00.000Z","ttl":1,"keyId":"k"}}`,
		`{"data":{"certificate":"x","issuedAt":"2026-01-15T10:30:00.000Z","expiresAt":"2026-01-15T10:30:00.000Z","ttl":1,"keyId":"k"}}`,
		`{"data":{"certificate":"x","issuedAt":"bad","expiresAt":null,"ttl":-1,"keyId":""}}`,
		`{"data":{"certificate":42}}`, `{"data":{"ttl":1e99}}`, `{"data":null}`, `{}`, `[]`, ``, `<html>`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var raw wire.Checkout
		if err := decodeDataInto(body, &raw); err != nil {
			return
		}
		co, err := checkCheckout(&raw)
		if err != nil {
			if co != nil {
				t.Fatal("result together with an error")
			}
			return
		}
		switch {
		case len(co.Certificate) == 0 || len(co.Certificate) > offline.MaxFileSize:
			t.Fatalf("accepted a certificate of %d bytes", len(co.Certificate))
		case !co.ExpiresAt.After(co.IssuedAt):
			t.Fatalf("accepted expiresAt %v not after issuedAt %v", co.ExpiresAt, co.IssuedAt)
		case co.TTL <= 0 || co.TTL%time.Second != 0:
			t.Fatalf("accepted TTL %v", co.TTL)
		case co.KeyID == "":
			t.Fatal("accepted an empty key id")
		}
	})
}

func TestRefreshDue(t *testing.T) {
	issued := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	f := &offline.File{IssuedAt: issued, ExpiresAt: issued.Add(10 * time.Hour), TTL: 10 * time.Hour}
	for _, tc := range []struct {
		elapsed  time.Duration
		fraction float64
		due      bool
	}{
		{0, 0.5, false},
		{5 * time.Hour, 0.5, false}, // exactly half left: not less than half
		{5*time.Hour + time.Second, 0.5, true},
		{time.Hour, 0.9, false},
		{time.Hour + time.Second, 0.9, true},
		{0, 1, true},
		{9 * time.Hour, 0.05, false},
		{11 * time.Hour, 0.05, true},
	} {
		if got := refreshDue(f, issued.Add(tc.elapsed), tc.fraction); got != tc.due {
			t.Errorf("after %v at fraction %v: due %v, want %v", tc.elapsed, tc.fraction, got, tc.due)
		}
	}
}
