package wechat

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/tongdao/hub/connectors"
	"github.com/tongdao/hub/connectors/media"
	"github.com/tongdao/hub/internal/wait"
	"github.com/tongdao/hub/models"
)

// fakeClock is a settable clock shared by the connector and the stand-in.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// strictDecoder decodes YAML settings with unknown keys as errors, as the
// hub's loader does.
func strictDecoder(doc string) func(v any) error {
	return func(v any) error {
		dec := yaml.NewDecoder(strings.NewReader(doc))
		dec.KnownFields(true)
		if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		return nil
	}
}

// settingsDecoder returns a Decode that copies s.
func settingsDecoder(s Settings) func(v any) error {
	return func(v any) error {
		*(v.(*Settings)) = s
		return nil
	}
}

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(discard{}, &slog.HandlerOptions{Level: slog.LevelError + 1}))
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// newTestConnector builds a connector from s.
func newTestConnector(t *testing.T, name string, s Settings, clock *fakeClock, kv connectors.KV) *Connector {
	t.Helper()
	cn, err := New(connectors.Config{Name: name, Decode: settingsDecoder(s),
		Deps: connectors.Deps{Logger: quietLogger(), Now: clock.Now, KV: kv,
			// The tests' files are served on loopback.
			Media: media.New(media.Policy{AllowPrivate: true})}})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	c := cn.(*Connector)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// recSink records ingests and dedupes on ExternalID like the inbox.
type recSink struct {
	mu    sync.Mutex
	seen  map[string]bool
	ins   []models.Inbound
	calls int
	// reply is the bot's inline reply for InlineReply inbounds.
	reply string
	// stall, when set, holds the first call up (a slow commit): it sends on
	// stalled, then waits until stall is closed.
	stall, stalled chan struct{}
	err            error
}

func newSink() *recSink { return &recSink{seen: map[string]bool{}} }

func (s *recSink) Ingest(ctx context.Context, in models.Inbound) (models.IngestResult, error) {
	s.mu.Lock()
	s.calls++
	first := s.calls == 1
	stall, stalled, err := s.stall, s.stalled, s.err
	s.mu.Unlock()
	if first && stall != nil {
		stalled <- struct{}{}
		<-stall
	}
	if err != nil {
		return models.IngestResult{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	dup := s.seen[in.ExternalID]
	s.seen[in.ExternalID] = true
	if !dup {
		s.ins = append(s.ins, in)
	}
	res := models.IngestResult{MessageID: in.ExternalID, Duplicate: dup}
	if in.InlineReply {
		res.InlineReply = s.reply
	}
	return res, nil
}

func (s *recSink) inbounds() []models.Inbound {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]models.Inbound(nil), s.ins...)
}

func (s *recSink) callCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// runConnector starts c.Run with sink and waits until the webhook accepts.
func runConnector(t *testing.T, c *Connector, sink connectors.Sink) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, sink) }()
	t.Cleanup(func() {
		cancel()
		wait.Recv(t, "Run to return after cancel", done)
	})
	wait.For(t, "Run to install the sink", func() bool { return c.currentSink() != nil })
}
