package telegram

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tongdao/hub/connectors"
	"github.com/tongdao/hub/internal/wait"
	"github.com/tongdao/hub/models"
)

// runDirect runs the connector (webhook mode, no public URL) against the
// stand-in and returns it once Run has its sink.
func runDirect(t *testing.T, s connectors.Sink) *Connector {
	fake := newFake(t)
	conn := newConnector(t, map[string]any{"token": testToken, "webhook_secret": testSecret, "api_url": fake.URL()}, connectors.Deps{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- conn.Run(ctx, s) }()
	t.Cleanup(func() { cancel(); <-done })
	wait.For(t, "Run to have its sink", func() bool { return conn.run.Load() != nil })
	return conn
}

func updateJSON(id int) string {
	return `{"update_id":` + strconv.Itoa(id) + `,"message":{"message_id":` + strconv.Itoa(id) +
		`,"from":{"id":1001,"is_bot":false,"first_name":"Ana"},"chat":{"id":1001,"type":"private"},"date":1767225600,"text":"hi"}}`
}

func TestWebhookIngestsConcurrently(t *testing.T) {
	const n = 20
	var wg sync.WaitGroup
	wg.Add(n)
	all := make(chan struct{})
	go func() { wg.Wait(); close(all) }()
	// Every Ingest waits until all n are inside: this only finishes when the
	// handler does not serialize requests.
	s := connectors.SinkFunc(func(ctx context.Context, in models.Inbound) (models.IngestResult, error) {
		wg.Done()
		select {
		case <-all:
			return models.IngestResult{}, nil
		case <-time.After(wait.Timeout):
			return models.IngestResult{}, context.DeadlineExceeded
		}
	})
	conn := runDirect(t, s)
	codes := make(chan int, n)
	for i := range n {
		go func() {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest("POST", "/webhooks/tg-main", strings.NewReader(updateJSON(i+1)))
			req.Header.Set(SecretHeader, testSecret)
			conn.ServeHTTP(rec, req)
			codes <- rec.Code
		}()
	}
	for range n {
		if code := <-codes; code != http.StatusOK {
			t.Fatalf("status %d", code)
		}
	}
}

// BenchmarkWebhook measures the webhook path (decode, normalize, ingest
// into a no-op sink) without the network.
func BenchmarkWebhook(b *testing.B) {
	conn, err := New(connectors.Config{Name: "tg-main", Decode: decoder(map[string]any{"token": testToken, "webhook_secret": testSecret})})
	if err != nil {
		b.Fatal(err)
	}
	c := conn.(*Connector)
	c.run.Store(&runState{ctx: context.Background(), sink: connectors.SinkFunc(func(context.Context, models.Inbound) (models.IngestResult, error) {
		return models.IngestResult{}, nil
	})})
	body := updateJSON(1)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest("POST", "/webhooks/tg-main", strings.NewReader(body))
			req.Header.Set(SecretHeader, testSecret)
			c.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatal(rec.Code)
			}
		}
	})
}
