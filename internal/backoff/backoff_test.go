package backoff_test

import (
	"math"
	"testing"
	"time"

	"github.com/tongdao/hub/internal/backoff"
)

func fixed(v float64) func() float64 { return func() float64 { return v } }

func TestWait(t *testing.T) {
	s := time.Second
	tests := []struct {
		name    string
		p       backoff.Policy
		attempt int
		want    time.Duration
	}{
		{"zero value first", backoff.Policy{}, 1, s},
		{"zero value doubles", backoff.Policy{}, 3, 4 * s},
		{"zero value caps at a minute", backoff.Policy{}, 7, time.Minute},
		{"attempt 0 is the first", backoff.Policy{Min: s, Max: 30 * s}, 0, s},
		{"negative attempt is the first", backoff.Policy{Min: s, Max: 30 * s}, -5, s},
		{"doubling", backoff.Policy{Min: s, Max: 30 * s}, 5, 16 * s},
		{"capped", backoff.Policy{Min: s, Max: 30 * s}, 6, 30 * s},
		{"huge attempt does not overflow", backoff.Policy{Min: s, Max: 10 * time.Minute}, 1 << 30, 10 * time.Minute},
		{"shift past the sign bit", backoff.Policy{Min: s, Max: math.MaxInt64}, 40, math.MaxInt64},
		{"max below min", backoff.Policy{Min: 5 * s, Max: s}, 3, 5 * s},
		{"jitter low end", backoff.Policy{Min: s, Max: 10 * s, Jitter: 0.2, Rand: fixed(0)}, 2, 1600 * time.Millisecond},
		{"jitter middle", backoff.Policy{Min: s, Max: 10 * s, Jitter: 0.2, Rand: fixed(0.5)}, 2, 2 * s},
		{"jitter high end", backoff.Policy{Min: s, Max: 10 * s, Jitter: 0.2, Rand: fixed(0.999)}, 2, 2399200 * time.Microsecond},
		{"jitter after the cap", backoff.Policy{Min: s, Max: 10 * s, Jitter: 0.2, Rand: fixed(0)}, 9, 8 * s},
		{"jitter clamped to 1", backoff.Policy{Min: s, Max: 10 * s, Jitter: 3, Rand: fixed(0.75)}, 1, 1500 * time.Millisecond},
		{"negative jitter is none", backoff.Policy{Min: s, Max: 10 * s, Jitter: -1, Rand: fixed(0)}, 1, s},
	}
	for _, tt := range tests {
		if got := tt.p.Wait(tt.attempt); got != tt.want {
			t.Errorf("%s: Wait(%d) = %v, want %v", tt.name, tt.attempt, got, tt.want)
		}
	}
}

// TestWaitSpreads checks that the default random source spreads the waits
// within the jitter band and does not return one value.
func TestWaitSpreads(t *testing.T) {
	p := backoff.Policy{Min: time.Second, Max: time.Minute, Jitter: 0.2}
	seen := map[time.Duration]bool{}
	for range 200 {
		d := p.Wait(3)
		if d < 3200*time.Millisecond || d > 4800*time.Millisecond {
			t.Fatalf("Wait(3) = %v, outside 4 s ± 20%%", d)
		}
		seen[d] = true
	}
	if len(seen) < 10 {
		t.Errorf("200 waits gave %d distinct values; the jitter does not spread them", len(seen))
	}
}
