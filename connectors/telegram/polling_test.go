package telegram

import (
	"context"
	"testing"
	"time"

	"github.com/tongdao/hub/connectors"
	"github.com/tongdao/hub/internal/wait"
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
		// A long poll that ignored the cancel would end after pollTimeout
		// anyway; TestPollingCancelsLongPoll checks the cancel itself.
		if err := wait.Recv(t, "Run to return after cancel", done); err != nil {
			t.Errorf("Run: %v", err)
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
	wait.For(t, "updates confirmed", func() bool { return fake.Webhook().PendingUpdateCount == 0 })
}

// TestPollingCancelsLongPoll: cancelling Run ends a long poll that the
// platform would hold for an hour.
func TestPollingCancelsLongPoll(t *testing.T) {
	fake := newFake(t)
	conn := newConnector(t, map[string]any{"token": testToken, "mode": "polling", "api_url": fake.URL()}, connectors.Deps{})
	conn.pollTimeout = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- conn.Run(ctx, newSink()) }()
	wait.For(t, "a long poll", func() bool { return fake.Calls("getUpdates") >= 1 })
	cancel()
	if err := wait.Recv(t, "Run to return after cancel (the long poll not cancelled?)", done); err != nil {
		t.Errorf("Run: %v", err)
	}
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
	wait.For(t, "answer", func() bool { return fake.CallbackAnswered(up.CallbackQuery.ID) })
}
