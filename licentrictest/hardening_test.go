package licentrictest

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/licentric/licentric-go/internal/wire"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// dial opens a raw connection to s with a bound on how long the test waits
// for the server (a failure bound, not a timed assertion).
func dial(t *testing.T, s *Server) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", s.listener.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	require.NoError(t, conn.SetDeadline(time.Now().Add(20*time.Second)))
	return conn
}

// readToClose reads until the server closes the connection; it fails if
// the test's own deadline ran out first (the server held the connection).
func readToClose(t *testing.T, conn net.Conn) []byte {
	t.Helper()
	b, err := io.ReadAll(conn)
	if err != nil {
		require.False(t, errors.Is(err, os.ErrDeadlineExceeded), "the server held the connection: %v", err)
	}
	return b
}

func TestSlowBodyIsCutOff(t *testing.T) {
	s := start(t, WithReadTimeout(200*time.Millisecond))
	conn := dial(t, s.Server)
	_, err := io.WriteString(conn, "POST /api/v1/licenses/validate-key HTTP/1.1\r\nHost: "+s.host()+"\r\n"+
		"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"key\":")
	require.NoError(t, err)
	readToClose(t, conn) // then never send the rest
}

func TestSlowHeadersAreCutOff(t *testing.T) {
	s := start(t, WithReadTimeout(200*time.Millisecond))
	conn := dial(t, s.Server)
	_, err := io.WriteString(conn, "POST /api/v1/licenses/validate-key HTTP/1.1\r\nHost: "+s.host()+"\r\n")
	require.NoError(t, err)
	readToClose(t, conn)
}

func TestHugeContentLengthAnsweredWithoutReadingTheBody(t *testing.T) {
	// A long read timeout: only refusing at once can pass within the bound.
	s := start(t, WithReadTimeout(time.Hour))
	for _, auth := range []string{"", bearer(s.TestAPIKey())} {
		conn := dial(t, s.Server)
		req := "POST /api/v1/licenses/validate-key HTTP/1.1\r\nHost: " + s.host() + "\r\nContent-Type: application/json\r\n" +
			"Content-Length: 1073741824\r\n"
		if auth != "" {
			req += "Authorization: " + auth + "\r\n"
		}
		_, err := io.WriteString(conn, req+"\r\n{")
		require.NoError(t, err)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		require.NoError(t, err, "no answer before the body arrived")
		var m map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&m))
		resp.Body.Close()
		assert.Equal(t, 400, resp.StatusCode)
		assert.Equal(t, "VALIDATION_ERROR", m["code"])
		assert.True(t, resp.Close, "the connection must close after refusing an unread body")
	}
	// A management endpoint checks auth first, then the size.
	conn := dial(t, s.Server)
	_, err := io.WriteString(conn, "POST /api/v1/products HTTP/1.1\r\nHost: "+s.host()+"\r\nContent-Length: 1073741824\r\n\r\n")
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 401, resp.StatusCode)
}

func TestRequestLogIsBounded(t *testing.T) {
	// Over loopback with a small bound.
	s := start(t, WithRequestLogSize(10), WithoutRateLimits())
	for i := range 25 {
		s.do("GET", "/products?limit="+strconv.Itoa(i+1), bearer(s.TestAPIKey()), nil)
	}
	reqs := s.Requests()
	require.Len(t, reqs, 10)
	assert.Equal(t, "limit=16", reqs[0].Query, "oldest retained")
	assert.Equal(t, "limit=25", reqs[9].Query, "newest last")
	assert.Equal(t, 10, s.CountRequests("GET", "/products"))
	s.ResetRequests()
	assert.Empty(t, s.Requests())

	// 50,000 requests (in memory, for speed) keep the default bound.
	big := NewServer(WithInMemory(), WithoutRateLimits(), WithFrozenClock(minuteStart))
	defer big.Close()
	c := big.Client()
	for i := range 50000 {
		resp, err := c.Get(big.URL + "/api/v1/nothing?i=" + strconv.Itoa(i))
		require.NoError(t, err)
		resp.Body.Close()
	}
	reqs = big.Requests()
	require.Len(t, reqs, DefaultRequestLogSize)
	assert.Equal(t, "i=40000", reqs[0].Query)
	assert.Equal(t, "i=49999", reqs[len(reqs)-1].Query)
	assert.Equal(t, DefaultRequestLogSize, big.CountRequests("GET", "/nothing"))
}

func TestEventLogIsBounded(t *testing.T) {
	s := start(t, WithEventLogSize(5), WithoutRateLimits())
	fx := s.seed(Seed{Policy: PolicyRequest{RequireFingerprint: wire.Value(false)}})
	for range 10 {
		s.validate(bearer(s.TestAPIKey()), map[string]any{"key": fx.License.Key})
	}
	evs := s.Events(EnvTest)
	require.Len(t, evs, 5)
	for _, e := range evs {
		assert.Equal(t, "validation.success", e.Type)
	}
}

func TestLogPathsAreClipped(t *testing.T) {
	s := start(t)
	long := make([]byte, 5000)
	for i := range long {
		long[i] = 'a'
	}
	s.do("GET", "/"+string(long)+"?"+string(long), "", nil)
	r := s.Requests()[0]
	assert.Len(t, r.Path, maxLoggedPath)
	assert.Len(t, r.Query, maxLoggedPath)
}
