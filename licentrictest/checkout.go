package licentrictest

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/licentric/licentric-go/internal/wire"
	"github.com/licentric/licentric-go/offline"
)

// checkoutRequest keeps ttl raw so that 0, 1.5 and "3600" are refused
// rather than read as "absent".
type checkoutRequest struct {
	Fingerprint string          `json:"fingerprint"`
	TTL         json.RawMessage `json:"ttl"`
}

func parseTTL(raw json.RawMessage) (int, bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return wire.DefaultCheckoutTTL, true
	}
	if c := raw[0]; c != '-' && (c < '0' || c > '9') {
		return 0, false // strings, booleans, objects: not a number
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) || f != math.Trunc(f) {
		return 0, false
	}
	if f < wire.MinCheckoutTTL || f > wire.MaxCheckoutTTL {
		return 0, false
	}
	return int(f), true
}

// hCheckout is POST /licenses/{id}/checkout (docs/wire-protocol.md §7, order §11.11).
func hCheckout(c *call) (int, any, *apiError) {
	var req checkoutRequest
	if e := decodeBody(c.body, &req, false); e != nil {
		return 0, nil, e
	}
	var is issues
	// Only a missing fingerprint is a 400 here (docs/wire-protocol.md §11.11); one no
	// machine can have is FINGERPRINT_NOT_FOUND, in its place in the order.
	if req.Fingerprint == "" {
		is.add("fingerprint", "invalid_type", "Required")
	}
	ttl, ok := parseTTL(req.TTL)
	if !ok {
		is.add("ttl", "invalid_ttl", "ttl must be an integer number of seconds from %d to %d", wire.MinCheckoutTTL, wire.MaxCheckoutTTL)
	}
	if e := is.err(); e != nil {
		return 0, nil, e
	}
	l := c.st.license(c.env, c.params[0])
	if l == nil || (c.lic != nil && c.lic.id != l.id) {
		return 0, nil, notFound("License")
	}
	out, e := c.s.checkout(c.st, l, req.Fingerprint, ttl, c.now)
	if e != nil {
		return 0, nil, e
	}
	return http.StatusOK, wire.Data[*wire.Checkout]{Data: out}, nil
}

func (s *Server) checkout(st *state, l *licenseRec, fingerprint string, ttl int, now time.Time) (*wire.Checkout, *apiError) {
	if e := licenseNotActive(st, l, now); e != nil {
		return nil, e
	}
	p := st.policyOf(l)
	if p == nil || !p.p.OfflineAllowed {
		return nil, unprocessable(wire.ErrCodeOfflineNotAllowed, "The license's policy does not allow offline use")
	}
	if maxTTL := p.p.OfflineMaxDays * 86400; ttl > maxTTL {
		return nil, unprocessable(wire.ErrCodeOfflineTTLExceeded,
			"ttl %d exceeds the policy's maximum of %d seconds (%d days)", ttl, maxTTL, p.p.OfflineMaxDays)
	}
	var m *machineRec
	for _, lm := range st.liveMachines(l) {
		if lm.fingerprint == fingerprint {
			m = lm
			break
		}
	}
	if m == nil {
		return nil, unprocessable(wire.ErrCodeFingerprintNotFound, "No machine with this fingerprint is activated on the license")
	}
	issued := ts(now)
	expires := ts(now.Add(time.Duration(ttl) * time.Second))
	signer := s.signer()
	payload := &offline.Payload{
		V:            offline.FormatVersion,
		Env:          l.env,
		IssuedAt:     issued,
		ExpiresAt:    expires,
		TTL:          ttl,
		Fingerprint:  fingerprint,
		License:      *st.licenseView(l, now),
		Machine:      *st.machineView(m, now),
		Entitlements: st.effectiveEntitlements(l),
	}
	cert, err := signer.Sign(payload)
	if err != nil {
		return nil, errf(http.StatusInternalServerError, wire.ErrCodeInternal, "Could not sign the license file")
	}
	return &wire.Checkout{
		Certificate: string(cert),
		IssuedAt:    issued,
		ExpiresAt:   expires,
		TTL:         ttl,
		KeyID:       signer.KeyID(),
	}, nil
}

// hSigningKey is GET /keys/signing.
func hSigningKey(c *call) (int, any, *apiError) {
	sg := c.s.signer()
	return http.StatusOK, wire.Data[wire.SigningKey]{Data: wire.SigningKey{
		KeyID:     sg.KeyID(),
		Algorithm: offline.Algorithm,
		PublicKey: base64.StdEncoding.EncodeToString(sg.PublicKey()),
	}}, nil
}
