package tgfake

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	tele "gopkg.in/telebot.v3"

	"github.com/tongdao/hub/internal/wait"
)

const token = "7000001:AAH-test_token_0123456789abcdef"

var ana = User{ID: 1001, FirstName: "Ana", LastName: "Li", Username: "ana", LanguageCode: "en"}

func start(t *testing.T) *Server {
	t.Helper()
	s := New(Options{Token: token, BotUsername: "TongdaoBot", RetryDelay: func(int) time.Duration { return time.Millisecond }})
	ctx, cancel := context.WithCancel(context.Background())
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); s.Close() })
	if !strings.HasPrefix(s.URL(), "http://127.0.0.1:") {
		t.Fatalf("URL = %q, want loopback", s.URL())
	}
	return s
}

// bot is a real telebot client pointed at the stand-in (getMe on creation).
func bot(t *testing.T, s *Server) *tele.Bot {
	t.Helper()
	b, err := tele.NewBot(tele.Settings{URL: s.URL(), Token: token, Poller: &tele.LongPoller{Timeout: time.Second}})
	if err != nil {
		t.Fatalf("NewBot: %v", err)
	}
	if b.Me.Username != "TongdaoBot" || !b.Me.IsBot || b.Me.ID != 7000001 {
		t.Fatalf("getMe = %+v", b.Me)
	}
	return b
}

func TestTelebotSendsAndErrors(t *testing.T) {
	s := start(t)
	b := bot(t, s)
	ctx := context.Background()
	chat := &tele.Chat{ID: ana.ID}

	if _, err := b.Send(chat, "hello"); err == nil || !strings.Contains(err.Error(), "chat not found") {
		t.Fatalf("send to unknown chat = %v, want chat not found", err)
	}
	if _, err := s.SendText(ctx, ana, "hi"); err != nil {
		t.Fatal(err)
	}
	menu := &tele.ReplyMarkup{}
	menu.Inline(menu.Row(menu.Data("Yes", "yes"), menu.Data("No", "no")))
	m, err := b.Send(chat, "Helpful?", menu)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if m.ID != 2 || m.Chat.ID != ana.ID || m.Text != "Helpful?" || m.Sender.ID != 7000001 {
		t.Errorf("result message = %+v", m)
	}
	sent := s.Sent(ana.ID)
	if len(sent) != 1 || len(sent[0].Buttons) != 1 || len(sent[0].Buttons[0]) != 2 || sent[0].Buttons[0][1].Text != "No" {
		t.Fatalf("sent = %+v", sent)
	}

	// Photo by URL (JSON params) and by upload (multipart).
	if _, err := b.Send(chat, &tele.Photo{File: tele.FromURL("https://files.example.com/a.png"), Caption: "label"}); err != nil {
		t.Fatalf("sendPhoto by URL: %v", err)
	}
	pm, err := b.Send(chat, &tele.Document{File: tele.FromReader(strings.NewReader("%PDF")), FileName: "a.pdf"})
	if err != nil {
		t.Fatalf("sendDocument upload: %v", err)
	}
	if pm.Document == nil || pm.Document.FileID == "" {
		t.Errorf("document result = %+v", pm)
	}
	sent = s.Sent(ana.ID)
	if sent[1].Photo != "https://files.example.com/a.png" || sent[1].Caption != "label" || sent[2].Document != "upload" ||
		sent[2].Upload == nil || sent[2].Upload.Name != "a.pdf" || sent[2].Upload.Size != 4 {
		t.Errorf("sent = %+v", sent[1:])
	}

	// Edit the keyboard.
	if _, err := b.EditReplyMarkup(m, &tele.ReplyMarkup{InlineKeyboard: [][]tele.InlineButton{{{Text: "Thanks", Data: "done"}}}}); err != nil {
		t.Fatalf("EditReplyMarkup: %v", err)
	}
	if got := s.Sent(ana.ID)[0].Buttons; len(got) != 1 || got[0][0].Data != "done" {
		t.Errorf("buttons after edit = %+v", got)
	}

	// Faults and blocking come back as telebot's typed errors.
	s.FailNext("sendMessage", 429, "Too Many Requests: retry after 3", 3)
	_, err = b.Send(chat, "x")
	var flood tele.FloodError
	if !asFlood(err, &flood) || flood.RetryAfter != 3 {
		t.Errorf("429 = %#v", err)
	}
	s.Block(ana.ID)
	if _, err := b.Send(chat, "x"); err != tele.ErrBlockedByUser {
		t.Errorf("blocked = %v", err)
	}
	s.Unblock(ana.ID)
	if _, err := b.Send(chat, strings.Repeat("a", 4097)); err != tele.ErrTooLongMessage {
		t.Errorf("too long = %v", err)
	}
	if _, err := b.Raw("noSuchMethod", nil); err == nil || !strings.Contains(err.Error(), "Not Found") {
		t.Errorf("unknown method = %v", err)
	}
	if _, err := tele.NewBot(tele.Settings{URL: s.URL(), Token: "7000001:wrong"}); err == nil || !strings.Contains(err.Error(), "Unauthorized") {
		t.Errorf("wrong token = %v", err)
	}
	if n := s.Calls("sendMessage"); n != 5 {
		t.Errorf("sendMessage calls = %d, want 5", n)
	}
}

