package agentauth

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/licentric/licentric-go"
)

// TestCacheIsBoundedAndKeepsNoToken: the least recently used entries go
// first, and nothing stored holds the token.
func TestCacheIsBoundedAndKeepsNoToken(t *testing.T) {
	c := newLRU(3)
	at := time.Unix(0, 0)
	tok := func(i int) string { return fmt.Sprintf("AGT-token-%02d", i) }
	for i := range 3 {
		c.put(keyOf(tok(i)), &licentric.AgentVerification{AgentID: fmt.Sprintf("agt_%d", i%2), Meter: &licentric.MeterState{Name: "m"}}, at)
	}
	_, ok := c.get(keyOf(tok(0))) // 0 is now the most recent
	assert.True(t, ok)
	c.put(keyOf(tok(3)), &licentric.AgentVerification{AgentID: "agt_3"}, at)
	assert.Equal(t, 3, c.len())
	_, ok = c.get(keyOf(tok(1)))
	assert.False(t, ok, "the least recently used went")
	e, ok := c.get(keyOf(tok(2)))
	assert.True(t, ok)
	assert.Nil(t, e.v.Meter, "the cache keeps the identity, not a meter state")
	for el := c.order.Front(); el != nil; el = el.Next() {
		en := el.Value.(*entry)
		for i := range 4 {
			assert.False(t, bytes.Contains(en.key[:], []byte(tok(i))))
		}
	}
	assert.Equal(t, 2, c.removeAgent("agt_0"), "tokens 0 and 2")
	assert.Equal(t, 1, c.len())
}

// TestShareBoundsClientsAndTotal: one client gets its burst, then one
// unit per refill; others keep the rest of the total; the wait is told.
func TestShareBoundsClientsAndTotal(t *testing.T) {
	s := newShare(6, 2) // 6 a minute, 2 per client
	now := time.Unix(1000, 0)
	for range 2 {
		_, ok := s.take("a", now)
		assert.True(t, ok)
	}
	wait, ok := s.take("a", now)
	assert.False(t, ok)
	assert.Equal(t, 30*time.Second, wait, "one unit per 30 s for a client")
	for _, c := range []string{"b", "b", "c", "c"} {
		_, ok := s.take(c, now)
		assert.True(t, ok, c)
	}
	wait, ok = s.take("d", now)
	assert.False(t, ok, "the total is spent")
	assert.Equal(t, 10*time.Second, wait)
	_, ok = s.take("d", now.Add(10*time.Second))
	assert.True(t, ok)
}

// TestRefusalsExpireAndAreBounded: a refusal is remembered for its TTL;
// the oldest go first.
func TestRefusalsExpireAndAreBounded(t *testing.T) {
	r := newRefusals(2, time.Minute)
	now := time.Unix(0, 0)
	for i := range 3 {
		r.put(keyOf(fmt.Sprint(i)), now)
	}
	assert.False(t, r.has(keyOf("0"), now), "the oldest went")
	assert.True(t, r.has(keyOf("2"), now.Add(59*time.Second)))
	assert.False(t, r.has(keyOf("2"), now.Add(time.Minute)))
	assert.Len(t, r.items, 1)
}
