package licentric

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// HeartbeatMonitor keeps a machine alive by sending heartbeats in the
// background; see (*Client).StartHeartbeat. Its methods are safe for
// concurrent use.
type HeartbeatMonitor struct {
	c          *Client
	key        string
	machineID  string
	every      time.Duration
	retryEvery time.Duration
	onError    func(error)
	onBeat     func(*Machine)

	cancel context.CancelFunc
	done   chan struct{}
	errs   chan error

	mu      sync.Mutex
	machine *Machine
	err     error
}

// A HeartbeatOption configures StartHeartbeat.
type HeartbeatOption func(*heartbeatConfig) error

type heartbeatConfig struct {
	policyInterval time.Duration
	lastBeat       time.Time
	onError        func(error)
	onBeat         func(*Machine)
}

// MinHeartbeatInterval is the shortest heartbeat interval a policy can
// have (heartbeatIntervalMinutes is a whole number of minutes); shorter ones
// are refused, so a typo cannot make a monitor flood the service.
const MinHeartbeatInterval = time.Minute

// WithHeartbeatInterval sets the policy's heartbeat interval (the time after
// which a silent machine dies); the monitor beats at half of it. An
// interval below MinHeartbeatInterval is refused.
func WithHeartbeatInterval(policyInterval time.Duration) HeartbeatOption {
	return func(c *heartbeatConfig) error {
		if policyInterval < MinHeartbeatInterval {
			return fmt.Errorf("%w: heartbeat interval %v is below the service's minimum of %v", ErrInvalidArgument, policyInterval, MinHeartbeatInterval)
		}
		c.policyInterval = policyInterval
		return nil
	}
}

// WithHeartbeatPolicy takes the interval from p.HeartbeatIntervalMinutes,
// for example from a validation's License.Policy snapshot.
func WithHeartbeatPolicy(p *Policy) HeartbeatOption {
	return func(c *heartbeatConfig) error {
		if p == nil || p.HeartbeatIntervalMinutes <= 0 {
			return fmt.Errorf("%w: policy has no heartbeat interval", ErrInvalidArgument)
		}
		c.policyInterval = time.Duration(p.HeartbeatIntervalMinutes) * time.Minute
		return nil
	}
}

// WithLastHeartbeat says when the machine's last heartbeat was (for
// example Machine.LastHeartbeatAt from a validation or an activation): the
// monitor's first beat is then due half an interval after it rather than
// at once.
func WithLastHeartbeat(at time.Time) HeartbeatOption {
	return func(c *heartbeatConfig) error {
		c.lastBeat = at
		return nil
	}
}

// OnHeartbeatError calls f with every failed heartbeat, from the monitor's
// goroutine. f must not block for long and must not call Stop.
func OnHeartbeatError(f func(error)) HeartbeatOption {
	return func(c *heartbeatConfig) error {
		c.onError = f
		return nil
	}
}

// OnHeartbeat calls f with the machine after every successful heartbeat,
// from the monitor's goroutine. f must not block for long and must not call
// Stop.
func OnHeartbeat(f func(*Machine)) HeartbeatOption {
	return func(c *heartbeatConfig) error {
		c.onBeat = f
		return nil
	}
}

// errorBuffer is the capacity of the Errors channel; when it is full, newer
// errors are dropped rather than blocking the monitor.
const errorBuffer = 16

// StartHeartbeat starts a goroutine that sends a heartbeat for machine
// machineID at once (or, with WithLastHeartbeat, half an interval after the
// last one) and then every half of the policy's heartbeat interval (given
// by WithHeartbeatInterval or WithHeartbeatPolicy; one is required),
// waiting on the client's Clock.
//
// Failures are reported through OnHeartbeatError and Errors and never stop
// the monitor; after a failure it tries again after a quarter of its
// period, so one lost heartbeat does not let the machine die. It stops when
// ctx is cancelled, when Stop is called, or when the server answers 404
// NOT_FOUND (the machine is gone, e.g. culled as dead; activate again):
// that error is reported and returned by Err.
func (c *Client) StartHeartbeat(ctx context.Context, key, machineID string, opts ...HeartbeatOption) (*HeartbeatMonitor, error) {
	if ctx == nil {
		return nil, fmt.Errorf("%w: nil context", ErrInvalidArgument)
	}
	if err := checkLicenseKey(key); err != nil {
		return nil, err
	}
	if err := checkID("machine ID", machineID); err != nil {
		return nil, err
	}
	var cfg heartbeatConfig
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	if cfg.policyInterval <= 0 {
		return nil, fmt.Errorf("%w: heartbeat interval not set (WithHeartbeatInterval or WithHeartbeatPolicy)", ErrInvalidArgument)
	}
	every := cfg.policyInterval / 2
	ctx, cancel := context.WithCancel(ctx)
	m := &HeartbeatMonitor{
		c:          c,
		key:        key,
		machineID:  machineID,
		every:      every,
		retryEvery: every / 4, // at least 7.5 s: intervals are at least MinHeartbeatInterval
		onError:    cfg.onError,
		onBeat:     cfg.onBeat,
		cancel:     cancel,
		done:       make(chan struct{}),
		errs:       make(chan error, errorBuffer),
	}
	go m.run(ctx, cfg.lastBeat)
	return m, nil
}

// Interval returns the time between two heartbeats.
func (m *HeartbeatMonitor) Interval() time.Duration { return m.every }

func (m *HeartbeatMonitor) run(ctx context.Context, lastBeat time.Time) {
	defer close(m.done)
	defer m.cancel()
	if !lastBeat.IsZero() {
		// The first beat is due half an interval after the last one (read
		// the clock here: the deadline is a moment, not a wait).
		first := min(lastBeat.Add(m.every).Sub(m.c.cfg.clock.Now()), m.every)
		if first <= 0 {
			first = 0
		}
		if first > 0 {
			select {
			case <-ctx.Done():
				return
			case <-m.c.cfg.clock.After(first):
			}
		}
	}
	for {
		mach, err := m.c.Heartbeat(ctx, m.key, m.machineID)
		if ctx.Err() != nil {
			return
		}
		wait := m.every
		if err != nil {
			m.report(err)
			if errors.Is(err, ErrNotFound) {
				m.mu.Lock()
				m.err = err
				m.mu.Unlock()
				return
			}
			wait = m.retryEvery
		} else {
			m.mu.Lock()
			m.machine = mach
			m.mu.Unlock()
			if m.onBeat != nil {
				m.onBeat(mach)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-m.c.cfg.clock.After(wait):
		}
	}
}

func (m *HeartbeatMonitor) report(err error) {
	if m.onError != nil {
		m.onError(err)
	}
	select {
	case m.errs <- err:
	default: // nobody is reading; drop rather than block
	}
}

// Stop stops the monitor and waits for its goroutine to end. It is
// idempotent. Do not call it from an OnHeartbeat or OnHeartbeatError
// callback.
func (m *HeartbeatMonitor) Stop() {
	m.cancel()
	<-m.done
}

// Done is closed when the monitor has stopped.
func (m *HeartbeatMonitor) Done() <-chan struct{} { return m.done }

// Errors delivers heartbeat failures without blocking the monitor: when the
// buffer is full, further errors are dropped. It is never closed; select on
// Done as well.
func (m *HeartbeatMonitor) Errors() <-chan error { return m.errs }

// Err returns the error that ended the monitor (the machine is gone), or
// nil while it runs or after Stop or cancellation.
func (m *HeartbeatMonitor) Err() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.err
}

// Machine returns the machine as of the last successful heartbeat, or nil
// before the first one.
func (m *HeartbeatMonitor) Machine() *Machine {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.machine
}
