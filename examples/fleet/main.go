// Command fleet shows three clients, as three replicas of a server product
// behind one address would be, sharing one Redis through package fleet:
// one validation budget, one set of results and one set of in-flight
// validations. It runs the same load through three lone clients and then
// through three members of a fleet, and prints the requests each sent to
// the service.
//
// It uses an in-process Licentric server (licentrictest), with the
// service's real limit of 60 validations a minute. Redis is the one at
// REDIS_ADDR (host:port) or, when that is unset, a redis-server started
// for the run from PATH on a free loopback port with a temporary directory.
//
// It exits 0 only if the fleet sent each license's validation once.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/licentric/licentric-go"
	"github.com/licentric/licentric-go/examples/internal/redisrun"
	"github.com/licentric/licentric-go/fleet"
	"github.com/licentric/licentric-go/licentrictest"
)

const (
	members    = 3
	licenses   = 20
	goroutines = 8  // per member
	rounds     = 10 // each goroutine validates every license this many times
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "fleet:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	addr, stop, err := redisrun.Addr()
	if err != nil {
		return err
	}
	defer stop()
	fmt.Println("Using Redis at", addr)

	srv := licentrictest.NewServer()
	defer srv.Close()
	keys, err := seed(srv)
	if err != nil {
		return err
	}

	// Three lone clients: each has its own cache and budget.
	var lone []*licentric.Client
	for range members {
		c, err := newClient(srv)
		if err != nil {
			return err
		}
		lone = append(lone, c)
	}
	calls, err := load(ctx, lone, keys)
	if err != nil {
		return err
	}
	loneRequests := srv.CountRequests(http.MethodPost, "/licenses/validate-key")
	fmt.Printf("Three lone clients:            %d validations, %d requests to the service\n", calls, loneRequests)

	// Three members of one fleet. The secret is shared by every member;
	// a real deployment reads it from its secret store.
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	var clients []*licentric.Client
	for range members {
		rdb := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
		defer rdb.Close()
		f, err := fleet.New(rdb, fleet.WithNamespace("example"), fleet.WithSecret(secret), fleet.WithReplicas(members))
		if err != nil {
			return err
		}
		defer f.Close()
		c, err := newClient(srv, licentric.WithFleet(f))
		if err != nil {
			return err
		}
		clients = append(clients, c)
	}
	srv.Advance(time.Minute) // a fresh rate window
	srv.ResetRequests()
	calls, err = load(ctx, clients, keys)
	if err != nil {
		return err
	}
	shared := srv.CountRequests(http.MethodPost, "/licenses/validate-key")
	fmt.Printf("Three clients sharing a Redis: %d validations, %d requests to the service: %d saved\n",
		calls, shared, loneRequests-shared)
	if shared > licenses {
		return fmt.Errorf("the fleet sent %d requests for %d licenses", shared, licenses)
	}
	return nil
}

func newClient(srv *licentrictest.Server, opts ...licentric.Option) (*licentric.Client, error) {
	return licentric.NewClient(append([]licentric.Option{licentric.WithBaseURL(srv.URL),
		licentric.WithHTTPClient(srv.Client()), licentric.WithClock(srv.Clock())}, opts...)...)
}

func seed(srv *licentrictest.Server) ([]string, error) {
	// Live licenses: an application validates with the license key alone,
	// which the service answers from the live environment.
	fx, err := srv.Seed(licentrictest.Seed{Env: licentrictest.EnvLive,
		Policy: licentric.PolicyRequest{RequireFingerprint: licentric.Value(false)}})
	if err != nil {
		return nil, err
	}
	keys := []string{fx.License.Key}
	for len(keys) < licenses {
		l, err := srv.AddLicense(fx.Env, fx.Policy.ID, licentrictest.LicenseRequest{})
		if err != nil {
			return nil, err
		}
		keys = append(keys, l.Key)
	}
	return keys, nil
}

// load validates every license rounds times from goroutines goroutines of
// every client, and returns the number of validations.
func load(ctx context.Context, clients []*licentric.Client, keys []string) (int, error) {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		calls int
	)
	for _, c := range clients {
		for g := range goroutines {
			wg.Go(func() {
				n := 0
				for i := range rounds * len(keys) {
					v, err := c.Validate(ctx, keys[(i+g)%len(keys)])
					if err == nil && !v.Valid {
						err = fmt.Errorf("license not valid: %s", v.Code)
					}
					if err != nil {
						mu.Lock()
						first = errors.Join(first, err)
						mu.Unlock()
						return
					}
					n++
				}
				mu.Lock()
				calls += n
				mu.Unlock()
			})
		}
	}
	wg.Wait()
	return calls, first
}
