package licentric_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"net/http/httptest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licentric/licentric-go"
	"github.com/licentric/licentric-go/internal/testkit"
	"github.com/licentric/licentric-go/internal/wire"
	"github.com/licentric/licentric-go/licentrictest"
	"github.com/licentric/licentric-go/offline"
)

const guardFP = "guard-fingerprint-0001"

// netSwitch is a transport that can be cut off: connection refused, as
// when the service is firewalled or down.
type netSwitch struct {
	next http.RoundTripper
	down atomic.Bool
	sent atomic.Int32
}

func (n *netSwitch) RoundTrip(req *http.Request) (*http.Response, error) {
	if n.down.Load() {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	}
	n.sent.Add(1)
	return n.next.RoundTrip(req)
}

// guardEnv is a server, its policy and license, a network that can be cut
// and a license file path: what one installation of the application has.
type guardEnv struct {
	srv  *licentrictest.Server
	fx   *licentrictest.Fixture
	net  *netSwitch
	dir  string
	path string
}

func newGuardEnv(t *testing.T, pol licentric.PolicyRequest) *guardEnv {
	t.Helper()
	srv := licentrictest.NewServer(licentrictest.WithoutRateLimits(), licentrictest.WithFrozenClock(time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)))
	t.Cleanup(srv.Close)
	if pol.MaxMachines.IsZero() {
		pol.MaxMachines = licentric.Value(2)
	}
	if pol.OfflineAllowed.IsZero() {
		pol.OfflineAllowed = licentric.Value(true)
	}
	fx, err := srv.Seed(licentrictest.Seed{Policy: pol})
	require.NoError(t, err)
	dir := t.TempDir()
	return &guardEnv{srv: srv, fx: fx, net: &netSwitch{next: srv.Client().Transport}, dir: dir, path: filepath.Join(dir, "license.lic")}
}

// client is one run of the application: a fresh client (empty cache).
func (e *guardEnv) client(t *testing.T, opts ...licentric.Option) *licentric.Client {
	t.Helper()
	all := []licentric.Option{licentric.WithHTTPClient(&http.Client{Transport: e.net}),
		licentric.WithFingerprinter(func() (string, error) { return guardFP, nil }), licentric.WithRetry(testkit.Retries(2))}
	return testkit.Client(t, e.srv, append(all, opts...)...)
}

// keys are the service's signing keys as an application pins them: text.
func (e *guardEnv) keys() []string {
	var keys []string
	for _, k := range e.srv.PublicKeys() {
		keys = append(keys, offline.MarshalPublicKey(k))
	}
	return keys
}

// file is the license-file option of one installation.
func (e *guardEnv) file() licentric.GuardOption {
	return licentric.WithLicenseFile(e.path, e.keys()...)
}

func (e *guardEnv) verifier(t *testing.T, opts ...offline.Option) *offline.Verifier {
	t.Helper()
	all := []offline.Option{offline.WithFingerprint(guardFP), offline.WithClock(e.srv.Clock())}
	for _, k := range e.srv.PublicKeys() {
		all = append(all, offline.WithPublicKey(k))
	}
	v, err := offline.NewVerifier(append(all, opts...)...)
	require.NoError(t, err)
	return v
}

// start runs one application start with a guard on c.
func (e *guardEnv) start(t *testing.T, c *licentric.Client, opts ...licentric.GuardOption) (*licentric.Guard, licentric.GuardState) {
	t.Helper()
	g, err := licentric.NewGuard(c, e.fx.License.Key, opts...)
	require.NoError(t, err)
	st, err := g.Start(t.Context())
	require.NoError(t, err)
	t.Cleanup(func() { _ = g.Close(context.Background()) })
	return g, st
}

func (e *guardEnv) machines(t *testing.T) int {
	t.Helper()
	l, err := e.srv.License(e.fx.Env, e.fx.License.ID)
	require.NoError(t, err)
	return l.MachineCount
}

func (e *guardEnv) activations() int {
	return e.srv.CountRequests(http.MethodPost, wire.PathMachines)
}

