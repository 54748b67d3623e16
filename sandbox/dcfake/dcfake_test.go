package dcfake

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

const tok = "test.token"

func start(t *testing.T, o Options) *Server {
	t.Helper()
	o.BotToken = tok
	s := New(o)
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func call(t *testing.T, s *Server, method, path, auth string, body any) (int, map[string]any, http.Header) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.URL()+"/api/v9"+path, rd)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out, resp.Header
}

func TestRESTAuthAndErrors(t *testing.T) {
	s := start(t, Options{})
	ctx := context.Background()
	if st, _, _ := call(t, s, "GET", "/users/@me", "", nil); st != 401 {
		t.Errorf("no auth: %d", st)
	}
	if st, _, _ := call(t, s, "GET", "/users/@me", "Bot wrong", nil); st != 401 {
		t.Errorf("wrong token: %d", st)
	}
	st, me, _ := call(t, s, "GET", "/users/@me", "Bot "+tok, nil)
	if st != 200 || me["id"] != DefaultBotUserID || me["bot"] != true {
		t.Errorf("me: %d %v", st, me)
	}
	st, gw, _ := call(t, s, "GET", "/gateway", "Bot "+tok, nil)
	if st != 200 || !strings.HasPrefix(gw["url"].(string), "ws://127.0.0.1:") {
		t.Errorf("gateway: %v", gw)
	}

	m, _ := s.SendDM(ctx, User{ID: "42", Username: "u"}, "hi")
	st, out, _ := call(t, s, "POST", "/channels/"+m.ChannelID+"/messages", "Bot "+tok, map[string]any{"content": strings.Repeat("x", 2001)})
	if st != 400 || out["code"] != float64(50035) {
		t.Errorf("2001 chars: %d %v", st, out)
	}
	st, _, _ = call(t, s, "POST", "/channels/"+m.ChannelID+"/messages", "Bot "+tok, map[string]any{"content": strings.Repeat("é", 2000)})
	if st != 200 {
		t.Errorf("2000 chars: %d", st)
	}
	s.CloseDMs("42")
	st, out, _ = call(t, s, "POST", "/channels/"+m.ChannelID+"/messages", "Bot "+tok, map[string]any{"content": "x"})
	if st != 403 || out["code"] != float64(50007) || out["message"] != "Cannot send messages to this user" {
		t.Errorf("closed DMs: %d %v", st, out)
	}
	st, out, _ = call(t, s, "POST", "/users/@me/channels", "Bot "+tok, map[string]any{"recipient_id": "42"})
	if st != 400 || out["code"] != float64(50007) {
		t.Errorf("open DM, closed DMs: %d %v", st, out)
	}
	st, out, _ = call(t, s, "POST", "/channels/1/messages", "Bot "+tok, map[string]any{"content": "x"})
	if st != 404 || out["code"] != float64(10003) {
		t.Errorf("unknown channel: %d %v", st, out)
	}

	s.FailNext(Failure{Path: "/gateway", Status: 429, RetryAfter: 1500 * time.Millisecond, Global: true})
	st, out, h := call(t, s, "GET", "/gateway", "Bot "+tok, nil)
	if st != 429 || out["retry_after"] != 1.5 || h.Get("Retry-After") != "2" || h.Get("X-RateLimit-Reset-After") != "1.500" || h.Get("X-RateLimit-Global") != "true" {
		t.Errorf("429: %d %v %v", st, out, h)
	}
}

func TestComponentsThreadsAndNonce(t *testing.T) {
	s := start(t, Options{})
	ctx := context.Background()
	u := User{ID: "7", Username: "seven"}
	post, _ := s.PostInChannel(ctx, "", u, "help")
	path := "/channels/" + DefaultSupportChannelID + "/messages/" + post.ID + "/threads"
	st, th, _ := call(t, s, "POST", path, "Bot "+tok, map[string]any{"name": "Support: seven", "auto_archive_duration": 1440})
	if st != 201 || th["id"] != post.ID || th["parent_id"] != DefaultSupportChannelID || th["type"] != float64(11) {
		t.Fatalf("thread: %d %v", st, th)
	}
	if st, out, _ := call(t, s, "POST", path, "Bot "+tok, map[string]any{"name": "again"}); st != 400 || out["code"] != float64(160004) {
		t.Errorf("second thread: %d %v", st, out)
	}
	row := func(ids ...string) map[string]any {
		var bs []any
		for _, id := range ids {
			bs = append(bs, map[string]any{"type": 2, "style": 1, "label": id, "custom_id": id})
		}
		return map[string]any{"type": 1, "components": bs}
	}
	body := map[string]any{"content": "pick", "components": []any{row("a", "b")}, "nonce": "n1", "enforce_nonce": true}
	st, m1, _ := call(t, s, "POST", "/channels/"+post.ID+"/messages", "Bot "+tok, body)
	_, m2, _ := call(t, s, "POST", "/channels/"+post.ID+"/messages", "Bot "+tok, body)
	if st != 200 || m1["id"] != m2["id"] {
		t.Errorf("enforce_nonce: %v vs %v", m1["id"], m2["id"])
	}
	if st, out, _ := call(t, s, "POST", "/channels/"+post.ID+"/messages", "Bot "+tok, map[string]any{"components": []any{row("a", "b", "c", "d", "e", "f")}}); st != 400 || out["code"] != float64(50035) {
		t.Errorf("6 buttons in a row: %d %v", st, out)
	}
	sent := s.Sent("7")
	if len(sent) != 1 || len(sent[0].Buttons) != 2 {
		t.Fatalf("sent: %+v", sent)
	}
	if _, err := s.Click(ctx, "7", sent[0].ID, "zzz"); err == nil {
		t.Error("click on a missing button accepted")
	}
}

