package wechat

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tongdao/hub/connectors"
	"github.com/tongdao/hub/connectors/media"
	"github.com/tongdao/hub/internal/wait"
	"github.com/tongdao/hub/models"
	"github.com/tongdao/hub/sandbox/wxfake"
)

// harness runs a connector against the stand-in, both on 127.0.0.1.
type harness struct {
	clock *fakeClock
	fake  *wxfake.Server
	conn  *Connector
	hub   *httptest.Server
	sink  *recSink
	kv    *memKV
	app   string
}

type harnessOpts struct {
	safe bool
	// mode is the connector's and the account's Mode; empty: safe when safe
	// is set, else the connector's default (plain without a key).
	mode  string
	appID string
}

func newHarness(t *testing.T, o harnessOpts) *harness {
	t.Helper()
	if o.appID == "" {
		o.appID = testAppID
	}
	h := &harness{clock: newClock(), sink: newSink(), app: o.appID}
	h.kv = newMemKV(h.clock.Now)
	h.fake = wxfake.New(wxfake.Options{
		Accounts: []wxfake.Account{{AppID: o.appID, AppSecret: "secret-" + o.appID, Token: "tok123",
			EncodingAESKey: testAESKey, SafeMode: o.safe, Mode: o.mode}},
		// The stand-in waits for the connector's answers as long as a test
		// waits for anything: a loaded machine must not turn a push into a
		// re-post. TestSlowHubRetried plays WeChat's impatience with
		// AbandonPushes.
		Logger: quietLogger(), Now: h.clock.Now, PushTimeout: wait.Timeout,
	})
	if err := h.fake.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.fake.Close() })
	s := Settings{AppID: o.appID, AppSecret: "secret-" + o.appID, Token: "tok123", APIURL: h.fake.URL()}
	if o.safe || (o.mode != "" && o.mode != ModePlain) {
		s.EncodingAESKey = testAESKey
	}
	s.Mode = o.mode
	h.conn = newTestConnector(t, "wx", s, h.clock, h.kv)
	mux := http.NewServeMux()
	mux.Handle("/webhooks/wx", h.conn)
	h.hub = httptest.NewServer(mux)
	t.Cleanup(h.hub.Close)
	if err := h.fake.SetWebhookURL(o.appID, h.hub.URL+"/webhooks/wx"); err != nil {
		t.Fatal(err)
	}
	runConnector(t, h.conn, h.sink)
	wait.For(t, "the start-up token fetch", func() bool { return h.fake.TokenFetches(o.appID) == 1 })
	return h
}

func (h *harness) send(t *testing.T, to, text string) error {
	t.Helper()
	_, err := h.conn.Send(context.Background(), models.Outbound{MessageID: "m-" + text, To: to, Text: text})
	return err
}

func asDelivery(t *testing.T, err error) *models.DeliveryError {
	t.Helper()
	var de *models.DeliveryError
	if !errors.As(err, &de) {
		t.Fatalf("error %v is not a *models.DeliveryError", err)
	}
	return de
}

func TestVerification(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	res, err := h.fake.Verify(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK || res.Body != res.Echostr {
		t.Fatalf("verification failed: %+v", res)
	}
	resp, err := http.Get(h.hub.URL + "/webhooks/wx?signature=deadbeef&timestamp=1&nonce=2&echostr=42")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 401 || string(body) != `{"error":{"code":"unauthorized","message":"bad signature"}}` {
		t.Fatalf("bad signature: %d %q, want 401 and the API's error shape", resp.StatusCode, body)
	}
}

func TestMessageInAndRetry(t *testing.T) {
	for _, safe := range []bool{false, true} {
		name := map[bool]string{false: "plaintext", true: "safe"}[safe]
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, harnessOpts{safe: safe})
			ctx := context.Background()
			if _, err := h.fake.Follow(ctx, "", "o-alice", ""); err != nil {
				t.Fatal(err)
			}
			d, err := h.fake.SendText(ctx, "", "o-alice", "我的快递在哪里？")
			if err != nil {
				t.Fatal(err)
			}
			if !d.Acked || d.Attempts != 1 || d.Body != "success" || d.Reply != nil {
				t.Fatalf("delivery %+v", d)
			}
			ins := h.sink.inbounds()
			if len(ins) != 2 {
				t.Fatalf("ingested %d, want 2 (subscribe, text)", len(ins))
			}
			in := ins[1]
			if in.Text != "我的快递在哪里？" || in.ExternalID != d.MsgID || in.From.ExternalID != "o-alice" ||
				in.ReplyTo != "o-alice" || !in.SentAt.Equal(h.clock.Now().Truncate(time.Second)) {
				t.Fatalf("inbound %+v", in)
			}
			// WeChat re-posting the same push: same ExternalID, answered
			// success, deduplicated by the sink.
			d2, err := h.fake.Repost(ctx, "")
			if err != nil {
				t.Fatal(err)
			}
			if !d2.Acked || d2.Body != "success" {
				t.Fatalf("repost delivery %+v", d2)
			}
			if n := len(h.sink.inbounds()); n != 2 {
				t.Fatalf("after the retry %d stored, want 2", n)
			}
			if h.sink.callCount() != 3 {
				t.Fatalf("sink calls = %d, want 3", h.sink.callCount())
			}
		})
	}
}

