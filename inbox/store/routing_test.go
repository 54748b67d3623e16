package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/tongdao/hub/inbox/store"
	"github.com/tongdao/hub/internal/testclock"
	"github.com/tongdao/hub/models"
)

// routedEvents returns the data of the conversation.updated events of conv
// written by routing.
func routedEvents(t *testing.T, s *store.Store, conv int64) []map[string]any {
	t.Helper()
	var evs []models.Event
	if err := s.DB.Where("type = ? AND conversation_id = ?", models.EventTypeConversationUpdated, conv).Order("id").Find(&evs).Error; err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, e := range evs {
		var d map[string]any
		if err := json.Unmarshal([]byte(e.Data), &d); err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

func TestRouteConversation(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store, c *testclock.Clock) {
		ctx := context.Background()
		a := ingest(t, s, inbound("1", "1:1", "my account is frozen"))[0].ConversationID
		b := ingest(t, s, inbound("2", "2:1", "hello"))[0].ConversationID
		c.Advance(time.Second)

		changed, err := s.Route(ctx, a, "risk", "urgent", []string{"fraud"}, "routing:fraud")
		if err != nil || !changed {
			t.Fatalf("Route: %v %v", changed, err)
		}
		v, err := s.GetConversation(ctx, a)
		if err != nil || v.Team == nil || *v.Team != "risk" || v.Priority != "urgent" || !slices.Equal(v.Labels, []string{"fraud"}) || !v.UpdatedAt.Equal(c.Now()) {
			t.Fatalf("routed conversation: %+v %v", v, err)
		}
		evs := routedEvents(t, s, a)
		if len(evs) != 1 || evs[0]["by"] != "routing:fraud" {
			t.Fatalf("events %v", evs)
		}
		ch, _ := json.Marshal(evs[0]["changes"])
		if string(ch) != `{"labels":["fraud"],"priority":"urgent","team":"risk"}` {
			t.Fatalf("changes %s", ch)
		}
		// The detail has before and after for the reactions (SLA clocks).
		var ev models.Event
		if err := s.DB.Where("type = ? AND conversation_id = ?", models.EventTypeConversationUpdated, a).Take(&ev).Error; err != nil {
			t.Fatal(err)
		}
		var change models.ConversationChange
		if err := json.Unmarshal([]byte(ev.Detail), &change); err != nil || change.By != "routing:fraud" || change.ByType != "" ||
			change.Before != (models.ConversationState{Status: "open", Priority: "normal"}) ||
			change.After != (models.ConversationState{Status: "open", Team: "risk", Priority: "urgent"}) {
			t.Fatalf("detail %s (%v)", ev.Detail, err)
		}

		// Again, or with nothing new: nothing written. A team already set
		// (an agent's choice) stands.
		if changed, err := s.Route(ctx, a, "billing", "urgent", []string{"fraud"}, "routing:other"); err != nil || changed {
			t.Fatalf("second Route: %v %v", changed, err)
		}
		if v, _ := s.GetConversation(ctx, a); *v.Team != "risk" || len(routedEvents(t, s, a)) != 1 {
			t.Fatalf("team overwritten or event written: %+v", v)
		}
		// Priority normal and no team: nothing to write.
		if changed, err := s.Route(ctx, b, "", "normal", nil, "routing"); err != nil || changed || len(routedEvents(t, s, b)) != 0 {
			t.Fatalf("no-op Route: %v %v", changed, err)
		}
		// A resolved or unknown conversation is left alone.
		if _, err := s.UpdateConversation(ctx, b, map[string]any{"status": models.StatusResolved}, "ana"); err != nil {
			t.Fatal(err)
		}
		if changed, err := s.Route(ctx, b, "billing", "high", nil, "routing"); err != nil || changed {
			t.Fatalf("resolved Route: %v %v", changed, err)
		}
		if changed, err := s.Route(ctx, 9999, "billing", "high", nil, "routing"); err != nil || changed {
			t.Fatalf("unknown Route: %v %v", changed, err)
		}

		// The opening message is the customer's first.
		ingest(t, s, inbound("1", "1:2", "and another thing"))
		if o, ok, err := s.OpeningMessage(ctx, a); err != nil || !ok || o.Text != "my account is frozen" || o.Connector != "tg-main" || o.Channel != models.ChannelTelegram {
			t.Fatalf("OpeningMessage = %+v %v %v", o, ok, err)
		}
		if _, ok, err := s.OpeningMessage(ctx, 9999); err != nil || ok {
			t.Fatalf("OpeningMessage of nothing: %v %v", ok, err)
		}

		// In a reaction's transaction (no savepoint): kept with it, or
		// rolled back with it.
		d := ingest(t, s, inbound("4", "4:1", "invoice"))[0].ConversationID
		errRollback := errors.New("rolled back")
		if err := s.Tx(ctx, func(tx *store.Store) error {
			if changed, err := tx.Route(ctx, d, "billing", "", nil, "routing:invoices"); err != nil || !changed {
				t.Fatalf("Route in a transaction: %v %v", changed, err)
			}
			return errRollback
		}); !errors.Is(err, errRollback) {
			t.Fatal(err)
		}
		if v, _ := s.GetConversation(ctx, d); v.Team != nil || len(routedEvents(t, s, d)) != 0 {
			t.Fatalf("a rolled-back route was kept: %+v", v)
		}
		if err := s.Tx(ctx, func(tx *store.Store) error {
			_, err := tx.Route(ctx, d, "billing", "", nil, "routing:invoices")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if v, _ := s.GetConversation(ctx, d); v.Team == nil || *v.Team != "billing" || len(routedEvents(t, s, d)) != 1 {
			t.Fatalf("route in a transaction: %+v", v)
		}

		// The contact's labels are those of all its conversations; the
		// list filters by priority.
		if _, err := s.UpdateLabels(ctx, b, []string{"vip"}, nil, "ana"); err != nil {
			t.Fatal(err)
		}
		b2 := ingest(t, s, inbound("2", "2:2", "back again"))[0].ConversationID
		if b2 == b {
			t.Fatal("no new conversation after resolve")
		}
		var contact int64
		if err := s.DB.Model(&models.Conversation{}).Select("contact_id").Where("id = ?", b2).Scan(&contact).Error; err != nil {
			t.Fatal(err)
		}
		if got, err := s.ContactLabels(ctx, contact); err != nil || !slices.Equal(got, []string{"vip"}) {
			t.Fatalf("ContactLabels = %v %v", got, err)
		}
		for prio, want := range map[string]int{"urgent": 1, "normal": 3, "low": 0} {
			got, _, err := s.ListConversations(ctx, models.ConversationFilter{Priority: prio})
			if err != nil || len(got) != want {
				t.Errorf("priority=%s: %d conversations (%v), want %d", prio, len(got), err, want)
			}
		}
	})
}

// RouteSeen writes a decision read before the commit with one guarded
// update: while the conversation is as read, the same row and event as
// Route; when it changed in between (an agent set a team, the priority, or
// resolved it), what Route decides on the conversation as it is now. Outside
// a transaction it is Route.
func TestRouteSeenChecksWhatItRead(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store, c *testclock.Clock) {
		ctx := context.Background()
		detail := func(conv int64) models.ConversationChange {
			t.Helper()
			var ev models.Event
			if err := s.DB.Where("type = ? AND conversation_id = ?", models.EventTypeConversationUpdated, conv).Order("id DESC").Take(&ev).Error; err != nil {
				t.Fatal(err)
			}
			var ch models.ConversationChange
			if err := json.Unmarshal([]byte(ev.Detail), &ch); err != nil {
				t.Fatal(err)
			}
			return ch
		}
		routeSeen := func(conv int64, seen models.ConversationState, team, priority string) bool {
			t.Helper()
			var changed bool
			if err := s.Tx(ctx, func(tx *store.Store) error {
				var err error
				changed, err = tx.RouteSeen(ctx, conv, seen, team, priority, "routing:rule")
				return err
			}); err != nil {
				t.Fatal(err)
			}
			return changed
		}
		state := func(conv int64) models.ConversationState {
			t.Helper()
			st, ok, err := s.ConversationState(ctx, conv)
			if err != nil || !ok {
				t.Fatalf("ConversationState(%d) = %+v %v %v", conv, st, ok, err)
			}
			return st
		}

		// As read: team and priority, the event as Route writes it.
		a := ingest(t, s, inbound("1", "1:1", "my account is frozen"))[0].ConversationID
		c.Advance(time.Second)
		seen := state(a)
		if seen != (models.ConversationState{Status: "open", Priority: "normal"}) {
			t.Fatalf("state of a new conversation: %+v", seen)
		}
		if !routeSeen(a, seen, "risk", "urgent") {
			t.Fatal("RouteSeen changed nothing")
		}
		if v, _ := s.GetConversation(ctx, a); v.Team == nil || *v.Team != "risk" || v.Priority != "urgent" || !v.UpdatedAt.Equal(c.Now()) {
			t.Fatalf("routed: %+v", v)
		}
		evs := routedEvents(t, s, a)
		ch, _ := json.Marshal(evs[0]["changes"])
		if len(evs) != 1 || evs[0]["by"] != "routing:rule" || string(ch) != `{"priority":"urgent","team":"risk"}` {
			t.Fatalf("events %v", evs)
		}
		if d := detail(a); d.Before != seen || d.After != (models.ConversationState{Status: "open", Team: "risk", Priority: "urgent"}) {
			t.Fatalf("detail %+v", d)
		}
		if _, ok, err := s.ConversationState(ctx, 9999); err != nil || ok {
			t.Fatalf("state of nothing: %v %v", ok, err)
		}

		// Changed since it was read: an agent set a team and the priority.
		// The agent's team stands, the rule's priority applies, and the
		// event's before is the conversation as it was, not as read.
		b := ingest(t, s, inbound("2", "2:1", "help"))[0].ConversationID
		stale := state(b)
		if _, err := s.UpdateConversation(ctx, b, map[string]any{"team": "billing", "priority": "low"}, "ana"); err != nil {
			t.Fatal(err)
		}
		if !routeSeen(b, stale, "risk", "high") {
			t.Fatal("RouteSeen on a changed conversation changed nothing")
		}
		if v, _ := s.GetConversation(ctx, b); *v.Team != "billing" || v.Priority != "high" {
			t.Fatalf("after a stale read: %+v", v)
		}
		if d := detail(b); d.Before != (models.ConversationState{Status: "open", Team: "billing", Priority: "low"}) ||
			d.After != (models.ConversationState{Status: "open", Team: "billing", Priority: "high"}) {
			t.Fatalf("detail after a stale read %+v", d)
		}

		// Resolved since it was read: nothing written.
		d := ingest(t, s, inbound("3", "3:1", "help"))[0].ConversationID
		stale = state(d)
		if _, err := s.UpdateConversation(ctx, d, map[string]any{"status": models.StatusResolved}, "ana"); err != nil {
			t.Fatal(err)
		}
		before := len(routedEvents(t, s, d))
		if routeSeen(d, stale, "risk", "urgent") || len(routedEvents(t, s, d)) != before {
			t.Fatal("RouteSeen routed a conversation resolved since it was read")
		}
		if v, _ := s.GetConversation(ctx, d); v.Team != nil || v.Priority != "normal" {
			t.Fatalf("resolved conversation routed: %+v", v)
		}

		// Outside a transaction: Route.
		e := ingest(t, s, inbound("4", "4:1", "help"))[0].ConversationID
		if changed, err := s.RouteSeen(ctx, e, state(e), "billing", "normal", "routing"); err != nil || !changed {
			t.Fatalf("RouteSeen outside a transaction: %v %v", changed, err)
		}
		if v, _ := s.GetConversation(ctx, e); v.Team == nil || *v.Team != "billing" {
			t.Fatalf("RouteSeen outside a transaction: %+v", v)
		}
	})
}
