package fleet_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licentric/licentric-go"
	"github.com/licentric/licentric-go/fleet"
	"github.com/licentric/licentric-go/internal/testkit"
	"github.com/licentric/licentric-go/licentrictest"
)

// A real Redis Cluster of three masters: three redis-server processes in
// cluster mode, each on a free loopback client port and a free bus port
// (--cluster-port, so that no port+10000 has to be free), given a third of
// the 16384 slots each (CLUSTER ADDSLOTSRANGE) and joined with CLUSTER
// MEET; no replicas. One cluster is shared by the package's tests, each in
// its own namespace; it starts with the first test that needs it and stops
// after the last, as the single shared server does.

var (
	clusterOnce sync.Once
	clusterDir  string
	cluster     *redisCluster
	clusterErr  error
)

// redisCluster is three redis-server processes joined in one cluster.
type redisCluster struct {
	nodes []*redisServer
	buses []int // each node's cluster bus port
}

// Addrs are the nodes' client addresses.
func (c *redisCluster) Addrs() []string {
	out := make([]string, len(c.nodes))
	for i, n := range c.nodes {
		out[i] = n.Addr()
	}
	return out
}

// Kill stops every node.
func (c *redisCluster) Kill() {
	for _, n := range c.nodes {
		n.Kill()
	}
}

// needCluster returns the shared cluster; it skips the test only when
// redis-server is not installed.
func needCluster(tb testing.TB) *redisCluster {
	tb.Helper()
	needRedis(tb)
	clusterOnce.Do(func() {
		if clusterDir, clusterErr = os.MkdirTemp("", "fleet-cluster-"); clusterErr == nil {
			cluster, clusterErr = startCluster(clusterDir)
		}
	})
	require.NoError(tb, clusterErr, "starting a three-node Redis Cluster")
	return cluster
}

// startCluster starts three nodes in dir and joins them.
func startCluster(dir string) (*redisCluster, error) {
	c := &redisCluster{}
	for range 3 {
		var bus int
		n, err := startRedisWith(dir, func(port int) ([]string, error) {
			var err error
			if bus, err = freePort(); err != nil {
				return nil, err
			}
			return []string{"--cluster-enabled", "yes", "--cluster-config-file", fmt.Sprintf("nodes-%d.conf", port),
				"--cluster-port", strconv.Itoa(bus), "--cluster-node-timeout", "5000"}, nil
		})
		if err != nil {
			c.Kill()
			return nil, fmt.Errorf("starting a cluster node (redis-server 7 or later is needed): %w", err)
		}
		c.nodes = append(c.nodes, n)
		c.buses = append(c.buses, bus)
	}
	if err := c.join(); err != nil {
		c.Kill()
		return nil, err
	}
	return c, nil
}

// join gives each node a third of the slots, introduces the nodes to the
// first, and waits until every node sees the whole cluster in state ok.
func (c *redisCluster) join() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	clients := make([]*redis.Client, len(c.nodes))
	for i, n := range c.nodes {
		clients[i] = redis.NewClient(&redis.Options{Addr: n.Addr()})
		defer clients[i].Close()
	}
	const slots = 16384
	for i, rdb := range clients {
		lo, hi := i*slots/len(clients), (i+1)*slots/len(clients)-1
		if err := rdb.ClusterAddSlotsRange(ctx, lo, hi).Err(); err != nil {
			return fmt.Errorf("CLUSTER ADDSLOTSRANGE %d %d: %w", lo, hi, err)
		}
	}
	for i := 1; i < len(c.nodes); i++ {
		if err := clients[0].Do(ctx, "CLUSTER", "MEET", "127.0.0.1", c.nodes[i].port, c.buses[i]).Err(); err != nil {
			return fmt.Errorf("CLUSTER MEET: %w", err)
		}
	}
	for {
		ready := true
		for _, rdb := range clients {
			info, err := rdb.ClusterInfo(ctx).Result()
			if err != nil || !strings.Contains(info, "cluster_state:ok") ||
				!strings.Contains(info, "cluster_known_nodes:"+strconv.Itoa(len(c.nodes))) ||
				!strings.Contains(info, "cluster_slots_ok:16384") {
				ready = false
				break
			}
		}
		if ready {
			return nil
		}
		select {
		case <-ctx.Done():
			return errors.New("the cluster did not reach state ok within 30 s")
		case <-time.After(20 * time.Millisecond): // polling a condition with a deadline
		}
	}
}

// newClusterRDB returns a Cluster client of c as a user builds it, closed
// at the end of the test.
func newClusterRDB(tb testing.TB, c *redisCluster) *redis.ClusterClient {
	tb.Helper()
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs(), DialTimeout: time.Second})
	tb.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// The README says any redis.UniversalClient works, a Cluster's included:
