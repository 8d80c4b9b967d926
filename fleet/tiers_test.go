package fleet_test

import (
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/licentric/licentric-go"
)

const machinesPath = "/machines"

// Every tier's budget is shared through the fleet, not
// only validation's. Twelve replicas behind one address activate at once:
// the service allows 10 activations a minute per address, so ten go in
// the first window and two wait for the next, and none meets a 429.
func TestFleetSharesTheActivationBudget(t *testing.T) {
	r := needRedis(t)
	s := newFleetSim(t, r.Addr(), 1) // the service's real limits
	s.addMembers(t, 12)
	key := s.keys[0]
	ctx := t.Context()

	var (
		wg   sync.WaitGroup
		done atomic.Int32
		errs = make([]error, len(s.members))
	)
	for i, m := range s.members {
		wg.Go(func() {
			_, errs[i] = m.c.Activate(ctx, key, licentric.ActivateParams{Fingerprint: fmt.Sprintf("replica-%02d-fingerprint", i)})
			done.Add(1)
		})
	}
	answered := func() int {
		n := 0
		for _, rq := range s.srv.Requests() {
			if rq.Method == http.MethodPost && rq.Path == machinesPath && rq.Status != 0 {
				n++
			}
		}
		return n
	}
	// Ten answered in the first window; the other two wait on the clock
	// for the next (or, without a shared budget, were sent as well).
	eventually(t, "the first window's activations", func() bool {
		return answered() >= 10 && (s.clk.Waiters() >= 2 || done.Load() == int32(len(s.members)))
	})
	first := answered()
	s.nextMinute()
	wg.Wait()
	for i, err := range errs {
		assert.NoError(t, err, "replica %d", i)
	}
	s.no429(t)
	assert.LessOrEqual(t, first, 10, "activation requests in the first window")
	assert.Equal(t, len(s.members), s.srv.CountRequests(http.MethodPost, machinesPath), "one request per replica")
}
