package licentric_test

import (
	"context"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licentric/licentric-go"
	"github.com/licentric/licentric-go/licentrictest"
	"github.com/licentric/licentric-go/offline"
)

// machineClock is the air-gapped machine's clock: the server's time plus an
// offset its user can set, forward or back.
type machineClock struct {
	srv    *licentrictest.Server
	offset atomic.Int64
}

func (c *machineClock) Now() time.Time { return c.srv.Now().Add(time.Duration(c.offset.Load())) }
func (c *machineClock) After(d time.Duration) <-chan time.Time {
	return c.srv.Clock().After(d)
}
func (c *machineClock) set(d time.Duration) { c.offset.Store(int64(d)) }

// airGap is one site: a license, the air-gapped machine (which must never
// dial), the operator's computer (license key only) and the stick carried
// between them.
type airGap struct {
	srv      *licentrictest.Server
	fx       *licentrictest.Fixture
	clock    *machineClock
	machine  *licentric.Client
	operator *licentric.Client
	stick    string // the carried files
	path     string // the license file on the machine
}

func newAirGap(t *testing.T) *airGap {
	t.Helper()
	// An application holds no API key: its licenses are live ones.
	srv, fx := agServer(t, licentrictest.EnvLive, 30, 1)
	a := &airGap{srv: srv, fx: fx, clock: &machineClock{srv: srv}, stick: t.TempDir()}
	a.path = filepath.Join(t.TempDir(), "app", "license.lic")
	a.machine = noDialClient(t, licentric.WithClock(a.clock), licentric.WithFingerprinter(func() (string, error) { return agFP, nil }))
	var err error
	a.operator, err = licentric.NewClient(licentric.WithBaseURL(srv.URL), licentric.WithClock(srv.Clock()))
	require.NoError(t, err)
	return a
}

// guard starts the application's offline-only guard on c with keys.
func (a *airGap) guard(t *testing.T, c *licentric.Client, keys []string) (*licentric.Guard, licentric.GuardState) {
	t.Helper()
	g, err := licentric.NewGuard(c, a.fx.License.Key, licentric.WithLicenseFile(a.path, keys...), licentric.WithOfflineOnly())
	require.NoError(t, err)
	t.Cleanup(func() { _ = g.Close(context.Background()) })
	st, err := g.Start(t.Context())
	require.NoError(t, err)
	return g, st
}

// fulfil is the operator's run: the request from the stick, the license
// file written back to it.
func (a *airGap) fulfil(t *testing.T, keys []string) (*licentric.Fulfillment, error) {
	t.Helper()
	req, err := offline.LoadRequest(filepath.Join(a.stick, "request.json"))
	require.NoError(t, err)
	got, err := a.operator.FulfillOfflineRequest(t.Context(), req, licentric.FulfillParams{PublicKeys: keys})
	if err != nil {
		return nil, err
	}
	require.NoError(t, offline.SaveFile(filepath.Join(a.stick, "license.lic"), got.Certificate))
	return got, nil
}

// carry copies the stick's license file to the machine.
func (a *airGap) carry(t *testing.T) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(a.stick, "license.lic"))
	require.NoError(t, err)
	require.NoError(t, offline.SaveFile(a.path, data))
}

func denied(t *testing.T, st licentric.GuardState, why error, msg string) {
	t.Helper()
	assert.False(t, st.Allowed, msg)
	assert.ErrorIs(t, st.Reason, licentric.ErrNoLicenseFile, msg)
	assert.ErrorIs(t, st.FileErr, why, msg)
}

