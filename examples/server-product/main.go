// Command server-product is a server product (a small wiki) licensed per
// replica: three replicas, run here in one process, share one Redis through
// package fleet, and each gates its HTTP with its own licentric.Guard. Each
// replica is one machine of the license, with an identity of its own (a
// state directory; in production, on a persistent volume).
//
// It runs against an in-process Licentric server (licentrictest) with a
// license for three machines, and shows:
//
//   - the three replicas allowed (HTTP 200);
//   - a suspension delivered by webhook to one replica only, and all three
//     denying (HTTP 402) within a second or two, through Redis;
//   - a reinstatement, the same way;
//   - a rollout on a full license: a fourth replica is denied, one of the
//     three stops (Close frees its seat), and the new one is allowed at once.
//
// Redis is the one at REDIS_ADDR (host:port) or, when that is unset, a
// redis-server started for the run from PATH on a free loopback port. It
// exits 0 only if every step did what it says.
package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/licentric/licentric-go"
	"github.com/licentric/licentric-go/examples/internal/redisrun"
	"github.com/licentric/licentric-go/fingerprint"
	"github.com/licentric/licentric-go/fleet"
	"github.com/licentric/licentric-go/licentrictest"
)

// seats is the license's machine limit, and the number of replicas.
const seats = 3

// webhookPath is where every replica receives the service's webhooks.
const webhookPath = "/licentric/webhook"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "server-product:", err)
		os.Exit(1)
	}
}

// replica is one replica of the product: its guard and its HTTP server.
type replica struct {
	name  string
	url   string
	guard *licentric.Guard
	http  *http.Server
	rdb   *redis.Client
	fleet *fleet.Fleet
}

// startReplica starts a replica: a client sharing Redis through the fleet,
// with this replica's own identity, a guard that frees its seat on Close,
// and an HTTP server gated by the guard.
func startReplica(ctx context.Context, name string, ln net.Listener, env *deployment) (*replica, error) {
	r := &replica{name: name, url: "http://" + ln.Addr().String()}
	r.rdb = redis.NewClient(&redis.Options{Addr: env.redisAddr, ContextTimeoutEnabled: true})
	f, err := fleet.New(r.rdb, fleet.WithNamespace("wiki-prod"), fleet.WithSecret(env.fleetSecret), fleet.WithReplicas(seats))
	if err != nil {
		_ = r.rdb.Close()
		return nil, err
	}
	r.fleet = f
	client, err := licentric.NewClient(licentric.WithBaseURL(env.baseURL), licentric.WithHTTPClient(env.httpClient),
		licentric.WithFleet(f),
		licentric.WithAppID("com.example.wiki", fingerprint.WithSource(fingerprint.StateDir(filepath.Join(env.dir, name)))))
	if err != nil {
		r.close()
		return nil, err
	}
	r.guard, err = licentric.NewGuard(client, env.licenseKey, licentric.WithDeactivateOnClose())
	if err != nil {
		r.close()
		return nil, err
	}
	if _, err := r.guard.Start(ctx); err != nil {
		r.close()
		return nil, err
	}
	hooks, err := client.WebhookHandler([]string{env.webhookSecret}, nil)
	if err != nil {
		r.close()
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle(webhookPath, hooks)
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		if !r.guard.Allows("") {
			http.Error(w, "this wiki's license is not valid: ask your administrator", http.StatusPaymentRequired)
			return
		}
		fmt.Fprintln(w, "Welcome to the wiki")
	})
	r.http = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = r.http.Serve(ln) }()
	return r, nil
}

// close stops the replica: its HTTP server, then its guard (which frees
// its seat), then its fleet.
func (r *replica) close() {
	if r.http != nil {
		_ = r.http.Close()
	}
	if r.guard != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_ = r.guard.Close(ctx)
		cancel()
	}
	if r.fleet != nil {
		_ = r.fleet.Close()
	}
	_ = r.rdb.Close()
}

// status is the HTTP status the replica answers.
func (r *replica) status(ctx context.Context) int {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, r.url+"/", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode
}

// deployment is what the replicas share.
type deployment struct {
	dir           string
	redisAddr     string
	fleetSecret   []byte
	baseURL       string
	httpClient    *http.Client
	licenseKey    string
	webhookSecret string
}

