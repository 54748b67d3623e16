package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/tongdao/hub/inbox/store"
	"github.com/tongdao/hub/models"
)

// On PostgreSQL a group commit costs a number of statements (round trips)
// that does not grow with its size: known customers' messages are written
// set by set, and new customers are looked up and created set by set.
func TestGroupCommitStatementsDoNotGrowWithTheBatch(t *testing.T) {
	s, _ := twoReplicas(t)
	ctx := context.Background()
	batch := func(n int, user func(i int) string, tag string) int64 {
		t.Helper()
		items := make([]*store.IngestItem, n)
		for i := range items {
			items[i] = &store.IngestItem{In: inbound(user(i), fmt.Sprintf("%s-%d", tag, i), "hello")}
		}
		_, before := s.IngestStats()
		if err := s.IngestBatch(ctx, items); err != nil {
			t.Fatal(err)
		}
		for i, it := range items {
			if it.Result.Duplicate || it.Result.MessageID == "" {
				t.Fatalf("%s item %d: %+v", tag, i, it.Result)
			}
		}
		_, after := s.IngestStats()
		return after - before
	}
	newSmall := batch(2, func(i int) string { return fmt.Sprint("a", i) }, "new-small")
	newBig := batch(40, func(i int) string { return fmt.Sprint("b", i) }, "new-big")
	knownSmall := batch(2, func(i int) string { return fmt.Sprint("a", i) }, "known-small")
	knownBig := batch(40, func(i int) string { return fmt.Sprint("b", i) }, "known-big")
	t.Logf("statements per group commit: new customers %d (2) and %d (40); known %d (2) and %d (40)", newSmall, newBig, knownSmall, knownBig)
	if newBig != newSmall || knownBig != knownSmall || newBig > 12 || knownBig > 6 {
		t.Fatalf("statements: new customers %d (2 messages) and %d (40); known %d and %d", newSmall, newBig, knownSmall, knownBig)
	}
}

// One batch mixing what the set-by-set path must tell apart: a new customer
// writing twice, a new customer whose first inbound is an event (it opens
// no conversation) and then a message, a known customer, and a platform
// retry of a stored message. Each lands as the row-by-row path (SQLite)
// would land it, with its events in the batch's order.
func TestGroupCommitMixedBatchOnPostgres(t *testing.T) {
	s, _ := twoReplicas(t)
	ctx := context.Background()
	ingest(t, s, inbound("known", "k-1", "first"))
	follow := inbound("evt", "e-1", "")
	follow.Kind, follow.Event = models.KindEvent, models.EventSubscribe
	items := []*store.IngestItem{
		{In: inbound("new", "n-1", "one")}, {In: follow}, {In: inbound("known", "k-2", "again")},
		{In: inbound("new", "n-2", "two")}, {In: inbound("known", "k-1", "first")}, {In: inbound("evt", "e-2", "now a message")},
	}
	if err := s.IngestBatch(ctx, items); err != nil {
		t.Fatal(err)
	}
	want := []struct{ newContact, newConv, dup bool }{{true, true, false}, {true, false, false}, {false, false, false},
		{false, false, false}, {false, false, true}, {false, true, false}}
	for i, w := range want {
		it := items[i]
		if it.NewContact != w.newContact || it.NewConversation != w.newConv || it.Result.Duplicate != w.dup {
			t.Errorf("item %d (%s): new contact %v, new conversation %v, duplicate %v; want %+v", i, it.In.ExternalID,
				it.NewContact, it.NewConversation, it.Result.Duplicate, w)
		}
	}
	if items[0].ConversationID != items[3].ConversationID || items[0].ConversationID == 0 {
		t.Errorf("the new customer's two messages: conversations %d and %d", items[0].ConversationID, items[3].ConversationID)
	}
	evs, err := s.EventsAfter(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, e := range evs[2:] { // after the known customer's first message
		types = append(types, e.Type)
	}
	wantTypes := fmt.Sprint([]string{"conversation.created", "message.created", "message.created", "message.created",
		"conversation.created", "message.created"})
	if fmt.Sprint(types) != wantTypes {
		t.Fatalf("events %v\nwant   %v", types, wantTypes)
	}
}
