package agentauth

import (
	"container/list"
	"crypto/sha256"
	"sync"
	"time"

	"github.com/licentric/licentric-go"
)

// tokenKey is what the cache knows a token by: its SHA-256, never the
// token itself.
type tokenKey [sha256.Size]byte

func keyOf(token string) tokenKey { return sha256.Sum256([]byte(token)) }

// entry is a positive answer of the service: the identity (no meter) and
// when, on the middleware's clock, it arrived.
type entry struct {
	key      tokenKey
	v        *licentric.AgentVerification // identity only; never handed out
	storedAt time.Time
}

// lru is a bounded cache of positive answers, least recently used evicted
// first. It is safe for concurrent use.
type lru struct {
	mu    sync.Mutex
	max   int
	order *list.List // of *entry, most recent at the front
	items map[tokenKey]*list.Element
}

func newLRU(max int) *lru {
	return &lru{max: max, order: list.New(), items: make(map[tokenKey]*list.Element)}
}

// get returns a copy of the entry of k.
func (c *lru) get(k tokenKey) (entry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[k]
	if !ok {
		return entry{}, false
	}
	c.order.MoveToFront(el)
	return *el.Value.(*entry), true
}

// put stores the identity of v (its meter left out) for k.
func (c *lru) put(k tokenKey, v *licentric.AgentVerification, at time.Time) {
	id := &licentric.AgentVerification{AccountID: v.AccountID, AgentID: v.AgentID, Scopes: append([]string(nil), v.Scopes...)}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[k]; ok {
		e := el.Value.(*entry)
		e.v, e.storedAt = id, at
		c.order.MoveToFront(el)
		return
	}
	c.items[k] = c.order.PushFront(&entry{key: k, v: id, storedAt: at})
	for c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.items, last.Value.(*entry).key)
	}
}

// remove forgets k.
func (c *lru) remove(k tokenKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[k]; ok {
		c.order.Remove(el)
		delete(c.items, k)
	}
}

// removeAgent forgets every token of agentID and returns how many.
func (c *lru) removeAgent(agentID string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for el := c.order.Front(); el != nil; {
		next := el.Next()
		if e := el.Value.(*entry); e.v.AgentID == agentID {
			c.order.Remove(el)
			delete(c.items, e.key)
			n++
		}
		el = next
	}
	return n
}

// len returns the number of entries.
func (c *lru) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}

// has reports whether k has an entry: the token is known (the service
// accepted it, and has not refused it since).
func (c *lru) has(k tokenKey) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.items[k]
	return ok
}

// refusals remembers for a while the tokens the service refused, by
// digest, so that a token sent again is refused without asking. It is
// bounded (the oldest go first) and safe for concurrent use.
type refusals struct {
	mu    sync.Mutex
	max   int
	ttl   time.Duration
	order *list.List // of *refusal, oldest at the back
	items map[tokenKey]*list.Element
}

type refusal struct {
	key tokenKey
	at  time.Time
}

func newRefusals(max int, ttl time.Duration) *refusals {
	return &refusals{max: max, ttl: ttl, order: list.New(), items: make(map[tokenKey]*list.Element)}
}

// has reports whether k was refused less than the TTL before now.
func (c *refusals) has(k tokenKey, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[k]
	if !ok {
		return false
	}
	age := now.Sub(el.Value.(*refusal).at)
	if age >= 0 && age < c.ttl {
		return true
	}
	c.order.Remove(el)
	delete(c.items, k)
	return false
}

// put records that k was refused at now.
func (c *refusals) put(k tokenKey, now time.Time) {
	if c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[k]; ok {
		el.Value.(*refusal).at = now
		c.order.MoveToFront(el)
		return
	}
	c.items[k] = c.order.PushFront(&refusal{key: k, at: now})
	for c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.items, last.Value.(*refusal).key)
	}
}