// TestAirGappedEndToEnd runs an air-gapped site's whole story over loopback
// against licentrictest, on the server's clock and a machine clock of its
// own: request (no socket), fulfil (license key alone), carry, run offline
// with WithOfflineOnly, renew (no second seat), expire, release twice; and
// everything an operator or a user gets wrong on the way: a half-written
// request, the wrong public key, a half-written carried file, the file on
// another machine, the machine's clock set back.
func TestAirGappedEndToEnd(t *testing.T) {
	a := newAirGap(t)
	keys := pinned(a.srv)
	wrongKeys := []string{"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="} // a valid key, not the account's

	// 1. The request, on the machine: no socket (noDialClient fails the
	// test on any dial).
	req, err := a.machine.NewOfflineRequest(a.fx.License.Key, licentric.ActivateParams{Name: "lab-7"})
	require.NoError(t, err)
	reqPath := filepath.Join(a.stick, "request.json")
	require.NoError(t, offline.SaveRequest(reqPath, req))
	st, err := os.Stat(reqPath)
	require.NoError(t, err)
	assert.Equal(t, fs.FileMode(0o600), st.Mode().Perm())

	// A request cut short on the way is refused before anything is asked.
	data, err := os.ReadFile(reqPath)
	require.NoError(t, err)
	half := filepath.Join(t.TempDir(), "request.json")
	require.NoError(t, os.WriteFile(half, data[:len(data)/2], 0o600))
	_, err = offline.LoadRequest(half)
	assert.ErrorIs(t, err, offline.ErrMalformedRequest)

	// 2. Fulfil with a key that is not the account's: refused, no seat
	// taken, nothing on the stick.
	a.srv.ResetRequests()
	_, err = a.fulfil(t, wrongKeys)
	require.ErrorIs(t, err, offline.ErrUnknownKey)
	assert.Equal(t, 0, liveMachineCount(t, a.srv, a.fx), "a failed fulfilment kept a seat")
	assert.NoFileExists(t, filepath.Join(a.stick, "license.lic"))

	// Fulfil: activated once, with the license key alone.
	got, err := a.fulfil(t, keys)
	require.NoError(t, err)
	assert.True(t, got.Activated)
	assert.Equal(t, agFP, got.File.Fingerprint)
	assert.Equal(t, "lab-7", got.Machine.Name)
	assert.Equal(t, 1, liveMachineCount(t, a.srv, a.fx))
	for _, r := range a.srv.Requests() {
		assert.Equal(t, "License", r.Scheme, "%s %s", r.Method, r.Path)
	}
	firstExpiry := got.File.ExpiresAt

	// 3. Carried, but half-written (the stick pulled out): denied, saying
	// why; the whole file then licenses the machine.
	whole, err := os.ReadFile(filepath.Join(a.stick, "license.lic"))
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Dir(a.path), 0o700))
	require.NoError(t, os.WriteFile(a.path, whole[:len(whole)*2/3], 0o600))
	g, gs := a.guard(t, a.machine, keys)
	denied(t, gs, offline.ErrMalformed, "half-written file")

	// 4. Verify and run offline.
	a.carry(t)
	gs, err = g.Recheck(t.Context())
	require.NoError(t, err)
	assert.True(t, gs.Allowed, "%+v", gs)
	assert.Equal(t, licentric.SourceLicenseFile, gs.Source)
	assert.Equal(t, licentric.CodeValid, gs.Code)
	assert.Equal(t, firstExpiry, gs.Until)
	assert.NoError(t, gs.FileErr)

	// The application pinned the wrong key: no license from this file.
	require.NoError(t, g.Close(t.Context()))
	g2, gs := a.guard(t, a.machine, wrongKeys)
	denied(t, gs, offline.ErrUnknownKey, "wrong pinned key")
	require.NoError(t, g2.Close(t.Context()))

	// The file copied to another machine.
	other := noDialClient(t, licentric.WithClock(a.clock), licentric.WithFingerprinter(func() (string, error) { return "another-machine-0001", nil }))
	otherPath := filepath.Join(t.TempDir(), "license.lic")
	require.NoError(t, os.WriteFile(otherPath, whole, 0o600))
	og, err := licentric.NewGuard(other, a.fx.License.Key, licentric.WithLicenseFile(otherPath, keys...), licentric.WithOfflineOnly())
	require.NoError(t, err)
	gs, err = og.Start(t.Context())
	require.NoError(t, err)
	denied(t, gs, offline.ErrFingerprintMismatch, "another machine")
	require.NoError(t, og.Close(t.Context()))

	// The clock set back, to stretch the file: a day on, then two days
	// back, is refused; setting it right again licenses the machine.
	g, gs = a.guard(t, a.machine, keys)
	require.True(t, gs.Allowed, "%+v", gs)
	a.srv.Advance(24 * time.Hour)
	gs, err = g.Recheck(t.Context())
	require.NoError(t, err)
	require.True(t, gs.Allowed, "%+v", gs)
	a.clock.set(-48 * time.Hour)
	gs, err = g.Recheck(t.Context())
	require.NoError(t, err)
	denied(t, gs, offline.ErrClockRollback, "clock set back")
	a.clock.set(0)
	gs, err = g.Recheck(t.Context())
	require.NoError(t, err)
	assert.True(t, gs.Allowed, "%+v", gs)

	// 5. Renew three weeks later: a new file, the same machine.
	a.srv.Advance(21 * 24 * time.Hour)
	got, err = a.fulfil(t, keys)
	require.NoError(t, err)
	assert.False(t, got.Activated)
	assert.Equal(t, 1, liveMachineCount(t, a.srv, a.fx), "a renewal took a second seat")
	assert.True(t, got.File.ExpiresAt.After(firstExpiry))
	a.carry(t)
	gs, err = g.Recheck(t.Context())
	require.NoError(t, err)
	assert.True(t, gs.Allowed, "%+v", gs)
	assert.Equal(t, got.File.ExpiresAt, gs.Until)

	// Not renewed again: once the file expires the machine is denied, and
	// putting the first file back does not help.
	a.srv.Advance(31 * 24 * time.Hour)
	gs, err = g.Recheck(t.Context())
	require.NoError(t, err)
	denied(t, gs, offline.ErrFileExpired, "expired")
	require.NoError(t, offline.SaveFile(a.path, whole))
	gs, err = g.Recheck(t.Context())
	require.NoError(t, err)
	denied(t, gs, offline.ErrFileExpired, "the first file put back")
	require.NoError(t, g.Close(t.Context()))

	// 6. Release: the seat is free; again is success.
	loaded, err := offline.LoadRequest(reqPath)
	require.NoError(t, err)
	a.srv.ResetRequests()
	m, err := a.operator.ReleaseOfflineRequest(t.Context(), loaded, "")
	require.NoError(t, err)
	require.NotNil(t, m)
	assert.Equal(t, got.Machine.ID, m.ID)
	assert.Equal(t, 0, liveMachineCount(t, a.srv, a.fx))
	m, err = a.operator.ReleaseOfflineRequest(t.Context(), loaded, "")
	require.NoError(t, err)
	assert.Nil(t, m)
	assert.Zero(t, a.srv.CountRequests(http.MethodPost, "/machines"), "release activated something")
}

