package store_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/tongdao/hub/inbox/store"
	"github.com/tongdao/hub/internal/testclock"
	"github.com/tongdao/hub/models"
)

func wxInbound(openid, msg, text string) models.Inbound {
	return models.Inbound{Connector: "wx-oa", Channel: models.ChannelWeChat, ExternalID: msg,
		Kind: models.KindMessage, From: models.Sender{ExternalID: openid}, ReplyTo: openid, Text: text}
}

func identityOf(t *testing.T, s *store.Store, connector, external string) models.Identity {
	t.Helper()
	var i models.Identity
	if err := s.DB.Where("connector = ? AND external_id = ?", connector, external).Take(&i).Error; err != nil {
		t.Fatal(err)
	}
	return i
}

func newCode(t *testing.T, s *store.Store, c *testclock.Clock, asker models.Identity, code, token string) {
	t.Helper()
	lc := &models.LinkCode{IdentityID: asker.ID, ContactID: asker.ContactID, CodeHash: store.HashToken(code),
		TokenHash: store.HashToken(token), ExpiresAt: c.Now().Add(15 * time.Minute)}
	if err := s.CreateLinkCode(context.Background(), lc, 0); err != nil {
		t.Fatal(err)
	}
}

func redeem(t *testing.T, s *store.Store, ident models.Identity, secret string, token bool) store.RedeemResult {
	t.Helper()
	r, err := s.Redeem(context.Background(), store.RedeemRequest{IdentityID: ident.ID, Hash: store.HashToken(secret), Token: token,
		Method: models.MergeByCode, MaxFailures: 5, Window: time.Hour, SystemText: "Continued on WeChat (via link code)"})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// state is every row a merge may change, as the test compares it.
type state struct {
	Identities    map[int64]int64
	Conversations map[int64]string
	Messages      map[int64]int64
}

func snapshot(t *testing.T, s *store.Store) state {
	t.Helper()
	st := state{Identities: map[int64]int64{}, Conversations: map[int64]string{}, Messages: map[int64]int64{}}
	var idents []models.Identity
	var convs []models.Conversation
	var msgs []models.Message
	if err := s.DB.Find(&idents).Error; err != nil {
		t.Fatal(err)
	}
	if err := s.DB.Find(&convs).Error; err != nil {
		t.Fatal(err)
	}
	if err := s.DB.Find(&msgs).Error; err != nil {
		t.Fatal(err)
	}
	for _, i := range idents {
		st.Identities[i.ID] = i.ContactID
	}
	for _, c := range convs {
		resolved := "nil"
		if c.ResolvedAt != nil {
			resolved = c.ResolvedAt.UTC().Format(time.RFC3339Nano)
		}
		st.Conversations[c.ID] = fmt.Sprintf("contact=%d status=%s resolved=%s last=%s", c.ContactID, c.Status, resolved,
			c.LastMessageAt.UTC().Format(time.RFC3339Nano))
	}
	for _, m := range msgs {
		st.Messages[m.ID] = m.ConversationID
	}
	return st
}

func TestRedeemLinksAndTheConversationFollows(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store, c *testclock.Clock) {
		ctx := context.Background()
		tgConv := ingest(t, s, inbound("1", "1:1", "my parcel is lost"), inbound("1", "1:2", "order 42"))[0].ConversationID
		tg := identityOf(t, s, "tg-main", "1")
		newCode(t, s, c, tg, "K7P3XQ2M", "link_abc")
		c.Advance(time.Minute)
		wxConv := ingest(t, s, wxInbound("o1", "w1", "K7P3XQ2M"))[0].ConversationID
		wx := identityOf(t, s, "wx-oa", "o1")
		if wx.ContactID == tg.ContactID || wxConv == tgConv {
			t.Fatal("a new WeChat customer starts separate")
		}

		r := redeem(t, s, wx, "K7P3XQ2M", false)
		if r.Outcome != store.RedeemLinked || r.ContactID != tg.ContactID || r.ConversationID != tgConv || r.Merge == nil {
			t.Fatalf("redeem: %+v", r)
		}
		if got := identityOf(t, s, "wx-oa", "o1"); got.ContactID != tg.ContactID {
			t.Fatalf("the WeChat identity belongs to contact %d, want %d", got.ContactID, tg.ContactID)
		}
		var active int64
		s.DB.Model(&models.Conversation{}).Where("contact_id = ? AND status <> 'resolved'", tg.ContactID).Count(&active)
		if active != 1 {
			t.Fatalf("%d active conversations, want 1", active)
		}
		msgs, _, err := s.ListMessages(ctx, tgConv, "", 50)
		if err != nil {
			t.Fatal(err)
		}
		var texts []string
		for _, m := range msgs {
			texts = append(texts, m.Text)
		}
		want := []string{"my parcel is lost", "order 42", "K7P3XQ2M", "Continued on WeChat (via link code)"}
		if !reflect.DeepEqual(texts, want) {
			t.Fatalf("timeline %q, want %q", texts, want)
		}
		if n := count(t, s, &models.Message{}); n != 4 {
			t.Fatalf("%d messages: something was duplicated or lost", n)
		}
		old, _ := s.Conversation(ctx, wxConv)
		if old.Status != models.StatusResolved {
			t.Fatalf("the emptied conversation is %s, want resolved", old.Status)
		}

		// Single use: the same code again, from another customer, fails.
		ingest(t, s, wxInbound("o2", "w2", "K7P3XQ2M"))
		other := identityOf(t, s, "wx-oa", "o2")
		if r := redeem(t, s, other, "K7P3XQ2M", false); r.Outcome != store.RedeemInvalid || r.Failures != 1 {
			t.Fatalf("reused code: %+v", r)
		}
		// Expired: a fresh code after 16 minutes.
		newCode(t, s, c, tg, "Q9W8E7R6", "link_def")
		c.Advance(16 * time.Minute)
		if r := redeem(t, s, other, "Q9W8E7R6", false); r.Outcome != store.RedeemInvalid {
			t.Fatalf("expired code: %+v", r)
		}
		if r := redeem(t, s, other, "link_def", true); r.Outcome != store.RedeemInvalid {
			t.Fatalf("expired token: %+v", r)
		}
		// Guessing: five failures in the hour, then refused unchecked, even
		// with a valid code.
		newCode(t, s, c, tg, "ZZ22ZZ33", "link_ghi")
		redeem(t, s, other, "AAAA2222", false)
		if r := redeem(t, s, other, "BBBB3333", false); r.Outcome != store.RedeemInvalid || r.Failures != 5 {
			t.Fatalf("fifth failure: %+v", r)
		}
		if r := redeem(t, s, other, "ZZ22ZZ33", false); r.Outcome != store.RedeemLimited {
			t.Fatalf("sixth attempt: %+v", r)
		}
		// An hour later the oldest failures have aged out.
		c.Advance(61 * time.Minute)
		newCode(t, s, c, tg, "YY44YY55", "link_jkl")
		if r := redeem(t, s, other, "link_jkl", true); r.Outcome != store.RedeemLinked {
			t.Fatalf("after the hour: %+v", r)
		}
		// The asker's own identity redeeming its code is already linked.
		newCode(t, s, c, tg, "XX66XX77", "link_mno")
		if r := redeem(t, s, tg, "XX66XX77", false); r.Outcome != store.RedeemAlready || r.ConversationID != tgConv {
			t.Fatalf("own code: %+v", r)
		}
		evs, _ := s.EventsAfter(ctx, 0, 1000)
		var merged, failed int
		for _, e := range evs {
			switch e.Type {
			case models.EventTypeContactMerged:
				merged++
			case models.EventTypeLinkFailed:
				failed++
			}
		}
		if merged != 2 || failed != 5 {
			t.Fatalf("events: %d merged, %d failed", merged, failed)
		}
	})
}