func TestGuardActivatesOnceAcrossRestarts(t *testing.T) {
	e := newGuardEnv(t, licentric.PolicyRequest{})
	g, st := e.start(t, e.client(t))
	assert.True(t, st.Allowed)
	assert.Equal(t, licentric.CodeValid, st.Code)
	assert.Equal(t, licentric.SourceService, st.Source)
	require.NotNil(t, st.Machine)
	assert.Equal(t, guardFP, st.Machine.Fingerprint)
	assert.Equal(t, 1, e.activations())
	require.NoError(t, g.Close(t.Context()))

	_, st = e.start(t, e.client(t)) // the application restarts
	assert.True(t, st.Allowed)
	assert.Equal(t, 1, e.activations(), "a restart activated again")
	assert.Equal(t, 1, e.machines(t))
}

func TestGuardMachineLimitIsADenial(t *testing.T) {
	e := newGuardEnv(t, licentric.PolicyRequest{MaxMachines: licentric.Value(1)})
	admin := e.client(t, licentric.WithAPIKey(e.srv.TestAPIKey()))
	_, err := admin.Machines.Create(t.Context(), &licentric.MachineRequest{LicenseID: e.fx.License.ID, Fingerprint: "someone-else-0001"})
	require.NoError(t, err)
	_, st := e.start(t, e.client(t))
	assert.False(t, st.Allowed)
	assert.Equal(t, licentric.CodeMachineLimitExceeded, st.Code)
	assert.ErrorIs(t, st.Reason, licentric.ErrMachineLimitExceeded)
}

func TestGuardReactivatesACulledMachine(t *testing.T) {
	e := newGuardEnv(t, licentric.PolicyRequest{RequireHeartbeat: licentric.Value(true), HeartbeatIntervalMinutes: licentric.Value(10),
		HeartbeatCullStrategy: licentric.Value(licentric.CullDeactivateDead)})
	c := e.client(t)
	g, st := e.start(t, c)
	require.True(t, st.Allowed)
	first := st.Machine.ID
	// The application is suspended (laptop lid closed) past the interval:
	// the service culls the machine, and the guard mends it.
	e.net.down.Store(true)
	e.srv.Advance(11 * time.Minute)
	e.net.down.Store(false)
	st, err := g.Recheck(t.Context())
	require.NoError(t, err)
	assert.True(t, st.Allowed)
	require.NotNil(t, st.Machine)
	assert.NotEqual(t, first, st.Machine.ID, "the culled machine was not replaced")
	assert.Equal(t, 1, e.machines(t))
}

func TestGuardRevivesADeadMachine(t *testing.T) {
	e := newGuardEnv(t, licentric.PolicyRequest{RequireHeartbeat: licentric.Value(true), HeartbeatIntervalMinutes: licentric.Value(10),
		HeartbeatCullStrategy: licentric.Value(licentric.CullKeepDead)})
	g, st := e.start(t, e.client(t))
	require.True(t, st.Allowed)
	id := st.Machine.ID
	e.net.down.Store(true)
	e.srv.Advance(11 * time.Minute) // dead, kept
	e.net.down.Store(false)
	st, err := g.Recheck(t.Context())
	require.NoError(t, err)
	assert.True(t, st.Allowed, "%+v", st)
	assert.Equal(t, id, st.Machine.ID, "a dead KEEP_DEAD machine is revived, not replaced")
	assert.Equal(t, 1, e.activations())
}

func TestGuardHeartbeatsForItsWholeLife(t *testing.T) {
	e := newGuardEnv(t, licentric.PolicyRequest{RequireHeartbeat: licentric.Value(true), HeartbeatIntervalMinutes: licentric.Value(10),
		HeartbeatCullStrategy: licentric.Value(licentric.CullDeactivateDead)})
	ctx, cancel := context.WithCancel(t.Context())
	g, err := licentric.NewGuard(e.client(t), e.fx.License.Key)
	require.NoError(t, err)
	st, err := g.Start(ctx)
	require.NoError(t, err)
	require.True(t, st.Allowed)
	cancel() // the start-up context ends: the guard keeps beating
	t.Cleanup(func() { _ = g.Close(context.Background()) })
	hb := func() int {
		return e.srv.CountRequests(http.MethodPost, wire.SubPath(wire.PathMachines, st.Machine.ID, wire.SegmentHeartbeat))
	}
	for i := 1; i <= 6; i++ { // an hour in 5-minute steps
		// The supervisor and the heartbeat monitor both wait (and, before
		// the first step, Start's own start timeout).
		waiters := 2
		if i == 1 {
			waiters = 3
		}
		waitFor(t, func() bool { return e.srv.Clock().Waiters() >= waiters })
		e.srv.Advance(5 * time.Minute)
		waitFor(t, func() bool { return hb() >= i })
	}
	m, err := e.srv.Machine(e.fx.Env, st.Machine.ID)
	require.NoError(t, err)
	assert.Equal(t, licentric.MachineActive, m.Status)
	assert.True(t, g.State().Allowed)
}