// TestAirGappedGuardFollowsItsFile: a long-running air-gapped application
// needs no restart. Its offline-only guard denies within one check interval
// of the file's expiry, and takes a renewed file carried in within one more,
// with no Recheck, never dialling. In a testing/synctest bubble on an
// in-memory server, so a month passes at once.
func TestAirGappedGuardFollowsItsFile(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := licentrictest.NewServer(licentrictest.WithInMemory())
		defer srv.Close()
		fx, err := srv.Seed(licentrictest.Seed{Env: licentrictest.EnvLive, Policy: licentric.PolicyRequest{
			OfflineAllowed: licentric.Value(true), OfflineMaxDays: licentric.Value(30), MaxMachines: licentric.Value(1)}})
		require.NoError(t, err)
		machine := noDialClient(t, licentric.WithFingerprinter(func() (string, error) { return agFP, nil }))
		operator, err := licentric.NewClient(licentric.WithBaseURL(srv.URL), licentric.WithHTTPClient(srv.Client()))
		require.NoError(t, err)
		req, err := machine.NewOfflineRequest(fx.License.Key, licentric.ActivateParams{})
		require.NoError(t, err)
		path := filepath.Join(t.TempDir(), "license.lic")
		fulfil := func() *offline.File {
			got, err := operator.FulfillOfflineRequest(t.Context(), req, licentric.FulfillParams{PublicKeys: pinned(srv), TTL: 30 * 24 * time.Hour})
			require.NoError(t, err)
			require.NoError(t, offline.SaveFile(path, got.Certificate)) // carried in
			return got.File
		}
		f := fulfil()

		const interval = 6 * time.Hour // fewer checks to simulate than the default's
		g, err := licentric.NewGuard(machine, fx.License.Key, licentric.WithLicenseFile(path, pinned(srv)...), licentric.WithOfflineOnly(),
			licentric.WithCheckInterval(interval))
		require.NoError(t, err)
		defer g.Close(context.Background())
		st, err := g.Start(t.Context())
		require.NoError(t, err)
		require.True(t, st.Allowed, "%+v", st)

		time.Sleep(time.Until(f.ExpiresAt) - time.Minute)
		synctest.Wait()
		assert.True(t, g.State().Allowed, "denied before the file expired")
		time.Sleep(time.Minute + interval)
		synctest.Wait()
		st = g.State()
		assert.False(t, st.Allowed, "still allowed a check interval after the file expired")
		assert.ErrorIs(t, st.FileErr, offline.ErrFileExpired)

		renewed := fulfil()
		time.Sleep(interval)
		synctest.Wait()
		st = g.State()
		assert.True(t, st.Allowed, "the renewed file was not taken within a check interval: %+v", st)
		assert.Equal(t, renewed.ExpiresAt, st.Until)
		l, err := srv.License(fx.Env, fx.License.ID)
		require.NoError(t, err)
		assert.Equal(t, 1, l.MachineCount)
	})
}