func TestInteractionDeadline(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s := start(t, Options{Now: clock})
	ctx := context.Background()
	dm, _ := s.SendDM(ctx, User{ID: "9"}, "hi")
	_, msg, _ := call(t, s, "POST", "/channels/"+dm.ChannelID+"/messages", "Bot "+tok, map[string]any{
		"content": "rate us", "components": []any{map[string]any{"type": 1, "components": []any{map[string]any{"type": 2, "style": 1, "label": "ok", "custom_id": "ok"}}}},
	})
	ix1, err := s.Click(ctx, "9", msg["id"].(string), "ok")
	if err != nil {
		t.Fatal(err)
	}
	ix2, _ := s.Click(ctx, "9", msg["id"].(string), "ok")
	s.mu.Lock()
	tok1, tok2 := s.interactions[ix1.ID].token, s.interactions[ix2.ID].token
	s.mu.Unlock()
	if st, _, _ := call(t, s, "POST", "/interactions/"+ix1.ID+"/"+tok1+"/callback", "", map[string]any{"type": 6}); st != 204 {
		t.Errorf("in time: %d", st)
	}
	if st, out, _ := call(t, s, "POST", "/interactions/"+ix1.ID+"/"+tok1+"/callback", "", map[string]any{"type": 6}); st != 400 || out["code"] != float64(40060) {
		t.Errorf("twice: %d %v", st, out)
	}
	mu.Lock()
	now = now.Add(3100 * time.Millisecond)
	mu.Unlock()
	if st, out, _ := call(t, s, "POST", "/interactions/"+ix2.ID+"/"+tok2+"/callback", "", map[string]any{"type": 6}); st != 404 || out["code"] != float64(10062) {
		t.Errorf("late: %d %v", st, out)
	}
	got := s.Interactions()
	if !got[0].Answered || got[0].Late || got[1].Answered || !got[1].Late {
		t.Errorf("records: %+v", got)
	}
}

func TestCustomerAPI(t *testing.T) {
	s := start(t, Options{})
	h := http.StripPrefix("/sandbox/discord", s.CustomerAPI())
	do := func(method, path, body string) (int, map[string]any) {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var out map[string]any
		_ = json.Unmarshal(rec.Body.Bytes(), &out)
		return rec.Code, out
	}
	st, m := do("POST", "/sandbox/discord/dm", `{"user_id":"5","username":"five","text":"hello"}`)
	if st != 200 || m["content"] != "hello" || m["author_id"] != "5" {
		t.Fatalf("dm: %d %v", st, m)
	}
	st, m = do("POST", "/sandbox/discord/channel", `{"user_id":"5","text":"in support"}`)
	if st != 200 || m["channel_id"] != DefaultSupportChannelID {
		t.Errorf("channel: %d %v", st, m)
	}
	if st, _ := do("POST", "/sandbox/discord/channel", `{"channel_id":"1","user_id":"5","text":"x"}`); st != 404 {
		t.Errorf("unknown channel: %d", st)
	}
	if st, _ := do("POST", "/sandbox/discord/dm", `{"text":"x"}`); st != 400 {
		t.Errorf("no user: %d", st)
	}
	if st, _ := do("POST", "/sandbox/discord/click", `{"user_id":"5","message_id":"1","custom_id":"x"}`); st != 404 {
		t.Errorf("click unknown: %d", st)
	}
	if st, m := do("GET", "/sandbox/discord/sent?user_id=5", ""); st != 200 || len(m["messages"].([]any)) != 0 {
		t.Errorf("sent: %d %v", st, m)
	}
	if st, _ := do("POST", "/sandbox/discord/close-dms", `{"user_id":"5"}`); st != 200 || !dmsClosed(s, "5") {
		t.Errorf("close-dms: %d", st)
	}
	if st, _ := do("GET", "/sandbox/discord/nope", ""); st != 404 {
		t.Errorf("unknown route: %d", st)
	}
}

func dmsClosed(s *Server, id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closedDMs[id]
}
