package licentric_test

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"errors"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licentric/licentric-go"
	"github.com/licentric/licentric-go/internal/testkit"
	"github.com/licentric/licentric-go/internal/wire"
	"github.com/licentric/licentric-go/licentrictest"
	"github.com/licentric/licentric-go/offline"
)

// The edges of the network, the disk and the lifecycle an application's
// guard meets in the field: each test names the failure it reproduces.

// hang makes the service accept every request and never answer.
func (e *guardEnv) hang() { e.srv.InjectFault(licentrictest.Fault{Hang: true, Times: 1 << 20}) }

// firstRun starts a guard online once, so that a license file is stored.
func (e *guardEnv) firstRun(t *testing.T) {
	t.Helper()
	g, st := e.start(t, e.client(t), e.file())
	require.True(t, st.Allowed)
	require.FileExists(t, e.path)
	require.NoError(t, g.Close(t.Context()))
}

// startAsync runs Start in a goroutine; the returned function waits for it
// (a hang detector, not a timing assertion).
func startAsync(t *testing.T, g *licentric.Guard) func() licentric.GuardState {
	t.Helper()
	type result struct {
		st  licentric.GuardState
		err error
	}
	done := make(chan result, 1)
	go func() {
		st, err := g.Start(context.Background()) // no deadline: only the start timeout bounds it
		done <- result{st, err}
	}()
	t.Cleanup(func() { _ = g.Close(context.Background()) })
	return func() licentric.GuardState {
		t.Helper()
		select {
		case r := <-done:
			require.NoError(t, r.err)
			return r.st
		case <-time.After(10 * time.Second):
			t.Fatal("Start did not return")
			return licentric.GuardState{}
		}
	}
}

// A service that accepts connections and never answers: with a file, Start
// decides from it when the start timeout passes on the client's clock;
// without one, it denies then, as unavailable. Neither waits for the
// caller's context (there is none) or the 30-second attempt timeout.
func TestGuardStartAgainstAHangingService(t *testing.T) {
	for _, withFile := range []bool{true, false} {
		t.Run(map[bool]string{true: "with a file", false: "without a file"}[withFile], func(t *testing.T) {
			e := newGuardEnv(t, licentric.PolicyRequest{})
			opts := []licentric.GuardOption{licentric.WithStartTimeout(time.Hour)} // the real-time bound stays out of the way
			if withFile {
				e.firstRun(t)
				opts = append(opts, e.file())
			}
			e.hang()
			g, err := licentric.NewGuard(e.client(t), e.fx.License.Key, opts...)
			require.NoError(t, err)
			waiting := e.srv.Clock().Waiters()
			wait := startAsync(t, g)
			waitFor(t, func() bool { return e.srv.Clock().Waiters() > waiting }) // Start waits on the client's clock
			e.srv.Advance(time.Hour)
			st := wait()
			assert.ErrorIs(t, st.Reason, licentric.ErrUnavailable)
			if withFile {
				assert.True(t, st.Allowed)
				assert.Equal(t, licentric.SourceLicenseFile, st.Source)
				assert.Equal(t, licentric.CodeValid, st.Code)
			} else {
				assert.False(t, st.Allowed)
				assert.Equal(t, licentric.SourceNone, st.Source)
			}
			require.NoError(t, g.Close(t.Context()))
		})
	}
}

// The same in real time: the default start timeout bounds Start when the
// caller's context has no deadline.
func TestGuardStartTimeoutInRealTime(t *testing.T) {
	e := newGuardEnv(t, licentric.PolicyRequest{})
	e.hang()
	c := testkit.WallClient(t, e.srv, licentric.WithFingerprinter(func() (string, error) { return guardFP, nil }))
	g, err := licentric.NewGuard(c, e.fx.License.Key, licentric.WithStartTimeout(200*time.Millisecond))
	require.NoError(t, err)
	st := startAsync(t, g)()
	assert.False(t, st.Allowed)
	assert.ErrorIs(t, st.Reason, licentric.ErrUnavailable)
}