// waitFor polls cond until it holds (a bounded wait for the guard's
// goroutine to reach its next wait; not a timing assertion).
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		require.True(t, time.Now().Before(deadline), "condition not reached")
		runtime.Gosched()
		time.Sleep(time.Millisecond)
	}
}

func TestGuardOutageWithFileThenWithout(t *testing.T) {
	e := newGuardEnv(t, licentric.PolicyRequest{})
	g, st := e.start(t, e.client(t), e.file())
	require.True(t, st.Allowed)
	_, err := os.Stat(e.path)
	require.NoError(t, err, "no license file checked out after a valid decision")
	require.NoError(t, g.Close(t.Context()))

	// Firewalled: a restart decides from the file, at once.
	e.net.down.Store(true)
	before := e.net.sent.Load()
	start := time.Now()
	_, st = e.start(t, e.client(t), e.file())
	t.Logf("Start with the service refusing connections decided in %v", time.Since(start))
	assert.True(t, st.Allowed)
	assert.Equal(t, licentric.SourceLicenseFile, st.Source)
	assert.ErrorIs(t, st.Reason, licentric.ErrUnavailable)
	assert.Equal(t, before, e.net.sent.Load())
	assert.False(t, st.Until.IsZero())

	// Without the file (and a fresh cache): denied, unavailable.
	require.NoError(t, os.Remove(e.path))
	_, st = e.start(t, e.client(t), e.file())
	assert.False(t, st.Allowed)
	assert.Equal(t, licentric.SourceNone, st.Source)
	assert.ErrorIs(t, st.Reason, licentric.ErrUnavailable)
	assert.Empty(t, st.Code)
}

func TestGuardOutageWithoutFileUsesStaleCache(t *testing.T) {
	e := newGuardEnv(t, licentric.PolicyRequest{})
	c := e.client(t, licentric.WithCacheTTL(time.Minute))
	g, st := e.start(t, c)
	require.True(t, st.Allowed)
	e.net.down.Store(true)
	e.srv.Advance(5 * time.Minute)
	st, err := g.Recheck(t.Context())
	require.NoError(t, err)
	assert.True(t, st.Allowed)
	assert.Equal(t, licentric.SourceCache, st.Source)
	assert.ErrorIs(t, st.Reason, licentric.ErrUnavailable)
	e.srv.Advance(2 * time.Hour) // past WithStaleIfError's hour
	st, err = g.Recheck(t.Context())
	require.NoError(t, err)
	assert.False(t, st.Allowed)
	assert.ErrorIs(t, st.Reason, licentric.ErrUnavailable)
}

func TestGuardSuspendedThenRestartedOfflineStaysDenied(t *testing.T) {
	e := newGuardEnv(t, licentric.PolicyRequest{})
	g, st := e.start(t, e.client(t), e.file())
	require.True(t, st.Allowed)
	_, err := e.srv.SetLicenseStatus(e.fx.Env, e.fx.License.ID, "suspend")
	require.NoError(t, err)
	st, err = g.Recheck(t.Context())
	require.NoError(t, err)
	assert.False(t, st.Allowed)
	assert.Equal(t, licentric.CodeSuspended, st.Code)
	assert.ErrorIs(t, st.Reason, licentric.ErrSuspended)
	_, err = os.Stat(e.path)
	assert.ErrorIs(t, err, os.ErrNotExist, "the license file of a suspended license was kept")
	require.NoError(t, g.Close(t.Context()))

	// Firewall the service and restart: still denied.
	e.net.down.Store(true)
	_, st = e.start(t, e.client(t), e.file())
	assert.False(t, st.Allowed)

	// Reinstated (an hour later) and online again: everything comes back.
	e.net.down.Store(false)
	e.srv.Advance(time.Hour)
	_, err = e.srv.SetLicenseStatus(e.fx.Env, e.fx.License.ID, "reinstate")
	require.NoError(t, err)
	_, st = e.start(t, e.client(t), e.file())
	assert.True(t, st.Allowed)
	_, err = os.Stat(e.path)
	assert.NoError(t, err)
}

