package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/tongdao/hub/inbox/store"
	"github.com/tongdao/hub/internal/testclock"
	"github.com/tongdao/hub/models"
)

// viewIDs lists the ids of a work queue's conversations, newest first.
func viewIDs(t *testing.T, s *store.Store, view, me string) []string {
	t.Helper()
	items, _, err := s.ListConversations(context.Background(), models.ConversationFilter{View: view, Me: me, Limit: 100})
	if err != nil {
		t.Fatalf("view %s: %v", view, err)
	}
	ids := []string{}
	for _, it := range items {
		ids = append(ids, it.ID)
	}
	return ids
}

func TestWorkQueuesAndTheirCounts(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store, c *testclock.Clock) {
		ctx := context.Background()
		// a: asked for a human, unassigned, customer wrote last.
		a := ingest(t, s, inbound("1", "a1", "I need a person"))[0].ConversationID
		if _, err := s.Handoff(ctx, a, "asked"); err != nil {
			t.Fatal(err)
		}
		c.Advance(time.Second)
		// The bot's acknowledgement after the handoff answers nothing.
		botSays(t, s, a, "A human agent will answer you here.")
		c.Advance(time.Second)
		// f: the bot answered, nobody asked for a human: nothing waits.
		f := ingest(t, s, inbound("5", "f1", "opening hours?"))[0].ConversationID
		botSays(t, s, f, "We are open 9 to 18.")
		c.Advance(time.Second)
		// b: assigned to ana, ana answered last.
		b := ingest(t, s, inbound("2", "b1", "refund please"))[0].ConversationID
		if _, err := s.UpdateConversation(ctx, b, map[string]any{"assignee": "ana"}, "ana"); err != nil {
			t.Fatal(err)
		}
		if err := s.AddMessage(ctx, &models.Message{ConversationID: b, Direction: models.DirectionOut, Kind: models.KindMessage,
			SenderType: models.SenderAgent, SenderName: "ana", Text: "Done.", DeliveryStatus: models.DeliveryQueued, CreatedAt: c.Now()}); err != nil {
			t.Fatal(err)
		}
		c.Advance(time.Second)
		// d: assigned to bo, customer wrote last; a private note after it does not count.
		d := ingest(t, s, inbound("3", "d1", "still broken"))[0].ConversationID
		if _, err := s.UpdateConversation(ctx, d, map[string]any{"assignee": "bo"}, "bo"); err != nil {
			t.Fatal(err)
		}
		if err := s.AddMessage(ctx, &models.Message{ConversationID: d, Direction: models.DirectionOut, Kind: models.KindMessage,
			SenderType: models.SenderAgent, SenderName: "bo", Text: "asked the warehouse", Private: true,
			DeliveryStatus: models.DeliverySent, CreatedAt: c.Now()}); err != nil {
			t.Fatal(err)
		}
		c.Advance(time.Second)
		// e: resolved.
		e := ingest(t, s, inbound("4", "e1", "thanks"))[0].ConversationID
		if _, err := s.UpdateConversation(ctx, e, map[string]any{"status": models.StatusResolved}, "ana"); err != nil {
			t.Fatal(err)
		}
		id := models.ID
		for _, tc := range []struct {
			view string
			want []string
		}{
			{models.ViewMine, []string{id(b)}},
			{models.ViewUnassigned, []string{id(f), id(a)}},
			{models.ViewHuman, []string{id(a)}},
			{models.ViewWaiting, []string{id(d), id(a)}},
			{models.ViewAll, []string{id(e), id(d), id(b), id(f), id(a)}},
		} {
			if got := viewIDs(t, s, tc.view, "ana"); !equal(got, tc.want) {
				t.Errorf("view %s = %v, want %v", tc.view, got, tc.want)
			}
		}
		for _, tc := range []struct {
			conv    int64
			waiting bool
		}{{a, true}, {b, false}, {d, true}, {f, false}} {
			v, err := s.GetConversation(ctx, tc.conv)
			if err != nil || (v.WaitingSince != nil) != tc.waiting {
				t.Errorf("conversation %d: waiting since %v, want waiting %v (%v)", tc.conv, v.WaitingSince, tc.waiting, err)
			}
		}
		counts, err := s.CountViews(ctx, "ana")
		if err != nil {
			t.Fatal(err)
		}
		want := models.ViewsView{Me: "ana", Views: []models.ViewCount{{ID: "mine", Count: 1}, {ID: "unassigned", Count: 2},
			{ID: "human", Count: 1}, {ID: "waiting", Count: 2}, {ID: "all", Count: 5}}}
		if !equalCounts(counts, want) {
			t.Errorf("counts %+v, want %+v", counts, want)
		}
		if _, _, err := s.ListConversations(ctx, models.ConversationFilter{View: "everything"}); models.ErrorCode(err) != models.EINVALID {
			t.Errorf("unknown view: %v", err)
		}
	})
}

