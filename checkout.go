package licentric

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/licentric/licentric-go/internal/wire"
	"github.com/licentric/licentric-go/offline"
)

// Bounds and default of an offline license file's lifetime (docs/wire-protocol.md
// §7). A policy's offlineMaxDays may lower the maximum further; the server
// then refuses with an error matching ErrOfflineTTLExceeded.
const (
	DefaultCheckoutTTL = 14 * 24 * time.Hour
	MinCheckoutTTL     = time.Hour
	MaxCheckoutTTL     = 90 * 24 * time.Hour
)

// CheckoutParams describes an offline checkout.
type CheckoutParams struct {
	// Fingerprint is the machine the file is bound to; empty uses the
	// client's fingerprint source (WithAppID or WithFingerprinter). A machine
	// with this fingerprint must be activated on the license.
	Fingerprint string
	// TTL is the file's lifetime: zero means DefaultCheckoutTTL; otherwise
	// whole seconds from MinCheckoutTTL to MaxCheckoutTTL.
	TTL time.Duration
	// LicenseKey, when set, authenticates the checkout with the license's own
	// key (Authorization: License <key>) instead of the client's API key, as an
	// application without an API key does. It must be the key of the license
	// checked out (another license's key is an error matching ErrNotFound).
	LicenseKey string
}

// Checkout is a license file fresh from the server. The certificate is not
// verified by Checkout: pass it to an offline.Verifier pinned to the
// account's public key before trusting or saving it (RefreshLicenseFile and
// offline.Verifier.VerifyAndSave do).
type Checkout struct {
	// Certificate is the whole license file, as the application saves it
	// (e.g. license.lic).
	Certificate []byte
	// IssuedAt and ExpiresAt bound the file's own validity (not the
	// license's).
	IssuedAt, ExpiresAt time.Time
	// TTL is the lifetime the server granted.
	TTL time.Duration
	// KeyID names the signing key (offline.KeyID of its public key).
	KeyID string
}

// Checkout obtains a signed license file for license licenseID, bound to a
// machine fingerprint, for offline use (POST /licenses/{id}/checkout).
//
// Arguments are checked before any request: a TTL outside
// MinCheckoutTTL..MaxCheckoutTTL or not in whole seconds, an empty license
// ID, or a fingerprint of the wrong length is an error matching
// ErrInvalidArgument; no fingerprint and no fingerprint source is
// ErrNoFingerprinter. The server's refusals are *APIError values matching
// ErrOfflineNotAllowed (the policy forbids offline use),
// ErrOfflineTTLExceeded (TTL above the policy's offlineMaxDays),
// ErrFingerprintNotFound (no machine of the license has the fingerprint:
// activate first) and ErrLicenseNotActive. A 200 answer without a
// certificate, with missing or inconsistent times or without a key id is an
// error matching ErrMalformedResponse.
//
// A checkout changes nothing on the server but issues a file, so it is
// retried on 429, 5xx and transport errors like a read.
func (c *Client) Checkout(ctx context.Context, licenseID string, p CheckoutParams) (*Checkout, error) {
	if err := checkID("license ID", licenseID); err != nil {
		return nil, err
	}
	ttl, err := checkoutTTLSeconds(p.TTL)
	if err != nil {
		return nil, err
	}
	if p.Fingerprint, err = c.fingerprintOrDefault(p.Fingerprint); err != nil {
		return nil, err
	}
	r := &request{
		method:     http.MethodPost,
		path:       wire.SubPath(wire.PathLicenses, licenseID, wire.SegmentCheckout),
		auth:       authAPIKey,
		idempotent: true, // a retried checkout just issues another file
		body:       &wire.CheckoutRequest{Fingerprint: p.Fingerprint, TTL: ttl},
	}
	if p.LicenseKey != "" {
		r.auth, r.licenseKey = authLicense, p.LicenseKey
	}
	raw, _, err := callData[wire.Checkout](ctx, c, r) // drops nothing: a file changes no validation
	if err != nil {
		return nil, err
	}
	return checkCheckout(raw)
}

// checkoutTTLSeconds checks a requested TTL and returns it in seconds, 0 for
// the server's default.
func checkoutTTLSeconds(d time.Duration) (int, error) {
	if d == 0 {
		return 0, nil
	}
	if d < MinCheckoutTTL || d > MaxCheckoutTTL {
		return 0, fmt.Errorf("%w: checkout TTL %v is outside %v..%v", ErrInvalidArgument, d, MinCheckoutTTL, MaxCheckoutTTL)
	}
	if d%time.Second != 0 {
		return 0, fmt.Errorf("%w: checkout TTL %v is not a whole number of seconds", ErrInvalidArgument, d)
	}
	return int(d / time.Second), nil
}

// checkCheckout turns the wire answer into a Checkout, refusing answers the
// contract does not allow.
func checkCheckout(raw *wire.Checkout) (*Checkout, error) {
	bad := func(why string) error {
		return fmt.Errorf("%w: checkout: %s", ErrMalformedResponse, why)
	}
	switch {
	case raw.Certificate == "":
		return nil, bad("no certificate")
	case len(raw.Certificate) > offline.MaxFileSize:
		return nil, bad("certificate exceeds the license-file size cap")
	case raw.IssuedAt.IsZero():
		return nil, bad(`no "issuedAt"`)
	case raw.ExpiresAt.IsZero():
		return nil, bad(`no "expiresAt"`)
	case !raw.ExpiresAt.After(raw.IssuedAt.Time):
		return nil, bad(`"expiresAt" is not after "issuedAt"`)
	case raw.TTL <= 0 || raw.TTL > math.MaxInt32:
		return nil, bad(`"ttl" is not a positive number of seconds`)
	case raw.KeyID == "":
		return nil, bad(`no "keyId"`)
	}
	return &Checkout{
		Certificate: []byte(raw.Certificate),
		IssuedAt:    raw.IssuedAt.Time,
		ExpiresAt:   raw.ExpiresAt.Time,
		TTL:         time.Duration(raw.TTL) * time.Second,
		KeyID:       raw.KeyID,
	}, nil
}

