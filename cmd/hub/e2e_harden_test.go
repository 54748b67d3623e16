package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tongdao/hub/connectors/media"
)

// TestE2EAttachmentToPrivateAddressFailsAtOnce: on a hub without
// media.allow_private_fetch an agent's image URL on the hub's own network
// (a loopback port here) is never fetched; the reply fails on its first
// attempt with the plain reason, and the agent's next reply to the same
// chat goes out at once instead of waiting behind retries.
func TestE2EAttachmentToPrivateAddressFailsAtOnce(t *testing.T) {
	e := startWeChatE2E(t, wxMode{appID: "wxe2e0attachment00"})
	ctx := context.Background()
	const openid = "oE2EAttach0000000000000001"
	if _, err := e.fake.Follow(ctx, e.mode.appID, openid, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := e.fake.SendText(ctx, e.mode.appID, openid, "send me the photo"); err != nil {
		t.Fatal(err)
	}
	convID := e.api.waitConversationOf("wechat", openid)
	var hits atomic.Int32
	files := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "image/png")
		_, _ = w.Write([]byte("\x89PNG"))
	}))
	defer files.Close()

	failed := e.api.reply(convID, map[string]any{"text": "here",
		"attachments": []map[string]any{{"type": "image", "url": files.URL + "/admin/secret.png"}}})
	if failed.Delivery.Status != "failed" || failed.Delivery.Attempts != 1 || failed.Delivery.Error == nil ||
		!strings.Contains(*failed.Delivery.Error, media.ReasonPrivate) {
		t.Fatalf("reply with a private image: %+v", failed.Delivery)
	}
	if msg := *failed.Delivery.Error; strings.Contains(msg, "127.0.0.1") || strings.Contains(msg, "dial") {
		t.Fatalf("the reason leaks the network: %q", msg)
	}
	next := e.api.reply(convID, map[string]any{"text": "sorry, as text then"})
	if next.Delivery.Status != "sent" || next.Delivery.Attempts != 1 {
		t.Fatalf("the next reply: %+v", next.Delivery)
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the loopback file server was reached %d times", n)
	}
	for _, text := range e.kefu(openid) {
		if text == "here" {
			t.Fatal("the text of the refused reply went out alone")
		}
	}
}

// TestE2EReadinessAndMonitoring: /readyz fails when the SQLite file is
// deleted under the running hub; with monitoring.token, /metrics needs the
// token and /readyz shows its detail only with it; /healthz stays open.
func TestE2EReadinessAndMonitoring(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "hub.db")
	const token = "e2e-monitoring-token-0123"
	l := listenLocal(t)
	cfg := writeConfig(t, dir, fmt.Sprintf(`
server: { listen: %q }
database: { driver: sqlite, dsn: %q }
monitoring: { token: %q }
`, l.Addr().String(), db, token))
	m := startHub(t, l, cfg)
	get := func(path, tok string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, m.URL()+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, string(b)
	}
	if code, body := get("/readyz", token); code != 200 || !strings.Contains(body, `"database":{"status":"ok"}`) {
		t.Fatalf("readyz: %d %s", code, body)
	}
	if code, body := get("/readyz", ""); code != 200 || strings.TrimSpace(body) != `{"status":"ok"}` {
		t.Fatalf("readyz without the token: %d %s", code, body)
	}
	if code, _ := get("/metrics", ""); code != http.StatusUnauthorized {
		t.Fatalf("metrics without the token: %d", code)
	}
	if code, body := get("/metrics", token); code != 200 || !strings.Contains(body, "tongdao_") {
		t.Fatalf("metrics with the token: %d", code)
	}
	if code, _ := get("/healthz", ""); code != 200 {
		t.Fatalf("healthz: %d", code)
	}

	for _, f := range []string{db, db + "-wal", db + "-shm"} {
		if err := os.Remove(f); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	code, body := get("/readyz", token)
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "removed or replaced") {
		t.Fatalf("readyz with the database file deleted: %d %s", code, body)
	}
	if code, body := get("/readyz", ""); code != http.StatusServiceUnavailable || strings.TrimSpace(body) != `{"status":"unavailable"}` {
		t.Fatalf("readyz without the token, file deleted: %d %s", code, body)
	}
}