func TestGuardSeesSuspensionByWebhookAtOnce(t *testing.T) {
	e := newGuardEnv(t, licentric.PolicyRequest{})
	c := e.client(t)
	changes := make(chan licentric.GuardState, 8)
	g, st := e.start(t, c, licentric.OnGuardChange(func(s licentric.GuardState) { changes <- s }))
	require.True(t, st.Allowed)
	<-changes // the first decision

	admin := e.client(t, licentric.WithAPIKey(e.srv.TestAPIKey()))
	hookUp(t, c, admin)

	_, err := admin.Licenses.Suspend(t.Context(), e.fx.License.ID)
	require.NoError(t, err)
	require.NoError(t, e.srv.FlushWebhooks(t.Context()))
	select {
	case s := <-changes:
		assert.False(t, s.Allowed)
		assert.Equal(t, licentric.CodeSuspended, s.Code)
	case <-time.After(10 * time.Second): // a hang detector
		t.Fatal("the suspension webhook did not reach the guard")
	}
	assert.False(t, g.Allows(""))
}

func TestGuardSeesSuspensionByRecheck(t *testing.T) {
	e := newGuardEnv(t, licentric.PolicyRequest{})
	g, st := e.start(t, e.client(t), licentric.WithCheckInterval(time.Minute))
	require.True(t, st.Allowed)
	_, err := e.srv.SetLicenseStatus(e.fx.Env, e.fx.License.ID, "suspend")
	require.NoError(t, err)
	waitFor(t, func() bool { return e.srv.Clock().Waiters() > 0 })
	e.srv.Advance(time.Minute) // the periodic recheck
	waitFor(t, func() bool { return !g.State().Allowed })
	assert.Equal(t, licentric.CodeSuspended, g.State().Code)
}

func TestGuardEntitlementGrantedOnlineThenOffline(t *testing.T) {
	e := newGuardEnv(t, licentric.PolicyRequest{})
	admin := e.client(t, licentric.WithAPIKey(e.srv.TestAPIKey()))
	_, err := admin.Entitlements.Create(t.Context(), &licentric.EntitlementRequest{Code: licentric.Value("pdf-export"), Name: licentric.Value("PDF")})
	require.NoError(t, err)
	// WithEntitlements, given to a guard, makes the entitlement required.
	strict, st := e.start(t, e.client(t), licentric.WithEntitlements("pdf-export"))
	assert.False(t, st.Allowed)
	assert.Equal(t, licentric.CodeEntitlementsMissing, st.Code)
	require.NoError(t, strict.Close(t.Context()))

	g, st := e.start(t, e.client(t), e.file())
	require.True(t, st.Allowed)
	assert.False(t, g.Allows("pdf-export"))

	_, err = admin.Licenses.AttachEntitlements(t.Context(), e.fx.License.ID, "pdf-export")
	require.NoError(t, err)
	_, err = g.Recheck(t.Context())
	require.NoError(t, err)
	assert.True(t, g.Allows("pdf-export"))
	require.NoError(t, g.Close(t.Context()))

	// Offline, the refreshed file grants it too.
	e.net.down.Store(true)
	g, st = e.start(t, e.client(t), e.file(), licentric.WithEntitlements("pdf-export"))
	assert.Equal(t, licentric.SourceLicenseFile, st.Source)
	assert.True(t, st.Allowed)
	assert.True(t, g.Allows("pdf-export"))
}

func TestGuardFollowsSigningKeyRotation(t *testing.T) {
	e := newGuardEnv(t, licentric.PolicyRequest{})
	oldKey := e.srv.PublicKey()
	newKey := e.srv.RotateSigningKey()
	_, st := e.start(t, e.client(t), licentric.WithLicenseFile(e.path, offline.MarshalPublicKey(oldKey), offline.MarshalPublicKey(newKey)))
	v := e.verifier(t)
	require.True(t, st.Allowed)
	f, err := v.VerifyFile(e.path)
	require.NoError(t, err)
	assert.Equal(t, offline.KeyID(newKey), f.KeyID)

	// A verifier that knows only the old key never gets the new file
	// written over a good one.
	e2 := newGuardEnv(t, licentric.PolicyRequest{})
	pinOld := licentric.WithLicenseFile(e2.path, e2.keys()...)
	_, st = e2.start(t, e2.client(t), pinOld)
	require.True(t, st.Allowed)
	good, err := os.ReadFile(e2.path)
	require.NoError(t, err)
	e2.srv.RotateSigningKey()
	e2.srv.Advance(8 * 24 * time.Hour) // past half the file's life: a refresh is due
	g2, _ := e2.start(t, e2.client(t), pinOld)
	_ = g2
	now, err := os.ReadFile(e2.path)
	require.NoError(t, err)
	assert.Equal(t, good, now, "a file the verifier cannot verify replaced the stored one")
}

