package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/tongdao/hub/inbox/store"
	"github.com/tongdao/hub/internal/testclock"
	"github.com/tongdao/hub/models"
)

// feedback ingests one inbound that may answer the given rating stages.
func feedback(t *testing.T, s *store.Store, in models.Inbound, stages ...string) *store.IngestItem {
	t.Helper()
	it := &store.IngestItem{In: in, Feedback: stages}
	if err := s.IngestBatch(context.Background(), []*store.IngestItem{it}); err != nil {
		t.Fatalf("ingest: %v", err)
	}
	return it
}

// askedAfterResolve resolves conv through s and asks for its rating, until
// window from now.
func askedAfterResolve(t *testing.T, s *store.Store, conv int64, window time.Duration) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.UpdateConversation(ctx, conv, map[string]any{"status": models.StatusResolved}, "ana"); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.AskCSAT(ctx, conv, s.Now().Add(window)); err != nil || !ok {
		t.Fatalf("ask: %v %v", ok, err)
	}
}

// scoreAction is the customer's tap on a score button.
func scoreAction(user, msg, action string) models.Inbound {
	in := inbound(user, msg, "")
	in.Kind, in.Action = models.KindAction, action
	return in
}

func eventCount(t *testing.T, s *store.Store, typ string, conv int64) int64 {
	t.Helper()
	var n int64
	if err := s.DB.Model(&models.Event{}).Where("type = ? AND conversation_id = ?", typ, conv).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// The rating on both databases: the answers to a prompt land in the
// resolved conversation (no new one, no reopen) while its stage awaits them
// and its window is open; the score's events; the comment; afterwards a
// message opens a new conversation as after any resolve.
func TestRatingAnswersLandInTheResolvedConversation(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store, c *testclock.Clock) {
		ctx := context.Background()
		conv := ingest(t, s, inbound("7", "7:1", "help"))[0].ConversationID
		askedAfterResolve(t, s, conv, 24*time.Hour)

		it := feedback(t, s, scoreAction("7", "7:2", "csat:2"), store.CSATAsked)
		if it.ConversationID != conv || !it.Rating || it.NewConversation {
			t.Fatalf("the score landed in %d (rating %v, new %v), want %d", it.ConversationID, it.Rating, it.NewConversation, conv)
		}
		if n := count(t, s, &models.Conversation{}); n != 1 {
			t.Fatalf("%d conversations, want 1", n)
		}
		if ok, err := s.RateCSAT(ctx, conv, 2, c.Now().Add(time.Hour)); err != nil || !ok {
			t.Fatalf("rate: %v %v", ok, err)
		}
		if ok, err := s.RateCSAT(ctx, conv, 5, c.Now().Add(time.Hour)); err != nil || ok {
			t.Fatalf("a second score counted: %v %v", ok, err)
		}
		if r, l := eventCount(t, s, models.EventTypeCSATReceived, conv), eventCount(t, s, models.EventTypeCSATLow, conv); r != 1 || l != 1 {
			t.Fatalf("events: %d received, %d low; want 1 and 1", r, l)
		}
		v, err := s.GetConversation(ctx, conv)
		if err != nil || v.Status != models.StatusResolved || v.CSAT == nil || v.CSAT.Score != 2 || v.CSAT.Comment != nil {
			t.Fatalf("after the score: %+v %v", v.CSAT, err)
		}

		// Now the comment is awaited: the next message is it.
		if p, err := s.PendingCSAT(ctx, it.ContactID, store.CSATComment); err != nil || p == nil || p.ID != conv {
			t.Fatalf("pending comment: %+v %v", p, err)
		}
		it = feedback(t, s, inbound("7", "7:3", "slow but kind"), store.CSATComment)
		if it.ConversationID != conv || !it.Rating {
			t.Fatalf("the comment landed in %d, want %d", it.ConversationID, conv)
		}
		comment := "slow but kind"
		if ok, err := s.CommentCSAT(ctx, conv, &comment); err != nil || !ok {
			t.Fatalf("comment: %v %v", ok, err)
		}
		v, _ = s.GetConversation(ctx, conv)
		if v.CSAT == nil || v.CSAT.Comment == nil || *v.CSAT.Comment != "slow but kind" || v.Status != models.StatusResolved {
			t.Fatalf("after the comment: %+v", v.CSAT)
		}

		// The rating is over: the next message reopens the rated
		// conversation, with the event the reactions follow.
		it = feedback(t, s, inbound("7", "7:4", "one more thing"), store.CSATComment)
		if it.ConversationID != conv || it.Rating || it.NewConversation || !it.Reopened {
			t.Fatalf("after the rating a message landed in %d (rating %v, new %v), want the rated one reopened", it.ConversationID, it.Rating, it.NewConversation)
		}
		if v, _ = s.GetConversation(ctx, conv); v.Status != models.StatusOpen || v.ResolvedAt != nil || v.HandoffAt != nil {
			t.Fatalf("the reopened conversation: %+v", v)
		}
		var reopened int64
		if err := s.DB.Model(&models.Event{}).Where("type = ? AND conversation_id = ? AND data LIKE ? AND data LIKE ?",
			models.EventTypeConversationUpdated, conv, `%"by":"customer"%`, `%"status":"open"%`).Count(&reopened).Error; err != nil || reopened != 1 {
			t.Fatalf("reopen events: %d %v", reopened, err)
		}
		// Resolved again without a new rating: the next message opens a new
		// conversation.
		c.Advance(time.Minute)
		if _, err := s.UpdateConversation(ctx, conv, map[string]any{"status": models.StatusResolved}, "ana"); err != nil {
			t.Fatal(err)
		}
		c.Advance(time.Minute)
		it = feedback(t, s, inbound("7", "7:5", "and another"), store.CSATComment)
		if it.ConversationID == conv || it.Reopened || !it.NewConversation {
			t.Fatalf("after a resolve without a rating a message landed in %d (reopened %v), want a new conversation", it.ConversationID, it.Reopened)
		}
	})
}

