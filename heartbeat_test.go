package licentric

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/licentric/licentric-go/internal/clocktest"
)

func TestHeartbeatMonitorSchedule(t *testing.T) {
	clk := clocktest.New(time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC))
	c, mt := mockClient(t, WithClock(clk), WithRetry(RetryPolicy{MaxRetries: 0, MinWait: time.Millisecond, MaxWait: time.Millisecond}))
	hb := apiURL("/machines/m_1/heartbeat")
	mt.RegisterResponder(http.MethodPost, hb,
		sequence(respond(200, machineBody), respond(200, machineBody),
			respond(503, `{"error":"down","code":"INTERNAL_ERROR"}`),
			respond(200, machineBody),
			respond(404, `{"error":"Machine not found","code":"NOT_FOUND"}`)))

	var mu sync.Mutex
	var cbErrs []error
	beats := 0
	m, err := c.StartHeartbeat(t.Context(), testLicenseKey, "m_1",
		WithHeartbeatPolicy(&Policy{HeartbeatIntervalMinutes: 10}),
		OnHeartbeatError(func(err error) { mu.Lock(); cbErrs = append(cbErrs, err); mu.Unlock() }),
		OnHeartbeat(func(*Machine) { mu.Lock(); beats++; mu.Unlock() }))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop()
	if m.Interval() != 5*time.Minute {
		t.Fatalf("Interval = %v", m.Interval())
	}
	count := func() int { return mt.GetCallCountInfo()["POST "+hb] }

	clk.BlockUntil(1) // the immediate heartbeat has been sent
	if count() != 1 || m.Machine() == nil {
		t.Fatalf("after start: %d heartbeats, machine %v", count(), m.Machine())
	}
	clk.Advance(5*time.Minute - time.Second)
	if count() != 1 {
		t.Fatalf("heartbeat before the interval: %d", count())
	}
	clk.Advance(time.Second)
	waitBeat(clk)
	if count() != 2 {
		t.Fatalf("after one interval: %d", count())
	}
	clk.Advance(5 * time.Minute) // third beat fails with 503
	waitBeat(clk)
	select {
	case err := <-m.Errors():
		if !errors.Is(err, ErrServer) {
			t.Errorf("Errors() got %v", err)
		}
	default:
		t.Fatal("failure not delivered on Errors()")
	}
	// After a failure the monitor retries after a quarter period.
	clk.Advance(5 * time.Minute / 4)
	waitBeat(clk)
	if count() != 4 {
		t.Fatalf("retry after failure: %d", count())
	}
	clk.Advance(5 * time.Minute) // 404: machine gone; the monitor stops
	<-m.Done()
	if !errors.Is(m.Err(), ErrNotFound) {
		t.Errorf("Err = %v", m.Err())
	}
	mu.Lock()
	defer mu.Unlock()
	if len(cbErrs) != 2 || beats != 3 {
		t.Errorf("callbacks: %d errors, %d beats", len(cbErrs), beats)
	}
	m.Stop() // idempotent after the monitor ended on its own
	m.Stop()
}

// waitBeat waits until the monitor has made the call the last Advance
// released and is waiting again (the fired waiter is gone, so the next
// pending one is the monitor's new wait).
func waitBeat(clk *clocktest.Clock) { clk.BlockUntil(1) }

func TestHeartbeatMonitorStopsOnStopAndCancel(t *testing.T) {
	clk := clocktest.New(time.Unix(0, 0))
	c, mt := mockClient(t, WithClock(clk))
	mt.RegisterResponder(http.MethodPost, apiURL("/machines/m_1/heartbeat"), respond(200, machineBody))

	m, err := c.StartHeartbeat(t.Context(), testLicenseKey, "m_1", WithHeartbeatInterval(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	clk.BlockUntil(1)
	m.Stop()
	m.Stop()
	<-m.Done()
	if m.Err() != nil {
		t.Errorf("Err after Stop = %v", m.Err())
	}

	ctx, cancel := context.WithCancel(t.Context())
	m, err = c.StartHeartbeat(ctx, testLicenseKey, "m_1", WithHeartbeatInterval(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	<-m.Done()
	m.Stop()
}

func TestStartHeartbeatRefusesBadInput(t *testing.T) {
	c, mt := mockClient(t)
	for name, opts := range map[string][]HeartbeatOption{
		"no interval":       nil,
		"zero interval":     {WithHeartbeatInterval(0)},
		"nil policy":        {WithHeartbeatPolicy(nil)},
		"policy no minutes": {WithHeartbeatPolicy(&Policy{})},
	} {
		if m, err := c.StartHeartbeat(t.Context(), testLicenseKey, "m_1", opts...); err == nil || m != nil {
			t.Errorf("%s: %v, %v", name, m, err)
		}
	}
	if _, err := c.StartHeartbeat(t.Context(), "", "m_1", WithHeartbeatInterval(time.Minute)); err == nil {
		t.Error("empty key accepted")
	}
	if mt.GetTotalCallCount() != 0 {
		t.Error("requests sent")
	}
}
