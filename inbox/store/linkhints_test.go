package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/tongdao/hub/inbox/store"
	"github.com/tongdao/hub/internal/testclock"
	"github.com/tongdao/hub/models"
)

// On both databases: a contact asked for a link code while one of its
// identities holds an open one (not used, not expired), whichever identity
// of the contact asked; the last replier is the newest agent message that
// is not private.
func TestLinkCodeAskedAndLastReplier(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store, c *testclock.Clock) {
		ctx := context.Background()
		tgConv := ingest(t, s, inbound("1", "1:1", "my parcel is lost"))[0].ConversationID
		tg := identityOf(t, s, "tg-main", "1")
		asked := func() bool {
			t.Helper()
			ok, err := s.LinkCodeAsked(ctx, tg.ContactID, c.Now())
			if err != nil {
				t.Fatal(err)
			}
			return ok
		}
		if asked() {
			t.Fatal("asked before any code")
		}
		newCode(t, s, c, tg, "K7P3XQ2M", "link_abc")
		if !asked() {
			t.Fatal("an open code is not an ask")
		}
		// Used: linked to WeChat, the contact no longer has a code open.
		ingest(t, s, wxInbound("o1", "w1", "K7P3XQ2M"))
		if r := redeem(t, s, identityOf(t, s, "wx-oa", "o1"), "K7P3XQ2M", false); r.Outcome != store.RedeemLinked {
			t.Fatalf("redeem: %+v", r)
		}
		if asked() {
			t.Fatal("a used code is still an ask")
		}
		// Asked from the other identity of the contact; then expired.
		newCode(t, s, c, identityOf(t, s, "wx-oa", "o1"), "H4J5K6M7", "link_def")
		if !asked() {
			t.Fatal("a code asked from the linked WeChat identity is not the contact's")
		}
		c.Advance(16 * time.Minute)
		if asked() {
			t.Fatal("an expired code is still an ask")
		}

		if name, err := s.LastReplier(ctx, tgConv); err != nil || name != "" {
			t.Fatalf("last replier before any reply: %q %v", name, err)
		}
		for _, m := range []*models.Message{
			{SenderType: models.SenderAgent, SenderName: "Mia", Text: "on it"},
			{SenderType: models.SenderAgent, SenderName: "Leo", Text: "note", Private: true},
			{SenderType: models.SenderBot, SenderName: "Bot", Text: "bot"},
		} {
			m.ConversationID, m.Direction, m.Kind, m.DeliveryStatus = tgConv, models.DirectionOut, models.KindMessage, models.DeliveryQueued
			if err := s.AddMessage(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
		if name, err := s.LastReplier(ctx, tgConv); err != nil || name != "Mia" {
			t.Fatalf("last replier %q %v, want Mia (not a note, not the bot)", name, err)
		}
	})
}
