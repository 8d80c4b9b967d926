package webhook

// idRing remembers the last max ids added, forgetting the oldest first.
// It is not safe for concurrent use; Handler guards it with its mutex.
type idRing struct {
	max  int
	ids  []string // ring buffer, grows up to max
	next int      // index of the oldest id once the ring is full
	set  map[string]struct{}
}

func newIDRing(max int) *idRing {
	return &idRing{max: max, set: make(map[string]struct{})}
}

func (r *idRing) has(id string) bool {
	_, ok := r.set[id]
	return ok
}

func (r *idRing) add(id string) {
	if r.max <= 0 || r.has(id) {
		return
	}
	if len(r.ids) < r.max {
		r.ids = append(r.ids, id)
	} else {
		delete(r.set, r.ids[r.next])
		r.ids[r.next] = id
		r.next = (r.next + 1) % r.max
	}
	r.set[id] = struct{}{}
}

func (r *idRing) len() int { return len(r.set) }
