package fleet_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/licentric/licentric-go/fleet"
)

// The tests run a real redis-server (Debian package redis-server; .ci/run
// installs it): one shared by the package's tests, each in its own
// namespace, and a server of their own for the tests that kill it. Each
// listens on a free loopback port with a temporary directory and no
// persistence, and is stopped by its PID.

const noRedisMessage = "redis-server is not installed (apt-get install redis-server; .ci/run installs it): skipping the tests that need Redis"

// The shared server starts with the first test that needs it (fuzz
// workers and runs of tests without Redis start none) and stops after the
// last.
var (
	sharedOnce sync.Once
	sharedDir  string
	shared     *redisServer
	sharedErr  error
)

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	redis.SetLogger(quietRedis{}) // go-redis logs reconnection attempts to stderr
	code := m.Run()
	if shared != nil {
		shared.Kill()
	}
	if cluster != nil {
		cluster.Kill()
	}
	for _, dir := range []string{sharedDir, clusterDir} {
		if dir != "" {
			_ = os.RemoveAll(dir)
		}
	}
	return code
}

type quietRedis struct{}

func (quietRedis) Printf(context.Context, string, ...any) {}

var errNoRedis = errors.New(noRedisMessage)

// redisBinary finds redis-server on PATH or in /usr/bin.
func redisBinary() (string, error) {
	if p, err := exec.LookPath("redis-server"); err == nil {
		return p, nil
	}
	if _, err := os.Stat("/usr/bin/redis-server"); err == nil {
		return "/usr/bin/redis-server", nil
	}
	return "", errNoRedis
}

// needRedis returns the shared server; it skips the test only when
// redis-server is not installed.
func needRedis(tb testing.TB) *redisServer {
	tb.Helper()
	sharedOnce.Do(func() {
		if sharedDir, sharedErr = os.MkdirTemp("", "fleet-redis-"); sharedErr == nil {
			shared, sharedErr = startRedis(sharedDir)
		}
	})
	if errors.Is(sharedErr, errNoRedis) {
		tb.Skip(noRedisMessage)
	}
	require.NoError(tb, sharedErr, "starting redis-server")
	return shared
}

// ownRedis starts a server for this test alone, stopped at its end.
func ownRedis(tb testing.TB) *redisServer {
	tb.Helper()
	needRedis(tb)
	r, err := startRedis(tb.TempDir())
	require.NoError(tb, err, "starting redis-server")
	tb.Cleanup(func() { r.Kill() })
	return r
}

// redisServer is a redis-server process.
type redisServer struct {
	bin, dir string
	port     int
	extra    []string // further arguments (a cluster node's)

	mu     sync.Mutex
	proc   *os.Process
	exited chan struct{}
}

func startRedis(dir string) (*redisServer, error) {
	return startRedisWith(dir, nil)
}

// startRedisWith starts a server with the further arguments extra(port)
// gives (nil: none).
func startRedisWith(dir string, extra func(port int) ([]string, error)) (*redisServer, error) {
	bin, err := redisBinary()
	if err != nil {
		return nil, err
	}
	var last error
	for range 5 { // a free port may be taken before the server binds it
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		r := &redisServer{bin: bin, dir: dir, port: port}
		if extra != nil {
			if r.extra, err = extra(port); err != nil {
				return nil, err
			}
		}
		if last = r.Start(); last == nil {
			return r, nil
		}
	}
	return nil, last
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// Addr is host:port.
func (r *redisServer) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(r.port)) }

// Start starts the server on its port and waits until it answers PING.
func (r *redisServer) Start() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.proc != nil {
		return errors.New("redis-server already running")
	}
	logFile := filepath.Join(r.dir, fmt.Sprintf("redis-%d.log", r.port))
	args := []string{"--port", strconv.Itoa(r.port), "--bind", "127.0.0.1", "--save", "",
		"--appendonly", "no", "--dir", r.dir, "--daemonize", "no", "--logfile", logFile}
	cmd := exec.Command(r.bin, append(args, r.extra...)...)
	cmd.SysProcAttr = dieWithParent() // a test binary killed (fuzz worker, timeout) leaves no server
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if ping(r.Addr()) == nil {
			break
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(logFile)
			return fmt.Errorf("redis-server on port %d exited: %s", r.port, lastLines(string(log), 5))
		default:
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-exited
			return fmt.Errorf("redis-server on port %d did not answer PING within 10 s", r.port)
		}
		time.Sleep(5 * time.Millisecond) // polling a condition with a deadline
	}
	r.proc, r.exited = cmd.Process, exited
	return nil
}

