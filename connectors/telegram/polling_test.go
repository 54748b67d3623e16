package telegram

import (
	"context"
	"testing"
	"time"

	"github.com/tongdao/hub/connectors"
	"github.com/tongdao/hub/sandbox/tgfake"
)

func startPolling(t *testing.T, fake *tgfake.Server, s *sink) *Connector {
	t.Helper()
	conn := newConnector(t, map[string]any{"token": testToken, "mode": "polling", "api_url": fake.URL()}, connectors.Deps{})
	conn.pollTimeout = time.Second
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- conn.Run(ctx, s) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Run did not return promptly after cancel (long poll not cancelled?)")
		}
	})
	return conn
}

func TestPollingIngests(t *testing.T) {
	fake := newFake(t)
	ctx := context.Background()
	// A message sent while the hub was down waits for getUpdates.
	if _, err := fake.SendText(ctx, ana, "sent before the hub started"); err != nil {
		t.Fatal(err)
	}
	s := newSink()
	startPolling(t, fake, s)
	for _, text := range []string{"one", "two", "three"} {
		if _, err := fake.SendText(ctx, ana, text); err != nil {
			t.Fatal(err)
		}
	}
	got := s.waitFor(t, "4 messages", func(got []inbound, _ int) bool { return len(got) == 4 })
	for i, want := range []string{"sent before the hub started", "one", "two", "three"} {
		if got[i].Text != want || got[i].ExternalID != "1001:"+string(rune('1'+i)) {
			t.Errorf("message %d = %q %q, want %q in order", i, got[i].ExternalID, got[i].Text, want)
		}
	}
	if fake.Calls("deleteWebhook") != 1 {
		t.Errorf("deleteWebhook calls = %d, want 1", fake.Calls("deleteWebhook"))
	}
	// Confirmed updates are dropped by the next getUpdates offset.
	waitUntil(t, "updates confirmed", func() bool { return fake.Webhook().PendingUpdateCount == 0 })
}

func TestPollingDoesNotSkipFailedIngest(t *testing.T) {
	fake := newFake(t)
	s := newSink()
	s.failNext(3)
	startPolling(t, fake, s)
	ctx := context.Background()
	if _, err := fake.SendText(ctx, ana, "first"); err != nil {
		t.Fatal(err)
	}
	if _, err := fake.SendText(ctx, ana, "second"); err != nil {
		t.Fatal(err)
	}
	got := s.waitFor(t, "both messages", func(got []inbound, _ int) bool { return len(got) == 2 })
	if got[0].Text != "first" || got[1].Text != "second" {
		t.Fatalf("got %q then %q; want first, second", got[0].Text, got[1].Text)
	}
	// The failed update was fetched again (3 failures + 2 successes), never
	// confirmed past.
	if _, calls := s.snapshot(); calls != 5 {
		t.Errorf("sink calls = %d, want 5", calls)
	}
}

func TestPollingClickAnswered(t *testing.T) {
	fake := newFake(t)
	s := newSink()
	conn := startPolling(t, fake, s)
	ctx := context.Background()
	if _, err := fake.SendText(ctx, ana, "hi"); err != nil {
		t.Fatal(err)
	}
	s.waitFor(t, "hi", func(got []inbound, _ int) bool { return len(got) == 1 })
	if _, err := conn.Send(ctx, outbound("1001", "Pick", "a", "b")); err != nil {
		t.Fatal(err)
	}
	up, err := fake.Click(ctx, ana, fake.Sent(1001)[0].MessageID, "b")
	if err != nil {
		t.Fatal(err)
	}
	got := s.waitFor(t, "click", func(got []inbound, _ int) bool { return len(got) == 2 })
	if got[1].Action != "b" {
		t.Errorf("action = %q", got[1].Action)
	}
	waitUntil(t, "answer", func() bool { return fake.CallbackAnswered(up.CallbackQuery.ID) })
}
