package fleet_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licentric/licentric-go"
	"github.com/licentric/licentric-go/fleet"
	"github.com/licentric/licentric-go/internal/testkit"
	"github.com/licentric/licentric-go/licentrictest"
)

// Guards of replicas that share a fleet: what reaches one replica reaches
// the guards of all.

// replicaSet is a license for seats machines and the guards of replicas
// replicas, each on a client of its own with a Fleet of its own on one
// Redis namespace.
type replicaSet struct {
	srv     *licentrictest.Server
	fx      *licentrictest.Fixture
	vendor  *licentric.Client
	clients []*licentric.Client
	guards  []*licentric.Guard
	starts  []licentric.GuardState
}

func newReplicaSet(t testing.TB, replicas, seats int, opts ...licentrictest.Option) *replicaSet {
	t.Helper()
	r := needRedis(t)
	ns := namespace(t)
	s := &replicaSet{srv: licentrictest.NewServer(opts...)}
	t.Cleanup(s.srv.Close)
	var err error
	s.fx, err = s.srv.Seed(licentrictest.Seed{Env: licentrictest.EnvLive,
		Policy: licentric.PolicyRequest{MaxMachines: licentric.Value(seats)}})
	require.NoError(t, err)
	s.vendor = testkit.WallClient(t, s.srv, licentric.WithAPIKey(s.srv.LiveAPIKey()))
	for i := range replicas {
		f := newFleet(t, newRDB(t, r.Addr()), fleet.WithNamespace(ns))
		fp := "replica-machine-" + strconv.Itoa(i) + "-0000"
		c, err := licentric.NewClient(licentric.WithBaseURL(s.srv.URL), licentric.WithHTTPClient(s.srv.Client()),
			licentric.WithFleet(f), licentric.WithFingerprinter(func() (string, error) { return fp, nil }))
		require.NoError(t, err)
		g, err := licentric.NewGuard(c, s.fx.License.Key, licentric.WithCheckInterval(time.Hour), licentric.WithDeactivateOnClose())
		require.NoError(t, err)
		st, err := g.Start(t.Context())
		require.NoError(t, err)
		t.Cleanup(func() { _ = g.Close(context.Background()) })
		s.clients, s.guards, s.starts = append(s.clients, c), append(s.guards, g), append(s.starts, st)
	}
	return s
}

// allowed counts the guards that allow.
func (s *replicaSet) allowed() int {
	n := 0
	for _, g := range s.guards {
		if g.Allows("") {
			n++
		}
	}
	return n
}

// A suspension delivered by webhook to one replica denies the guards of
// all three within a second or two; a reinstatement allows them again.
func TestGuardsOfEveryReplicaHearAWebhookToOne(t *testing.T) {
	s := newReplicaSet(t, 3, 3)
	require.Equal(t, 3, s.allowed())

	h, err := s.clients[0].WebhookHandler([]string{"placeholder"}, nil)
	require.NoError(t, err)
	var hook http.Handler = h
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hook.ServeHTTP(w, r) }))
	defer hs.Close()
	wh, err := s.vendor.Webhooks.Create(t.Context(), &licentric.WebhookRequest{URL: licentric.Value(hs.URL), Events: []string{"*"}})
	require.NoError(t, err)
	h, err = s.clients[0].WebhookHandler([]string{wh.Secret}, nil)
	require.NoError(t, err)
	hook = h

	_, err = s.vendor.Licenses.Suspend(t.Context(), s.fx.License.ID)
	require.NoError(t, err)
	require.NoError(t, s.srv.FlushWebhooks(t.Context()))
	delivered := time.Now()
	eventually(t, "every replica denied", func() bool { return s.allowed() == 0 })
	t.Logf("webhook at replica 0 to all three denied: %v", time.Since(delivered))
	for _, g := range s.guards {
		assert.ErrorIs(t, g.State().Reason, licentric.ErrSuspended)
	}

	_, err = s.vendor.Licenses.Reinstate(t.Context(), s.fx.License.ID)
	require.NoError(t, err)
	require.NoError(t, s.srv.FlushWebhooks(t.Context()))
	eventually(t, "every replica allowed again", func() bool { return s.allowed() == 3 })
}

