package telegram

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/tongdao/hub/connectors"
	"github.com/tongdao/hub/internal/wait"
	"github.com/tongdao/hub/models"
)

const (
	testToken  = "7000001:AAH-test_token_0123456789abcdef"
	testSecret = "s3cret-Token_for-tests"
)

var testNow = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// decoder returns a strict YAML decoder for settings, as the hub's loader.
func decoder(settings map[string]any) func(v any) error {
	return func(v any) error {
		data, err := yaml.Marshal(settings)
		if err != nil {
			return err
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		return nil
	}
}

func newConnector(t *testing.T, settings map[string]any, deps connectors.Deps) *Connector {
	t.Helper()
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if deps.Now == nil {
		deps.Now = func() time.Time { return testNow }
	}
	conn, err := New(connectors.Config{Name: "tg-main", Decode: decoder(settings), Deps: deps})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	c := conn.(*Connector)
	// Scale waits down a thousandfold: backoffs stay ordered but fast.
	c.sleep = func(ctx context.Context, d time.Duration) error { return sleepCtx(ctx, d/1000) }
	return c
}

// sink is a test Sink: it records every Inbound, deduplicates on
// ExternalID as the inbox does, and can fail the next n ingests.
type sink struct {
	mu    sync.Mutex
	got   []models.Inbound
	calls int
	seen  map[string]bool
	failN int
}

func newSink() *sink { return &sink{seen: map[string]bool{}} }

func (s *sink) Ingest(_ context.Context, in models.Inbound) (models.IngestResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.failN > 0 {
		s.failN--
		return models.IngestResult{}, errors.New("database is locked")
	}
	if s.seen[in.ExternalID] {
		return models.IngestResult{Duplicate: true}, nil
	}
	s.seen[in.ExternalID] = true
	s.got = append(s.got, in)
	return models.IngestResult{MessageID: "m1"}, nil
}

func (s *sink) failNext(n int) {
	s.mu.Lock()
	s.failN = n
	s.mu.Unlock()
}

func (s *sink) snapshot() ([]models.Inbound, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]models.Inbound(nil), s.got...), s.calls
}

// waitFor waits until cond holds on the sink's state.
func (s *sink) waitFor(t *testing.T, what string, cond func(got []models.Inbound, calls int) bool) []models.Inbound {
	t.Helper()
	var got []models.Inbound
	wait.For(t, what, func() bool {
		var calls int
		got, calls = s.snapshot()
		return cond(got, calls)
	})
	return got
}

type inbound = models.Inbound

func outbound(to, text string, buttonIDs ...string) models.Outbound {
	out := models.Outbound{To: to, Text: text}
	for _, id := range buttonIDs {
		out.Buttons = append(out.Buttons, models.Button{ID: id, Label: "Option " + id})
	}
	return out
}

// hangUpURL is the base URL of a loopback server that closes every
// connection it accepts: calls to it fail with a transport error. It stays
// bound until the test ends, so no other process can answer in its place
// (as one could on the port of a server closed early).
func hangUpURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return "http://" + l.Addr().String()
}
