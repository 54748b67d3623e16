package telegram

import (
	"context"
	"testing"
	"time"

	"github.com/tongdao/hub/connectors"
	"github.com/tongdao/hub/internal/testclock"
	"github.com/tongdao/hub/internal/wait"
	"github.com/tongdao/hub/models"
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

// TestPollingProgressAndStuckPoller: a polling bot reports progress on each
// getUpdates handled; one stuck on an update it cannot commit stops making
// progress and, past the type's threshold, is reported stale (and the hub
// not ready), while a healthy one stays fresh.
func TestPollingProgressAndStuckPoller(t *testing.T) {
	fake := newFake(t)
	clock := testclock.New(testNow)
	s := newSink()
	conn := newConnector(t, map[string]any{"token": testToken, "mode": "polling", "api_url": fake.URL()},
		connectors.Deps{Now: clock.Now})
	conn.pollTimeout = time.Second
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- conn.Run(ctx, s) }()
	t.Cleanup(func() { cancel(); <-done })

	states := func() models.ConnectorState {
		st := []models.ConnectorState{{Name: conn.Name(), Type: "telegram", State: "running"}}
		connectors.AddProgress(st, func(string) (connectors.Connector, bool) { return conn, true },
			clock.Now(), connectors.DefaultStaleAfter)
		return st[0]
	}
	// Healthy: after the clock moves on, a later poll brings progress along.
	clock.Advance(5 * time.Minute)
	wait.For(t, "progress after the clock moved", func() bool {
		last, ok := conn.Progress()
		return ok && !last.Before(clock.Now())
	})
	if st := states(); st.Stale || st.LastProgress == nil {
		t.Fatalf("healthy poller: %+v", st)
	}
	// Stuck: every ingest fails, so the poller retries the same update.
	s.failNext(1 << 30)
	if _, err := fake.SendText(context.Background(), ana, "never committed"); err != nil {
		t.Fatal(err)
	}
	wait.For(t, "the failing ingest", func() bool { _, calls := s.snapshot(); return calls >= 2 })
	stuckAt := clock.Now()
	clock.Advance(time.Minute)
	if st := states(); st.Stale {
		t.Fatalf("stale after a minute: %+v", st)
	}
	clock.Advance(2 * time.Minute)
	_, calls := s.snapshot()
	wait.For(t, "more failing retries", func() bool { _, n := s.snapshot(); return n > calls+1 })
	st := states()
	if !st.Stale || st.LastProgress == nil || st.LastProgress.After(stuckAt) {
		t.Fatalf("stuck poller: %+v, want stale with progress at most %v", st, stuckAt)
	}
}

func TestWebhookModeReportsNoProgress(t *testing.T) {
	conn := newConnector(t, map[string]any{"token": testToken, "webhook_secret": testSecret}, connectors.Deps{})
	if _, ok := conn.Progress(); ok {
		t.Fatal("a webhook bot cannot tell its progress")
	}
}