// TestSlowHubRetried: the hub has not answered when WeChat gives up, WeChat
// re-posts, the sink sees the same ExternalID twice and stores it once.
func TestSlowHubRetried(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	ctx := context.Background()
	if _, err := h.fake.Follow(ctx, "", "o-bob", ""); err != nil {
		t.Fatal(err)
	}
	stall, stalled := make(chan struct{}), make(chan struct{}, 1)
	defer func() {
		select {
		case <-stall:
		default:
			close(stall)
		}
	}()
	h.sink.mu.Lock()
	h.sink.calls, h.sink.stall, h.sink.stalled = 0, stall, stalled
	h.sink.mu.Unlock()
	type result struct {
		d   wxfake.Delivery
		err error
	}
	done := make(chan result, 1)
	go func() {
		d, err := h.fake.SendText(ctx, "", "o-bob", "hello?")
		done <- result{d, err}
	}()
	// The first ingest is in the sink: WeChat gives up on it and re-posts;
	// the re-post is answered while the first ingest still hangs.
	wait.Recv(t, "the first ingest", stalled)
	if n, err := h.fake.AbandonPushes(wait.Context(t)); n != 1 || err != nil {
		t.Fatalf("AbandonPushes = %d, %v", n, err)
	}
	r := wait.Recv(t, "the push", done)
	close(stall)
	if r.err != nil {
		t.Fatal(r.err)
	}
	d := r.d
	if !d.Acked || d.Attempts != 2 {
		t.Fatalf("delivery %+v, want acked on attempt 2", d)
	}
	wait.For(t, "the slow first ingest", func() bool { return h.sink.callCount() == 2 })
	var texts int
	for _, in := range h.sink.inbounds() {
		if in.ExternalID == d.MsgID {
			texts++
		}
	}
	if texts != 1 {
		t.Fatalf("message stored %d times, want 1", texts)
	}
}

func TestPassiveReplyOnSubscribe(t *testing.T) {
	for _, safe := range []bool{false, true} {
		name := map[bool]string{false: "plaintext", true: "safe"}[safe]
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, harnessOpts{safe: safe})
			h.sink.reply = "欢迎关注！回复数字选择服务。"
			d, err := h.fake.Follow(context.Background(), "", "o-carol", "")
			if err != nil {
				t.Fatal(err)
			}
			if d.ReplyError != "" || d.Reply == nil || d.Reply.Text != h.sink.reply || d.Reply.Kind != "passive" {
				t.Fatalf("delivery %+v", d)
			}
			if safe && !strings.Contains(d.Body, "<Encrypt>") {
				t.Fatalf("safe-mode reply not encrypted: %s", d.Body)
			}
			sent := h.fake.Sent("", "o-carol")
			if len(sent) != 1 || sent[0].Kind != "passive" {
				t.Fatalf("sent %+v", sent)
			}
			// A normal message gets no inline reply even if the bot had one.
			d, err = h.fake.SendText(context.Background(), "", "o-carol", "hi")
			if err != nil || d.Body != "success" {
				t.Fatalf("text delivery %+v %v", d, err)
			}
		})
	}
}