// members each on a Cluster client of their own share results, hear each
// other's invalidations (published on one node, heard on another), count
// one budget and hold one lock, while the namespace's keys spread over the
// nodes.
func TestClusterSharesResultsInvalidationsBudgetAndLocks(t *testing.T) {
	c := needCluster(t)
	ns := namespace(t)
	members := make([]*fleet.Fleet, 3)
	for i := range members {
		members[i] = newFleet(t, newClusterRDB(t, c), fleet.WithNamespace(ns))
	}
	a, b, m3 := members[0], members[1], members[2]
	joined(t, a, b)
	joined(t, b, a)
	joined(t, m3, a)
	sa, sb := subscribe(t, a), subscribe(t, b)
	ctx := t.Context()

	licenses := make([]string, 24)
	for i := range licenses {
		licenses[i] = "lic-" + strconv.Itoa(i)
		require.NoError(t, put(ctx, a, licenses[i], "req", []byte("result "+licenses[i]), time.Minute))
	}
	for _, l := range licenses {
		v, _, ok, err := b.GetResult(ctx, l, "req")
		require.NoError(t, err)
		require.True(t, ok, l)
		require.Equal(t, "result "+l, string(v))
	}
	holding := 0
	for _, addr := range c.Addrs() {
		node := newRDB(t, addr)
		if n := len(node.Keys(ctx, "lc:"+ns+":*").Val()); n > 0 {
			holding++
		}
	}
	require.GreaterOrEqual(t, holding, 2, "the namespace's keys spread over the nodes")

	// An invalidation reaches every member, whichever node it was published on.
	require.NoError(t, b.InvalidateLicense(ctx, licenses[0], true))
	require.Equal(t, licenses[0], sb.next(t))
	require.Equal(t, licenses[0], sa.next(t))
	_, _, ok, err := a.GetResult(ctx, licenses[0], "req")
	require.NoError(t, err)
	require.False(t, ok, "the invalidated result is gone")
	_, _, ok, err = a.GetResult(ctx, licenses[1], "req")
	require.NoError(t, err)
	require.True(t, ok, "the other licenses' results stay")

	require.NoError(t, a.InvalidateAll(ctx))
	require.Equal(t, "", sa.next(t))
	require.Equal(t, "", sb.next(t))
	for _, l := range licenses {
		_, _, ok, err := b.GetResult(ctx, l, "req")
		require.NoError(t, err)
		require.False(t, ok, l)
	}
	require.NoError(t, put(ctx, b, licenses[2], "req", []byte("after"), time.Minute))
	late := newFleet(t, newClusterRDB(t, c), fleet.WithNamespace(ns))
	v, _, ok, err := late.GetResult(ctx, licenses[2], "req")
	require.NoError(t, err)
	require.True(t, ok, "a member that joins later shares the new generation")
	require.Equal(t, "after", string(v))

	// One budget: of 3 members × 30 units of a window of 60, 60 are granted.
	windowEnd := start.Add(time.Minute)
	var granted sync.WaitGroup
	var mu sync.Mutex
	n := 0
	for _, f := range members {
		for range 30 {
			granted.Go(func() {
				ok, err := f.TakeBudget(ctx, "ACTIVATION", windowEnd, 60)
				assert.NoError(t, err)
				if ok {
					mu.Lock()
					n++
					mu.Unlock()
				}
			})
		}
	}
	granted.Wait()
	require.Equal(t, 60, n)

	// One lock.
	release, ok, err := m3.Acquire(ctx, "lic/req", time.Minute)
	require.NoError(t, err)
	require.True(t, ok)
	for _, f := range []*fleet.Fleet{a, b} {
		_, ok, err := f.Acquire(ctx, "lic/req", time.Minute)
		require.NoError(t, err)
		require.False(t, ok, "a second holder")
	}
	release()
	eventually(t, "the lock is free after release", func() bool {
		rel, ok, err := a.Acquire(ctx, "lic/req", time.Minute)
		require.NoError(t, err)
		rel()
		return ok
	})
}

// End to end on the Cluster: three licentric clients, each with its own
// Cluster client and Fleet, ask the service once per license, and a
// suspension invalidated at one member is seen by all.
func TestClusterFleetEndToEnd(t *testing.T) {
	c := needCluster(t)
	srv := licentrictest.NewServer(licentrictest.WithoutRateLimits())
	t.Cleanup(srv.Close)
	fx, err := srv.Seed(licentrictest.Seed{Policy: licentric.PolicyRequest{RequireFingerprint: licentric.Value(false)}})
	require.NoError(t, err)
	keys, ids := []string{fx.License.Key}, []string{fx.License.ID}
	for len(keys) < 10 {
		l, err := srv.AddLicense(fx.Env, fx.Policy.ID, licentrictest.LicenseRequest{})
		require.NoError(t, err)
		keys, ids = append(keys, l.Key), append(ids, l.ID)
	}
	ns := namespace(t)
	clients := make([]*licentric.Client, 3)
	for i := range clients {
		f := newFleet(t, newClusterRDB(t, c), fleet.WithNamespace(ns), fleet.WithReplicas(len(clients)))
		clients[i] = testkit.WallClient(t, srv, licentric.WithRetry(testkit.FastRetry), licentric.WithFleet(f))
	}
	ctx := t.Context()
	var wg sync.WaitGroup
	for _, cl := range clients {
		for g := range 8 {
			wg.Go(func() {
				for i := range keys {
					v, err := cl.Validate(ctx, keys[(i+g)%len(keys)])
					if assert.NoError(t, err) {
						assert.True(t, v.Valid)
					}
				}
			})
		}
	}
	wg.Wait()
	require.LessOrEqual(t, srv.CountRequests(http.MethodPost, validatePath), len(keys), "one request per license for the fleet")

	_, err = srv.SetLicenseStatus(licentrictest.EnvTest, ids[0], "suspend")
	require.NoError(t, err)
	clients[0].InvalidateLicense(keys[0])
	for i, cl := range clients {
		eventually(t, "member "+strconv.Itoa(i)+" sees the suspension", func() bool {
			v, err := cl.Validate(ctx, keys[0])
			require.NoError(t, err)
			return v.Code == licentric.CodeSuspended
		})
	}
}