// Every way the network fails in the field decides from the file at Start.
func TestGuardStartDecidesFromTheFileWhateverTheNetworkDoes(t *testing.T) {
	tlsSrv := httptest.NewTLSServer(http.NotFoundHandler()) // a certificate nobody trusts
	t.Cleanup(tlsSrv.Close)
	cases := map[string]struct {
		client func(e *guardEnv) []licentric.Option
		isErr  func(t *testing.T, err error)
	}{
		"refused": {client: func(e *guardEnv) []licentric.Option {
			e.net.down.Store(true)
			return nil
		}},
		"DNS failing": {client: func(e *guardEnv) []licentric.Option {
			dns := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				return nil, &net.DNSError{Err: "no such host", Name: "licentric.invalid", IsNotFound: true}
			}}
			return []licentric.Option{licentric.WithBaseURL("https://licentric.invalid"), licentric.WithHTTPClient(&http.Client{Transport: dns})}
		}, isErr: func(t *testing.T, err error) {
			var dnsErr *net.DNSError
			assert.ErrorAs(t, err, &dnsErr)
		}},
		"TLS failing": {client: func(e *guardEnv) []licentric.Option {
			return []licentric.Option{licentric.WithBaseURL(tlsSrv.URL), licentric.WithHTTPClient(&http.Client{})}
		}, isErr: func(t *testing.T, err error) {
			var unknown x509.UnknownAuthorityError
			assert.ErrorAs(t, err, &unknown, "the x509 error stays available")
		}},
		"hanging": {client: func(e *guardEnv) []licentric.Option {
			e.hang()
			return nil
		}},
		"5xx": {client: func(e *guardEnv) []licentric.Option {
			e.srv.InjectFault(licentrictest.Fault{Status: 503, Times: 100})
			return nil
		}},
		"a captive portal's page": {client: func(e *guardEnv) []licentric.Option {
			portal := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				_, _ = w.Write([]byte("<html>Sign in to the hotel wifi</html>"))
			}))
			t.Cleanup(portal.Close)
			return []licentric.Option{licentric.WithBaseURL(portal.URL)}
		}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			e := newGuardEnv(t, licentric.PolicyRequest{})
			e.firstRun(t)
			opts := tc.client(e)
			g, err := licentric.NewGuard(e.client(t, opts...), e.fx.License.Key, e.file(), licentric.WithStartTimeout(300*time.Millisecond))
			require.NoError(t, err)
			st := startAsync(t, g)()
			assert.True(t, st.Allowed, "%+v", st)
			assert.Equal(t, licentric.SourceLicenseFile, st.Source)
			assert.ErrorIs(t, st.Reason, licentric.ErrUnavailable)
			if tc.isErr != nil {
				// The first look's own error arrives when the attempt ends.
				waitFor(t, func() bool { return !strings.Contains(g.State().Reason.Error(), "start timeout") })
				tc.isErr(t, g.State().Reason)
			}
		})
	}
}

// OnGuardChange hears the first decision, whatever it is, before Start
// returns; then once per change.
func TestGuardOnChangeHearsTheFirstDecisionBeforeStartReturns(t *testing.T) {
	e := newGuardEnv(t, licentric.PolicyRequest{})
	e.net.down.Store(true) // nothing can be decided: none to none
	var heard []licentric.GuardState
	var mu sync.Mutex
	g, err := licentric.NewGuard(e.client(t), e.fx.License.Key, licentric.WithStartTimeout(100*time.Millisecond),
		licentric.OnGuardChange(func(s licentric.GuardState) { mu.Lock(); heard = append(heard, s); mu.Unlock() }))
	require.NoError(t, err)
	st, err := g.Start(t.Context())
	require.NoError(t, err)
	t.Cleanup(func() { _ = g.Close(context.Background()) })
	mu.Lock()
	require.Len(t, heard, 1, "the first decision was not heard before Start returned")
	assert.Equal(t, licentric.SourceNone, heard[0].Source)
	mu.Unlock()
	assert.False(t, st.Allowed)

	e.net.down.Store(false)
	_, err = g.Recheck(t.Context())
	require.NoError(t, err)
	_, err = g.Recheck(t.Context()) // no change: not heard again
	require.NoError(t, err)
	require.NoError(t, g.Close(t.Context())) // delivers what is queued
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, heard, 2)
	assert.True(t, heard[1].Allowed)
}

