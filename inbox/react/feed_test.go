package react

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/tongdao/hub/inbox/store"
	"github.com/tongdao/hub/internal/testclock"
	"github.com/tongdao/hub/models"
)

func ids(evs []models.Event) []int64 {
	out := make([]int64, len(evs))
	for i, e := range evs {
		out[i] = e.ID
	}
	return out
}

// The feed answers what the database answers, for reactions inside its
// window and behind it, for any types and limits, as events keep coming.
func TestFeedAnswersAsTheDatabase(t *testing.T) {
	eachDriver(t, func(t *testing.T, open func() *store.Store, c *testclock.Clock) {
		s, ctx := open(), context.Background()
		f := &feed{store: s, wake: func() <-chan struct{} { return nil }, keep: 7}
		rng := rand.New(rand.NewPCG(1, 2))
		typeSets := [][]string{nil, {"a"}, {"b", "c"}, {"c"}}
		for round := range 60 {
			addEvents(t, s, rng.IntN(6), string(rune('a'+rng.IntN(3))))
			latest, err := s.LatestEventID(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for range 4 {
				after := max(latest-int64(rng.IntN(15)), 0)
				types := typeSets[rng.IntN(len(typeSets))]
				limit := 1 + rng.IntN(5)
				got, upto, err := f.since(ctx, after, types, limit, true)
				if err != nil {
					t.Fatal(err)
				}
				if upto != latest {
					t.Fatalf("round %d: complete up to %d, newest %d", round, upto, latest)
				}
				want, err := s.ReactionEvents(ctx, after, latest, types, limit)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(ids(got), ids(want)) {
					t.Fatalf("round %d, after %d, types %v, limit %d: feed %v, database %v", round, after, types, limit, ids(got), ids(want))
				}
				for i := range got {
					if got[i].Type != want[i].Type || got[i].Detail != want[i].Detail {
						t.Fatalf("event %d differs: %+v vs %+v", got[i].ID, got[i], want[i])
					}
				}
			}
		}
		if len(f.evs) > f.keep {
			t.Fatalf("feed keeps %d events, bound %d", len(f.evs), f.keep)
		}
	})
}

// Without a commit's wake-up the feed does not read the database again
// (that is what it saves); a poll round or a wake-up does.
func TestFeedReadsAgainOnAWakeUpOrAPoll(t *testing.T) {
	eachDriver(t, func(t *testing.T, open func() *store.Store, c *testclock.Clock) {
		s, ctx := open(), context.Background()
		woken := make(chan struct{})
		f := &feed{store: s, wake: func() <-chan struct{} { return woken }, keep: 100}
		read := func(polled bool) []int64 {
			t.Helper()
			evs, _, err := f.since(ctx, 0, nil, 100, polled)
			if err != nil {
				t.Fatal(err)
			}
			return ids(evs)
		}
		read(true) // the feed starts at the newest event (none)
		addEvents(t, s, 2, "a")
		if got := read(false); len(got) != 0 {
			t.Fatalf("read without a wake-up: %v", got)
		}
		if got := read(true); fmt.Sprint(got) != "[1 2]" {
			t.Fatalf("poll round: %v", got)
		}
		addEvents(t, s, 1, "a")
		close(woken) // the commit's notification
		woken = make(chan struct{})
		if got := read(false); fmt.Sprint(got) != "[1 2 3]" {
			t.Fatalf("after a wake-up: %v", got)
		}
	})
}