func TestConversationEmptiedByLinkingIsInNoView(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store, c *testclock.Clock) {
		ctx := context.Background()
		tgt := ingest(t, s, inbound("1", "t1", "my parcel is late"))[0]
		c.Advance(time.Second)
		in := inbound("2", "s1", "same customer, other phone")
		in.Connector, in.Channel = "wx-main", models.ChannelWeChat
		src := ingest(t, s, in)[0]
		if _, err := s.MergeContacts(ctx, tgt.ContactID, src.ContactID, "ana", "merged"); err != nil {
			t.Fatal(err)
		}
		got := viewIDs(t, s, models.ViewAll, "ana")
		if !equal(got, []string{models.ID(tgt.ConversationID)}) {
			t.Fatalf("view all = %v, want only %d (the emptied %d hidden)", got, tgt.ConversationID, src.ConversationID)
		}
		// Without a view the API lists it as before.
		items, _, err := s.ListConversations(ctx, models.ConversationFilter{})
		if err != nil || len(items) != 2 {
			t.Fatalf("no view: %d items, %v", len(items), err)
		}
		counts, err := s.CountViews(ctx, "ana")
		if err != nil || counts.Views[4].Count != 1 {
			t.Fatalf("counts %+v, %v", counts, err)
		}
	})
}

func TestSubjectSkipsCommandsAndCodesAndLastMessageIsShown(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store, c *testclock.Clock) {
		ctx := context.Background()
		// LooksLikeLinkCode's shape: LinkCodeLength characters of the alphabet with a letter and a digit.
		code := "K7M4Q9PX"[:models.LinkCodeLength]
		if !models.LooksLikeLinkCode(code) {
			t.Fatalf("%q is not code-shaped", code)
		}
		t0 := c.Now()
		items := ingest(t, s, inbound("1", "m1", "/start link_aTzTqq"), inbound("1", "m2", "link"), inbound("1", "m3", code))
		conv := items[0].ConversationID
		v, err := s.GetConversation(ctx, conv)
		if err != nil {
			t.Fatal(err)
		}
		if v.Subject != "" {
			t.Errorf("subject %q, want none yet", v.Subject)
		}
		c.Advance(time.Second)
		ingest(t, s, inbound("1", "m4", "  My order #42\nhas not arrived  "), inbound("1", "m5", "hello?"))
		items2, _, err := s.ListConversations(ctx, models.ConversationFilter{View: models.ViewAll})
		if err != nil || len(items2) != 1 {
			t.Fatalf("%d items, %v", len(items2), err)
		}
		got := items2[0]
		if got.Subject != "My order #42 has not arrived" {
			t.Errorf("subject %q", got.Subject)
		}
		if got.WaitingSince == nil || !got.WaitingSince.Equal(t0) {
			t.Errorf("waiting since %v, want %v (the first unanswered message is m1)", got.WaitingSince, t0)
		}
		if got.LastMessage == nil || got.LastMessage.Text != "hello?" || got.LastMessage.Direction != models.DirectionIn ||
			got.LastMessage.SenderType != models.SenderCustomer {
			t.Errorf("last message %+v", got.LastMessage)
		}
	})
}

func botSays(t *testing.T, s *store.Store, conv int64, text string) {
	t.Helper()
	if err := s.AddMessage(context.Background(), &models.Message{ConversationID: conv, Direction: models.DirectionOut, Kind: models.KindMessage,
		SenderType: models.SenderBot, SenderName: "Bot", Text: text, DeliveryStatus: models.DeliveryQueued}); err != nil {
		t.Fatal(err)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func equalCounts(a, b models.ViewsView) bool {
	if a.Me != b.Me || len(a.Views) != len(b.Views) {
		return false
	}
	for i := range a.Views {
		if a.Views[i] != b.Views[i] {
			return false
		}
	}
	return true
}
