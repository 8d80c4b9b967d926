package licentric_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/licentric/licentric-go"
	"github.com/licentric/licentric-go/licentrictest"
	"github.com/licentric/licentric-go/offline"
)

// Run them together:
//
//	go test -run xxx -bench 'GuardState|GuardAllows|AtomicLoad|GuardStartOffline' -benchmem -count 5 .
//
// Targets: State and Allows cost at most 5x a bare atomic load; Start with a
// verified license file and the service refusing connections decides in at
// most 100 ms.

var (
	benchState   licentric.GuardState
	benchAllowed bool
	benchPtr     *licentric.GuardState
)

func benchGuard(b *testing.B) *licentric.Guard {
	b.Helper()
	srv := licentrictest.NewServer(licentrictest.WithoutRateLimits())
	b.Cleanup(srv.Close)
	fx, err := srv.Seed(licentrictest.Seed{})
	if err != nil {
		b.Fatal(err)
	}
	c, err := licentric.NewClient(licentric.WithBaseURL(srv.URL), licentric.WithHTTPClient(srv.Client()),
		licentric.WithAPIKey(srv.TestAPIKey()), licentric.WithFingerprinter(func() (string, error) { return guardFP, nil }))
	if err != nil {
		b.Fatal(err)
	}
	g, err := licentric.NewGuard(c, fx.License.Key)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := g.Start(b.Context()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = g.Close(context.Background()) })
	return g
}

func BenchmarkGuardState(b *testing.B) {
	g := benchGuard(b)
	b.ReportAllocs()
	for b.Loop() {
		benchState = g.State()
	}
}

func BenchmarkGuardAllows(b *testing.B) {
	g := benchGuard(b)
	b.ReportAllocs()
	for b.Loop() {
		benchAllowed = g.Allows("pdf-export")
	}
}

// BenchmarkAtomicLoad is the reference: a bare atomic pointer load.
func BenchmarkAtomicLoad(b *testing.B) {
	var p atomic.Pointer[licentric.GuardState]
	p.Store(&licentric.GuardState{Allowed: true})
	b.ReportAllocs()
	for b.Loop() {
		benchPtr = p.Load()
	}
}

// BenchmarkGuardStartOffline is a restart with a verified license file
// while the service cannot be reached, in the three ways it fails in the
// field: a port refusing connections, a service that accepts connections
// and never answers (decided when the start timeout, 2 s by default, ends),
// and a name that does not resolve. It reports the mean and worst time
// Start took to decide from the file.
func BenchmarkGuardStartOffline(b *testing.B) {
	srv := licentrictest.NewServer(licentrictest.WithoutRateLimits())
	fx, err := srv.Seed(licentrictest.Seed{Policy: licentric.PolicyRequest{OfflineAllowed: licentric.Value(true)}})
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "license.lic")
	pin := licentric.WithLicenseFile(path, offline.MarshalPublicKey(srv.PublicKey()))
	fingerprint := licentric.WithFingerprinter(func() (string, error) { return guardFP, nil })
	online, _ := licentric.NewClient(licentric.WithBaseURL(srv.URL), licentric.WithHTTPClient(srv.Client()),
		licentric.WithAPIKey(srv.TestAPIKey()), fingerprint)
	g, err := licentric.NewGuard(online, fx.License.Key, pin)
	if err != nil {
		b.Fatal(err)
	}
	if st, err := g.Start(b.Context()); err != nil || !st.Allowed {
		b.Fatal(st, err)
	}
	_ = g.Close(context.Background())
	if _, err := os.Stat(path); err != nil {
		b.Fatal(err)
	}
	apiKey := srv.TestAPIKey()
	srv.Close()

	// A closed port: connection refused.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	refused := "http://" + ln.Addr().String()
	_ = ln.Close()
	// A port that accepts connections and never answers.
	hanging, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = hanging.Close() })
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				_ = c.Close()
			}
		}()
		for {
			c, err := hanging.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	// A name that does not resolve, as the resolver reports it.
	noDNS := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
		host, _, _ := net.SplitHostPort(addr)
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}}
	}}}

	for _, tc := range []struct {
		name, url string
		hc        *http.Client
	}{
		{"refused", refused, &http.Client{}},
		{"hanging", "http://" + hanging.Addr().String(), &http.Client{}},
		{"dns", "https://licensing.example.invalid", noDNS},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			var worst, total time.Duration
			for b.Loop() {
				start := time.Now()
				c, _ := licentric.NewClient(licentric.WithBaseURL(tc.url), licentric.WithAPIKey(apiKey),
					licentric.WithHTTPClient(tc.hc), fingerprint)
				g, err := licentric.NewGuard(c, fx.License.Key, pin)
				if err != nil {
					b.Fatal(err)
				}
				st, err := g.Start(b.Context())
				if err != nil || st.Source != licentric.SourceLicenseFile || !errors.Is(st.Reason, licentric.ErrUnavailable) {
					b.Fatal(st, err)
				}
				took := time.Since(start)
				worst, total = max(worst, took), total+took
				_ = g.Close(context.Background())
			}
			b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "mean-ms")
			b.ReportMetric(float64(worst.Microseconds())/1000, "worst-ms")
		})
	}
}
