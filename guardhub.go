package licentric

import (
	"sync"

	"github.com/licentric/licentric-go/webhook"
)

// guardHub lets webhook events reach the guards of a client at once.
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

// notifyGuards tells every guard of the client about e; each decides
// whether the event concerns its license.
func (c *Client) notifyGuards(e *webhook.Event) {
	c.hub.mu.Lock()
	gs := make([]*Guard, 0, len(c.hub.guards))
	for g := range c.hub.guards {
		gs = append(gs, g)
	}
	c.hub.mu.Unlock()
	for _, g := range gs {
		g.onEvent(e)
	}
}
