package store

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// writeGate orders the turns on SQLite's single writer connection between
// ingest's group commits and the reactions' transactions. Left to the
// connection pool, a waiting ingest drew lots with every reaction waiting
// beside it (the pool hands a freed connection to a random waiter): with
// eight reactions, a platform's webhook waited behind most of them, and
// ingest, whose acknowledgement platforms time out on, ran at a fraction of
// its speed. Ingest goes first; the others keep a turn after every
// ingestStreak group commits while they wait, so that reactions still make
// progress under a flood, in the order they asked.
type writeGate struct {
	mu     sync.Mutex
	busy   bool
	ingest []chan struct{}
	others []chan struct{}
	streak int // ingest turns given while others waited
	// hold is how long the writer stays kept for ingest after a group
	// commit while reactions wait (see exit); after runs f after d and
	// returns what cancels it (default: time.AfterFunc).
	hold     time.Duration
	after    func(d time.Duration, f func()) (stop func() bool)
	held     bool        // kept for ingest
	stopHold func() bool // cancels the end of the hold

	// used is how long ingest ([0]) and the others ([1]) held the writer,
	// in nanoseconds (WriterTime).
	used [2]atomic.Int64
}

// gateHold is writeGate.hold: long enough for the platforms' next requests
// to arrive after a group commit answered theirs (measured with routing on:
// 2,800 msg/s in the flood without the hold, 4,900 with it, the reactions
// catching up within 3 s after it), short beside a reaction's patience.
const gateHold = time.Millisecond

// ingestStreak is how many group commits go before a waiting reaction
// (measured: 4 and 16 alike with routing on; the reactions' turns are short,
// see react.Runner.Turn).
const ingestStreak = 16

// enter waits for the writer's turn; ingest says who asks. When ctx ends
// first, the turn is not taken and ctx's error is returned.
func (g *writeGate) enter(ctx context.Context, ingest bool) error {
	g.mu.Lock()
	if !g.busy {
		g.busy = true
		g.mu.Unlock()
		return nil
	}
	if ingest && g.held {
		// The writer was kept for the next group commit: this one.
		g.held = false
		g.stopHold()
		g.streak++
		g.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	if ingest {
		g.ingest = append(g.ingest, ch)
	} else {
		g.others = append(g.others, ch)
	}
	g.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		g.mu.Lock()
		if i := slices.Index(g.ingest, ch); i >= 0 {
			g.ingest = slices.Delete(g.ingest, i, i+1)
		} else if i := slices.Index(g.others, ch); i >= 0 {
			g.others = slices.Delete(g.others, i, i+1)
		} else {
			// The turn came meanwhile: pass it on.
			g.mu.Unlock()
			g.exit(false)
			return ctx.Err()
		}
		g.mu.Unlock()
		return ctx.Err()
	}
}

// exit ends a turn and gives the next. After a group commit (ingest says
// so), a waiting reaction's turn is held back for g.hold: the next group
// commit, which the platforms' requests arriving meanwhile make, goes
// first (within the streak), instead of a reaction slipping into the gap
// between two group commits and making them wait.
func (g *writeGate) exit(ingest bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if ingest && len(g.ingest) == 0 && len(g.others) > 0 && g.streak < ingestStreak && g.hold > 0 {
		g.held = true
		if g.after != nil {
			g.stopHold = g.after(g.hold, g.endHold)
		} else {
			g.stopHold = time.AfterFunc(g.hold, g.endHold).Stop
		}
		return
	}
	g.next()
}

// endHold gives the writer to the next waiter when no group commit came
// during the hold.
func (g *writeGate) endHold() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.held {
		g.held = false
		g.next()
	}
}

// next gives the turn to the next waiter, or frees the writer.
func (g *writeGate) next() {
	var next chan struct{}
	switch {
	case len(g.ingest) > 0 && (len(g.others) == 0 || g.streak < ingestStreak):
		next, g.ingest = g.ingest[0], g.ingest[1:]
		if len(g.others) > 0 {
			g.streak++
		}
	case len(g.others) > 0:
		next, g.others = g.others[0], g.others[1:]
		g.streak = 0
	default:
		g.busy, g.streak = false, 0
		return
	}
	close(next)
}

// turn runs fn in a turn of the writer (SQLite; PostgreSQL has many
// writers and no gate).
func (s *Store) turn(ctx context.Context, ingest bool, fn func() error) error {
	if s.Driver != DriverSQLite || s.gate == nil {
		return fn()
	}
	if err := s.gate.enter(ctx, ingest); err != nil {
		return err
	}
	t0 := time.Now()
	defer func() {
		who := 1
		if ingest {
			who = 0
		}
		s.gate.used[who].Add(int64(time.Since(t0)))
		s.gate.exit(ingest)
	}()
	return fn()
}

// WriterTime is how long ingest's group commits and the reactions'
// transactions have held SQLite's writer since the store opened (zero on
// PostgreSQL).
func (s *Store) WriterTime() (ingest, reactions time.Duration) {
	if s.gate == nil {
		return 0, 0
	}
	return time.Duration(s.gate.used[0].Load()), time.Duration(s.gate.used[1].Load())
}
