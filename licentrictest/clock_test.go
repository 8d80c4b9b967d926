package licentrictest

import (
	"testing"
	"time"
)

func TestClockAfterFiresWhenAdvancedPastDeadline(t *testing.T) {
	srv := NewServer()
	defer srv.Close()
	clock := srv.Clock()
	start := clock.Now()

	ch := clock.After(time.Minute)
	srv.Advance(59 * time.Second)
	select {
	case <-ch:
		t.Fatal("After(1m) fired 59 s in")
	default:
	}
	srv.Advance(time.Second)
	select {
	case got := <-ch:
		if want := start.Add(time.Minute); !got.Equal(want) {
			t.Errorf("fired with %v, want %v", got, want)
		}
	default:
		t.Fatal("After(1m) did not fire at 1 m")
	}

	late := clock.After(time.Hour)
	srv.SetNow(start.Add(2 * time.Hour))
	select {
	case <-late:
	default:
		t.Fatal("SetNow past the deadline did not fire")
	}
	select {
	case <-clock.After(0):
	default:
		t.Fatal("After(0) did not fire at once")
	}
}
