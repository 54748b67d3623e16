package store

import (
	"context"
	"errors"
	"fmt"
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

	g.exit()
	granted(t, "ingest, which came last", in)
	notGranted(t, "the first reaction", r1)
	g.exit()
	granted(t, "the first reaction", r1)
	notGranted(t, "the second reaction", r2)
	g.exit()
	granted(t, "the second reaction", r2)
	g.exit()
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
		g.exit()
		granted(t, "group commit", in)
		notGranted(t, fmt.Sprintf("the reaction after %d commits", i+1), r)
	}
	in := waiter(t, ctx, g, true)
	queued(t, g, 1, 1)
	g.exit()
	granted(t, "the reaction", r)
	notGranted(t, "ingest", in)
	g.exit()
	granted(t, "ingest", in)
	g.exit()
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
	g.exit()
	granted(t, "the next waiter", next)
	g.exit()

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
		g.exit()
		if err := <-w; err == nil {
			g.exit()
		}
		g.mu.Lock()
		busy, left := g.busy, len(g.others)
		g.mu.Unlock()
		if busy || left != 0 {
			t.Fatalf("after a cancelled wait: busy %v, %d waiting", busy, left)
		}
	}
}
