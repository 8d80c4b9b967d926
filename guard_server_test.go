package licentric_test

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licentric/licentric-go"
	"github.com/licentric/licentric-go/fingerprint"
	"github.com/licentric/licentric-go/internal/wire"
	"github.com/licentric/licentric-go/licentrictest"
	"github.com/licentric/licentric-go/offline"
	"github.com/licentric/licentric-go/webhook"
)

// A guard in a server product: outages of hours, a seat freed long after a
// denial, a container without a state directory. The timed ones run in a
// testing/synctest bubble on an in-memory server, so hours pass at once.

// bubbleGuard is a started guard of license key on machine fp, on a client
// of srv in the bubble, with opts.
func bubbleGuard(t *testing.T, srv *licentrictest.Server, key, fp string, opts ...licentric.GuardOption) (*licentric.Guard, licentric.GuardState) {
	t.Helper()
	return startGuard(t, appClient(t, srv, fp), key, opts...)
}

// startGuard starts a guard of license key on client c, closed at the end
// of the test.
func startGuard(t *testing.T, c *licentric.Client, key string, opts ...licentric.GuardOption) (*licentric.Guard, licentric.GuardState) {
	t.Helper()
	g, err := licentric.NewGuard(c, key, opts...)
	require.NoError(t, err)
	st, err := g.Start(t.Context())
	require.NoError(t, err)
	t.Cleanup(func() { _ = g.Close(context.Background()) })
	return g, st
}

// appClient is an application's client (no API key) of srv on machine fp.
func appClient(t *testing.T, srv *licentrictest.Server, fp string) *licentric.Client {
	t.Helper()
	c, err := licentric.NewClient(licentric.WithBaseURL(srv.URL), licentric.WithHTTPClient(srv.Client()),
		licentric.WithFingerprinter(func() (string, error) { return fp, nil }))
	require.NoError(t, err)
	return c
}

// down makes every request fail as a dropped connection until up.
func down(srv *licentrictest.Server) {
	srv.InjectFault(licentrictest.Fault{Drop: true, Times: 1 << 30})
}

// heartbeats counts the heartbeats the service answered.
func heartbeats(srv *licentrictest.Server) int {
	n := 0
	for _, r := range srv.Requests() {
		if r.Method == http.MethodPost && r.Status == http.StatusOK && strings.HasSuffix(r.Path, "/"+wire.SegmentHeartbeat) {
			n++
		}
	}
	return n
}

// validations counts the validations sent.
func validations(srv *licentrictest.Server) int {
	return srv.CountRequests(http.MethodPost, wire.PathValidateKey)
}

// After an outage of any length, the first check once the service answers
// comes within one check interval, and heartbeats resume (the machine,
// culled meanwhile, is activated again).
func TestGuardAsksAgainAfterOutagesOfHours(t *testing.T) {
	for _, outage := range []time.Duration{40 * time.Minute, 50 * time.Minute, 3 * time.Hour, 26 * time.Hour} {
		t.Run(outage.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := licentrictest.NewServer(licentrictest.WithInMemory())
				defer srv.Close()
				fx, err := srv.Seed(licentrictest.Seed{Env: licentrictest.EnvLive, Policy: licentric.PolicyRequest{
					MaxMachines: licentric.Value(3), OfflineAllowed: licentric.Value(true), RequireHeartbeat: licentric.Value(true),
					HeartbeatIntervalMinutes: licentric.Value(10), HeartbeatCullStrategy: licentric.Value(licentric.CullDeactivateDead)}})
				require.NoError(t, err)
				path := filepath.Join(t.TempDir(), "license.lic")
				g, st := bubbleGuard(t, srv, fx.License.Key, "replica-0-machine",
					licentric.WithLicenseFile(path, offline.MarshalPublicKey(srv.PublicKey())))
				require.True(t, st.Allowed)
				require.Equal(t, licentric.SourceService, st.Source)

				down(srv)
				time.Sleep(outage)
				synctest.Wait()
				st = g.State()
				assert.True(t, st.Allowed, "the file covers the outage")
				assert.Equal(t, licentric.SourceLicenseFile, st.Source)
				assert.ErrorIs(t, st.Reason, licentric.ErrUnavailable)

				srv.ClearFaults()
				asked, beats := validations(srv), heartbeats(srv)
				time.Sleep(licentric.DefaultCheckInterval)
				synctest.Wait()
				assert.Greater(t, validations(srv), asked, "no validation within a check interval of the service's return")
				assert.Greater(t, heartbeats(srv), beats, "heartbeats did not resume")
				st = g.State()
				assert.True(t, st.Allowed)
				assert.Equal(t, licentric.SourceService, st.Source, "still deciding from the file")
				require.NotNil(t, st.Machine)
				m, err := srv.Machine(fx.Env, st.Machine.ID)
				require.NoError(t, err, "the machine is not on the service: no seat held")
				assert.Equal(t, licentric.MachineActive, m.Status)
				assert.WithinDuration(t, srv.Now(), m.LastHeartbeatAt.Time, 10*time.Minute, "heartbeats did not resume")
			})
		})
	}
}