// Kill stops the server by its PID (SIGKILL: as a crash) and waits for it
// to exit. It is safe on a stopped server.
func (r *redisServer) Kill() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.proc == nil {
		return
	}
	_ = r.proc.Kill()
	<-r.exited
	r.proc = nil
}

// Pause stops the server's process (SIGSTOP): its connections stay open
// and every command waits, as on a Redis host that froze. Resume, or the
// end of the test, lets it go on.
func (r *redisServer) Pause(tb testing.TB) {
	tb.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	require.NotNil(tb, r.proc, "pausing a stopped redis-server")
	if err := pauseProcess(r.proc); err != nil {
		tb.Skipf("cannot pause redis-server here: %v", err)
	}
	tb.Cleanup(r.Resume)
}

// Resume continues a paused server (SIGCONT); it is safe on one that runs.
func (r *redisServer) Resume() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.proc != nil {
		_ = resumeProcess(r.proc)
	}
}

func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := io.WriteString(c, "PING\r\n"); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("PING answered %q", strings.TrimSpace(line))
	}
	return nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// proxy forwards TCP connections to a target and can cut them (refuse
// every connection) or hang them (accept and never answer), to make Redis
// unreachable or slow for the clients behind it only.
type proxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	mode  proxyMode
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

type proxyMode int

const (
	proxyPass proxyMode = iota
	proxyCut
	proxyHang
)

func newProxy(tb testing.TB, target string) *proxy {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(tb, err)
	p := &proxy{ln: ln, target: target, conns: make(map[net.Conn]struct{})}
	p.wg.Go(p.accept)
	tb.Cleanup(func() {
		_ = ln.Close()
		p.set(proxyCut)
		p.wg.Wait()
	})
	return p
}

func (p *proxy) Addr() string { return p.ln.Addr().String() }

// Cut closes every connection and refuses new ones.
func (p *proxy) Cut() { p.set(proxyCut) }

// Hang closes every connection; new ones are accepted and never answered.
func (p *proxy) Hang() { p.set(proxyHang) }

// Restore forwards again.
func (p *proxy) Restore() { p.set(proxyPass) }

func (p *proxy) set(m proxyMode) {
	p.mu.Lock()
	p.mode = m
	for c := range p.conns {
		_ = c.Close()
	}
	clear(p.conns)
	p.mu.Unlock()
}

func (p *proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.conns[c] = struct{}{}
	return true
}

func (p *proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		mode := p.mode
		p.mu.Unlock()
		switch mode {
		case proxyCut:
			_ = c.Close()
		case proxyHang:
			p.track(c) // closed by the next set
		case proxyPass:
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				_ = c.Close()
				continue
			}
			p.track(c)
			p.track(up)
			p.wg.Go(func() { _, _ = io.Copy(up, c); _ = up.Close(); _ = c.Close() })
			p.wg.Go(func() { _, _ = io.Copy(c, up); _ = up.Close(); _ = c.Close() })
		}
	}
}

// Helpers for fleets.

var testSecret = []byte("0123456789abcdef0123456789abcdef")

// namespace returns a namespace of the test's own.
func namespace(tb testing.TB) string {
	tb.Helper()
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		}
		return '.'
	}, tb.Name())
	if len(name) > 50 {
		name = name[len(name)-50:]
	}
	return name + "-" + hex.EncodeToString(b[:])
}

// newRDB returns a go-redis client of addr, closed at the end of the test.
func newRDB(tb testing.TB, addr string) *redis.Client {
	tb.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second})
	tb.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// newFleet returns a Fleet on rdb, closed at the end of the test.
func newFleet(tb testing.TB, rdb redis.UniversalClient, opts ...fleet.Option) *fleet.Fleet {
	tb.Helper()
	f, err := fleet.New(rdb, append([]fleet.Option{fleet.WithSecret(testSecret)}, opts...)...)
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = f.Close() })
	return f
}

// eventually polls cond until it holds or 10 s pass.
func eventually(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("%s: not within 10 s", what)
		}
		time.Sleep(2 * time.Millisecond) // polling a condition with a deadline
	}
}

// put stores value for (license, request) as a client does: at the version
// a GetResult just read.
func put(ctx context.Context, f *fleet.Fleet, license, request string, value []byte, ttl time.Duration) error {
	_, version, _, err := f.GetResult(ctx, license, request)
	if err != nil {
		return err
	}
	return f.SetResult(ctx, license, request, version, value, ttl)
}

// resultsPattern matches the names of a namespace's result hashes.
func resultsPattern(ns string) string { return "lc:" + ns + ":{*}:r:*" }