// A config directory that does not exist yet is created (0700), and the
// file is written there (0600).
func TestGuardCreatesTheLicenseFileDirectory(t *testing.T) {
	e := newGuardEnv(t, licentric.PolicyRequest{})
	e.path = filepath.Join(e.dir, "config", "myapp", "license.lic")
	_, st := e.start(t, e.client(t), e.file())
	require.True(t, st.Allowed)
	assert.NoError(t, st.FileErr)
	fi, err := os.Stat(e.path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	di, err := os.Stat(filepath.Dir(e.path))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), di.Mode().Perm())
}

// logCounter counts the WARN records a logger receives, by message.
type logCounter struct {
	mu    sync.Mutex
	warns map[string]int
	all   []string
}

func newLogCounter() *logCounter { return &logCounter{warns: map[string]int{}} }

func (l *logCounter) Enabled(context.Context, slog.Level) bool { return true }
func (l *logCounter) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	line := r.Message
	r.Attrs(func(a slog.Attr) bool { line += " " + a.String(); return true })
	l.all = append(l.all, line)
	if r.Level == slog.LevelWarn {
		l.warns[r.Message]++
	}
	return nil
}
func (l *logCounter) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logCounter) WithGroup(string) slog.Handler      { return l }
func (l *logCounter) count(msg string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.warns[msg]
}

// A signing key that is not the service's: Start succeeds, FileErr says the
// file never verifies, and the guard warns once, not on every check.
func TestGuardSaysWhyThereIsNoLicenseFile(t *testing.T) {
	e := newGuardEnv(t, licentric.PolicyRequest{})
	logs := newLogCounter()
	other := offline.MarshalPublicKey(ed25519.NewKeyFromSeed(make([]byte, 32)).Public().(ed25519.PublicKey))
	g, st := e.start(t, e.client(t, licentric.WithLogger(slog.New(logs))), licentric.WithLicenseFile(e.path, other))
	assert.True(t, st.Allowed)
	assert.ErrorIs(t, st.FileErr, offline.ErrUnknownKey)
	assert.NoFileExists(t, e.path)
	for range 3 {
		st, err := g.Recheck(t.Context())
		require.NoError(t, err)
		assert.ErrorIs(t, st.FileErr, offline.ErrUnknownKey)
	}
	assert.Equal(t, 1, logs.count("licentric: guard: no usable license file"), "warned once per cause")

	// A policy without offline use says so too.
	e2 := newGuardEnv(t, licentric.PolicyRequest{OfflineAllowed: licentric.Value(false)})
	_, st = e2.start(t, e2.client(t), e2.file())
	assert.True(t, st.Allowed)
	assert.ErrorIs(t, st.FileErr, licentric.ErrOfflineNotAllowed)
}

// A directory that cannot be made is FileErr too.
func TestGuardLicenseFileDirectoryUnwritable(t *testing.T) {
	e := newGuardEnv(t, licentric.PolicyRequest{})
	blocker := filepath.Join(e.dir, "not-a-dir")
	require.NoError(t, os.WriteFile(blocker, []byte("x"), 0o600))
	e.path = filepath.Join(blocker, "license.lic")
	_, st := e.start(t, e.client(t), e.file())
	assert.True(t, st.Allowed)
	require.Error(t, st.FileErr)
}

// A one-seat license taken by another computer: the denial carries the
// license and its policy, so the application can say how many computers it
// allows.
func TestGuardMachineLimitDenialKeepsTheLicense(t *testing.T) {
	e := newGuardEnv(t, licentric.PolicyRequest{MaxMachines: licentric.Value(1)})
	admin := e.client(t)
	_, err := admin.Machines.Create(t.Context(), &licentric.MachineRequest{LicenseID: e.fx.License.ID, Fingerprint: "another-computer-01"})
	require.NoError(t, err)
	_, st := e.start(t, e.client(t), e.file())
	assert.False(t, st.Allowed)
	assert.Equal(t, licentric.CodeMachineLimitExceeded, st.Code)
	assert.Equal(t, licentric.SourceService, st.Source)
	assert.ErrorIs(t, st.Reason, licentric.ErrMachineLimitExceeded)
	require.NotNil(t, st.License)
	require.NotNil(t, st.License.Policy)
	require.NotNil(t, st.License.Policy.MaxMachines)
	assert.Equal(t, 1, *st.License.Policy.MaxMachines)
	assert.Equal(t, e.fx.License.ID, st.License.ID)
}