func TestMergeThenUndoRestoresExactly(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store, c *testclock.Clock) {
		ctx := context.Background()
		// Contact A: a resolved conversation and an active one; contact B: an
		// active conversation with messages.
		a1 := ingest(t, s, inbound("10", "10:1", "first problem"))[0].ConversationID
		if _, err := s.UpdateConversation(ctx, a1, map[string]any{"status": models.StatusResolved}, "ana"); err != nil {
			t.Fatal(err)
		}
		c.Advance(time.Minute)
		a2 := ingest(t, s, inbound("10", "10:2", "second problem"))[0].ConversationID
		c.Advance(time.Minute)
		b1 := ingest(t, s, wxInbound("o9", "w9:1", "我的订单"), wxInbound("o9", "w9:2", "还没到"))[0].ConversationID
		c.Advance(time.Minute)
		ingest(t, s, inbound("10", "10:3", "any news?"))
		a := identityOf(t, s, "tg-main", "10")
		b := identityOf(t, s, "wx-oa", "o9")
		before := snapshot(t, s)

		c.Advance(time.Minute)
		m, err := s.MergeContacts(ctx, a.ContactID, b.ContactID, "ana", "merged by ana")
		if err != nil {
			t.Fatal(err)
		}
		if got := identityOf(t, s, "wx-oa", "o9"); got.ContactID != a.ContactID {
			t.Fatal("identity did not move")
		}
		msgs, _, _ := s.ListMessages(ctx, a2, "", 50)
		if len(msgs) != 5 { // 2 of A, 2 of B, the system entry
			t.Fatalf("merged timeline has %d messages", len(msgs))
		}
		conv, _ := s.Conversation(ctx, b1)
		if conv.Status != models.StatusResolved || conv.ContactID != a.ContactID {
			t.Fatalf("B's conversation after merge: %+v", conv)
		}
		if _, err := s.MergeContacts(ctx, a.ContactID, a.ContactID, "ana", ""); models.ErrorCode(err) != models.EINVALID {
			t.Fatalf("self merge: %v", err)
		}
		if _, err := s.MergeContacts(ctx, a.ContactID, 9999, "ana", ""); models.ErrorCode(err) != models.ENOTFOUND {
			t.Fatalf("unknown contact: %v", err)
		}

		// The WeChat customer writes after the merge: it lands in the merged
		// conversation, and goes back with its identity on undo.
		c.Advance(time.Minute)
		after := ingest(t, s, wxInbound("o9", "w9:3", "hello again"))[0]
		if after.ConversationID != a2 {
			t.Fatalf("after the merge the message went to %d, want %d", after.ConversationID, a2)
		}

		c.Advance(time.Minute)
		if _, err := s.UndoMerge(ctx, m.ID, "bo"); err != nil {
			t.Fatal(err)
		}
		got := snapshot(t, s)
		var lateMsg models.Message
		s.DB.Where("external_id = ?", "w9:3").Take(&lateMsg)
		if lateMsg.ConversationID != b1 {
			t.Fatalf("the post-merge message is in %d, want B's conversation %d", lateMsg.ConversationID, b1)
		}
		delete(got.Messages, lateMsg.ID)
		// B's conversation got a later last_message_at from the new message;
		// compare everything else exactly.
		if !reflect.DeepEqual(got.Identities, before.Identities) || !reflect.DeepEqual(got.Messages, before.Messages) {
			t.Fatalf("undo did not restore identities/messages:\n got %+v\nwant %+v", got, before)
		}
		for id, want := range before.Conversations {
			if id == b1 {
				continue
			}
			if got.Conversations[id] != want {
				t.Errorf("conversation %d: %s, want %s", id, got.Conversations[id], want)
			}
		}
		conv, _ = s.Conversation(ctx, b1)
		if conv.Status != models.StatusOpen || conv.ContactID != b.ContactID || conv.ResolvedAt != nil {
			t.Fatalf("B's conversation after undo: %+v", conv)
		}
		if _, err := s.UndoMerge(ctx, m.ID, "bo"); models.ErrorCode(err) != models.ECONFLICT {
			t.Fatalf("second undo: %v", err)
		}
		if _, err := s.UndoMerge(ctx, 424242, "bo"); models.ErrorCode(err) != models.ENOTFOUND {
			t.Fatalf("unknown merge: %v", err)
		}
		// The cache follows: B's next message lands in B's conversation.
		if next := ingest(t, s, wxInbound("o9", "w9:4", "still there?"))[0]; next.ConversationID != b1 {
			t.Fatalf("after undo the message went to %d, want %d", next.ConversationID, b1)
		}
		if conv, _ := s.Conversation(ctx, a1); conv.Status != models.StatusResolved || conv.ContactID != a.ContactID {
			t.Fatalf("A's resolved conversation after undo: %+v", conv)
		}
	})
}

