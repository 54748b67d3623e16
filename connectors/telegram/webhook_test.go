package telegram

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tongdao/hub/connectors"
	"github.com/tongdao/hub/internal/wait"
	"github.com/tongdao/hub/models"
	"github.com/tongdao/hub/sandbox/tgfake"
)

var ana = tgfake.User{ID: 1001, FirstName: "Ana", LastName: "Li", Username: "ana", LanguageCode: "en"}

func newFake(t *testing.T) *tgfake.Server {
	t.Helper()
	fake := tgfake.New(tgfake.Options{
		Token: testToken, BotUsername: "TongdaoBot",
		Now:        func() time.Time { return testNow },
		RetryDelay: func(int) time.Duration { return 5 * time.Millisecond },
	})
	ctx, cancel := context.WithCancel(context.Background())
	if err := fake.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); fake.Close() })
	return fake
}

type hubEnv struct {
	fake *tgfake.Server
	conn *Connector
	sink *sink
	hub  *httptest.Server
	done chan error
	stop context.CancelFunc
}

// startWebhook runs the connector in webhook mode behind a loopback HTTP
// server that mounts it at /webhooks/tg-main, as the hub does.
func startWebhook(t *testing.T) *hubEnv {
	t.Helper()
	env := &hubEnv{fake: newFake(t), sink: newSink(), done: make(chan error, 1)}
	var handler atomic.Pointer[Connector]
	mux := http.NewServeMux()
	mux.HandleFunc("/webhooks/tg-main", func(w http.ResponseWriter, r *http.Request) { handler.Load().ServeHTTP(w, r) })
	env.hub = httptest.NewServer(mux)
	t.Cleanup(env.hub.Close)
	env.conn = newConnector(t, map[string]any{
		"token": testToken, "webhook_secret": testSecret, "api_url": env.fake.URL(),
	}, connectors.Deps{PublicURL: env.hub.URL + "/"})
	handler.Store(env.conn)

	ctx, cancel := context.WithCancel(context.Background())
	env.stop = cancel
	go func() { env.done <- env.conn.Run(ctx, env.sink) }()
	t.Cleanup(func() {
		cancel()
		if err := wait.Recv(t, "Run to return after cancel", env.done); err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	wait.For(t, "the webhook to be registered", func() bool { return env.fake.Webhook().URL != "" })
	return env
}

func TestWebhookRegistersAndIngests(t *testing.T) {
	env := startWebhook(t)
	ctx := context.Background()
	if got := env.fake.Webhook(); got.URL != env.hub.URL+"/webhooks/tg-main" ||
		strings.Join(got.AllowedUpdates, ",") != "message,edited_message,callback_query" {
		t.Fatalf("webhook = %+v", got)
	}
	if env.conn.BotUsername() != "TongdaoBot" {
		t.Errorf("BotUsername = %q, want learned from getMe", env.conn.BotUsername())
	}
	if got, want := env.conn.DeepLink("ord-42"), "https://t.me/TongdaoBot?start=ord-42"; got != want {
		t.Errorf("DeepLink = %q, want %q", got, want)
	}

	up, err := env.fake.SendText(ctx, ana, "/start ord-42")
	if err != nil {
		t.Fatalf("SendText: %v", err) // returns only after our 200
	}
	got, _ := env.sink.snapshot()
	want := models.Inbound{
		Connector: "tg-main", Channel: "telegram", Kind: "message",
		ExternalID: "1001:1", ReplyTo: "1001", Text: "/start ord-42", Command: "start", Payload: "ord-42",
		From:   models.Sender{ExternalID: "1001", DisplayName: "Ana Li", Username: "ana", Language: "en"},
		SentAt: testNow,
	}
	if len(got) != 1 || !equalInbound(got[0], want) {
		t.Fatalf("ingested %+v\nwant %+v", got, want)
	}

	// A platform retry of the same update_id: same ExternalID, deduplicated
	// by the inbox, acknowledged without trouble.
	if err := env.fake.Resend(ctx, up); err != nil {
		t.Fatalf("Resend: %v", err)
	}
	got, calls := env.sink.snapshot()
	if len(got) != 1 || calls != 2 {
		t.Fatalf("after Resend: %d stored, %d calls; want 1 and 2", len(got), calls)
	}

	edit, err := env.fake.EditText(ctx, ana, 1, "/start ord-43")
	if err != nil {
		t.Fatal(err)
	}
	got, _ = env.sink.snapshot()
	if e := got[len(got)-1]; e.Kind != "edit" || e.EditOf != "1001:1" || e.ExternalID != "1001:1:e"+strconv.FormatInt(edit.EditedMessage.EditDate, 10) {
		t.Errorf("edit = %+v", e)
	}
}

func equalInbound(a, b models.Inbound) bool {
	return a.Connector == b.Connector && a.Channel == b.Channel && a.Kind == b.Kind && a.ExternalID == b.ExternalID &&
		a.ReplyTo == b.ReplyTo && a.Text == b.Text && a.Command == b.Command && a.Payload == b.Payload &&
		a.Action == b.Action && a.From == b.From && a.SentAt.Equal(b.SentAt)
}

func TestWebhookClickIsAnsweredOnce(t *testing.T) {
	env := startWebhook(t)
	ctx := context.Background()
	if _, err := env.fake.SendText(ctx, ana, "hi"); err != nil {
		t.Fatal(err)
	}
	res, err := env.conn.Send(ctx, models.Outbound{To: "1001", Text: "Was this helpful?",
		Buttons: []models.Button{{ID: "csat:yes", Label: "Yes"}, {ID: "csat:no", Label: "No"}}})
	if err != nil {
		t.Fatal(err)
	}
	sent := env.fake.Sent(1001)
	if len(sent) != 1 || len(sent[0].Buttons) != 2 || sent[0].Buttons[1][0] != (tgfake.Button{Text: "No", Data: "csat:no"}) {
		t.Fatalf("sent = %+v", sent)
	}
	if res.ExternalID != "1001:"+strconv.Itoa(sent[0].MessageID) {
		t.Errorf("ExternalID = %q", res.ExternalID)
	}
	up, err := env.fake.Click(ctx, ana, sent[0].MessageID, "csat:no")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := env.sink.snapshot()
	last := got[len(got)-1]
	if last.Kind != "action" || last.Action != "csat:no" || last.Text != "No" || last.ExternalID != "cb:"+up.CallbackQuery.ID || last.ReplyTo != "1001" {
		t.Fatalf("click = %+v", last)
	}
	wait.For(t, "callback answered", func() bool { return env.fake.CallbackAnswered(up.CallbackQuery.ID) })
	if err := env.fake.Resend(ctx, up); err != nil {
		t.Fatal(err)
	}
	// A second answer would be started in the background while the re-sent
	// update was handled: a later click, answered, is the sentinel that
	// lets it show before the count.
	later, err := env.fake.Click(ctx, ana, sent[0].MessageID, "csat:yes")
	if err != nil {
		t.Fatal(err)
	}
	wait.For(t, "the later click answered", func() bool { return env.fake.CallbackAnswered(later.CallbackQuery.ID) })
	if n := env.fake.Calls("answerCallbackQuery"); n != 2 {
		t.Errorf("answerCallbackQuery called %d times for two clicks and a re-sent one, want 2", n)
	}
}

func TestWebhookRejects(t *testing.T) {
	env := startWebhook(t)
	url := env.hub.URL + "/webhooks/tg-main"
	valid := `{"update_id":5,"message":{"message_id":1,"from":{"id":1001,"is_bot":false,"first_name":"Ana"},"chat":{"id":1001,"type":"private"},"date":1767225600,"text":"hi"}}`
	tests := []struct {
		name, method, secret, body string
		status                     int
		code                       string
	}{
		{"wrong secret", "POST", "nope", valid, 401, "unauthorized"},
		{"missing secret", "POST", "", valid, 401, "unauthorized"},
		{"secret prefix", "POST", testSecret[:5], valid, 401, "unauthorized"},
		{"GET", "GET", testSecret, "", 405, "invalid"},
		{"malformed JSON", "POST", testSecret, `{"update_id":5,`, 400, "invalid"},
		{"no update_id", "POST", testSecret, `{"message":{"message_id":1}}`, 400, "invalid"},
		{"empty photo sizes", "POST", testSecret, `{"update_id":6,"message":{"message_id":1,"chat":{"id":1,"type":"private"},"photo":[]}}`, 400, "invalid"},
		{"too large", "POST", testSecret, `{"update_id":7,"message":{"text":"` + strings.Repeat("a", maxUpdateBytes) + `"}}`, 413, "invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, url, strings.NewReader(tt.body))
			if tt.secret != "" {
				req.Header.Set(SecretHeader, tt.secret)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body bytes.Buffer
			_, _ = body.ReadFrom(resp.Body)
			if resp.StatusCode != tt.status || !strings.Contains(body.String(), `"code":"`+tt.code+`"`) {
				t.Errorf("status %d body %s; want %d with code %s", resp.StatusCode, body.String(), tt.status, tt.code)
			}
		})
	}
	if _, calls := env.sink.snapshot(); calls != 0 {
		t.Errorf("sink called %d times for rejected requests", calls)
	}

	// Ignored updates (group chat) are acknowledged and not stored.
	req, _ := http.NewRequest("POST", url, strings.NewReader(`{"update_id":9,"message":{"message_id":3,"from":{"id":1001,"is_bot":false,"first_name":"Ana"},"chat":{"id":-100,"type":"group","title":"g"},"date":1,"text":"hi"}}`))
	req.Header.Set(SecretHeader, testSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if _, calls := env.sink.snapshot(); resp.StatusCode != 200 || calls != 0 {
		t.Errorf("group update: status %d, sink calls %d; want 200, 0", resp.StatusCode, calls)
	}
}

func TestWebhookIngestFailureIsRetried(t *testing.T) {
	env := startWebhook(t)
	env.sink.failNext(2)
	if _, err := env.fake.SendText(context.Background(), ana, "is anyone there?"); err != nil {
		t.Fatalf("the stand-in should succeed on its third try: %v", err)
	}
	got, calls := env.sink.snapshot()
	if calls != 3 || len(got) != 1 || got[0].Text != "is anyone there?" {
		t.Fatalf("calls %d, stored %+v; want 3 calls, 1 stored", calls, got)
	}
	if info := env.fake.Webhook(); !strings.Contains(info.LastErrorMessage, "500") {
		t.Errorf("stand-in last error = %q, want the 500", info.LastErrorMessage)
	}

	// A sink that keeps failing: the stand-in gives up after its bounded tries
	// and keeps the update pending.
	env.sink.failNext(100)
	if _, err := env.fake.SendText(context.Background(), ana, "hello?"); err == nil {
		t.Fatal("SendText succeeded though every delivery failed")
	}
	if n := env.fake.Webhook().PendingUpdateCount; n != 1 {
		t.Errorf("pending = %d, want 1", n)
	}
}

func TestWebhookBeforeRun(t *testing.T) {
	conn := newConnector(t, map[string]any{"token": testToken, "webhook_secret": testSecret}, connectors.Deps{})
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("POST", "/webhooks/tg-main", strings.NewReader(`{"update_id":1}`))
	req.Header.Set(SecretHeader, testSecret)
	conn.ServeHTTP(rec, req)
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", rec.Code)
	}
	// Wrong secret is refused first, even before Run.
	rec = httptest.NewRecorder()
	conn.ServeHTTP(rec, httptest.NewRequest("POST", "/webhooks/tg-main", strings.NewReader(`{}`)))
	if rec.Code != http.StatusUnauthorized {
		t.Fatalf("status %d, want 401", rec.Code)
	}
}

func TestRunFailsOnRefusedToken(t *testing.T) {
	fake := newFake(t)
	conn := newConnector(t, map[string]any{
		"token": "7000001:AAH-wrong_token_000000000000", "webhook_secret": testSecret, "api_url": fake.URL(),
	}, connectors.Deps{})
	ctx, cancel := context.WithTimeout(context.Background(), wait.Timeout)
	defer cancel()
	err := conn.Run(ctx, newSink())
	if err == nil || ctx.Err() != nil {
		t.Fatalf("Run = %v, want a prompt token error", err)
	}
	if strings.Contains(err.Error(), "wrong_token") {
		t.Errorf("error leaks the token: %v", err)
	}
	var ae *apiError
	if !errors.As(err, &ae) || ae.Code != 401 {
		t.Errorf("error = %v, want the 401", err)
	}
}

func TestRunRetriesUnreachableAPI(t *testing.T) {
	// A server that hangs up: getMe fails with a network error and is
	// retried with backoff until ctx ends; Run then returns nil.
	conn := newConnector(t, map[string]any{"token": testToken, "webhook_secret": testSecret, "api_url": hangUpURL(t)}, connectors.Deps{})
	var waits []time.Duration
	conn.sleep = func(ctx context.Context, d time.Duration) error {
		waits = append(waits, d)
		if len(waits) >= 7 {
			return context.Canceled
		}
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- conn.Run(ctx, newSink()) }()
	if err := wait.Recv(t, "Run to stop", done); err == nil {
		t.Fatal("Run returned nil though ctx is alive and the API unreachable")
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 30 * time.Second, 30 * time.Second}
	if len(waits) != len(want) {
		t.Fatalf("waits = %v", waits)
	}
	for i := range want { // ±20% jitter
		if lo, hi := want[i]*8/10, want[i]*12/10; waits[i] < lo || waits[i] > hi {
			t.Fatalf("waits = %v, want %v ± 20%%", waits, want)
		}
	}
}
