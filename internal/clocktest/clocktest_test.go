package clocktest

import (
	"testing"
	"time"
)

func TestAfterFiresOnlyWhenAdvancedPastDeadline(t *testing.T) {
	start := time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC)
	c := New(start)
	ch := c.After(time.Minute)
	c.Advance(59 * time.Second)
	select {
	case <-ch:
		t.Fatal("fired early")
	default:
	}
	if c.Waiters() != 1 {
		t.Fatalf("Waiters = %d, want 1", c.Waiters())
	}
	c.Advance(time.Second)
	select {
	case got := <-ch:
		if !got.Equal(start.Add(time.Minute)) {
			t.Fatalf("fired with %v", got)
		}
	default:
		t.Fatal("did not fire at the deadline")
	}
	if c.Waiters() != 0 {
		t.Fatalf("Waiters = %d after firing", c.Waiters())
	}
}

func TestAfterZeroFiresAtOnceAndSetMoves(t *testing.T) {
	c := New(time.Unix(0, 0))
	select {
	case <-c.After(0):
	default:
		t.Fatal("After(0) did not fire")
	}
	ch := c.After(time.Hour)
	target := time.Unix(7200, 0)
	c.Set(target)
	if !c.Now().Equal(target) {
		t.Fatalf("Now = %v", c.Now())
	}
	select {
	case <-ch:
	default:
		t.Fatal("Set past deadline did not fire")
	}
}

func TestBlockUntilSeesWaiterFromAnotherGoroutine(t *testing.T) {
	c := New(time.Unix(0, 0))
	done := make(chan struct{})
	go func() {
		<-c.After(time.Second)
		close(done)
	}()
	c.BlockUntil(1)
	c.Advance(time.Second)
	<-done
}