func TestSendAndWindows(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	ctx := context.Background()
	if _, err := h.fake.Follow(ctx, "", "o-dan", ""); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(2 * time.Minute) // leave the 3-per-minute event window
	if err := h.send(t, "o-dan", "too early"); asDelivery(t, err).Code != "45047" {
		t.Fatalf("after subscribe only, a minute later: %v, want 45047", err)
	}
	if _, err := h.fake.SendText(ctx, "", "o-dan", "help"); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if err := h.send(t, "o-dan", "reply "+string(rune('a'+i))); err != nil {
			t.Fatalf("send %d: %v", i+1, err)
		}
	}
	if got := h.fake.Sent("", "o-dan"); len(got) != 5 || got[0].Text != "reply a" || got[0].Kind != "kefu" {
		t.Fatalf("sent %+v", got)
	}
	de := asDelivery(t, h.send(t, "o-dan", "sixth"))
	if de.Code != "45047" || !de.Permanent || de.Unreachable || !strings.Contains(de.Reason, "quota") {
		t.Fatalf("sixth: %+v", de)
	}
	// A new customer message opens a new quota; 48 h later the window closes.
	if _, err := h.fake.SendText(ctx, "", "o-dan", "again"); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(49 * time.Hour)
	de = asDelivery(t, h.send(t, "o-dan", "late"))
	if de.Code != "45015" || !de.Permanent || !de.Unreachable || !strings.Contains(de.Reason, "48-hour") {
		t.Fatalf("late: %+v", de)
	}
	// Unfollowed → 43004, unreachable.
	if _, err := h.fake.SendText(ctx, "", "o-dan", "bye"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.fake.Unfollow(ctx, "", "o-dan"); err != nil {
		t.Fatal(err)
	}
	ins := h.sink.inbounds()
	if last := ins[len(ins)-1]; last.Event != models.EventUnsubscribe || last.InlineReply {
		t.Fatalf("last inbound %+v, want unsubscribe", last)
	}
	de = asDelivery(t, h.send(t, "o-dan", "still there?"))
	if de.Code != "43004" || !de.Permanent || !de.Unreachable {
		t.Fatalf("unfollowed: %+v", de)
	}
	// Network and system errors are transient.
	h.fake.FailNext(-1)
	if de := asDelivery(t, h.send(t, "o-dan", "x")); de.Permanent || de.Code != "-1" {
		t.Fatalf("-1: %+v", de)
	}
}

