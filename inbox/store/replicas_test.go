package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/tongdao/hub/inbox/store"
	"github.com/tongdao/hub/internal/pgtest"
	"github.com/tongdao/hub/internal/testclock"
	"github.com/tongdao/hub/models"
)

// twoReplicas opens two stores on one PostgreSQL database, as two hub
// replicas would, sharing one clock.
func twoReplicas(t *testing.T) (a, b *store.Store) {
	t.Helper()
	dsn := pgtest.DSN(t)
	c := testclock.New(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
	for _, p := range []**store.Store{&a, &b} {
		s, err := store.Open(context.Background(), store.DriverPostgres, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		s.Now = c.Now
		*p = s
	}
	return a, b
}

// Replica A learns the customer is unreachable (a permanent delivery
// failure); the customer's next message, ingested by replica B which cached
// the identity, makes them reachable again.
func TestUnreachableSetByOneReplicaIsClearedByTheNextMessageOnAnother(t *testing.T) {
	a, b := twoReplicas(t)
	ctx := context.Background()
	first := ingest(t, b, inbound("1", "1:1", "hello"))
	ingest(t, b, inbound("1", "1:2", "anyone?")) // B now serves the identity from its cache
	ident := identityOf(t, a, "tg-main", "1")
	reply := &models.Message{ConversationID: first[0].ConversationID, IdentityID: &ident.ID, Channel: ident.Channel,
		Connector: ident.Connector, Direction: models.DirectionOut, Kind: models.KindMessage,
		SenderType: models.SenderAgent, Text: "hi", DeliveryStatus: models.DeliveryQueued}
	if err := a.AddMessage(ctx, reply); err != nil {
		t.Fatal(err)
	}
	if err := a.FinishDelivery(ctx, reply.ID, ident.ID, store.DeliveryOutcome{Status: models.DeliveryFailed,
		Error: "blocked", Unreachable: "the customer blocked the bot"}); err != nil {
		t.Fatal(err)
	}
	if got := identityOf(t, a, "tg-main", "1").UnreachableReason; got == "" {
		t.Fatal("replica A did not mark the identity unreachable")
	}
	ingest(t, b, inbound("1", "1:3", "I unblocked you"))
	if got := identityOf(t, a, "tg-main", "1").UnreachableReason; got != "" {
		t.Fatalf("after the customer's message on replica B the identity is still unreachable: %q", got)
	}
}

// Replica A resolves the conversation; the customer's next message on
// replica B opens a new one.
func TestResolvedByOneReplicaOpensANewConversationOnAnother(t *testing.T) {
	a, b := twoReplicas(t)
	first := ingest(t, b, inbound("1", "1:1", "hello"))
	if _, err := a.UpdateConversation(context.Background(), first[0].ConversationID,
		map[string]any{"status": models.StatusResolved}, "ana"); err != nil {
		t.Fatal(err)
	}
	next := ingest(t, b, inbound("1", "1:2", "one more thing"))
	if next[0].ConversationID == 0 || next[0].ConversationID == first[0].ConversationID {
		t.Fatalf("message after the resolve landed in conversation %d (resolved: %d)", next[0].ConversationID, first[0].ConversationID)
	}
}

// Replica A merges two customers and undoes the merge; replica B, which
// cached the merged state, files the customer's next message in the
// customer's own conversation again.
func TestMergeAndUndoOnOneReplicaAreSeenByAnother(t *testing.T) {
	a, b := twoReplicas(t)
	ctx := context.Background()
	one := ingest(t, b, inbound("1", "1:1", "hello"))
	two := ingest(t, b, inbound("2", "2:1", "hi"))
	m, err := a.MergeContacts(ctx, one[0].ContactID, two[0].ContactID, "ana", "merged")
	if err != nil {
		t.Fatal(err)
	}
	merged := ingest(t, b, inbound("2", "2:2", "after the merge"))
	if merged[0].ConversationID != one[0].ConversationID {
		t.Fatalf("after the merge: conversation %d, want the kept one %d", merged[0].ConversationID, one[0].ConversationID)
	}
	if _, err := a.UndoMerge(ctx, m.ID, "ana"); err != nil {
		t.Fatal(err)
	}
	own, err := a.ActiveConversation(ctx, two[0].ContactID)
	if err != nil || own == nil {
		t.Fatalf("customer 2 has no active conversation after the undo: %v", err)
	}
	after := ingest(t, b, inbound("2", "2:3", "after the undo"))
	if after[0].ConversationID != own.ID {
		t.Fatalf("after the undo: conversation %d, want customer 2's own %d (customer 1's is %d)",
			after[0].ConversationID, own.ID, one[0].ConversationID)
	}
}

// Replica A resolves the conversation; the customer unfollows through
// replica B, which still caches the conversation as active: the retried
// batch keeps what the caller said of the inbound, so the customer is
// marked unreachable.
func TestUnfollowOnAnotherReplicaSurvivesTheStaleRetry(t *testing.T) {
	a, b := twoReplicas(t)
	first := ingest(t, b, inbound("1", "1:1", "hello"))
	if _, err := a.UpdateConversation(context.Background(), first[0].ConversationID,
		map[string]any{"status": models.StatusResolved}, "ana"); err != nil {
		t.Fatal(err)
	}
	unfollow := inbound("1", "1:2", "")
	unfollow.Kind, unfollow.Event = models.KindEvent, models.EventUnsubscribe
	it := &store.IngestItem{In: unfollow, UnreachableReason: "the customer unfollowed the account"}
	if err := b.IngestBatch(context.Background(), []*store.IngestItem{it}); err != nil {
		t.Fatal(err)
	}
	if got := identityOf(t, a, "tg-main", "1").UnreachableReason; got != "the customer unfollowed the account" {
		t.Fatalf("after the unfollow on replica B: unreachable reason %q", got)
	}
}