func TestGuardRefusesAClockSetBack(t *testing.T) {
	e := newGuardEnv(t, licentric.PolicyRequest{})
	g, st := e.start(t, e.client(t), e.file())
	require.True(t, st.Allowed)
	e.srv.Advance(3 * 24 * time.Hour)
	_, err := g.Recheck(t.Context()) // the guard looks at its file: the mark moves on
	require.NoError(t, err)
	require.NoError(t, g.Close(t.Context()))

	e.net.down.Store(true)
	e.srv.SetNow(e.srv.Now().Add(-2 * 24 * time.Hour)) // the user sets the clock back
	_, st = e.start(t, e.client(t), e.file())
	assert.False(t, st.Allowed, "a clock set back kept the file usable: %+v", st)
	assert.ErrorIs(t, st.Reason, licentric.ErrUnavailable)
	assert.ErrorIs(t, st.Reason, offline.ErrClockRollback)
	assert.ErrorIs(t, st.FileErr, offline.ErrClockRollback)
}

func TestGuardCloseFreesTheSeat(t *testing.T) {
	e := newGuardEnv(t, licentric.PolicyRequest{})
	g, st := e.start(t, e.client(t), licentric.WithDeactivateOnClose())
	require.True(t, st.Allowed)
	assert.Equal(t, 1, e.machines(t))
	require.NoError(t, g.Close(t.Context()))
	assert.Equal(t, 0, e.machines(t))
	require.NoError(t, g.Close(t.Context()), "second Close")
	_, err := g.Recheck(t.Context())
	assert.ErrorIs(t, err, licentric.ErrGuardClosed)
}

func TestGuardStateUnderConcurrentChanges(t *testing.T) {
	e := newGuardEnv(t, licentric.PolicyRequest{})
	g, st := e.start(t, e.client(t))
	require.True(t, st.Allowed)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				s := g.State()
				_ = g.Allows("pdf-export")
				if s.Allowed && s.Code == "" {
					t.Error("allowed without a code")
				}
				runtime.Gosched() // let the writer run on a 2-core machine
			}
		})
	}
	for i := range 10 {
		action := "suspend"
		if i%2 == 1 {
			action = "reinstate"
		}
		_, err := e.srv.SetLicenseStatus(e.fx.Env, e.fx.License.ID, action)
		require.NoError(t, err)
		_, err = g.Recheck(t.Context())
		require.NoError(t, err)
	}
	close(stop)
	wg.Wait()
}

func TestGuardLeavesNoGoroutine(t *testing.T) {
	e := newGuardEnv(t, licentric.PolicyRequest{RequireHeartbeat: licentric.Value(true), HeartbeatIntervalMinutes: licentric.Value(10)})
	c := e.client(t)
	warm, err := licentric.NewGuard(c, e.fx.License.Key)
	require.NoError(t, err)
	_, err = warm.Start(t.Context()) // opens the keep-alive connection
	require.NoError(t, err)
	require.NoError(t, warm.Close(t.Context()))
	before := runtime.NumGoroutine()
	for range 5 {
		g, err := licentric.NewGuard(c, e.fx.License.Key, licentric.OnGuardChange(func(licentric.GuardState) {}))
		require.NoError(t, err)
		_, err = g.Start(t.Context())
		require.NoError(t, err)
		require.NoError(t, g.Close(t.Context()))
	}
	waitFor(t, func() bool { return runtime.NumGoroutine() <= before })
}

