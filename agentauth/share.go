package agentauth

import (
	"sync"
	"time"
)

// maxShareClients bounds how many client addresses the share tracks; past
// it, buckets that have refilled are forgotten, and a client that finds no
// room draws on the total alone.
const maxShareClients = 4096

// bucket is a token bucket: up to burst units, refilled at rate units a
// second.
type bucket struct {
	units float64
	at    time.Time
}

// refill brings b to now and reports whether it is full.
func (b *bucket) refill(now time.Time, rate, burst float64) bool {
	if b.at.IsZero() {
		b.units, b.at = burst, now
	}
	if d := now.Sub(b.at); d > 0 {
		b.units = min(burst, b.units+d.Seconds()*rate)
		b.at = now
	}
	return b.units >= burst
}

// wait is how long until b has a unit.
func (b *bucket) wait(rate float64) time.Duration {
	if b.units >= 1 {
		return 0
	}
	return time.Duration((1 - b.units) / rate * float64(time.Second))
}

// share is the part of the verify budget that tokens the middleware does
// not know may use: at most total a minute, and at most perClient a minute
// from one client address, taken at once or not at all (never waited
// for). Safe for concurrent use.
type share struct {
	mu            sync.Mutex
	rate, burst   float64 // the total, per second and at once
	cRate, cBurst float64 // one client's
	total         bucket
	clients       map[string]*bucket
}

func newShare(perMinute, perClient int) *share {
	return &share{
		rate: float64(perMinute) / 60, burst: float64(perMinute),
		cRate: float64(perClient) / 60, cBurst: float64(perClient),
		clients: map[string]*bucket{},
	}
}

// take takes a unit for client at now, or returns how long until one is
// free.
func (s *share) take(client string, now time.Time) (time.Duration, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.total.refill(now, s.rate, s.burst)
	c := s.clients[client]
	if c == nil {
		if len(s.clients) >= maxShareClients {
			for k, b := range s.clients {
				if b.refill(now, s.cRate, s.cBurst) {
					delete(s.clients, k)
				}
			}
		}
		if len(s.clients) < maxShareClients {
			c = &bucket{}
			s.clients[client] = c
		}
	}
	wait := s.total.wait(s.rate)
	if c != nil {
		c.refill(now, s.cRate, s.cBurst)
		wait = max(wait, c.wait(s.cRate))
	}
	if wait > 0 {
		return wait, false
	}
	s.total.units--
	if c != nil {
		c.units--
	}
	return 0, true
}
