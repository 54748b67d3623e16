package store_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/tongdao/hub/inbox/store"
	"github.com/tongdao/hub/internal/wait"
)

// logAfter reads every event after from that s lets a reader see now.
func logAfter(t *testing.T, s *store.Store, from int64) []int64 {
	t.Helper()
	var ids []int64
	for {
		evs, err := s.EventsAfter(context.Background(), from, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) == 0 {
			return ids
		}
		for _, ev := range evs {
			id, _ := strconv.ParseInt(ev.ID, 10, 64)
			ids = append(ids, id)
			from = id
		}
	}
}

// A transaction on replica A takes an event id and has not committed; a
// later event on replica B commits meanwhile, without waiting for A (no
// global lock). Readers on both replicas must not see B's event before A's
// commits: a reader that moved past it would never see A's, whose id is
// lower. Once A commits, both read A's event, then B's.
func TestEventCommittedLateIsNeverSkippedAndDoesNotBlockOtherWriters(t *testing.T) {
	a, b := twoReplicas(t)
	ctx := context.Background()
	if err := a.AddEvent(ctx, "test.first", `{}`); err != nil {
		t.Fatal(err)
	}
	start := logAfter(t, a, 0)
	logAfter(t, b, 0) // a replica's first read waits for the transactions running then
	if len(start) != 1 {
		t.Fatalf("the log starts with %v", start)
	}
	from := start[0]
	written, release, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		done <- a.Tx(ctx, func(tx *store.Store) error {
			if err := tx.AddEvent(ctx, "test.late", `{}`); err != nil {
				return err
			}
			close(written)
			<-release
			return nil
		})
	}()
	<-written
	// B's write must not wait for A's transaction.
	bctx, cancel := context.WithTimeout(ctx, wait.Timeout/2)
	defer cancel()
	if err := b.AddEvent(bctx, "test.early", `{}`); err != nil {
		close(release)
		t.Fatalf("replica B's event waited for replica A's transaction: %v", err)
	}
	for _, s := range []*store.Store{a, b} {
		if got := logAfter(t, s, from); len(got) != 0 {
			close(release)
			t.Fatalf("with an earlier id still in flight a reader sees %v", got)
		}
		if latest, err := s.LatestEventID(ctx); err != nil || latest != from {
			close(release)
			t.Fatalf("LatestEventID = %d, %v; want %d while an earlier id is in flight", latest, err, from)
		}
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]*store.Store{"a": a, "b": b} {
		var got []int64
		wait.For(t, "replica "+name+" to see both events", func() bool {
			got = logAfter(t, s, from)
			return len(got) == 2
		})
		evs, err := s.EventsAfter(ctx, from, 10)
		if err != nil {
			t.Fatal(err)
		}
		if evs[0].Type != "test.late" || evs[1].Type != "test.early" {
			t.Fatalf("replica %s reads %s then %s; want test.late (the lower id) first", name, evs[0].Type, evs[1].Type)
		}
	}
}

// Writers on two replicas at once (group commits of customer messages,
// and transactions that write an event then wait a little before their
// commit), and readers on both replicas that follow the log as the event
// streams and the reactions do (after the last id they got): every reader
// gets the whole log, in id order, each event once.
func TestReadersOnTwoReplicasGetEveryEventInOrderUnderConcurrentWriters(t *testing.T) {
	a, b := twoReplicas(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	start, err := a.LatestEventID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var writers sync.WaitGroup
	for w := range 6 {
		s := []*store.Store{a, b}[w%2]
		writers.Go(func() {
			rnd := rand.New(rand.NewPCG(uint64(w), 7))
			for i := range 25 {
				var err error
				if i%2 == 0 {
					ins := []*store.IngestItem{{In: inbound(fmt.Sprint(w*100+i%5), fmt.Sprintf("w%d-%d", w, i), "hi")},
						{In: inbound(fmt.Sprint(w*100+i%3), fmt.Sprintf("w%d-%d-b", w, i), "again")}}
					err = s.IngestBatch(ctx, ins)
				} else {
					err = s.Tx(ctx, func(tx *store.Store) error {
						if err := tx.AddEvent(ctx, "test.slow", `{}`); err != nil {
							return err
						}
						time.Sleep(time.Duration(rnd.IntN(3000)) * time.Microsecond) // a slow commit, not synchronisation
						return nil
					})
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	type follower struct {
		s   *store.Store
		ids []int64
		err error
	}
	followers := []*follower{{s: a}, {s: b}, {s: a}, {s: b}}
	stop := make(chan struct{})
	var target int64 // set before stop closes: the last event of the log
	var readers sync.WaitGroup
	for _, f := range followers {
		readers.Go(func() {
			after := start
			for {
				select {
				case <-stop:
					if after >= target {
						return
					}
				default:
				}
				evs, err := f.s.EventsAfter(ctx, after, 7)
				if err != nil {
					f.err = err
					return
				}
				for _, ev := range evs {
					id, _ := strconv.ParseInt(ev.ID, 10, 64)
					if id <= after {
						f.err = fmt.Errorf("event %d after %d", id, after)
						return
					}
					f.ids = append(f.ids, id)
					after = id
				}
			}
		})
	}
	writers.Wait()
	// Every writer has committed; the readers may still be behind the
	// horizon for a moment (it moves on at their next reads).
	var want []int64
	wait.For(t, "the horizon to reach the last commit", func() bool {
		latest, err := a.LatestEventID(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want = logAfter(t, a, start)
		return len(want) > 0 && latest == want[len(want)-1] && len(want) >= 6*25
	})
	target = want[len(want)-1]
	close(stop)
	readers.Wait()
	if !slices.IsSorted(want) {
		t.Fatalf("the log is out of order: %v", want)
	}
	for i, f := range followers {
		if f.err != nil && !errors.Is(f.err, context.Canceled) {
			t.Fatalf("reader %d: %v", i, f.err)
		}
		if !slices.Equal(f.ids, want) {
			t.Fatalf("reader %d read %d events, the log has %d:\nread %v\nwant %v", i, len(f.ids), len(want), f.ids, want)
		}
	}
}
