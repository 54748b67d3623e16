package inbox_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/tongdao/hub/inbox"
	"github.com/tongdao/hub/inbox/sla"
	"github.com/tongdao/hub/internal/wait"
	"github.com/tongdao/hub/models"
)

func (f *fixture) eventsOf(t *testing.T, typ string) []models.EventView {
	t.Helper()
	evs, err := f.svc.EventsAfter(context.Background(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []models.EventView
	for _, e := range evs {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

// An SLA's life with an injected clock: the clocks start with the
// conversation, the bot's answer is no response, the warning comes at 80%
// and the breach at the end, once each (also after a restart), the breach
// raises the priority and reassigns to the escalation team, an agent's
// reply meets the first response, a customer's next message starts the
// next response clock, and the resolve stops them all.
func TestSLAClocksWarnBreachAndEscalateOnce(t *testing.T) {
	policies, err := sla.New([]sla.Policy{
		{Priority: "normal", FirstResponse: 10 * time.Minute, NextResponse: 30 * time.Minute, Resolution: 4 * time.Hour, EscalateTo: "managers"},
		{Priority: "high", FirstResponse: 5 * time.Minute, NextResponse: 15 * time.Minute, Resolution: 2 * time.Hour},
	})
	if err != nil {
		t.Fatal(err)
	}
	withSLA := func(o *inbox.Options) { o.SLA = policies }
	f := newFixture(t, withSLA)
	f.runReactions(t)
	ctx := context.Background()
	t0 := f.clock.Now().UTC()
	f.ingest(t, msg("tg", "telegram", "1", "1:1", "my order never came"))
	id, _ := models.ParseID(f.onlyConversation(t).ID)
	view := func() models.ConversationView {
		t.Helper()
		v, err := f.svc.GetConversation(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	wait.For(t, "the clocks started", func() bool { return view().ResolutionDue != nil })
	// The bot answers the first message (a handoff): that is no response.
	wait.For(t, "the bot's answer", func() bool { return len(f.eventsOf(t, models.EventTypeConversationHandoff)) == 1 })
	v := view()
	if v.FirstResponseDue == nil || !v.FirstResponseDue.Equal(t0.Add(10*time.Minute)) ||
		!v.ResolutionDue.Equal(t0.Add(4*time.Hour)) || v.NextResponseDue != nil || len(v.SLABreaches) != 0 {
		t.Fatalf("clocks at the start: %+v", v)
	}

	check := func(want int) {
		t.Helper()
		if n, err := f.svc.CheckSLA(ctx); err != nil || n != want {
			t.Fatalf("CheckSLA raised %d (%v), want %d", n, err, want)
		}
	}
	f.clock.Advance(7 * time.Minute)
	check(0)
	f.clock.Advance(time.Minute) // 80% of 10 minutes
	check(1)
	check(0)
	if ws := f.eventsOf(t, models.EventTypeSLAWarning); len(ws) != 1 {
		t.Fatalf("warnings: %+v", ws)
	}
	f.clock.Advance(2 * time.Minute)
	check(1)
	// A restarted replica (its own store on the same database, as a
	// service owns its store) finds nothing left to raise.
	replica := inbox.New(inbox.Options{Store: f.replicaStore(t), Now: f.clock.Now, SLA: policies})
	defer replica.Close()
	if n, err := replica.CheckSLA(ctx); err != nil || n != 0 {
		t.Fatalf("after a restart: %d %v", n, err)
	}
	v = view()
	if v.Priority != "high" || v.Team == nil || *v.Team != "managers" || !slices.Equal(v.SLABreaches, []string{sla.FirstResponse}) {
		t.Fatalf("after the breach: priority %s team %v breaches %v", v.Priority, v.Team, v.SLABreaches)
	}
	if bs := f.eventsOf(t, models.EventTypeSLABreached); len(bs) != 1 {
		t.Fatalf("breaches: %+v", bs)
	}
	// The new priority's policy moves the resolution clock: 2 h from t0.
	wait.For(t, "the resolution clock repriced", func() bool {
		d := view().ResolutionDue
		return d != nil && d.Equal(t0.Add(2*time.Hour))
	})

	// An agent's reply meets the first response; a private note would not.
	if _, err := f.svc.Reply(ctx, models.ReplyRequest{ConversationID: id, Text: "checking", Private: true, Actor: agent}); err != nil {
		t.Fatal(err)
	}
	f.reply(t, id, "we are on it")
	wait.For(t, "the first response met", func() bool { return view().FirstResponseDue == nil })
	// The customer writes again: a next response is awaited (high: 15 min).
	f.clock.Advance(time.Minute)
	at := f.clock.Now().UTC()
	f.ingest(t, msg("tg", "telegram", "1", "1:2", "any news?"))
	wait.For(t, "the next response clock", func() bool { return view().NextResponseDue != nil })
	if d := view().NextResponseDue; !d.Equal(at.Add(15 * time.Minute)) {
		t.Fatalf("next response due %s, want %s", d, at.Add(15*time.Minute))
	}
	if _, err := f.svc.SetStatus(ctx, id, models.StatusResolved, agent); err != nil {
		t.Fatal(err)
	}
	wait.For(t, "the clocks stopped", func() bool {
		v := view()
		return v.NextResponseDue == nil && v.ResolutionDue == nil
	})
	f.clock.Advance(5 * time.Hour)
	check(0)
	if v := view(); !slices.Equal(v.SLABreaches, []string{sla.FirstResponse}) {
		t.Fatalf("breaches at the end: %v", v.SLABreaches)
	}
}
