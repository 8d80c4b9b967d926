package licentrictest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/licentric/licentric-go/internal/wire"
)

// maxMemResponse caps a response body the in-memory transport hands back.
const maxMemResponse = 32 << 20

// ErrConnectionClosed is the error of an in-memory round trip that ended
// without a response, as a dropped connection would (Fault.Drop, Hang,
// DropResponse, a handler that panicked, or a closed server).
var ErrConnectionClosed = errors.New("licentrictest: connection closed without a response")

// Transport returns an http.RoundTripper that serves each request by
// calling the server's handler in the calling goroutine: no socket, no
// goroutine, nothing that waits on I/O. It works whether or not the server
// listens (see WithInMemory), ignores the URL's scheme and host, copies the
// request body (at most 1 MiB and one byte, so larger bodies are still
// refused as the server refuses them) and the response (at most 32 MiB),
// and honours the request's context: a canceled request returns the
// context's error, and a Hang fault waits only until it ends.
//
// Inside a testing/synctest bubble, a server started WithInMemory and a
// client on this transport run entirely on the bubble's clock.
func (s *Server) Transport() http.RoundTripper { return &memTransport{h: s, remote: "127.0.0.1:1"} }

// HandlerTransport returns an http.RoundTripper that serves every request
// with h in-process, as Server.Transport does. With WithWebhookTransport
// it delivers webhooks to a receiver without a socket.
func HandlerTransport(h http.Handler) http.RoundTripper {
	return &memTransport{h: h, remote: "127.0.0.1:1"}
}

type memTransport struct {
	h      http.Handler
	remote string
}

// RoundTrip implements http.RoundTripper.
func (t *memTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	body, err := readRequestBody(req)
	if err != nil {
		return nil, err
	}
	ctx := req.Context()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if req.URL == nil {
		return nil, errors.New("licentrictest: request has no URL")
	}
	uri := req.URL.RequestURI()
	u, err := url.ParseRequestURI(uri)
	if err != nil {
		return nil, fmt.Errorf("licentrictest: request URI: %w", err)
	}
	sreq := req.Clone(ctx)
	sreq.URL = u
	sreq.RequestURI = uri
	sreq.Proto, sreq.ProtoMajor, sreq.ProtoMinor = "HTTP/1.1", 1, 1
	sreq.RemoteAddr = t.remote
	sreq.TLS = nil
	if sreq.Host == "" {
		sreq.Host = req.URL.Host
	}
	sreq.Body = http.NoBody
	sreq.ContentLength = 0
	if body != nil {
		sreq.Body = io.NopCloser(bytes.NewReader(body))
		sreq.ContentLength = int64(len(body))
	}
	if req.ContentLength > wire.MaxBodyBytes {
		sreq.ContentLength = req.ContentLength // refused unread, as over a socket
	}
	w := &memWriter{h: http.Header{}}
	if !t.serve(w, sreq) || w.aborted {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		return nil, ErrConnectionClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if w.overflow {
		return nil, fmt.Errorf("licentrictest: response body exceeds %d bytes", maxMemResponse)
	}
	if w.status == 0 {
		w.status = http.StatusOK
		w.snap = w.h.Clone()
	}
	out := w.buf.Bytes()
	if req.Method == http.MethodHead {
		out = nil
	}
	w.snap.Set("Content-Length", strconv.Itoa(len(out)))
	return &http.Response{
		Status:        fmt.Sprintf("%d %s", w.status, http.StatusText(w.status)),
		StatusCode:    w.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        w.snap,
		Body:          io.NopCloser(bytes.NewReader(out)),
		ContentLength: int64(len(out)),
		Request:       req,
	}, nil
}

// readRequestBody copies and closes the request body, reading at most one
// byte more than the server accepts (none when the declared length is
// already over it).
func readRequestBody(req *http.Request) ([]byte, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, nil
	}
	defer req.Body.Close()
	if req.ContentLength > wire.MaxBodyBytes {
		return nil, nil
	}
	b, err := io.ReadAll(io.LimitReader(req.Body, wire.MaxBodyBytes+1))
	if err != nil {
		return nil, fmt.Errorf("licentrictest: read request body: %w", err)
	}
	return b, nil
}

// serve runs the handler; it reports false when the handler panicked,
// which over a socket would close the connection.
func (t *memTransport) serve(w *memWriter, r *http.Request) (ok bool) {
	defer func() {
		if v := recover(); v != nil {
			ok = false
		}
	}()
	t.h.ServeHTTP(w, r)
	return true
}

// memWriter is the in-memory ResponseWriter.
type memWriter struct {
	h        http.Header
	snap     http.Header // the headers as of WriteHeader
	status   int
	buf      bytes.Buffer
	aborted  bool
	overflow bool
}

func (w *memWriter) Header() http.Header { return w.h }

func (w *memWriter) WriteHeader(code int) {
	if w.status != 0 || code < 200 {
		return
	}
	w.status = code
	w.snap = w.h.Clone()
}

func (w *memWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.buf.Len()+len(p) > maxMemResponse {
		w.overflow = true
		return 0, errors.New("licentrictest: response too large")
	}
	return w.buf.Write(p)
}

func (w *memWriter) abort() { w.aborted = true }