func TestTokenSharedAndRefetched(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	ctx := context.Background()
	if _, err := h.fake.SendText(ctx, "", "o-erin", "x"); !errors.Is(err, wxfake.ErrNotFollowing) {
		t.Fatalf("unfollowed customer writing: %v", err)
	}
	if _, err := h.fake.Follow(ctx, "", "o-erin", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := h.fake.SendText(ctx, "", "o-erin", "hi"); err != nil {
		t.Fatal(err)
	}
	// A second connector (another replica) for the same account shares the
	// token through the KV.
	second := newTestConnector(t, "wx-replica", Settings{AppID: h.app, AppSecret: "secret-" + h.app, Token: "tok123",
		APIURL: h.fake.URL()}, h.clock, h.kv)
	if err := h.send(t, "o-erin", "from one"); err != nil {
		t.Fatal(err)
	}
	if _, err := second.Send(ctx, models.Outbound{To: "o-erin", Text: "from two"}); err != nil {
		t.Fatal(err)
	}
	if n := h.fake.TokenFetches(h.app); n != 1 {
		t.Fatalf("token fetches = %d, want 1 shared token", n)
	}
	if v, ok, _ := h.kv.Get(ctx, kvKey(h.conn.cacheKey)); !ok || v == "" {
		t.Fatal("access token not cached in the KV")
	}
	// An expired token: the send fails transiently, the token is dropped,
	// the retry fetches a new one.
	h.fake.ExpireToken()
	de := asDelivery(t, h.send(t, "o-erin", "after expiry"))
	if de.Permanent || de.Code != "42001" {
		t.Fatalf("expired token: %+v", de)
	}
	if err := h.send(t, "o-erin", "after expiry"); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if n := h.fake.TokenFetches(h.app); n != 2 {
		t.Fatalf("token fetches = %d, want 2", n)
	}
	h.fake.FailNext(40001)
	if de := asDelivery(t, h.send(t, "o-erin", "invalid")); de.Permanent || de.Code != "40001" {
		t.Fatalf("40001: %+v", de)
	}
	if err := h.send(t, "o-erin", "ok again"); err != nil {
		t.Fatal(err)
	}
	if n := h.fake.TokenFetches(h.app); n != 3 {
		t.Fatalf("token fetches = %d, want 3", n)
	}
}

func TestNumberedOptions(t *testing.T) {
	h := newHarness(t, harnessOpts{safe: true})
	ctx := context.Background()
	if _, err := h.fake.Follow(ctx, "", "o-fay", ""); err != nil {
		t.Fatal(err)
	}
	_, err := h.conn.Send(ctx, models.Outbound{To: "o-fay", Text: "请问需要什么帮助？", Buttons: []models.Button{
		{ID: "track", Label: "查询物流"}, {ID: "human", Label: "人工客服"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	sent := h.fake.Sent("", "o-fay")
	want := "请问需要什么帮助？\n\n回复数字选择 / Reply with a number:\n1. 查询物流\n2. 人工客服"
	if len(sent) != 1 || sent[0].Text != want {
		t.Fatalf("sent %+v\nwant text %q", sent, want)
	}
	for _, tc := range []struct{ text, action, kind string }{
		{"2", "human", models.KindAction},
		{" １ ", "track", models.KindAction},
		{"3", "", models.KindMessage},
		{"2 please", "", models.KindMessage},
	} {
		if _, err := h.fake.SendText(ctx, "", "o-fay", tc.text); err != nil {
			t.Fatal(err)
		}
		ins := h.sink.inbounds()
		in := ins[len(ins)-1]
		if in.Kind != tc.kind || in.Action != tc.action || in.Text != tc.text {
			t.Errorf("%q → %+v, want kind %s action %q", tc.text, in, tc.kind, tc.action)
		}
	}
	// A message without buttons withdraws the offer.
	if err := h.send(t, "o-fay", "好的"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.fake.SendText(ctx, "", "o-fay", "1"); err != nil {
		t.Fatal(err)
	}
	ins := h.sink.inbounds()
	if in := ins[len(ins)-1]; in.Kind != models.KindMessage {
		t.Fatalf("after withdrawal %+v", in)
	}
}

// Options labelled with their own numbers (the rating's scores) read as a
// range, and the digits still answer them.
func TestSelfNumberedOptionsReadAsARange(t *testing.T) {
	h := newHarness(t, harnessOpts{safe: true})
	ctx := context.Background()
	if _, err := h.fake.Follow(ctx, "", "o-gil", ""); err != nil {
		t.Fatal(err)
	}
	var scores []models.Button
	for i := 1; i <= 5; i++ {
		scores = append(scores, models.Button{ID: fmt.Sprintf("csat:%d", i), Label: fmt.Sprint(i)})
	}
	if _, err := h.conn.Send(ctx, models.Outbound{To: "o-gil", Text: "How did we do?", Buttons: scores}); err != nil {
		t.Fatal(err)
	}
	sent := h.fake.Sent("", "o-gil")
	if want := "How did we do?\n\n回复数字 1–5 / Reply 1–5"; len(sent) != 1 || sent[0].Text != want {
		t.Fatalf("sent %+v\nwant text %q", sent, want)
	}
	for _, tc := range []struct{ text, action string }{{"4", "csat:4"}, {"6", ""}} {
		if _, err := h.fake.SendText(ctx, "", "o-gil", tc.text); err != nil {
			t.Fatal(err)
		}
		ins := h.sink.inbounds()
		if in := ins[len(ins)-1]; in.Action != tc.action {
			t.Errorf("%q → action %q, want %q", tc.text, in.Action, tc.action)
		}
	}
}

func TestQRCreateAndScan(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	ctx := context.Background()
	img, err := h.conn.TempQRCode(ctx, "order-42", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(img, h.fake.URL()+"/cgi-bin/showqrcode?ticket=") {
		t.Fatalf("QR image URL %q is not under api_url", img)
	}
	resp, err := http.Get(img)
	if err != nil {
		t.Fatal(err)
	}
	png, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Fatalf("QR image: %d, %d bytes", resp.StatusCode, len(png))
	}
	h.sink.reply = "已关联订单 order-42"
	// A new customer scans: subscribe with the scene, confirmed passively.
	d, err := h.fake.ScanQR(ctx, "o-gus", img)
	if err != nil {
		t.Fatal(err)
	}
	ins := h.sink.inbounds()
	in := ins[len(ins)-1]
	if in.Event != models.EventSubscribe || in.Payload != "order-42" || !in.InlineReply {
		t.Fatalf("scan-to-follow inbound %+v", in)
	}
	if d.Reply == nil || d.Reply.Text != "已关联订单 order-42" {
		t.Fatalf("delivery %+v", d)
	}
	// A follower scans: SCAN with the scene.
	h.clock.Advance(time.Second)
	if _, err := h.fake.ScanQR(ctx, "o-gus", img); err != nil {
		t.Fatal(err)
	}
	ins = h.sink.inbounds()
	in = ins[len(ins)-1]
	if in.Event != models.EventScan || in.Payload != "order-42" || in.Kind != models.KindEvent {
		t.Fatalf("scan inbound %+v", in)
	}
	// Menu click → action.
	h.clock.Advance(time.Second)
	if _, err := h.fake.Click(ctx, "", "o-gus", "MENU_HUMAN"); err != nil {
		t.Fatal(err)
	}
	ins = h.sink.inbounds()
	if in := ins[len(ins)-1]; in.Kind != models.KindAction || in.Action != "MENU_HUMAN" || !in.InlineReply {
		t.Fatalf("click inbound %+v", in)
	}
}

func TestSendImageAndLongText(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	ctx := context.Background()
	if _, err := h.fake.Follow(ctx, "", "o-hal", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := h.fake.SendText(ctx, "", "o-hal", "send me the invoice"); err != nil {
		t.Fatal(err)
	}
	pngData := mustPNG(t)
	files := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/invoice.png" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "image/png")
		_, _ = w.Write(pngData)
	}))
	defer files.Close()
	long := strings.Repeat("物流信息更新。", 200) // 4,200 bytes → 3 parts
	_, err := h.conn.Send(ctx, models.Outbound{MessageID: "m1", To: "o-hal", Text: long,
		Attachments: []models.Attachment{{Type: "image", URL: files.URL + "/invoice.png"}}})
	if err != nil {
		t.Fatal(err)
	}
	sent := h.fake.Sent("", "o-hal")
	if len(sent) != 4 {
		t.Fatalf("sent %d messages, want 3 text parts and 1 image", len(sent))
	}
	var joined string
	for _, s := range sent[:3] {
		if s.MsgType != "text" || len(s.Text) > 2048 {
			t.Fatalf("part %+v", s)
		}
		joined += s.Text
	}
	if joined != long {
		t.Fatal("text parts do not rebuild the text in order")
	}
	if sent[3].MsgType != "image" {
		t.Fatalf("last part %+v", sent[3])
	}
	if data, ok := h.fake.Media(sent[3].MediaID); !ok || !bytes.Equal(data, pngData) {
		t.Fatal("uploaded media differs from the attachment")
	}
	// A missing image is a permanent failure.
	_, err = h.conn.Send(ctx, models.Outbound{To: "o-hal",
		Attachments: []models.Attachment{{Type: "image", URL: files.URL + "/missing.png"}}})
	if de := asDelivery(t, err); !de.Permanent {
		t.Fatalf("missing image: %+v", de)
	}
}

// TestResumeAfterPartialFailure: a retried split message resumes after the
// parts already delivered.
func TestResumeAfterPartialFailure(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	ctx := context.Background()
	if _, err := h.fake.Follow(ctx, "", "o-ivy", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := h.fake.SendText(ctx, "", "o-ivy", "hi"); err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("a", 2048) + strings.Repeat("b", 100)
	out := models.Outbound{MessageID: "m-split", To: "o-ivy", Text: long}
	// The first part goes through, the second fails.
	(&failAfter{n: 1, code: -1, fake: h.fake}).arm()
	if _, err := h.conn.Send(ctx, out); err == nil {
		t.Fatal("want the second part to fail")
	}
	if _, err := h.conn.Send(ctx, out); err != nil {
		t.Fatal(err)
	}
	var as, bs int
	for _, s := range h.fake.Sent("", "o-ivy") {
		if strings.HasPrefix(s.Text, "aaa") {
			as++
		}
		if strings.HasPrefix(s.Text, "bbb") {
			bs++
		}
	}
	if as != 1 || bs != 1 {
		t.Fatalf("parts sent a=%d b=%d, want each once", as, bs)
	}
}

// failAfter queues failures so that the (n+1)-th API call fails
// (FailNext(0) lets one call through).
type failAfter struct {
	n    int
	code int64
	fake *wxfake.Server
}

func (f *failAfter) arm() {
	for range f.n {
		f.fake.FailNext(0)
	}
	f.fake.FailNext(f.code)
}

// TestTwoAPIURLs: two connectors with different api_url share the
// process-wide SDK client and each reaches its own server.
func TestTwoAPIURLs(t *testing.T) {
	a := newHarness(t, harnessOpts{appID: "wxaaaaaaaaaaaaaaaa"})
	b := newHarness(t, harnessOpts{appID: "wxbbbbbbbbbbbbbbbb"})
	ctx := context.Background()
	for _, h := range []*harness{a, b} {
		if _, err := h.fake.Follow(ctx, "", "o-joy", ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.send(t, "o-joy", "from a"); err != nil {
		t.Fatal(err)
	}
	if err := b.send(t, "o-joy", "from b"); err != nil {
		t.Fatal(err)
	}
	if got := a.fake.Sent("", "o-joy"); len(got) != 1 || got[0].Text != "from a" {
		t.Fatalf("server a got %+v", got)
	}
	if got := b.fake.Sent("", "o-joy"); len(got) != 1 || got[0].Text != "from b" {
		t.Fatalf("server b got %+v", got)
	}
}

var _ connectors.Sink = (*recSink)(nil)

func mustPNG(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 4, 4))
	img.Set(1, 1, color.RGBA{R: 255, A: 255})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestAttachmentFetchRefusedPlainly: by default an agent's image URL that
// points at the hub's own network (loopback here, as a metadata service or
// an admin port would be) is refused at once, permanently, with a plain
// reason and no dial error, before any part of the message is sent; a file
// server's 404 reads as such, and its 503 is retried within seconds, not
// minutes.
func TestAttachmentFetchRefusedPlainly(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.conn.fetch = media.New(media.Policy{}) // what a hub without media.allow_private_fetch has
	ctx := context.Background()
	if _, err := h.fake.Follow(ctx, "", "o-ivy", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := h.fake.SendText(ctx, "", "o-ivy", "the photo please"); err != nil {
		t.Fatal(err)
	}
	var hits atomic.Int32
	files := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		switch r.URL.Path {
		case "/busy.png":
			w.WriteHeader(http.StatusServiceUnavailable)
		default:
			http.NotFound(w, r)
		}
	}))
	defer files.Close()
	for _, u := range []string{files.URL + "/secret.png", "http://127.0.0.1:1/closed.png", "http://169.254.169.254/latest/meta-data/"} {
		_, err := h.conn.Send(ctx, models.Outbound{MessageID: "m-ivy", To: "o-ivy", Text: "here it is",
			Attachments: []models.Attachment{{Type: "image", URL: u}}})
		de := asDelivery(t, err)
		if !de.Permanent || de.Reason != media.ReasonPrivate {
			t.Fatalf("%s: %+v, want a permanent %q", u, de, media.ReasonPrivate)
		}
		if strings.Contains(de.Error(), "dial") || strings.Contains(de.Error(), "127.0.0.1") || strings.Contains(de.Error(), "refused") {
			t.Fatalf("%s: the reason leaks the network: %q", u, de.Error())
		}
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the loopback file server was reached %d times", n)
	}
	if sent := h.fake.Sent("", "o-ivy"); len(sent) != 0 {
		t.Fatalf("%d parts sent of a message whose image was refused", len(sent))
	}

	// Allowed (the sandbox's setting): failures of the file's server read plainly.
	h.conn.fetch = media.New(media.Policy{AllowPrivate: true})
	_, err := h.conn.Send(ctx, models.Outbound{MessageID: "m-ivy2", To: "o-ivy",
		Attachments: []models.Attachment{{Type: "image", URL: files.URL + "/missing.png"}}})
	if de := asDelivery(t, err); !de.Permanent || de.Reason != "could not fetch the attachment: HTTP 404" {
		t.Fatalf("404: %+v", de)
	}
	_, err = h.conn.Send(ctx, models.Outbound{MessageID: "m-ivy3", To: "o-ivy",
		Attachments: []models.Attachment{{Type: "image", URL: files.URL + "/busy.png"}}})
	if de := asDelivery(t, err); de.Permanent || de.RetryAfter <= 0 || de.RetryAfter > 10*time.Second {
		t.Fatalf("503: %+v, want a retry within seconds", de)
	}
}