func TestRatingAnswersOutsideTheirStageOrWindowOpenANewConversation(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store, c *testclock.Clock) {
		ctx := context.Background()
		a := ingest(t, s, inbound("8", "8:1", "help"))[0].ConversationID
		askedAfterResolve(t, s, a, time.Hour)
		// A question while the score is awaited is a new conversation.
		it := feedback(t, s, inbound("8", "8:2", "and my other order?"), store.CSATComment)
		if it.ConversationID == a || it.Rating {
			t.Fatalf("a question landed in the rated conversation %d", a)
		}
		if _, err := s.UpdateConversation(ctx, it.ConversationID, map[string]any{"status": models.StatusResolved}, "ana"); err != nil {
			t.Fatal(err)
		}
		// After the window, a score lands nowhere special either.
		c.Advance(2 * time.Hour)
		it = feedback(t, s, scoreAction("8", "8:3", "csat:4"), store.CSATAsked)
		if it.ConversationID == a || it.Rating || !it.NewConversation {
			t.Fatalf("a score after the window landed in %d (rating %v)", it.ConversationID, it.Rating)
		}
		if ok, err := s.RateCSAT(ctx, a, 4, c.Now().Add(time.Hour)); err != nil || ok {
			t.Fatalf("a score after the window counted: %v %v", ok, err)
		}
		// Asking needs a resolved conversation.
		if ok, err := s.AskCSAT(ctx, it.ConversationID, c.Now().Add(time.Hour)); err != nil || ok {
			t.Fatalf("asked about an open conversation: %v %v", ok, err)
		}
	})
}

// Replica A resolves and asks for the rating; the score reaches replica B,
// which still caches the conversation as active: the batch is retried
// without the cache, and the retry still knows the inbound answers a
// rating (it lands in the rated conversation, opening none).
func TestRatingAnswerOnAnotherReplicaSurvivesTheStaleRetry(t *testing.T) {
	a, b := twoReplicas(t)
	conv := ingest(t, b, inbound("1", "1:1", "hello"))[0].ConversationID
	askedAfterResolve(t, a, conv, time.Hour)
	it := feedback(t, b, scoreAction("1", "1:2", "csat:5"), store.CSATAsked)
	if it.ConversationID != conv || !it.Rating {
		t.Fatalf("the score landed in %d (rating %v), want the rated conversation %d", it.ConversationID, it.Rating, conv)
	}
}
