package store_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tongdao/hub/inbox/store"
	"github.com/tongdao/hub/internal/testclock"
	"github.com/tongdao/hub/models"
)

// TestGlobalLinkFailureCapPausesRedemptions: failures spread over many
// identities (each under its own limit) pause every redemption, even with a
// valid code, until the oldest of them leaves the window.
func TestGlobalLinkFailureCapPausesRedemptions(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store, c *testclock.Clock) {
		redeemG := func(ident models.Identity, secret string) store.RedeemResult {
			t.Helper()
			r, err := s.Redeem(context.Background(), store.RedeemRequest{IdentityID: ident.ID, Hash: store.HashToken(secret),
				Method: models.MergeByCode, MaxFailures: 5, Window: time.Hour,
				MaxGlobalFailures: 3, GlobalWindow: 10 * time.Minute, SystemText: "Continued"})
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		ingest(t, s, inbound("1", "1:1", "hello"))
		asker := identityOf(t, s, "tg-main", "1")
		newCode(t, s, c, asker, "K7P3XQ2M", "link_abc")
		var guessers []models.Identity
		for _, o := range []string{"o1", "o2", "o3", "o4"} {
			ingest(t, s, wxInbound(o, o+":1", "hi"))
			guessers = append(guessers, identityOf(t, s, "wx-oa", o))
		}
		for i, g := range guessers[:3] {
			if r := redeemG(g, "AAAA222"+string(rune('2'+i))); r.Outcome != store.RedeemInvalid || r.Failures != 1 {
				t.Fatalf("guess %d: %+v", i, r)
			}
			c.Advance(time.Minute)
		}
		// The fourth account's valid code is not even checked.
		if r := redeemG(guessers[3], "K7P3XQ2M"); r.Outcome != store.RedeemPaused {
			t.Fatalf("over the global cap: %+v", r)
		}
		if n := count(t, s, &models.LinkFailure{}); n != 3 {
			t.Fatalf("%d failures recorded: a paused attempt is not a failure", n)
		}
		// Eight minutes later the oldest failure has aged out of the window.
		c.Advance(8 * time.Minute)
		if r := redeemG(guessers[3], "K7P3XQ2M"); r.Outcome != store.RedeemLinked {
			t.Fatalf("after the window: %+v", r)
		}
	})
}

// TestMergingAnEmptiedContactIsAConflict: merging a contact that an earlier
// merge emptied is 409, not a second, empty merge.
func TestMergingAnEmptiedContactIsAConflict(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store, c *testclock.Clock) {
		ctx := context.Background()
		ingest(t, s, inbound("1", "1:1", "hello"), wxInbound("o1", "w1", "你好"))
		a, b := identityOf(t, s, "tg-main", "1"), identityOf(t, s, "wx-oa", "o1")
		if _, err := s.MergeContacts(ctx, a.ContactID, b.ContactID, "ana", "merged"); err != nil {
			t.Fatal(err)
		}
		merges := count(t, s, &models.Merge{})
		_, err := s.MergeContacts(ctx, a.ContactID, b.ContactID, "ana", "merged")
		if models.ErrorCode(err) != models.ECONFLICT || !strings.Contains(err.Error(), "no identities left") {
			t.Fatalf("second merge: %v", err)
		}
		if n := count(t, s, &models.Merge{}); n != merges {
			t.Fatalf("%d merges recorded, want %d", n, merges)
		}
	})
}

// TestLinkOfferSecretsNeverReachTheEventLog: a queued link offer's code,
// deep-link token and QR ticket are masked in message.created and
// message.updated events and in the API's view, while the row keeps them
// for the delivery.
func TestLinkOfferSecretsNeverReachTheEventLog(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store, c *testclock.Clock) {
		ctx := context.Background()
		conv := ingest(t, s, inbound("1", "1:1", "hello"))[0].ConversationID
		ident := identityOf(t, s, "tg-main", "1")
		text := "To continue, send this code there: K7P3XQ2M\n• Telegram: tap https://t.me/bot?start=link_s3cr3tT0ken\n" +
			"• WeChat: scan the QR code https://mp.example/cgi-bin/showqrcode?ticket=gQH47joAAAA"
		m := &models.Message{ConversationID: conv, IdentityID: &ident.ID, Connector: "tg-main", Channel: models.ChannelTelegram,
			Direction: models.DirectionOut, Kind: models.KindLinkOffer, SenderType: models.SenderBot, SenderName: "Bot",
			Text: text, DeliveryStatus: models.DeliveryQueued}
		if err := s.AddMessage(ctx, m); err != nil {
			t.Fatal(err)
		}
		if err := s.FinishDelivery(ctx, m.ID, ident.ID, store.DeliveryOutcome{Status: models.DeliverySent, PlatformID: "77"}); err != nil {
			t.Fatal(err)
		}
		var row models.Message
		if err := s.DB.Take(&row, m.ID).Error; err != nil || row.Text != text {
			t.Fatalf("the row must keep the text for the outbox until it is masked: %q %v", row.Text, err)
		}
		evs, err := s.EventsAfter(ctx, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		secrets := []string{"K7P3XQ2M", "s3cr3tT0ken", "gQH47joAAAA"}
		seen := map[string]bool{}
		for _, e := range evs {
			raw, err := json.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			data := string(raw)
			if e.Type == models.EventTypeMessageCreated || e.Type == models.EventTypeMessageUpdated {
				if strings.Contains(data, "To continue") {
					seen[e.Type] = true
				}
			}
			for _, sec := range secrets {
				if strings.Contains(data, sec) {
					t.Errorf("event %s %s shows %q: %s", e.ID, e.Type, sec, data)
				}
			}
		}
		if !seen[models.EventTypeMessageCreated] || !seen[models.EventTypeMessageUpdated] {
			t.Fatalf("events of the offer: %v", seen)
		}
		msgs, _, err := s.ListMessages(ctx, conv, "", 50)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range msgs {
			for _, sec := range secrets {
				if strings.Contains(v.Text, sec) {
					t.Errorf("the API view shows %q: %q", sec, v.Text)
				}
			}
		}
	})
}
