package licentric

import "sync"

// guardHub lets invalidations reach the guards of a client at once: a
// webhook event, InvalidateLicense, a write that frees a seat, and through
// the fleet those of every other member.
type guardHub struct {
	mu     sync.Mutex
	guards map[*Guard]struct{}
}

func (h *guardHub) add(g *Guard) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.guards == nil {
		h.guards = make(map[*Guard]struct{})
	}
	h.guards[g] = struct{}{}
}

func (h *guardHub) remove(g *Guard) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.guards, g)
}

// recheck has the guards of license key ("" for every guard) ask the
// service again. It never waits.
func (h *guardHub) recheck(key string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for g := range h.guards {
		if key == "" || g.key == key {
			g.kick()
		}
	}
}
