package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// waiter enters g in a goroutine and reports when it has the turn.
func waiter(t *testing.T, ctx context.Context, g *writeGate, ingest bool) <-chan error {
	t.Helper()
	got := make(chan error, 1)
	go func() { got <- g.enter(ctx, ingest) }()
	return got
}

// queued waits until g has n ingest and m other waiters.
func queued(t *testing.T, g *writeGate, n, m int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		g.mu.Lock()
		ok := len(g.ingest) == n && len(g.others) == m
		g.mu.Unlock()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiters never queued: want %d ingest, %d others", n, m)
		}
		time.Sleep(time.Millisecond)
	}
}

func granted(t *testing.T, what string, c <-chan error) {
	t.Helper()
	select {
	case err := <-c:
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("%s never got the turn", what)
	}
}

func notGranted(t *testing.T, what string, c <-chan error) {
	t.Helper()
	select {
	case err := <-c:
		t.Fatalf("%s got the turn out of order (%v)", what, err)
	default:
	}
}

func TestWriteGateIngestFirstThenOthersInOrder(t *testing.T) {
	ctx := context.Background()
	g := &writeGate{}
	if err := g.enter(ctx, false); err != nil { // a reaction holds the writer
		t.Fatal(err)
	}
	r1 := waiter(t, ctx, g, false)
	queued(t, g, 0, 1)
	r2 := waiter(t, ctx, g, false)
	queued(t, g, 0, 2)
	in := waiter(t, ctx, g, true)
	queued(t, g, 1, 2)

	g.exit(false)
	granted(t, "ingest, which came last", in)
	notGranted(t, "the first reaction", r1)
	g.exit(false)
	granted(t, "the first reaction", r1)
	notGranted(t, "the second reaction", r2)
	g.exit(false)
	granted(t, "the second reaction", r2)
	g.exit(false)
	if g.busy {
		t.Fatal("the gate stays busy with nobody in it")
	}
}

// Under a flood of group commits, a waiting reaction still gets a turn
// after ingestStreak of them.
func TestWriteGateReactionsProgressUnderAFlood(t *testing.T) {
	ctx := context.Background()
	g := &writeGate{}
	if err := g.enter(ctx, true); err != nil {
		t.Fatal(err)
	}
	r := waiter(t, ctx, g, false)
	queued(t, g, 0, 1)
	for i := range ingestStreak {
		in := waiter(t, ctx, g, true)
		queued(t, g, 1, 1)
		g.exit(false)
		granted(t, "group commit", in)
		notGranted(t, fmt.Sprintf("the reaction after %d commits", i+1), r)
	}
	in := waiter(t, ctx, g, true)
	queued(t, g, 1, 1)
	g.exit(false)
	granted(t, "the reaction", r)
	notGranted(t, "ingest", in)
	g.exit(false)
	granted(t, "ingest", in)
	g.exit(false)
}

// A waiter whose context ends leaves the queue, and a turn that reached it
// as it gave up goes on to the next.
func TestWriteGateCancelledWaiterLeaves(t *testing.T) {
	g := &writeGate{}
	if err := g.enter(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	gone := waiter(t, ctx, g, false)
	queued(t, g, 0, 1)
	next := waiter(t, context.Background(), g, false)
	queued(t, g, 0, 2)
	cancel()
	select {
	case err := <-gone:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled waiter: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("cancelled waiter still waits")
	}
	queued(t, g, 0, 1)
	g.exit(false)
	granted(t, "the next waiter", next)
	g.exit(false)

	// The turn and the cancellation at once, many times: whichever wins,
	// no turn is lost (the gate is free at the end of each round).
	for range 1000 {
		if err := g.enter(context.Background(), true); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		w := waiter(t, ctx, g, false)
		queued(t, g, 0, 1)
		go cancel()
		g.exit(false)
		if err := <-w; err == nil {
			g.exit(false)
		}
		g.mu.Lock()
		busy, left := g.busy, len(g.others)
		g.mu.Unlock()
		if busy || left != 0 {
			t.Fatalf("after a cancelled wait: busy %v, %d waiting", busy, left)
		}
	}
}

// fakeAfter records the hold's end instead of timing it.
type fakeAfter struct {
	mu      sync.Mutex
	pending func()
}

func (f *fakeAfter) after(_ time.Duration, fn func()) func() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pending = fn
	return func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		was := f.pending != nil
		f.pending = nil
		return was
	}
}

func (f *fakeAfter) fire(t *testing.T) {
	t.Helper()
	f.mu.Lock()
	fn := f.pending
	f.pending = nil
	f.mu.Unlock()
	if fn == nil {
		t.Fatal("no hold to end")
	}
	fn()
}

// After a group commit, a waiting reaction's turn waits for the hold: a
// group commit that comes meanwhile goes first; when none comes, the
// reaction goes at the end of the hold. A reaction's turn is never held,
// nor a group commit's once the streak is spent.
func TestWriteGateHoldsTheWriterForTheNextGroupCommit(t *testing.T) {
	ctx := context.Background()
	fa := &fakeAfter{}
	g := &writeGate{hold: time.Millisecond, after: fa.after}
	if err := g.enter(ctx, true); err != nil {
		t.Fatal(err)
	}
	r := waiter(t, ctx, g, false)
	queued(t, g, 0, 1)
	g.exit(true) // held for ingest
	notGranted(t, "the reaction during the hold", r)
	if err := g.enter(ctx, true); err != nil { // the next group commit, at once
		t.Fatal(err)
	}
	notGranted(t, "the reaction", r)
	g.exit(true) // held again; nobody comes
	notGranted(t, "the reaction before the hold ends", r)
	fa.fire(t)
	granted(t, "the reaction at the end of the hold", r)

	// A reaction's turn ends without a hold.
	r2 := waiter(t, ctx, g, false)
	queued(t, g, 0, 1)
	g.exit(false)
	granted(t, "the second reaction", r2)
	g.exit(false)
	if g.busy {
		t.Fatal("busy with nobody in it")
	}

	// The streak bounds the holds too.
	if err := g.enter(ctx, true); err != nil {
		t.Fatal(err)
	}
	r3 := waiter(t, ctx, g, false)
	queued(t, g, 0, 1)
	for range ingestStreak {
		g.exit(true)
		if err := g.enter(ctx, true); err != nil {
			t.Fatal(err)
		}
	}
	notGranted(t, "the reaction within the streak", r3)
	g.exit(true)
	granted(t, "the reaction once the streak is spent", r3)
	g.exit(false)
}