func TestUndoRefusedWhenAnIdentityMovedSince(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store, c *testclock.Clock) {
		ctx := context.Background()
		ingest(t, s, inbound("20", "20:1", "hi"), wxInbound("o20", "w20", "hi"))
		a := identityOf(t, s, "tg-main", "20")
		b := identityOf(t, s, "wx-oa", "o20")
		m, err := s.MergeContacts(ctx, a.ContactID, b.ContactID, "ana", "merged")
		if err != nil {
			t.Fatal(err)
		}
		v, err := s.UnlinkIdentity(ctx, b.ID, "ana", "unlinked")
		if err != nil {
			t.Fatal(err)
		}
		if len(v.Identities) != 1 || v.Identities[0].ID != models.ID(b.ID) || v.ID == models.ID(a.ContactID) {
			t.Fatalf("unlinked contact: %+v", v)
		}
		if _, err := s.UnlinkIdentity(ctx, b.ID, "ana", "again"); models.ErrorCode(err) != models.ECONFLICT {
			t.Fatalf("unlinking a lone identity: %v", err)
		}
		if _, err := s.UndoMerge(ctx, m.ID, "ana"); models.ErrorCode(err) != models.ECONFLICT {
			t.Fatalf("undo after unlink: %v", err)
		}
		// The unlinked identity's next message opens its own conversation.
		next := ingest(t, s, wxInbound("o20", "w21", "new question"))[0]
		conv, _ := s.Conversation(ctx, next.ConversationID)
		if models.ID(conv.ContactID) != v.ID {
			t.Fatalf("after unlink the message went to contact %d, want %s", conv.ContactID, v.ID)
		}
	})
}

