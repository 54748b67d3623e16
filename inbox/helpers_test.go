package inbox_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/tongdao/hub/models"
)

var admin = models.Actor{TokenID: 2, Name: "root", Role: models.RoleAdmin}

func (f *fixture) messageCount(t *testing.T) int64 {
	t.Helper()
	var n int64
	if err := f.st.DB.Model(&models.Message{}).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func (f *fixture) canned(t *testing.T, shortcut, text string) int64 {
	t.Helper()
	v, err := f.svc.CreateCanned(context.Background(), models.CannedInput{Shortcut: shortcut, Text: text}, admin)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := models.ParseID(v.ID)
	return id
}

func TestCannedReplyFillsItsPlaceholders(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.ingest(t, msg("tg", "telegram", "1", "1:1", "my parcel is lost"))
	conv := f.onlyConversation(t)
	convID, _ := models.ParseID(conv.ID)
	hi := f.canned(t, "Hello", "Hi {name}, this is {agent} about ticket {ticket}. {name}? {unknown} stays.")

	m, err := f.svc.Reply(ctx, models.ReplyRequest{ConversationID: convID, CannedID: hi, Actor: agent})
	if err != nil {
		t.Fatal(err)
	}
	want := "Hi Customer 1, this is ana about ticket #" + conv.ID + ". Customer 1? {unknown} stays."
	if m.Text != want || m.Sender.Type != models.SenderAgent || m.Delivery.Status != models.DeliveryQueued {
		t.Fatalf("reply %q (%s, %s), want %q from an agent, queued", m.Text, m.Sender.Type, m.Delivery.Status, want)
	}
	// The customer gets the filled text.
	f.svc.DeliverDue(ctx)
	if got := f.tg.texts(); !slices.Equal(got, []string{want}) {
		t.Fatalf("delivered %q", got)
	}
	// As a private note too.
	note, err := f.svc.Reply(ctx, models.ReplyRequest{ConversationID: convID, CannedID: hi, Private: true, Actor: admin})
	if err != nil || !strings.Contains(note.Text, "this is root about") || !note.Private {
		t.Fatalf("note %+v, %v", note, err)
	}
}

func TestCannedNameFallsBackToTheCustomersLanguage(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	// A WeChat follower without a nickname, who writes Chinese.
	in := msg("wx", "wechat", "oNoName", "m1", "你好")
	in.From.DisplayName = ""
	in.From.Language = "zh_CN"
	f.ingest(t, in)
	conv := f.onlyConversation(t)
	convID, _ := models.ParseID(conv.ID)
	hi := f.canned(t, "hi", "{name}您好，工单 {ticket}")
	m, err := f.svc.Reply(ctx, models.ReplyRequest{ConversationID: convID, CannedID: hi, Actor: agent})
	if err != nil {
		t.Fatal(err)
	}
	if want := "客户您好，工单 #" + conv.ID; m.Text != want {
		t.Fatalf("reply %q, want %q", m.Text, want)
	}
}

// Bad canned replies are refused before anything is stored.
func TestBadCannedRepliesStoreNothing(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.ingest(t, msg("tg", "telegram", "1", "1:1", "hi"))
	convID, _ := models.ParseID(f.onlyConversation(t).ID)
	hi := f.canned(t, "hi", "Hi {name}")
	long := f.canned(t, "long", strings.Repeat("x", 4090)+"{name}")
	before := f.messageCount(t)
	for name, req := range map[string]models.ReplyRequest{
		"text and canned_id": {ConversationID: convID, CannedID: hi, Text: "hello", Actor: agent},
		"unknown canned_id":  {ConversationID: convID, CannedID: 9999, Actor: agent},
		"too long filled":    {ConversationID: convID, CannedID: long, Actor: agent},
	} {
		_, err := f.svc.Reply(ctx, req)
		if models.ErrorCode(err) != models.EINVALID {
			t.Errorf("%s: %v, want invalid", name, err)
		}
	}
	if _, err := f.svc.Reply(ctx, models.ReplyRequest{ConversationID: 9999, CannedID: hi, Actor: agent}); models.ErrorCode(err) != models.ENOTFOUND {
		t.Errorf("unknown conversation: %v, want not_found", err)
	}
	if n := f.messageCount(t); n != before {
		t.Fatalf("%d messages after refused replies, want %d", n, before)
	}
}

func TestCannedWritesValidate(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	v, err := f.svc.CreateCanned(ctx, models.CannedInput{Shortcut: "  Refund.Policy ", Text: "Refunds take 5 days."}, admin)
	if err != nil || v.Shortcut != "refund.policy" || v.CreatedBy != "root" {
		t.Fatalf("created %+v, %v", v, err)
	}
	for _, in := range []models.CannedInput{
		{Shortcut: "", Text: "x"},
		{Shortcut: "   ", Text: "x"},
		{Shortcut: "two words", Text: "x"},
		{Shortcut: strings.Repeat("a", 51), Text: "x"},
		{Shortcut: "ok", Text: "  "},
		{Shortcut: "ok", Text: strings.Repeat("x", 4097)},
	} {
		if _, err := f.svc.CreateCanned(ctx, in, admin); models.ErrorCode(err) != models.EINVALID {
			t.Errorf("create %q/%d chars: %v, want invalid", in.Shortcut, len(in.Text), err)
		}
	}
	// Shortcuts are unique whatever their case.
	if _, err := f.svc.CreateCanned(ctx, models.CannedInput{Shortcut: "REFUND.POLICY", Text: "x"}, admin); models.ErrorCode(err) != models.ECONFLICT {
		t.Fatalf("duplicate in another case: %v, want conflict", err)
	}
	if list, _ := f.svc.ListCanned(ctx, ""); len(list) != 1 {
		t.Fatalf("%d canned responses after refused writes, want 1", len(list))
	}
	// Search ignores case, in shortcuts and texts.
	for _, q := range []string{"REFUND", "5 DAYS", " policy "} {
		if list, _ := f.svc.ListCanned(ctx, q); len(list) != 1 {
			t.Errorf("q=%q found %d", q, len(list))
		}
	}
}

func TestLabelsAreNormalisedAndAnnounced(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.ingest(t, msg("tg", "telegram", "1", "1:1", "hi"))
	conv := f.onlyConversation(t)
	convID, _ := models.ParseID(conv.ID)
	wake := f.svc.EventsNotify()
	v, err := f.svc.UpdateLabels(ctx, convID, []string{" VIP ", "Needs   Callback", "vip", "退款"}, nil, agent)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"needs callback", "vip", "退款"}; !slices.Equal(v.Labels, want) {
		t.Fatalf("labels %q, want %q", v.Labels, want)
	}
	select {
	case <-wake:
	default:
		t.Fatal("a label change did not wake the event streams")
	}
	// The filter is normalised the same way.
	for _, l := range []string{"VIP", " needs callback", "退款"} {
		items, _, err := f.svc.ListConversations(ctx, models.ConversationFilter{Label: l})
		if err != nil || len(items) != 1 {
			t.Errorf("label=%q: %d, %v", l, len(items), err)
		}
	}
	// Bad requests change nothing.
	for name, req := range map[string][2][]string{
		"nothing":           {nil, nil},
		"empty label":       {{"ok", " "}, nil},
		"comma":             {{"a,b"}, nil},
		"too long":          {{strings.Repeat("l", 51)}, nil},
		"control":           {{"a\tb\x01"}, nil},
		"added and removed": {{"new"}, {"NEW"}},
		"too many at once":  {make([]string, 21), nil},
	} {
		if _, err := f.svc.UpdateLabels(ctx, convID, req[0], req[1], agent); models.ErrorCode(err) != models.EINVALID {
			t.Errorf("%s: %v, want invalid", name, err)
		}
	}
	if got, _ := f.svc.GetConversation(ctx, convID); !slices.Equal(got.Labels, v.Labels) {
		t.Fatalf("refused requests changed the labels to %q", got.Labels)
	}
	v, err = f.svc.UpdateLabels(ctx, convID, nil, []string{"VIP"}, agent)
	if err != nil || !slices.Equal(v.Labels, []string{"needs callback", "退款"}) {
		t.Fatalf("remove: %q, %v", v.Labels, err)
	}
}