// Fifteen days offline on a fourteen-day file: "offline too long" is told
// apart from "never had a file".
func TestGuardOfflineLongerThanTheFile(t *testing.T) {
	e := newGuardEnv(t, licentric.PolicyRequest{})
	e.firstRun(t)
	e.net.down.Store(true)
	e.srv.Advance(15 * 24 * time.Hour)
	_, st := e.start(t, e.client(t), e.file())
	assert.False(t, st.Allowed)
	assert.ErrorIs(t, st.Reason, licentric.ErrUnavailable)
	assert.ErrorIs(t, st.Reason, offline.ErrFileExpired)
	assert.ErrorIs(t, st.FileErr, offline.ErrFileExpired)

	// Never had one: not expired, but missing.
	e2 := newGuardEnv(t, licentric.PolicyRequest{})
	e2.net.down.Store(true)
	_, st = e2.start(t, e2.client(t), e2.file())
	assert.ErrorIs(t, st.Reason, licentric.ErrUnavailable)
	assert.NotErrorIs(t, st.Reason, offline.ErrFileExpired)
	assert.ErrorIs(t, st.FileErr, fs.ErrNotExist)
}

// A decision in progress holds no lock: a webhook delivery and a Close
// while the service hangs return at once.
func TestGuardHangingDecisionBlocksNothing(t *testing.T) {
	e := newGuardEnv(t, licentric.PolicyRequest{})
	c := e.client(t)
	admin := e.client(t)
	g, st := e.start(t, c, e.file())
	require.True(t, st.Allowed)
	hookUp(t, c, admin)

	e.srv.InjectFault(licentrictest.Fault{Path: wire.PathValidateKey, Hang: true, Times: 1 << 20})
	recheck := make(chan struct{})
	go func() {
		defer close(recheck)
		_, _ = g.Recheck(context.Background()) // hangs with the service
	}()
	waitFor(t, func() bool { return countHanging(e) > 0 })

	// A webhook delivery is answered at once.
	_, err := admin.Licenses.Suspend(t.Context(), e.fx.License.ID)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second) // a hang detector
	defer cancel()
	require.NoError(t, e.srv.FlushWebhooks(ctx), "a webhook delivery waited for the hanging decision")

	// Close with a short deadline returns within it.
	ctx, cancel = context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	closed := make(chan error, 1)
	go func() { closed <- g.Close(ctx) }()
	select {
	case err := <-closed:
		assert.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("Close waited for the hanging decision")
	}
	<-recheck
}

// countHanging reports how many requests the server holds or held (logged
// with no status).
func countHanging(e *guardEnv) int {
	n := 0
	for _, r := range e.srv.Requests() {
		if r.Status == 0 {
			n++
		}
	}
	return n
}

// A restored license file after a definitive denial is no license, even
// with the network cut.
func TestGuardRestoredFileAfterDenialStaysDenied(t *testing.T) {
	e := newGuardEnv(t, licentric.PolicyRequest{})
	e.firstRun(t)
	saved, err := os.ReadFile(e.path)
	require.NoError(t, err)

	_, err = e.srv.SetLicenseStatus(e.fx.Env, e.fx.License.ID, "suspend")
	require.NoError(t, err)
	g, st := e.start(t, e.client(t), e.file())
	require.False(t, st.Allowed)
	require.NoFileExists(t, e.path)
	require.NoError(t, g.Close(t.Context()))

	require.NoError(t, os.WriteFile(e.path, saved, 0o600)) // the user puts the copy back
	e.net.down.Store(true)                                 // and cuts the network
	_, st = e.start(t, e.client(t), e.file())
	assert.False(t, st.Allowed, "a restored file granted access: %+v", st)
	assert.ErrorIs(t, st.FileErr, offline.ErrFileWithdrawn)
	assert.ErrorIs(t, st.Reason, offline.ErrFileWithdrawn)
}