func TestSuggestionsShareVerifiedPhoneOrUnionID(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store, c *testclock.Clock) {
		ctx := context.Background()
		share := inbound("30", "30:1", "")
		share.SharedContact = &models.SharedContact{Phone: "+8613800000000", Verified: true}
		unverified := inbound("31", "31:1", "")
		unverified.SharedContact = &models.SharedContact{Phone: "+8613800000000"}
		wx := wxInbound("o30", "w30", "hi")
		wx.From.UnionID = "u-1"
		wx2 := wxInbound("o31", "w31", "hi")
		wx2.Connector, wx2.From.UnionID = "wx-other", "u-1"
		ingest(t, s, share, unverified, wx, wx2)
		tg := identityOf(t, s, "tg-main", "30")
		// A second verified share of the same phone on another bot.
		other := inbound("32", "32:1", "")
		other.Connector = "tg-other"
		other.SharedContact = &models.SharedContact{Phone: "+8613800000000", Verified: true}
		ingest(t, s, other)

		got, err := s.Suggestions(ctx, tg.ContactID)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Reasons[0] != "verified_phone" || got[0].Contact.Identities[0].ExternalID != "32" {
			t.Fatalf("phone suggestions: %+v", got)
		}
		w := identityOf(t, s, "wx-oa", "o30")
		got, _ = s.Suggestions(ctx, w.ContactID)
		if len(got) != 1 || got[0].Reasons[0] != "wechat_unionid" {
			t.Fatalf("unionid suggestions: %+v", got)
		}
		if n := count(t, s, &models.Merge{}); n != 0 {
			t.Fatal("suggestions must never merge")
		}
		if _, err := s.Suggestions(ctx, 9999); models.ErrorCode(err) != models.ENOTFOUND {
			t.Fatalf("unknown contact: %v", err)
		}
	})
}
