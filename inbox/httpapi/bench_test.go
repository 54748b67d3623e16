package httpapi

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// BenchmarkWebhook measures the HTTP layer's cost in front of a connector's
// webhook handler (the hot path), with logging at info (request lines off).
func BenchmarkWebhook(b *testing.B) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusOK)
	})
	srv, err := New(Options{
		Inbox:    newFakeInbox(),
		Logger:   slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo})),
		Registry: prometheus.NewRegistry(),
		Webhooks: func(name string) (http.Handler, bool) { return ok, name == "tg-main" },
	})
	if err != nil {
		b.Fatal(err)
	}
	body := `{"update_id":1,"message":{"message_id":5,"chat":{"id":1,"type":"private"},"text":"hi"}}`
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		rec := httptest.NewRecorder()
		for pb.Next() {
			req := httptest.NewRequest(http.MethodPost, "/webhooks/tg-main", strings.NewReader(body))
			srv.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("status %d", rec.Code)
			}
		}
	})
}
