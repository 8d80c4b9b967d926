package licentrictest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/licentric/licentric-go/internal/wire"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestInMemoryServerOpensNoSocket(t *testing.T) {
	srv := NewServer(WithInMemory())
	defer srv.Close()
	assert.Equal(t, "http://127.0.0.1:0", srv.URL)
	assert.Nil(t, srv.listener)
	s := &tsrv{Server: srv, t: t}
	fx := s.seed(Seed{Policy: PolicyRequest{RequireFingerprint: wire.Value(false)}})
	v := s.validate("", map[string]any{"key": "nope"})
	assert.Equal(t, "NOT_FOUND", v["code"])
	v = s.validate(bearer(s.TestAPIKey()), map[string]any{"key": fx.License.Key})
	assert.Equal(t, "VALID", v["code"])
	st, h, m := s.do("GET", "/nothing", "", nil)
	assert.Equal(t, 404, st)
	assert.Equal(t, "NOT_FOUND", m["code"])
	assert.NotEmpty(t, h.Get("X-Request-Id"))
	// A socket client can't reach the placeholder URL.
	_, err := (&http.Client{Timeout: 5 * time.Second}).Get(srv.URL + "/api/v1/licenses")
	assert.Error(t, err)
}

func TestTransportSharesStateWithTheListener(t *testing.T) {
	s := start(t)
	fx := s.seed(Seed{Env: EnvLive, Policy: PolicyRequest{RequireFingerprint: wire.Value(false)}})
	c := &http.Client{Transport: s.Transport()}
	resp, err := c.Post(s.URL+"/api/v1/licenses/validate-key", "application/json", strings.NewReader(`{"key":"`+fx.License.Key+`"}`))
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode)
	assert.Contains(t, string(body), `"code":"VALID"`)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	assert.Equal(t, int64(len(body)), resp.ContentLength)
	l, err := s.License(EnvLive, fx.License.ID)
	require.NoError(t, err)
	assert.Equal(t, 1, l.UsesCount)
	assert.Equal(t, 1, s.CountRequests("POST", "/licenses/validate-key"))
}

func TestTransportFaultsAndContext(t *testing.T) {
	srv := NewServer(WithInMemory())
	defer srv.Close()
	c := srv.Client()
	get := func(ctx context.Context) error {
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/api/v1/products", nil)
		req.Header.Set("Authorization", "Bearer "+srv.TestAPIKey())
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	srv.InjectFault(Fault{Drop: true})
	assert.ErrorIs(t, get(context.Background()), ErrConnectionClosed)
	srv.InjectFault(Fault{DropResponse: true})
	assert.ErrorIs(t, get(context.Background()), ErrConnectionClosed)
	assert.Equal(t, 200, srv.Requests()[1].Status, "DropResponse handled the request")

	// Hang holds the request until its context ends.
	srv.InjectFault(Fault{Hang: true})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	assert.ErrorIs(t, get(ctx), context.DeadlineExceeded)

	canceled, cancel2 := context.WithCancel(context.Background())
	cancel2()
	assert.ErrorIs(t, get(canceled), context.Canceled)

	srv.InjectFault(Fault{Status: 503, RetryAfter: 2 * time.Second})
	req, _ := http.NewRequest("GET", srv.URL+"/api/v1/products", nil)
	resp, err := c.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 503, resp.StatusCode)
	assert.Equal(t, "2", resp.Header.Get("Retry-After"))

	srv.Close()
	assert.ErrorIs(t, get(context.Background()), ErrConnectionClosed)
}

func TestTransportCapsBodies(t *testing.T) {
	srv := NewServer(WithInMemory())
	defer srv.Close()
	api := "Bearer " + srv.TestAPIKey()
	post := func(body io.Reader, length int64) int {
		req, _ := http.NewRequest("POST", srv.URL+"/api/v1/products", body)
		req.Header.Set("Authorization", api)
		if length != 0 {
			req.ContentLength = length
		}
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	assert.Equal(t, 400, post(bytes.NewReader(bytes.Repeat([]byte(" "), 2<<20)), 0))
	assert.Equal(t, 400, post(io.NopCloser(bytes.NewReader(bytes.Repeat([]byte(" "), 2<<20))), -1), "unknown length")
	assert.Equal(t, 201, post(strings.NewReader(`{"name":"n","code":"c"}`), 0))
}

type panicHandler struct{}

func (panicHandler) ServeHTTP(http.ResponseWriter, *http.Request) { panic("boom") }

func TestHandlerTransport(t *testing.T) {
	var got []string
	rt := HandlerTransport(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = append(got, r.Method+" "+r.URL.Path+" "+string(b)+" "+r.Header.Get("X-A"))
		w.Header().Set("X-B", "b")
		w.WriteHeader(202)
		_, _ = io.WriteString(w, "ok")
	}))
	req, _ := http.NewRequest("PUT", "http://example.invalid/x%2Fy?q=1", strings.NewReader("hi"))
	req.Header.Set("X-A", "a")
	resp, err := rt.RoundTrip(req)
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	assert.Equal(t, 202, resp.StatusCode)
	assert.Equal(t, "ok", string(b))
	assert.Equal(t, "b", resp.Header.Get("X-B"))
	assert.Equal(t, []string{"PUT /x/y hi a"}, got)

	_, err = HandlerTransport(panicHandler{}).RoundTrip(req)
	assert.True(t, errors.Is(err, ErrConnectionClosed))
}
