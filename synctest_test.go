package licentric_test

import (
	"net/http"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licentric/licentric-go"
	"github.com/licentric/licentric-go/internal/testkit"
	"github.com/licentric/licentric-go/internal/wire"
	"github.com/licentric/licentric-go/licentrictest"
	"github.com/licentric/licentric-go/offline"
)

// These tests run in a testing/synctest bubble: the client, the in-memory
// server and the offline verifier all read the bubble's clock, with no
// WithClock at all, so days pass in microseconds and waits end exactly when
// every goroutine is blocked.

// bubbleClient is a client of an in-memory server, on the wall clock (the
// bubble's).
func bubbleClient(t *testing.T, srv *licentrictest.Server, opts ...licentric.Option) *licentric.Client {
	t.Helper()
	return testkit.WallClient(t, srv, opts...)
}

func TestSynctestHeartbeatKeepsAMachineAliveForADay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := licentrictest.NewServer(licentrictest.WithInMemory())
		defer srv.Close()
		fx, err := srv.Seed(licentrictest.Seed{Policy: licentric.PolicyRequest{RequireHeartbeat: licentric.Value(true),
			HeartbeatIntervalMinutes: licentric.Value(60), HeartbeatCullStrategy: licentric.Value(licentric.CullDeactivateDead)}})
		require.NoError(t, err)
		c := bubbleClient(t, srv)
		m, err := c.Activate(t.Context(), fx.License.Key, licentric.ActivateParams{Fingerprint: "bubble-machine-0001"})
		require.NoError(t, err)
		mon, err := c.StartHeartbeat(t.Context(), fx.License.Key, m.ID, licentric.WithHeartbeatPolicy(fx.Policy))
		require.NoError(t, err)
		time.Sleep(24 * time.Hour) // a day of the bubble's time
		synctest.Wait()
		beats := srv.CountRequests(http.MethodPost, wire.SubPath(wire.PathMachines, m.ID, wire.SegmentHeartbeat))
		assert.Equal(t, 49, beats, "one beat at once, then one every 30 minutes")
		got, err := srv.Machine(fx.Env, m.ID)
		require.NoError(t, err)
		assert.Equal(t, licentric.MachineActive, got.Status)
		mon.Stop()
		<-mon.Done()

		// Without heartbeats the machine is culled after the interval.
		time.Sleep(61 * time.Minute)
		_, err = c.Heartbeat(t.Context(), fx.License.Key, m.ID)
		assert.ErrorIs(t, err, licentric.ErrNotFound)
	})
}

func TestSynctestCachedResultEndsAtExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := licentrictest.NewServer(licentrictest.WithInMemory())
		defer srv.Close()
		fx, err := srv.Seed(licentrictest.Seed{Policy: licentric.PolicyRequest{RequireFingerprint: licentric.Value(false), DurationDays: licentric.Value(14)}})
		require.NoError(t, err)
		c := bubbleClient(t, srv, licentric.WithCacheTTL(time.Hour))
		v, err := c.Validate(t.Context(), fx.License.Key)
		require.NoError(t, err)
		require.True(t, v.Valid)
		time.Sleep(14*24*time.Hour - time.Second)
		v, err = c.Validate(t.Context(), fx.License.Key)
		require.NoError(t, err)
		assert.Equal(t, licentric.CodeValid, v.Code, "a second before the expiry")
		time.Sleep(time.Second)
		v, err = c.Validate(t.Context(), fx.License.Key)
		require.NoError(t, err)
		assert.False(t, v.FromCache, "a cached result outlived the license's expiry")
		assert.Equal(t, licentric.CodeExpired, v.Code)
		assert.False(t, v.Valid)
	})
}

func TestSynctestLicenseFileRefreshedAtHalfLife(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := licentrictest.NewServer(licentrictest.WithInMemory())
		defer srv.Close()
		fx, err := srv.Seed(licentrictest.Seed{Policy: licentric.PolicyRequest{OfflineAllowed: licentric.Value(true)}})
		require.NoError(t, err)
		c := bubbleClient(t, srv)
		const fp = "bubble-machine-0002"
		_, err = c.Activate(t.Context(), fx.License.Key, licentric.ActivateParams{Fingerprint: fp})
		require.NoError(t, err)
		v, err := offline.NewVerifier(offline.WithPublicKey(srv.PublicKey()), offline.WithFingerprint(fp))
		require.NoError(t, err)
		path := filepath.Join(t.TempDir(), "license.lic")
		opts := licentric.RefreshOptions{Fingerprint: fp}

		f, refreshed, err := c.RefreshLicenseFile(t.Context(), path, fx.License.ID, v, opts)
		require.NoError(t, err)
		require.True(t, refreshed, "no file yet: checked out")
		first := f.IssuedAt
		time.Sleep(6 * 24 * time.Hour)
		_, refreshed, err = c.RefreshLicenseFile(t.Context(), path, fx.License.ID, v, opts)
		require.NoError(t, err)
		assert.False(t, refreshed, "refreshed with more than half its life left")
		time.Sleep(5 * 24 * time.Hour) // 3 of 14 days left: past half its life
		f, refreshed, err = c.RefreshLicenseFile(t.Context(), path, fx.License.ID, v, opts)
		require.NoError(t, err)
		assert.True(t, refreshed)
		assert.Equal(t, 11*24*time.Hour, f.IssuedAt.Sub(first))
		time.Sleep(15 * 24 * time.Hour) // past the new file's TTL, offline
		_, err = v.VerifyFile(path)
		assert.ErrorIs(t, err, offline.ErrFileExpired)
	})
}