// DefaultRefreshFraction is RefreshOptions.Fraction's default: a license file
// is refreshed once less than half of its lifetime is left.
const DefaultRefreshFraction = 0.5

// RefreshOptions tunes RefreshLicenseFile.
type RefreshOptions struct {
	// Fraction: refresh when less than this fraction of the stored file's
	// lifetime (ExpiresAt − IssuedAt) is left. Zero means
	// DefaultRefreshFraction; otherwise it must be in (0, 1], and 1 refreshes
	// on every call.
	Fraction float64
	// TTL, Fingerprint and LicenseKey are passed to Checkout (see
	// CheckoutParams).
	TTL         time.Duration
	Fingerprint string
	LicenseKey  string
}

// RefreshLicenseFile keeps the license file at path fresh: it loads and
// verifies the stored file with v and, when the file is missing, fails
// verification, or has less than opts.Fraction of its lifetime left by the
// client's clock (WithClock), checks out a new file for licenseID, verifies
// it with v and only then writes it to path atomically with mode 0600.
// refreshed reports that a new file was written.
//
// The stored file is never replaced by anything that has not verified, and
// never removed. When the refresh fails (network error, refused checkout,
// new file failing verification, write error), RefreshLicenseFile returns
// the error together with the stored file if that file still verifies, so an
// application can keep running offline and try again later:
//
//	f, _, err := client.RefreshLicenseFile(ctx, path, licenseID, v, licentric.RefreshOptions{})
//	if f == nil {
//		return err // no usable license: neither stored nor fresh
//	}
//	if err != nil {
//		log.Printf("license refresh failed, using the stored file until %v: %v", f.ExpiresAt, err)
//	}
//
// When the stored file does not verify (or is a valid file of another
// license) and no new one can be had, the file is nil and the error matches
// both the refresh failure and the stored file's problem (for example
// offline.ErrFileExpired, or fs.ErrNotExist for a missing file). A new file that fails verification (for example because
// the account rotated its signing key and v does not hold the new key) is
// reported with the offline package's error (offline.ErrUnknownKey, ...).
//
// Invalid arguments (nil v, empty path, a Fraction outside (0, 1], a bad TTL)
// are errors matching ErrInvalidArgument before the file is read.
//
// Calls for one path should not overlap: each write is atomic, so the file
// is always whole, but overlapping calls may each check out a file.
func (c *Client) RefreshLicenseFile(ctx context.Context, path, licenseID string, v *offline.Verifier, opts RefreshOptions) (file *offline.File, refreshed bool, err error) {
	switch {
	case v == nil:
		return nil, false, fmt.Errorf("%w: nil offline.Verifier", ErrInvalidArgument)
	case path == "":
		return nil, false, fmt.Errorf("%w: license file path is empty", ErrInvalidArgument)
	case math.IsNaN(opts.Fraction) || opts.Fraction < 0 || opts.Fraction > 1:
		return nil, false, fmt.Errorf("%w: refresh fraction must be in (0, 1]", ErrInvalidArgument)
	}
	if err := checkID("license ID", licenseID); err != nil {
		return nil, false, err
	}
	if _, err := checkoutTTLSeconds(opts.TTL); err != nil {
		return nil, false, err
	}
	fraction := opts.Fraction
	if fraction == 0 {
		fraction = DefaultRefreshFraction
	}

	old, oldErr := v.VerifyFile(path)
	if oldErr == nil && old.License.ID != licenseID {
		old, oldErr = nil, errOtherLicense
	}
	if oldErr == nil && !refreshDue(old, c.cfg.clock.Now(), fraction) {
		return old, false, nil
	}
	fail := func(err error) (*offline.File, bool, error) {
		if oldErr != nil {
			return nil, false, fmt.Errorf("licentric: refresh license file: %w (stored file: %w)", err, oldErr)
		}
		return old, false, fmt.Errorf("licentric: refresh license file: %w", err)
	}

	co, err := c.Checkout(ctx, licenseID, CheckoutParams{
		Fingerprint: opts.Fingerprint,
		TTL:         opts.TTL,
		LicenseKey:  opts.LicenseKey,
	})
	if err != nil {
		return fail(err)
	}
	nf, err := v.Verify(co.Certificate)
	if err != nil {
		return fail(fmt.Errorf("new license file failed verification: %w", err))
	}
	if nf.License.ID != licenseID {
		return fail(fmt.Errorf("%w: checkout: the new license file is for another license", ErrMalformedResponse))
	}
	if err := offline.SaveFile(path, co.Certificate); err != nil {
		return fail(err)
	}
	return nf, true, nil
}

// errOtherLicense reports a stored license file, valid in itself, that
// belongs to another license than the one RefreshLicenseFile keeps fresh.
var errOtherLicense = errors.New("licentric: stored license file is for another license")

// refreshDue reports whether less than fraction of f's lifetime is left at
// now.
func refreshDue(f *offline.File, now time.Time, fraction float64) bool {
	life := f.ExpiresAt.Sub(f.IssuedAt)
	if life <= 0 || fraction >= 1 {
		return true
	}
	return f.Remaining(now) < time.Duration(float64(life)*fraction)
}