func TestGuardMisuse(t *testing.T) {
	e := newGuardEnv(t, licentric.PolicyRequest{})
	c := e.client(t)
	_, err := licentric.NewGuard(nil, e.fx.License.Key)
	assert.ErrorIs(t, err, licentric.ErrInvalidArgument)
	_, err = licentric.NewGuard(c, "")
	assert.ErrorIs(t, err, licentric.ErrInvalidArgument)
	_, err = licentric.NewGuard(c, e.fx.License.Key, licentric.WithCheckInterval(time.Second))
	assert.ErrorIs(t, err, licentric.ErrInvalidArgument)
	_, err = licentric.NewGuard(c, e.fx.License.Key, licentric.WithLicenseFile(""))
	assert.ErrorIs(t, err, licentric.ErrInvalidArgument)
	_, err = licentric.NewGuard(c, e.fx.License.Key, licentric.WithLicenseFile(e.path))
	assert.ErrorIs(t, err, licentric.ErrInvalidArgument, "no key")
	_, err = licentric.NewGuard(c, e.fx.License.Key, licentric.WithLicenseFile(e.path, "not a key"))
	assert.ErrorIs(t, err, licentric.ErrInvalidArgument, "a malformed key")
	_, err = licentric.NewGuard(c, e.fx.License.Key, licentric.WithLicenseFile(e.path, strings.Repeat("00", 32)))
	assert.ErrorIs(t, err, offline.ErrWeakKey, "a weak key")
	_, err = licentric.NewGuard(c, e.fx.License.Key, licentric.WithLicenseFileVerifier(e.path, nil))
	assert.ErrorIs(t, err, licentric.ErrInvalidArgument)
	_, err = licentric.NewGuard(c, e.fx.License.Key, licentric.WithOfflineOnly())
	assert.ErrorIs(t, err, licentric.ErrInvalidArgument, "offline only without a file")
	// Of the ValidateOptions, only WithEntitlements configures a guard.
	_, err = licentric.NewGuard(c, e.fx.License.Key, licentric.WithEntitlements("pdf-export", ""))
	assert.ErrorIs(t, err, licentric.ErrInvalidArgument, "an empty entitlement code")
	_, err = licentric.NewGuard(c, e.fx.License.Key, licentric.WithFingerprint(strings.Repeat("f", 64)))
	assert.ErrorIs(t, err, licentric.ErrInvalidArgument, "WithFingerprint")
	_, err = licentric.NewGuard(c, e.fx.License.Key, licentric.WithFreshValidation())
	assert.ErrorIs(t, err, licentric.ErrInvalidArgument, "WithFreshValidation")
	_, err = licentric.NewGuard(c, e.fx.License.Key, licentric.ValidateOption{})
	assert.ErrorIs(t, err, licentric.ErrInvalidArgument, "the zero ValidateOption")
	_, err = licentric.NewGuard(c, e.fx.License.Key, licentric.WithOfflineOnly(), e.file(), licentric.WithDeactivateOnClose())
	assert.ErrorIs(t, err, licentric.ErrInvalidArgument, "offline only cannot deactivate")
	noFP, err := licentric.NewClient(licentric.WithBaseURL(e.srv.URL))
	require.NoError(t, err)
	_, err = licentric.NewGuard(noFP, e.fx.License.Key)
	assert.ErrorIs(t, err, licentric.ErrNoFingerprinter)
	g, _ := e.start(t, c)
	_, err = g.Start(t.Context())
	assert.ErrorIs(t, err, licentric.ErrInvalidArgument, "second Start")
	assert.NotContains(t, g.String(), e.fx.License.Key)
	_ = errors.New
}

// hookServer serves webhook deliveries with a handler that can be swapped
// (the secret is known only once the webhook is created).
type hookServer struct {
	URL string
	h   atomic.Pointer[http.Handler]
}

func (s *hookServer) set(h http.Handler) { s.h.Store(&h) }

func newHookServer(t *testing.T, h http.Handler) *hookServer {
	t.Helper()
	s := &hookServer{}
	s.set(h)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { (*s.h.Load()).ServeHTTP(w, r) }))
	t.Cleanup(hs.Close)
	s.URL = hs.URL
	return s
}

// hookUp registers, with admin, a webhook for every event whose deliveries
// reach c's WebhookHandler.
func hookUp(t *testing.T, c, admin *licentric.Client) {
	t.Helper()
	h, err := c.WebhookHandler([]string{"placeholder"}, nil)
	require.NoError(t, err)
	hs := newHookServer(t, h)
	wh, err := admin.Webhooks.Create(t.Context(), &licentric.WebhookRequest{URL: licentric.Value(hs.URL), Events: []string{"*"}})
	require.NoError(t, err)
	h2, err := c.WebhookHandler([]string{wh.Secret}, nil)
	require.NoError(t, err)
	hs.set(h2)
}
