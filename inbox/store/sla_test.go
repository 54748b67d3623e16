package store_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tongdao/hub/inbox/store"
	"github.com/tongdao/hub/internal/testclock"
	"github.com/tongdao/hub/models"
)

// SLA clocks on both databases: a clock starts once while it runs and again
// after it stopped (its breach count kept); warnings and breaches are
// recorded once; due clocks are found by time.
func TestSLAClocksStartOnceAndFireOnce(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store, c *testclock.Clock) {
		ctx := context.Background()
		conv := ingest(t, s, inbound("1", "1:1", "help"))[0].ConversationID
		t0 := c.Now()
		start := func(kind string, at time.Time, d time.Duration) bool {
			t.Helper()
			ok, err := s.StartClock(ctx, conv, kind, at, at.Add(d*8/10), at.Add(d))
			if err != nil {
				t.Fatal(err)
			}
			return ok
		}
		if !start("first_response", t0, 10*time.Minute) || start("first_response", t0.Add(time.Minute), time.Hour) {
			t.Fatal("a running clock started twice, or not at all")
		}
		if due, err := s.DueClocks(ctx, t0.Add(7*time.Minute), 10); err != nil || len(due) != 0 {
			t.Fatalf("due before the warning: %v %v", due, err)
		}
		due, err := s.DueClocks(ctx, t0.Add(8*time.Minute), 10)
		if err != nil || len(due) != 1 || !due[0].DueAt.Equal(t0.Add(10*time.Minute)) {
			t.Fatalf("due at the warning: %+v %v", due, err)
		}
		for i, want := range []bool{true, false} {
			if ok, err := s.MarkWarned(ctx, conv, "first_response"); err != nil || ok != want {
				t.Fatalf("warning %d: %v %v", i, ok, err)
			}
		}
		if due, _ := s.DueClocks(ctx, t0.Add(9*time.Minute), 10); len(due) != 0 {
			t.Fatalf("a warned clock is due before its end: %+v", due)
		}
		if due, _ := s.DueClocks(ctx, t0.Add(10*time.Minute), 10); len(due) != 1 {
			t.Fatalf("not due at its end: %+v", due)
		}
		for i, want := range []bool{true, false} {
			if ok, err := s.MarkBreached(ctx, conv, "first_response", t0.Add(10*time.Minute)); err != nil || ok != want {
				t.Fatalf("breach %d: %v %v", i, ok, err)
			}
		}
		// Rescheduling leaves a breached clock alone.
		if err := s.Reschedule(ctx, conv, "first_response", t0.Add(time.Hour), t0.Add(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if n, err := s.StopClocks(ctx, conv, t0.Add(11*time.Minute), "first_response", "next_response"); err != nil || n != 1 {
			t.Fatalf("stop: %d %v", n, err)
		}
		if !start("first_response", t0.Add(time.Hour), 10*time.Minute) {
			t.Fatal("a stopped clock did not start again")
		}
		cs, err := s.Clocks(ctx, conv)
		if err != nil || len(cs) != 1 || cs[0].Breaches != 1 || cs[0].Warned || cs[0].BreachedAt != nil || cs[0].StoppedAt != nil ||
			!cs[0].DueAt.Equal(t0.Add(70*time.Minute)) {
			t.Fatalf("restarted clock: %+v %v", cs, err)
		}
		v, err := s.GetConversation(ctx, conv)
		if err != nil || v.FirstResponseDue == nil || len(v.SLABreaches) != 1 || v.SLABreaches[0] != "first_response" {
			t.Fatalf("view: %+v %v", v, err)
		}
		// A warning given stays given when the clock moves earlier, and may
		// come again when it moves later.
		if ok, _ := s.MarkWarned(ctx, conv, "first_response"); !ok {
			t.Fatal("warning of the restarted clock")
		}
		if err := s.Reschedule(ctx, conv, "first_response", t0.Add(65*time.Minute), t0.Add(68*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if cs, _ := s.Clocks(ctx, conv); !cs[0].Warned {
			t.Fatal("an earlier warning time undid the warning given")
		}
		if err := s.Reschedule(ctx, conv, "first_response", t0.Add(90*time.Minute), t0.Add(100*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if cs, _ := s.Clocks(ctx, conv); cs[0].Warned {
			t.Fatal("a later warning time kept the warning given")
		}
		if err := s.AddConversationEvent(ctx, conv, models.EventTypeSLAWarning, map[string]any{"clock": "first_response"}); err != nil {
			t.Fatal(err)
		}
	})
}

// StartClocksSeen starts clocks as StartClock does while the conversation
// has the priority read before the commit and is not resolved; otherwise,
// and while one of their kinds runs, it does not start them all and says
// so. A stopped clock starts again with its breach count kept, as with
// StartClock.
func TestStartClocksSeenChecksThePriority(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store, c *testclock.Clock) {
		ctx := context.Background()
		conv := ingest(t, s, inbound("1", "1:1", "help"))[0].ConversationID
		t0 := c.Now()
		due := func(at time.Time, kinds ...string) []store.ClockDue {
			var out []store.ClockDue
			for i, k := range kinds {
				out = append(out, store.ClockDue{Kind: k, Warn: at.Add(time.Duration(8+i) * time.Minute), Due: at.Add(time.Duration(10+i) * time.Minute)})
			}
			return out
		}
		start := func(priority string, at time.Time, kinds ...string) bool {
			t.Helper()
			var started bool
			if err := s.Tx(ctx, func(tx *store.Store) error {
				var err error
				started, err = tx.StartClocksSeen(ctx, conv, priority, at, due(at, kinds...))
				return err
			}); err != nil {
				t.Fatal(err)
			}
			return started
		}
		clocks := func() map[string]models.SLAClock {
			t.Helper()
			cs, err := s.Clocks(ctx, conv)
			if err != nil {
				t.Fatal(err)
			}
			out := map[string]models.SLAClock{}
			for _, k := range cs {
				out[k.Kind] = k
			}
			return out
		}
		if start("urgent", t0, "first_response", "resolution") || len(clocks()) != 0 {
			t.Fatalf("started under a priority the conversation does not have: %+v", clocks())
		}
		if !start("normal", t0, "first_response", "resolution") {
			t.Fatal("clocks not started")
		}
		for i, kind := range []string{"first_response", "resolution"} {
			k, ok := clocks()[kind]
			if !ok || !k.StartedAt.Equal(t0) || !k.WarnAt.Equal(t0.Add(time.Duration(8+i)*time.Minute)) ||
				!k.DueAt.Equal(t0.Add(time.Duration(10+i)*time.Minute)) || k.Warned || k.BreachedAt != nil || k.StoppedAt != nil || k.Breaches != 0 {
				t.Fatalf("%s clock %+v", kind, k)
			}
		}
		// One of them runs: not all started, the running one unchanged.
		if start("normal", t0.Add(time.Minute), "first_response", "next_response") {
			t.Fatal("a running clock started twice")
		}
		if k := clocks()["first_response"]; !k.StartedAt.Equal(t0) {
			t.Fatalf("a running clock moved: %+v", k)
		}
		if ok, err := s.MarkBreached(ctx, conv, "first_response", t0.Add(10*time.Minute)); err != nil || !ok {
			t.Fatalf("breach: %v %v", ok, err)
		}
		if _, err := s.StopClocks(ctx, conv, t0.Add(11*time.Minute), "first_response"); err != nil {
			t.Fatal(err)
		}
		t1 := t0.Add(time.Hour)
		if !start("normal", t1, "first_response") {
			t.Fatal("a stopped clock did not start again")
		}
		if k := clocks()["first_response"]; !k.StartedAt.Equal(t1) || k.Warned || k.BreachedAt != nil || k.StoppedAt != nil || k.Breaches != 1 {
			t.Fatalf("restarted clock %+v", k)
		}
		// Resolved: nothing starts.
		if _, err := s.UpdateConversation(ctx, conv, map[string]any{"status": models.StatusResolved}, "ana"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.StopClocks(ctx, conv, t1, "first_response", "next_response", "resolution"); err != nil {
			t.Fatal(err)
		}
		if start("normal", t1.Add(time.Minute), "resolution") {
			t.Fatal("a clock started on a resolved conversation")
		}
		// Outside a transaction it starts nothing.
		if ok, err := s.StartClocksSeen(ctx, conv, "normal", t1, due(t1, "next_response")); err != nil || ok {
			t.Fatalf("outside a transaction: %v %v", ok, err)
		}
	})
}

// ClockStates reads the clocks of several conversations in one query: the
// kinds asked for, running or stopped; a conversation without clocks is
// left out.
func TestClockStatesOfSeveralConversations(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store, c *testclock.Clock) {
		ctx := context.Background()
		a := ingest(t, s, inbound("1", "1:1", "help"))[0].ConversationID
		b := ingest(t, s, inbound("2", "2:1", "help"))[0].ConversationID
		none := ingest(t, s, inbound("3", "3:1", "help"))[0].ConversationID
		now := c.Now()
		for _, k := range []struct {
			conv int64
			kind string
		}{{a, "first_response"}, {a, "resolution"}, {b, "first_response"}, {b, "next_response"}} {
			if _, err := s.StartClock(ctx, k.conv, k.kind, now, now.Add(time.Minute), now.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.StopClocks(ctx, b, now, "first_response"); err != nil {
			t.Fatal(err)
		}
		got, err := s.ClockStates(ctx, []int64{a, b, none}, "first_response", "next_response")
		if err != nil {
			t.Fatal(err)
		}
		sorted := func(cs []store.ClockState) []store.ClockState {
			slices.SortFunc(cs, func(x, y store.ClockState) int { return strings.Compare(x.Kind, y.Kind) })
			return cs
		}
		if fmt.Sprint(sorted(got[a])) != "[{first_response true}]" ||
			fmt.Sprint(sorted(got[b])) != "[{first_response false} {next_response true}]" || len(got) != 2 {
			t.Fatalf("clock states: %v", got)
		}
	})
}