func run(ctx context.Context, out io.Writer) error {
	env := &deployment{}
	addr, stop, err := redisrun.Addr()
	if err != nil {
		return err
	}
	defer stop()
	env.redisAddr = addr
	dir, err := os.MkdirTemp("", "server-product-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	env.dir = dir
	env.fleetSecret = make([]byte, 32) // every replica's; a real deployment reads it from its secret store
	_, _ = rand.Read(env.fleetSecret)

	// The vendor's side: a license for three machines, and a webhook.
	srv := licentrictest.NewServer()
	defer srv.Close()
	env.baseURL, env.httpClient = srv.URL, srv.Client()
	fx, err := srv.Seed(licentrictest.Seed{Env: licentrictest.EnvLive,
		Policy: licentric.PolicyRequest{MaxMachines: licentric.Value(seats)}})
	if err != nil {
		return err
	}
	env.licenseKey = fx.License.Key
	vendor, err := licentric.NewClient(licentric.WithBaseURL(srv.URL), licentric.WithHTTPClient(srv.Client()),
		licentric.WithAPIKey(srv.LiveAPIKey()))
	if err != nil {
		return err
	}

	// The customer's side: three replicas; the vendor's webhooks reach the
	// first one only (as through a load balancer that picks one).
	var lns []net.Listener
	for range seats + 1 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		defer ln.Close()
		lns = append(lns, ln)
	}
	wh, err := vendor.Webhooks.Create(ctx, &licentric.WebhookRequest{
		URL:    licentric.Value("http://" + lns[0].Addr().String() + webhookPath),
		Events: []string{"*"}, // the license.* and machine.* events at least
	})
	if err != nil {
		return err
	}
	env.webhookSecret = wh.Secret
	var replicas []*replica
	defer func() {
		for _, r := range replicas {
			r.close()
		}
	}()
	for i := range seats {
		r, err := startReplica(ctx, "replica-"+strconv.Itoa(i), lns[i], env)
		if err != nil {
			return err
		}
		replicas = append(replicas, r)
	}
	if err := expect(ctx, out, "Three replicas, one license for three machines:", replicas, http.StatusOK); err != nil {
		return err
	}

	// A suspension, delivered by webhook to replica-0 only.
	if _, err := vendor.Licenses.Suspend(ctx, fx.License.ID); err != nil {
		return err
	}
	if err := srv.FlushWebhooks(ctx); err != nil {
		return err
	}
	if err := expect(ctx, out, "Suspended, the webhook delivered to replica-0 only:", replicas, http.StatusPaymentRequired); err != nil {
		return err
	}
	if _, err := vendor.Licenses.Reinstate(ctx, fx.License.ID); err != nil {
		return err
	}
	if err := srv.FlushWebhooks(ctx); err != nil {
		return err
	}
	if err := expect(ctx, out, "Reinstated, the same way:", replicas, http.StatusOK); err != nil {
		return err
	}

	// A rollout on a full license: the new replica waits for a seat.
	next, err := startReplica(ctx, "replica-"+strconv.Itoa(seats), lns[seats], env)
	if err != nil {
		return err
	}
	replicas = append(replicas, next)
	if err := expect(ctx, out, "A fourth replica, on a full license:", replicas[seats:], http.StatusPaymentRequired); err != nil {
		return err
	}
	replicas[0].close() // its Close frees its seat (WithDeactivateOnClose)
	replicas = replicas[1:]
	return expect(ctx, out, "replica-0 stopped and freed its seat:", replicas, http.StatusOK)
}

// expect waits up to ten seconds for every replica to answer want, and
// prints what each answers and how long it took.
func expect(ctx context.Context, out io.Writer, title string, replicas []*replica, want int) error {
	fmt.Fprintln(out, title)
	start := time.Now()
	for _, r := range replicas {
		for r.status(ctx) != want {
			if time.Since(start) > 10*time.Second {
				return fmt.Errorf("%s answers %d, not %d, after 10 s", r.name, r.status(ctx), want)
			}
			if err := sleep(ctx, 5*time.Millisecond); err != nil {
				return err
			}
		}
		fmt.Fprintf(out, "  %s: %d %s (%v)\n", r.name, want, http.StatusText(want), time.Since(start).Round(time.Millisecond))
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