// Start and Close at the same moment never panic or leak.
func TestGuardStartAndCloseConcurrently(t *testing.T) {
	e := newGuardEnv(t, licentric.PolicyRequest{})
	c := e.client(t)
	for range 300 {
		g, err := licentric.NewGuard(c, e.fx.License.Key)
		require.NoError(t, err)
		var wg sync.WaitGroup
		wg.Go(func() { _, _ = g.Start(context.Background()) })
		wg.Go(func() { _ = g.Close(context.Background()) })
		wg.Wait()
		require.NoError(t, g.Close(context.Background()))
		_, err = g.Recheck(t.Context())
		assert.ErrorIs(t, err, licentric.ErrGuardClosed)
	}
}

// WithOfflineOnly opens no socket, ever: it decides from the file, Recheck
// reads the file again, and a missing, expired or foreign file is a denial
// whose FileErr says why.
func TestGuardOfflineOnlyOpensNoSocket(t *testing.T) {
	e := newGuardEnv(t, licentric.PolicyRequest{})
	e.firstRun(t)
	var dials atomic.Int32
	noNet := &http.Transport{DialContext: func(context.Context, string, string) (net.Conn, error) {
		dials.Add(1)
		return nil, errors.New("no network on an air-gapped machine")
	}}
	c := e.client(t, licentric.WithHTTPClient(&http.Client{Transport: noNet}))
	before := len(e.srv.Requests())
	g, st := e.start(t, c, e.file(), licentric.WithOfflineOnly())
	assert.True(t, st.Allowed)
	assert.Equal(t, licentric.SourceLicenseFile, st.Source)
	assert.NoError(t, st.Reason)
	assert.NoError(t, st.FileErr)

	require.NoError(t, os.Remove(e.path))
	st, err := g.Recheck(t.Context())
	require.NoError(t, err)
	assert.False(t, st.Allowed)
	assert.ErrorIs(t, st.Reason, licentric.ErrNoLicenseFile)
	assert.ErrorIs(t, st.FileErr, fs.ErrNotExist)
	require.NoError(t, g.Close(t.Context()))
	assert.Zero(t, dials.Load(), "an offline-only guard dialled")
	assert.Equal(t, before, len(e.srv.Requests()), "an offline-only guard reached the service")

	// Expired, and another machine's file.
	e.firstRun(t)
	e.srv.Advance(15 * 24 * time.Hour)
	_, st = e.start(t, c, e.file(), licentric.WithOfflineOnly())
	assert.False(t, st.Allowed)
	assert.ErrorIs(t, st.FileErr, offline.ErrFileExpired)
	// The file carried to another machine.
	e.srv.Advance(-15 * 24 * time.Hour)
	copied := filepath.Join(t.TempDir(), "license.lic")
	data, err := os.ReadFile(e.path)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(copied, data, 0o600))
	other := e.client(t, licentric.WithHTTPClient(&http.Client{Transport: noNet}), licentric.WithFingerprinter(func() (string, error) { return "another-machine-01", nil }))
	_, st = e.start(t, other, licentric.WithLicenseFile(copied, e.keys()...), licentric.WithOfflineOnly())
	assert.ErrorIs(t, st.FileErr, offline.ErrFingerprintMismatch)
	assert.Zero(t, dials.Load())
}

// An application's client (no API key) validates in the live environment:
// a license seeded with the default environment is NOT_FOUND for it, one
// seeded in EnvLive licenses its guard (README, "Testing your application").
func TestGuardOfAnAppClientSeesLiveLicensesOnly(t *testing.T) {
	srv := licentrictest.NewServer()
	defer srv.Close()
	app := testkit.AppClient(t, srv, "", licentric.WithAppID("com.example.pdftool"))
	for env, allowed := range map[string]bool{"": false, licentrictest.EnvTest: false, licentrictest.EnvLive: true} {
		fx, err := srv.Seed(licentrictest.Seed{Env: env})
		require.NoError(t, err)
		g, err := licentric.NewGuard(app, fx.License.Key)
		require.NoError(t, err)
		st, err := g.Start(context.Background())
		require.NoError(t, err)
		assert.Equal(t, allowed, st.Allowed, "seeded in %q", env)
		if !allowed {
			assert.ErrorIs(t, st.Reason, licentric.ErrNotFound, "seeded in %q", env)
		}
		require.NoError(t, g.Close(context.Background()))
	}
}