// A guard denied for a reason that can change asks again within a minute,
// whatever its check interval, and costs at most about a request a minute
// while denied.
func TestGuardDeniedAsksAgainWithinAMinute(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := licentrictest.NewServer(licentrictest.WithInMemory())
		defer srv.Close()
		fx, err := srv.Seed(licentrictest.Seed{Env: licentrictest.EnvLive, Policy: licentric.PolicyRequest{MaxMachines: licentric.Value(1)}})
		require.NoError(t, err)
		old := appClient(t, srv, "replica-0-machine")
		first, st := startGuard(t, old, fx.License.Key, licentric.WithCheckInterval(time.Hour))
		require.True(t, st.Allowed)
		seat := st.Machine.ID

		// A new pod of a rollout, while the old one still holds the seat.
		g, st := bubbleGuard(t, srv, fx.License.Key, "replica-1-machine", licentric.WithCheckInterval(time.Hour))
		require.False(t, st.Allowed)
		require.ErrorIs(t, st.Reason, licentric.ErrMachineLimitExceeded)

		srv.ResetRequests()
		time.Sleep(30 * time.Minute) // denied for half an hour
		synctest.Wait()
		assert.False(t, g.State().Allowed)
		asked := len(srv.Requests())
		assert.LessOrEqual(t, asked, 2*33, "requests while denied for 30 minutes: about one check a minute (validate + activate)")
		assert.GreaterOrEqual(t, asked, 2*28)

		// The old pod goes away: its seat is freed.
		require.NoError(t, first.Close(t.Context()))
		require.NoError(t, old.Deactivate(t.Context(), fx.License.Key, seat))
		freed := time.Now()
		for !g.State().Allowed && time.Since(freed) < time.Hour {
			time.Sleep(time.Second)
		}
		assert.True(t, g.State().Allowed)
		assert.LessOrEqual(t, time.Since(freed), time.Minute, "a freed seat is seen within a minute")
		t.Logf("freed seat to allowed: %v (bubble time)", time.Since(freed))
	})
}

// A suspended license that is reinstated is allowed again within a minute.
func TestGuardReinstatedWithinAMinute(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := licentrictest.NewServer(licentrictest.WithInMemory())
		defer srv.Close()
		fx, err := srv.Seed(licentrictest.Seed{Env: licentrictest.EnvLive})
		require.NoError(t, err)
		g, st := bubbleGuard(t, srv, fx.License.Key, "replica-0-machine", licentric.WithCheckInterval(time.Hour))
		require.True(t, st.Allowed)
		_, err = srv.SetLicenseStatus(fx.Env, fx.License.ID, "suspend")
		require.NoError(t, err)
		st, err = g.Recheck(t.Context())
		require.NoError(t, err)
		require.ErrorIs(t, st.Reason, licentric.ErrSuspended)
		time.Sleep(20 * time.Minute)
		_, err = srv.SetLicenseStatus(fx.Env, fx.License.ID, "reinstate")
		require.NoError(t, err)
		time.Sleep(time.Minute)
		synctest.Wait()
		assert.True(t, g.State().Allowed, "reinstatement not seen within a minute")
	})
}