// InvalidateLicense on one replica has every replica's guards ask again.
func TestGuardsOfEveryReplicaHearInvalidateLicense(t *testing.T) {
	s := newReplicaSet(t, 3, 3)
	_, err := s.srv.SetLicenseStatus(s.fx.Env, s.fx.License.ID, "suspend")
	require.NoError(t, err)
	s.clients[2].InvalidateLicense(s.fx.License.Key)
	eventually(t, "every replica denied", func() bool { return s.allowed() == 0 })
}

// A replica denied on a full license is allowed as soon as a replica of
// the same fleet frees its seat (a rollout: Close with
// WithDeactivateOnClose).
func TestGuardOfAReplicaGetsASeatFreedByAnother(t *testing.T) {
	s := newReplicaSet(t, 4, 3)
	require.Equal(t, 3, s.allowed())
	waiting := -1
	for i, st := range s.starts {
		if !st.Allowed {
			waiting = i
			require.ErrorIs(t, st.Reason, licentric.ErrMachineLimitExceeded)
		}
	}
	require.GreaterOrEqual(t, waiting, 0)
	leaving := (waiting + 1) % 4
	require.NoError(t, s.guards[leaving].Close(t.Context()))
	freed := time.Now()
	eventually(t, "the waiting replica allowed", func() bool { return s.guards[waiting].Allows("") })
	t.Logf("freed seat to the waiting replica allowed: %v", time.Since(freed))
}

// BenchmarkInvalidationToGuards is the time from a suspension's
// invalidation at one replica (what its WebhookHandler does) to every
// replica's guard denying, and back for the reinstatement: "local" is one
// replica (no Redis hop), the reference; "3replicas" goes through Redis.
//
//	go test -run xxx -bench InvalidationToGuards -benchtime 5x -count 5 ./fleet/
//
// (5 flips: 10 validations a replica, 30 for three, within the shared
// rate budget of a minute, which would otherwise be what is measured.)
func BenchmarkInvalidationToGuards(b *testing.B) {
	for _, n := range []int{1, 3} {
		name := "local"
		if n > 1 {
			name = strconv.Itoa(n) + "replicas"
		}
		b.Run(name, func(b *testing.B) {
			s := newReplicaSet(b, n, n, licentrictest.WithoutRateLimits()) // many flips a minute
			flip := func(action string, want int) {
				if _, err := s.srv.SetLicenseStatus(s.fx.Env, s.fx.License.ID, action); err != nil {
					b.Fatal(err)
				}
				s.clients[0].InvalidateLicense(s.fx.License.Key)
				for s.allowed() != want {
					time.Sleep(50 * time.Microsecond) // polling the guards' state
				}
			}
			for b.Loop() {
				flip("suspend", 0)
				flip("reinstate", n)
			}
		})
	}
}

// A heartbeat of one replica's machine drops the license's results for
// the fleet but wakes no replica's guard (the fleet carries recheck =
// false); a suspension's InvalidateLicense after it wakes each guard once.
func TestGuardsOfEveryReplicaSleepThroughAHeartbeat(t *testing.T) {
	s := newReplicaSet(t, 3, 3)
	require.Equal(t, 3, s.allowed())
	validations := func() int { return s.srv.CountRequests(http.MethodPost, validatePath) }
	before := validations()

	_, err := s.clients[0].Heartbeat(t.Context(), s.fx.License.Key, s.starts[0].Machine.ID)
	require.NoError(t, err)
	// Published after the heartbeat's invalidation, on the same channel:
	// every replica hears it after that one.
	_, err = s.srv.SetLicenseStatus(s.fx.Env, s.fx.License.ID, "suspend")
	require.NoError(t, err)
	s.clients[0].InvalidateLicense(s.fx.License.Key)
	eventually(t, "every replica denied", func() bool { return s.allowed() == 0 })
	assert.Equal(t, before+len(s.guards), validations(), "one recheck per guard, for the suspension only")
}
