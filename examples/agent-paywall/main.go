// Command agent-paywall is an HTTP tool server that charges AI agents per
// call, with package agentauth in front of its tools:
//
//	GET  /tools       lists the tools (free)
//	POST /tools/echo  echoes its body, 1 unit on the agent's "tool-calls" meter
//
// It plays the vendor too: it creates an agent identity, gives its
// "tool-calls" meter a soft limit of 2 and a hard limit of 3 a month,
// authorizes a token, and then calls its own server as the agent would: a
// call without the token (401), the free listing, and four paid calls, the
// last of which is refused with 402 because it would pass the hard limit.
// It prints each answer and the meter, and exits non-zero if any answer is
// not the expected one.
//
// By default it runs against an in-process licentrictest server, so it
// needs no account and no network:
//
//	go run ./examples/agent-paywall
//
// To run it against a real instance (it creates an agent there and deletes
// it at the end), set LICENTRIC_BASE_URL and LICENTRIC_API_KEY (use an
// lk_test_ key with agents:read and agents:write).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/licentric/licentric-go"
	"github.com/licentric/licentric-go/agentauth"
	"github.com/licentric/licentric-go/licentrictest"
)

// meter is the meter every paid call is recorded on.
const meter = "tool-calls"

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := run(ctx, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "agent-paywall:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer) error {
	baseURL, apiKey := os.Getenv("LICENTRIC_BASE_URL"), os.Getenv("LICENTRIC_API_KEY")
	if baseURL == "" || apiKey == "" {
		srv := licentrictest.NewServer()
		defer srv.Close()
		baseURL, apiKey = srv.URL, srv.TestAPIKey()
		fmt.Fprintln(out, "Using an in-process Licentric server at", baseURL)
	} else {
		fmt.Fprintln(out, "Using the Licentric instance at", baseURL)
	}

	// The vendor's back end holds the API key. The tool server verifies
	// tokens with a client of its own: it needs no API key, and its rate
	// budget is then its own.
	vendor, err := licentric.NewClient(licentric.WithBaseURL(baseURL), licentric.WithAPIKey(apiKey))
	if err != nil {
		return err
	}
	verifier, err := licentric.NewClient(licentric.WithBaseURL(baseURL))
	if err != nil {
		return err
	}

	// 1. The vendor creates the agent, sets its budget and issues a token.
	agent, err := vendor.Agents.Create(ctx, &licentric.AgentRequest{Name: "example-agent", Metadata: licentric.Metadata{"example": "agent-paywall"}})
	if err != nil {
		return fmt.Errorf("create agent: %w", err)
	}
	defer func() { _ = vendor.Agents.Delete(context.WithoutCancel(ctx), agent.ID) }()
	soft, hard := int64(2), int64(3)
	if _, err := vendor.Agents.SetMeter(ctx, agent.ID, meter, &licentric.MeterLimits{SoftLimit: &soft, HardLimit: &hard, Period: licentric.MeterPeriodMonth}); err != nil {
		return fmt.Errorf("set meter: %w", err)
	}
	tok, err := vendor.Agents.AuthorizeFor(ctx, agent.ID, 15*time.Minute, licentric.ScopeMCPInvoke)
	if err != nil {
		return fmt.Errorf("authorize: %w", err)
	}
	fmt.Fprintf(out, "Agent %s: meter %q soft limit %d, hard limit %d; token issued, expires %s\n\n",
		agent.ID, meter, soft, hard, tok.ExpiresAt)

	// 2. The tool server.
	addr, stop, err := serveTools(verifier)
	if err != nil {
		return err
	}
	defer stop()

	// 3. The agent calls it.
	steps := []struct {
		what, method, path, token string
		want                      int
	}{
		{"call without a token", http.MethodPost, "/tools/echo", "", http.StatusUnauthorized},
		{"list the tools (free)", http.MethodGet, "/tools", tok.Token, http.StatusOK},
		{"paid call 1", http.MethodPost, "/tools/echo", tok.Token, http.StatusOK},
		{"paid call 2", http.MethodPost, "/tools/echo", tok.Token, http.StatusOK},
		{"paid call 3 (past the soft limit)", http.MethodPost, "/tools/echo", tok.Token, http.StatusOK},
		{"paid call 4 (would pass the hard limit)", http.MethodPost, "/tools/echo", tok.Token, http.StatusPaymentRequired},
	}
	agentHTTP := &http.Client{Timeout: 10 * time.Second}
	var failed []string
	for _, s := range steps {
		status, body, err := call(ctx, agentHTTP, s.method, "http://"+addr+s.path, s.token, `{"text":"hello"}`)
		if err != nil {
			return fmt.Errorf("%s: %w", s.what, err)
		}
		mark := "ok"
		if status != s.want {
			mark = fmt.Sprintf("UNEXPECTED (want %d)", s.want)
			failed = append(failed, s.what)
		}
		fmt.Fprintf(out, "%-42s %d %s  %s\n", s.what+":", status, mark, body)
	}

	// 4. The meter, as the vendor sees it (setting the same limits keeps
	// the usage and returns it).
	m, err := vendor.Agents.SetMeter(ctx, agent.ID, meter, &licentric.MeterLimits{SoftLimit: &soft, HardLimit: &hard, Period: licentric.MeterPeriodMonth})
	if err != nil {
		return fmt.Errorf("read meter: %w", err)
	}
	fmt.Fprintf(out, "\nMeter %q: %d of %d used this %s (since %s)\n", m.Name, m.Used, hard, m.Period, m.PeriodStart)
	if m.Used != hard {
		failed = append(failed, fmt.Sprintf("meter shows %d, want %d", m.Used, hard))
	}
	if len(failed) > 0 {
		return errors.New("unexpected results: " + strings.Join(failed, "; "))
	}
	return nil
}

// serveTools starts the tool server on a loopback port and returns its
// address and a function that stops it.
func serveTools(verifier *licentric.Client) (string, func(), error) {
	mw, err := agentauth.New(verifier, agentauth.WithScopes(licentric.ScopeMCPInvoke))
	if err != nil {
		return "", nil, err
	}
	echo, err := mw.Metered(meter, 1, http.HandlerFunc(echoTool))
	if err != nil {
		return "", nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /tools", mw.Handler(http.HandlerFunc(listTools)))
	mux.Handle("POST /tools/echo", echo)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = hs.Serve(ln)
	}()
	stop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(ctx)
		<-done
	}
	return ln.Addr().String(), stop, nil
}

func listTools(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, map[string]any{"tools": []map[string]string{{"name": "echo", "price": "1 " + meter}}})
}

// echoTool is the paid tool: it runs only after the middleware recorded
// the call, and it can tell the agent how much of its budget is left.
func echoTool(w http.ResponseWriter, r *http.Request) {
	v, _ := agentauth.FromContext(r.Context())
	var in struct {
		Text string `json:"text"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&in); err != nil {
		http.Error(w, `{"error":"body must be {\"text\": ...}","code":"VALIDATION_ERROR"}`, http.StatusBadRequest)
		return
	}
	res := map[string]any{"echo": in.Text, "agent": v.AgentID, "used": v.Meter.Used}
	if v.Meter.Warning {
		res["warning"] = "past the soft limit of your plan"
	}
	writeJSON(w, res)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// call sends one request as the agent and returns the status and body.
func call(ctx context.Context, hc *http.Client, method, url, token, body string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return 0, "", err
	}
	return resp.StatusCode, strings.TrimSpace(string(b)), nil
}
