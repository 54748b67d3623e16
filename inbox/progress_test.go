package inbox_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tongdao/hub/internal/wait"
	"github.com/tongdao/hub/models"
)

// runReactions runs the service's reactions until the returned stop is
// called (stop waits for them to end: a restart).
func (f *fixture) runReactions(t *testing.T) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	if err := f.svc.InitReactions(ctx); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		f.svc.RunReactions(ctx)
	}()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); wg.Wait() }) }
	t.Cleanup(stop)
	return stop
}

// botTexts are the bot's messages in conversation id containing sub.
func (f *fixture) botTexts(t *testing.T, id int64, sub string) []string {
	t.Helper()
	msgs, _, err := f.svc.ListMessages(context.Background(), id, "", 200)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range msgs {
		if m.Sender.Type == models.SenderBot && strings.Contains(m.Text, sub) {
			out = append(out, m.Text)
		}
	}
	return out
}

// Progress pushes: one per agent change, none for the hub's own changes,
// and exactly one after a restart of the reactions.
func TestProgressPushesOncePerAgentChangeAcrossRestarts(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	stop := f.runReactions(t)
	f.ingest(t, msg("tg", "telegram", "1", "1:1", "my parcel never arrived"))
	id, _ := models.ParseID(f.onlyConversation(t).ID)

	ana := "Ana"
	if _, err := f.svc.Assign(ctx, id, &ana, nil, agent); err != nil {
		t.Fatal(err)
	}
	wait.For(t, "the assignment push", func() bool { return len(f.botTexts(t, id, "Ana is on it")) == 1 })

	// The hub's own change to pending tells the customer nothing; the
	// agent's next pending (after reopening) does. The reaction handles
	// events in order: once the agent's push is there, the hub's change
	// was handled before it.
	if _, err := f.st.UpdateConversation(ctx, id, map[string]any{"status": models.StatusPending}, "Bot"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.SetStatus(ctx, id, models.StatusOpen, agent); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.SetStatus(ctx, id, models.StatusPending, agent); err != nil {
		t.Fatal(err)
	}
	wait.For(t, "the pending push", func() bool { return len(f.botTexts(t, id, "waiting for your answer")) >= 1 })
	if got := f.botTexts(t, id, "waiting for your answer"); len(got) != 1 || got[0] != "Ana is waiting for your answer on ticket #"+models.ID(id)+": just reply here." {
		t.Fatalf("pending pushes: %q, want one (none for the hub's own change)", got)
	}

	// Restart: a change made while the reactions are down is pushed once
	// they are back, and only once whatever restarts follow.
	stop()
	bo := "Bo"
	if _, err := f.svc.Assign(ctx, id, &bo, nil, agent); err != nil {
		t.Fatal(err)
	}
	stop = f.runReactions(t)
	wait.For(t, "the push after the restart", func() bool { return len(f.botTexts(t, id, "Bo is on it")) >= 1 })
	stop()
	// A sentinel change after a second restart: once its push is there,
	// everything before it was handled (again, if it were to repeat).
	if _, err := f.svc.SetStatus(ctx, id, models.StatusOpen, agent); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.SetStatus(ctx, id, models.StatusPending, agent); err != nil {
		t.Fatal(err)
	}
	f.runReactions(t)
	wait.For(t, "the sentinel push", func() bool { return len(f.botTexts(t, id, "Bo is waiting")) == 1 })
	if a, b := f.botTexts(t, id, "Ana is on it"), f.botTexts(t, id, "Bo is on it"); len(a) != 1 || len(b) != 1 {
		t.Fatalf("assignment pushes after restarts: %q %q, want one each", a, b)
	}
	// Cleared: no push. The sentinel after it (pending again, now with
	// nobody assigned) is the only bot message that follows.
	before := len(f.botTexts(t, id, ""))
	none := ""
	if _, err := f.svc.Assign(ctx, id, &none, nil, agent); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.SetStatus(ctx, id, models.StatusOpen, agent); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.SetStatus(ctx, id, models.StatusPending, agent); err != nil {
		t.Fatal(err)
	}
	wait.For(t, "the anonymous pending push", func() bool { return len(f.botTexts(t, id, "Our agent is waiting")) == 1 })
	if after := f.botTexts(t, id, ""); len(after) != before+1 {
		t.Fatalf("after clearing the assignee: %q, want only the pending push", after[before:])
	}
	msgs, _, _ := f.svc.ListMessages(ctx, id, "", 200)
	for _, m := range msgs {
		if m.Sender.Type == models.SenderBot && m.Channel != "telegram" {
			t.Fatalf("a push on %q, want the customer's channel: %+v", m.Channel, m)
		}
	}
}

// A change while no channel can reach the customer (the WeChat reply
// window closed) pushes nothing, and does not hold up the next one.
func TestProgressPushSkippedWhenNoChannelReachesTheCustomer(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.runReactions(t)
	f.ingest(t, msg("wx", "wechat", "oUser", "m1", "我的快递一直没有到"))
	id, _ := models.ParseID(f.onlyConversation(t).ID)
	wait.For(t, "the bot's handoff", func() bool { return len(f.botTexts(t, id, "#")) == 1 })

	f.clock.Advance(49 * time.Hour)
	f.ingest(t, msg("tg", "telegram", "7", "7:1", "hello"))
	convs, _, err := f.svc.ListConversations(ctx, models.ConversationFilter{Status: models.StatusOpen})
	if err != nil || len(convs) != 2 {
		t.Fatalf("conversations: %d %v", len(convs), err)
	}
	var sentinel int64
	for _, c := range convs {
		if c.ID != models.ID(id) {
			sentinel, _ = models.ParseID(c.ID)
		}
	}
	ana, bo := "Ana", "Bo"
	if _, err := f.svc.Assign(ctx, id, &ana, nil, agent); err != nil {
		t.Fatal(err)
	}
	// A sentinel: another customer's assignment, handled after it.
	if _, err := f.svc.Assign(ctx, sentinel, &bo, nil, agent); err != nil {
		t.Fatal(err)
	}
	wait.For(t, "the sentinel push", func() bool { return len(f.botTexts(t, sentinel, "Bo is on it")) == 1 })
	// The customer writes again (the window reopens) and the agent waits
	// for an answer: that push comes, alone.
	f.ingest(t, msg("wx", "wechat", "oUser", "m2", "还在吗"))
	if _, err := f.svc.SetStatus(ctx, id, models.StatusPending, agent); err != nil {
		t.Fatal(err)
	}
	wait.For(t, "the pending push", func() bool { return len(f.botTexts(t, id, "Ana 正在等待您的回复")) == 1 })
	if got := f.botTexts(t, id, "Ana 正在处理"); len(got) != 0 {
		t.Fatalf("pushed while the window was closed: %q", got)
	}
}
