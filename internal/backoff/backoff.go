// Package backoff is the hub's one retry wait: exponential from a minimum,
// capped, with jitter from an injectable random source. The connectors (a
// lost gateway, a failed poll), the supervisor (a connector that stopped),
// the outbox (a failed delivery) and the event listener (a lost PostgreSQL
// connection) all wait with it.
package backoff

import (
	"math/rand/v2"
	"time"
)

// Policy is an exponential backoff: retry n (1-based) waits Min·2^(n-1),
// capped at Max, then spread by ±Jitter. The zero value waits 1 s doubling
// to 1 min without jitter.
type Policy struct {
	// Min is the first wait (default 1 s).
	Min time.Duration
	// Max caps the wait before jitter (default 1 min).
	Max time.Duration
	// Jitter spreads each wait uniformly over ±Jitter of it (0.2: 80% to
	// 120%), so replicas and connectors that failed together do not retry
	// together. 0 means none; values are clamped to [0, 1].
	Jitter float64
	// Rand returns a number in [0, 1) (default math/rand/v2's Float64).
	// Tests inject a fixed source.
	Rand func() float64
}

// Wait returns the wait before retry attempt (1-based; below 1 counts as 1).
func (p Policy) Wait(attempt int) time.Duration {
	lo, hi := p.Min, p.Max
	if lo <= 0 {
		lo = time.Second
	}
	if hi <= 0 {
		hi = time.Minute
	}
	if hi < lo {
		hi = lo
	}
	d := hi
	if attempt < 1 {
		attempt = 1
	}
	// Double until the cap; the loop bound keeps the shift from overflowing.
	if attempt-1 < 62 {
		if w := lo << (attempt - 1); w > 0 && w>>(attempt-1) == lo && w < hi {
			d = w
		}
	}
	j := min(max(p.Jitter, 0), 1)
	if j == 0 {
		return d
	}
	r := p.Rand
	if r == nil {
		r = rand.Float64
	}
	return time.Duration(float64(d) * (1 - j + 2*j*r()))
}