// A container whose machine ID is the image's, without a state directory:
// FingerprintOrigin says the fingerprint may be shared and the guard logs
// it at WARN once per client.
func TestGuardWarnsOfASharedFingerprintInAContainer(t *testing.T) {
	root := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(root, "etc"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, "etc", "machine-id"), []byte("4c2a7e15f0f94fd1b0a3e5c1d2e6f7a8\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(root, ".dockerenv"), nil, 0o644))

	srv := licentrictest.NewServer()
	defer srv.Close()
	fx, err := srv.Seed(licentrictest.Seed{Env: licentrictest.EnvLive})
	require.NoError(t, err)
	logs := newLogCounter()
	c, err := licentric.NewClient(licentric.WithBaseURL(srv.URL), licentric.WithHTTPClient(srv.Client()),
		licentric.WithAppID("com.example.wiki", fingerprint.WithRoot(root)), licentric.WithLogger(slog.New(logs)))
	require.NoError(t, err)
	o := c.FingerprintOrigin()
	assert.True(t, o.Shared, "origin %+v", o)
	assert.Equal(t, fingerprint.OriginMachineID, o.Kind)
	assert.Contains(t, o.Reason, "WithStateDir")

	for range 2 {
		g, err := licentric.NewGuard(c, fx.License.Key)
		require.NoError(t, err)
		_, err = g.Start(t.Context())
		require.NoError(t, err)
		require.NoError(t, g.Close(t.Context()))
	}
	warned := 0
	for _, line := range logs.all {
		if assert.NotContains(t, line, fx.License.Key) && strings.Contains(line, "fingerprint may be shared") &&
			strings.Contains(line, "container") {
			warned++
		}
	}
	assert.Equal(t, 1, warned, "one WARN per client: %q", logs.all)

	// With a state directory the same container has its own identity.
	c2, err := licentric.NewClient(licentric.WithAppID("com.example.wiki", fingerprint.WithRoot(root),
		fingerprint.WithStateDir(t.TempDir())))
	require.NoError(t, err)
	assert.False(t, c2.FingerprintOrigin().Shared)
}

// InvalidateLicense, a deactivation and a machine.deactivated event have
// the license's guards ask again at once; a heartbeat, an activation and
// an activation refused for the machine limit wake none.
func TestGuardRecheckedByInvalidationsThatChangeDecisions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := licentrictest.NewServer(licentrictest.WithInMemory())
		defer srv.Close()
		fx, err := srv.Seed(licentrictest.Seed{Env: licentrictest.EnvLive, Policy: licentric.PolicyRequest{MaxMachines: licentric.Value(1)}})
		require.NoError(t, err)
		c := appClient(t, srv, "replica-0-machine")
		g, st := startGuard(t, c, fx.License.Key, licentric.WithCheckInterval(time.Hour))
		require.True(t, st.Allowed)

		// Suspended on the service; the application's back end is told.
		_, err = srv.SetLicenseStatus(fx.Env, fx.License.ID, "suspend")
		require.NoError(t, err)
		c.InvalidateLicense(fx.License.Key)
		synctest.Wait()
		require.ErrorIs(t, g.State().Reason, licentric.ErrSuspended, "InvalidateLicense did not reach the guard")
		_, err = srv.SetLicenseStatus(fx.Env, fx.License.ID, "reinstate")
		require.NoError(t, err)
		c.InvalidateLicense(fx.License.Key)
		synctest.Wait()
		require.True(t, g.State().Allowed)

		// Events that change no decision wake no guard.
		asked := validations(srv)
		for _, typ := range []string{wire.EventMachineHeartbeat, wire.EventMachineActivated, wire.EventLicenseLimitReached, wire.EventLicenseActivated} {
			ev := &webhook.Event{ID: "evt_" + typ, Type: typ, CreatedAt: time.Now(),
				Data: []byte(`{"id":"mach_x","licenseId":"` + fx.License.ID + `"}`)}
			require.NoError(t, c.HandleWebhookEvent(t.Context(), ev))
		}
		_, err = c.Heartbeat(t.Context(), fx.License.Key, st.Machine.ID)
		require.NoError(t, err)
		synctest.Wait()
		assert.Equal(t, asked, validations(srv), "a heartbeat or an activation event made the guard ask")

		// A second machine, denied, is let in once the first one's seat is
		// freed by this client.
		other := appClient(t, srv, "replica-1-machine")
		g2, st2 := startGuard(t, other, fx.License.Key, licentric.WithCheckInterval(time.Hour))
		require.ErrorIs(t, st2.Reason, licentric.ErrMachineLimitExceeded)
		require.NoError(t, g.Close(t.Context()))
		require.NoError(t, other.Deactivate(t.Context(), fx.License.Key, st.Machine.ID))
		synctest.Wait()
		assert.True(t, g2.State().Allowed, "the deactivation did not wake the denied guard")
	})
}