func asFlood(err error, out *tele.FloodError) bool {
	f, ok := err.(tele.FloodError)
	if ok {
		*out = f
	}
	return ok
}

func TestClickAndAnswer(t *testing.T) {
	s := start(t)
	b := bot(t, s)
	ctx := context.Background()
	if _, err := s.SendText(ctx, ana, "hi"); err != nil {
		t.Fatal(err)
	}
	m, err := b.Send(&tele.Chat{ID: ana.ID}, "Pick", &tele.ReplyMarkup{InlineKeyboard: [][]tele.InlineButton{{{Text: "A", Data: "a"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Click(ctx, ana, m.ID, "zzz"); err == nil {
		t.Error("clicking a button that does not exist succeeded")
	}
	up, err := s.Click(ctx, ana, m.ID, "a")
	if err != nil {
		t.Fatal(err)
	}
	cb := up.CallbackQuery
	if cb == nil || cb.Data != "a" || cb.From.ID != ana.ID || cb.Message.MessageID != m.ID || cb.Message.ReplyMarkup == nil {
		t.Fatalf("callback = %+v", cb)
	}
	if err := b.Respond(&tele.Callback{ID: cb.ID}); err != nil {
		t.Fatalf("answer: %v", err)
	}
	if !s.CallbackAnswered(cb.ID) {
		t.Error("not recorded as answered")
	}
	if err := b.Respond(&tele.Callback{ID: cb.ID}); err == nil {
		t.Error("second answer accepted")
	}
}

func TestGetUpdatesOffsetAndLongPoll(t *testing.T) {
	s := start(t)
	ctx := context.Background()
	call := func(params url.Values) []Update {
		t.Helper()
		resp, err := http.PostForm(s.URL()+"/bot"+token+"/getUpdates", params)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct {
			OK     bool     `json:"ok"`
			Result []Update `json:"result"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || !body.OK {
			t.Fatalf("getUpdates: %v %+v", err, body)
		}
		return body.Result
	}
	var ids []int
	for _, text := range []string{"a", "b", "c"} {
		up, err := s.SendText(ctx, ana, text)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, up.UpdateID)
	}
	if ids[1] != ids[0]+1 || ids[2] != ids[1]+1 {
		t.Fatalf("update ids %v do not increase by one", ids)
	}
	if got := call(url.Values{}); len(got) != 3 || got[0].Message.Text != "a" {
		t.Fatalf("no offset: %+v", got)
	}
	// Without a higher offset nothing is confirmed.
	if got := call(url.Values{"offset": {itoa(ids[0])}}); len(got) != 3 {
		t.Fatalf("offset=first: %d updates", len(got))
	}
	if got := call(url.Values{"offset": {itoa(ids[1])}, "limit": {"1"}}); len(got) != 1 || got[0].UpdateID != ids[1] {
		t.Fatalf("offset=second limit 1: %+v", got)
	}
	if got := call(url.Values{"offset": {itoa(ids[2] + 1)}}); len(got) != 0 {
		t.Fatalf("all confirmed, still %d", len(got))
	}
	if s.Webhook().PendingUpdateCount != 0 {
		t.Error("pending after confirmation")
	}

	// A long poll returns as soon as an update arrives: with an hour's
	// timeout, it answers only if the update woke it.
	type result struct {
		ups []Update
		err error
	}
	polled := make(chan result, 1)
	before := s.Calls("getUpdates")
	go func() {
		resp, err := http.PostForm(s.URL()+"/bot"+token+"/getUpdates",
			url.Values{"offset": {itoa(ids[2] + 1)}, "timeout": {"3600"}})
		if err != nil {
			polled <- result{err: err}
			return
		}
		defer resp.Body.Close()
		var body struct{ Result []Update }
		err = json.NewDecoder(resp.Body).Decode(&body)
		polled <- result{body.Result, err}
	}()
	wait.For(t, "the long poll to arrive", func() bool { return s.Calls("getUpdates") > before })
	if _, err := s.SendText(ctx, ana, "late"); err != nil {
		t.Fatal(err)
	}
	r := wait.Recv(t, "the long poll to answer", polled)
	if r.err != nil || len(r.ups) != 1 || r.ups[0].Message.Text != "late" {
		t.Fatalf("long poll: %+v %v", r.ups, r.err)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestTelebotLongPoller(t *testing.T) {
	s := start(t)
	b := bot(t, s)
	got := make(chan string, 4)
	b.Handle(tele.OnText, func(c tele.Context) error { got <- c.Text(); return nil })
	b.Handle("/start", func(c tele.Context) error { got <- "start:" + c.Message().Payload; return nil })
	go b.Start()
	defer b.Stop()
	ctx := context.Background()
	if _, err := s.SendText(ctx, ana, "/start deep-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SendText(ctx, ana, "plain"); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for range 2 {
		select {
		case g := <-got:
			seen[g] = true
		case <-time.After(wait.Timeout):
			t.Fatalf("telebot received only %v", seen)
		}
	}
	if !seen["start:deep-1"] || !seen["plain"] {
		t.Errorf("handlers saw %v", seen) // telebot runs handlers concurrently: order is not kept
	}
}

func TestWebhookDelivery(t *testing.T) {
	s := start(t)
	b := bot(t, s)
	var (
		mu      sync.Mutex
		bodies  []string
		secrets []string
		fail    atomic.Int32
	)
	fail.Store(2)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(data))
		secrets = append(secrets, r.Header.Get("X-Telegram-Bot-Api-Secret-Token"))
		mu.Unlock()
		if fail.Add(-1) >= 0 {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer hook.Close()

	if err := b.SetWebhook(&tele.Webhook{Endpoint: &tele.WebhookEndpoint{PublicURL: "https://example.com/hook"}}); err == nil {
		t.Error("non-loopback webhook accepted")
	}
	err := b.SetWebhook(&tele.Webhook{
		Endpoint: &tele.WebhookEndpoint{PublicURL: hook.URL + "/webhooks/tg"}, SecretToken: "sec_1",
		AllowedUpdates: []string{"message", "callback_query"},
	})
	if err != nil {
		t.Fatalf("SetWebhook: %v", err)
	}
	info, err := b.Webhook()
	if err != nil || info.Listen != hook.URL+"/webhooks/tg" || len(info.AllowedUpdates) != 2 {
		t.Fatalf("getWebhookInfo = %+v, %v", info, err)
	}
	resp, err := http.Get(s.URL() + "/bot" + token + "/getUpdates")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusConflict {
		t.Errorf("getUpdates with a webhook: %d, want 409", resp.StatusCode)
	}

	up, err := s.SendText(context.Background(), ana, "via webhook")
	if err != nil {
		t.Fatalf("delivery with two failures then success: %v", err)
	}
	mu.Lock()
	if len(bodies) != 3 || bodies[0] != bodies[2] || secrets[2] != "sec_1" {
		t.Errorf("deliveries = %d, secrets %v", len(bodies), secrets)
	}
	var delivered Update
	_ = json.Unmarshal([]byte(bodies[2]), &delivered)
	mu.Unlock()
	if delivered.UpdateID != up.UpdateID || delivered.Message.Text != "via webhook" || delivered.Message.Chat.Type != "private" {
		t.Errorf("delivered = %+v", delivered)
	}

	// Always failing: bounded tries, then pending; after deleteWebhook
	// getUpdates hands it out.
	fail.Store(100)
	if _, err := s.SendText(context.Background(), ana, "lost?"); err == nil {
		t.Fatal("delivery reported success")
	}
	mu.Lock()
	if len(bodies) != 3+5 {
		t.Errorf("tries = %d, want 5", len(bodies)-3)
	}
	mu.Unlock()
	if err := b.RemoveWebhook(); err != nil {
		t.Fatal(err)
	}
	if s.Webhook().PendingUpdateCount != 1 {
		t.Errorf("pending = %d", s.Webhook().PendingUpdateCount)
	}
}

func TestCustomerAPI(t *testing.T) {
	s := start(t)
	b := bot(t, s)
	api := httptest.NewServer(http.StripPrefix("/sandbox/telegram", s.CustomerAPI()))
	defer api.Close()
	post := func(path, body string) (int, map[string]json.RawMessage) {
		resp, err := http.Post(api.URL+"/sandbox/telegram"+path, "application/json", bytes.NewBufferString(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]json.RawMessage
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	code, out := post("/send", `{"user_id":1001,"name":"Ana Li","username":"ana","language":"en","text":"/start xyz"}`)
	if code != 200 {
		t.Fatalf("send: %d %s", code, out["error"])
	}
	var up Update
	_ = json.Unmarshal(out["update"], &up)
	if up.Message.From.FirstName != "Ana" || up.Message.From.LastName != "Li" || up.Message.Entities[0].Type != "bot_command" {
		t.Errorf("update = %+v", up.Message)
	}
	if code, _ := post("/send", `{"user_id":1001,"location":{"latitude":31.2,"longitude":121.4}}`); code != 200 {
		t.Errorf("location: %d", code)
	}
	if code, _ := post("/send", `{"user_id":1001,"photo":{},"text":"broken box"}`); code != 200 {
		t.Errorf("photo: %d", code)
	}
	if code, _ := post("/send", `{"user_id":0,"text":"x"}`); code != 400 {
		t.Errorf("no user: %d", code)
	}
	m, err := b.Send(&tele.Chat{ID: 1001}, "Pick", &tele.ReplyMarkup{InlineKeyboard: [][]tele.InlineButton{{{Text: "A", Data: "a"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if code, out := post("/click", `{"user_id":1001,"message_id":`+itoa(m.ID)+`,"data":"a"}`); code != 200 {
		t.Errorf("click: %d %s", code, out["error"])
	}
	resp, err := http.Get(api.URL + "/sandbox/telegram/sent?user_id=1001")
	if err != nil {
		t.Fatal(err)
	}
	var sent struct{ Messages []SentMessage }
	_ = json.NewDecoder(resp.Body).Decode(&sent)
	resp.Body.Close()
	if len(sent.Messages) != 1 || sent.Messages[0].Text != "Pick" || sent.Messages[0].Buttons[0][0].Data != "a" {
		t.Errorf("sent = %+v", sent)
	}
	resp, err = http.Get(api.URL + "/sandbox/telegram/updates")
	if err != nil {
		t.Fatal(err)
	}
	var ups struct{ Updates []Update }
	_ = json.NewDecoder(resp.Body).Decode(&ups)
	resp.Body.Close()
	if len(ups.Updates) != 4 || ups.Updates[3].CallbackQuery == nil || ups.Updates[1].Message.Location == nil || len(ups.Updates[2].Message.Photo) != 2 {
		t.Errorf("updates = %+v", ups.Updates)
	}
	if got, err := s.WaitSent(wait.Context(t), 1001, 1); err != nil || len(got) != 1 {
		t.Errorf("WaitSent = %v, %v", got, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := s.WaitSent(ctx, 1001, 2); err == nil {
		t.Error("WaitSent returned without the messages")
	}
}
