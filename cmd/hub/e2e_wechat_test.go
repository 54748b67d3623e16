package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/tongdao/hub/internal/wait"
	"github.com/tongdao/hub/sandbox/wxfake"
)

const (
	e2eWXToken  = "e2etoken"
	e2eWXAESKey = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	e2eWXName   = "wx-e2e"
)

// wxMode is one of the ways an Official Account receives pushes.
type wxMode struct {
	name  string
	safe  bool
	appID string
	// dsn, when set, is a PostgreSQL database (else a SQLite file).
	dsn string
}

// setting is the connector's mode setting, always explicit.
func (m wxMode) setting() string {
	if m.safe {
		return "safe"
	}
	return "plain"
}

// wxE2E is the real hub wired to the WeChat stand-in, each with its own
// clock.
type wxE2E struct {
	mode     wxMode
	hubClock *offsetClock
	wxClock  *offsetClock
	fake     *wxfake.Server
	hub      *Main
	api      *client
	hook     string
	orig     string // the account's gh_ id
}

func startWeChatE2E(t *testing.T, mode wxMode) *wxE2E {
	t.Helper()
	e := &wxE2E{mode: mode, hubClock: &offsetClock{}, wxClock: &offsetClock{}}
	l := listenLocal(t)
	listen := l.Addr().String()
	e.hook = "http://" + listen + "/webhooks/" + e2eWXName
	acc := wxfake.Account{AppID: mode.appID, AppSecret: "secret-" + mode.appID, Token: e2eWXToken,
		Mode: mode.setting(), WebhookURL: e.hook}
	if mode.safe {
		acc.EncodingAESKey = e2eWXAESKey
	}
	// The stand-in waits for the hub as long as a test waits for anything
	// (WeChat: 5 s): a loaded machine must not turn a push into a re-post.
	// pushToSlowHub plays WeChat's impatience with AbandonPushes.
	e.fake = wxfake.New(wxfake.Options{Accounts: []wxfake.Account{acc}, Logger: testLogger(),
		Now: e.wxClock.Now, PushTimeout: wait.Timeout})
	if err := e.fake.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.fake.Close() })
	e.orig = e.fake.OriginalID(mode.appID)
	e.hub = e.startHub(t, l)
	e.api = adminClient(t, e.hub)
	waitRunning(t, e.hub)
	return e
}

// startHub runs a hub for the account on listen (another replica when the
// database is shared).
func (e *wxE2E) startHub(t *testing.T, l net.Listener) *Main {
	t.Helper()
	listen := l.Addr().String()
	dir := t.TempDir()
	driver, dsn := "sqlite", filepath.Join(dir, "hub.db")
	if e.mode.dsn != "" {
		driver, dsn = "postgres", e.mode.dsn
	}
	aesKey := ""
	if e.mode.safe {
		aesKey = e2eWXAESKey
	}
	cfg := writeConfig(t, dir, fmt.Sprintf(`
server: { listen: %q, public_url: "http://%s" }
database: { driver: %s, dsn: %q }
connectors:
  - name: %s
    type: wechat
    settings: { app_id: %q, app_secret: %q, token: %q, mode: %s, encoding_aes_key: %q, api_url: %q }
`, listen, listen, driver, dsn, e2eWXName, e.mode.appID, "secret-"+e.mode.appID, e2eWXToken, e.mode.setting(), aesKey, e.fake.URL()))
	m := startHubAt(t, l, cfg, e.hubClock.Now)
	waitRunning(t, m)
	return m
}

// waitRunning waits until every connector of the hub runs.
func waitRunning(t testing.TB, m *Main) {
	t.Helper()
	wait.For(t, "the connectors to run", func() bool {
		for _, st := range m.States() {
			if st.State != "running" {
				return false
			}
		}
		return len(m.States()) > 0
	})
}

// kefu returns the texts of the customer-service messages openid received.
func (e *wxE2E) kefu(openid string) []string {
	var out []string
	for _, s := range e.fake.Sent(e.mode.appID, openid) {
		if s.Kind == "kefu" {
			out = append(out, s.Text)
		}
	}
	return out
}

// craftPush signs (and in safe mode encrypts) a plaintext push the way
// WeChat does, for requests the stand-in would never send.
func (e *wxE2E) craftPush(t *testing.T, plain string) (url.Values, string) {
	t.Helper()
	ts := strconv.FormatInt(e.wxClock.Now().Unix(), 10)
	return e.craftPushAt(t, plain, ts, strconv.FormatInt(wxNonces.Add(1), 10), e.mode.safe)
}

// wxNonces numbers crafted pushes, each with its own nonce as WeChat's.
var wxNonces atomic.Int64

// craftPushAt is craftPush with the timestamp, nonce and encryption chosen.
func (e *wxE2E) craftPushAt(t *testing.T, plain, ts, nonce string, encrypt bool) (url.Values, string) {
	t.Helper()
	q := url.Values{"signature": {wxfake.Signature(e2eWXToken, ts, nonce)}, "timestamp": {ts}, "nonce": {nonce}}
	if !encrypt {
		return q, plain
	}
	enc, err := wxfake.Encrypt(e2eWXAESKey, e.mode.appID, []byte(plain), nil)
	if err != nil {
		t.Fatal(err)
	}
	q.Set("encrypt_type", "aes")
	q.Set("msg_signature", wxfake.Signature(e2eWXToken, ts, nonce, enc))
	return q, "<xml><ToUserName><![CDATA[" + e.orig + "]]></ToUserName><Encrypt><![CDATA[" + enc + "]]></Encrypt></xml>"
}

func (e *wxE2E) post(t *testing.T, q url.Values, body string) (int, string) {
	t.Helper()
	return httpDo(t, "POST", e.hook+"?"+q.Encode(), "text/xml", body)
}

// pushToSlowHub makes push while the hub's database writer is busy, as on
// a slow disk: WeChat gives up on the first attempt while the hub waits to
// commit it, then the writer is let go and the re-post is answered.
func (e *wxE2E) pushToSlowHub(t *testing.T, push func() (wxfake.Delivery, error)) (wxfake.Delivery, error) {
	t.Helper()
	sqlDB, err := e.hub.Store.DB.DB()
	if err != nil {
		t.Fatal(err)
	}
	waits := sqlDB.Stats().WaitCount
	held, release := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		// One writer connection (SQLite): a transaction holds it.
		err := e.hub.Store.DB.Transaction(func(*gorm.DB) error {
			close(held)
			<-release
			return nil
		})
		if err != nil {
			t.Errorf("holding the writer: %v", err)
		}
	}()
	<-held
	letGo := sync.OnceFunc(func() { close(release); wg.Wait() })
	defer letGo()
	type result struct {
		d   wxfake.Delivery
		err error
	}
	done := make(chan result, 1)
	go func() {
		d, err := push()
		done <- result{d, err}
	}()
	wait.For(t, "the push to wait for the database writer", func() bool { return sqlDB.Stats().WaitCount > waits })
	if _, err := e.fake.AbandonPushes(wait.Context(t)); err != nil {
		t.Fatal(err)
	}
	letGo()
	r := wait.Recv(t, "the push to the slow hub", done)
	return r.d, r.err
}

func TestE2EWeChat(t *testing.T) {
	modes := []wxMode{
		{name: "plaintext", appID: "wxe2e0plaintext000"},
		{name: "safe", safe: true, appID: "wxe2e0safemode0000"},
	}
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) { testWeChatJourney(t, mode) })
	}
}

func testWeChatJourney(t *testing.T, mode wxMode) {
	e := startWeChatE2E(t, mode)
	ctx := context.Background()
	app, api := mode.appID, e.api
	const openid = "oE2ECustomer00000000000001"

	// URL verification: a good signature echoes echostr, a bad one is 401.
	if res, err := e.fake.Verify(ctx, app); err != nil || !res.OK {
		t.Fatalf("URL verification: %+v %v", res, err)
	}
	if code, body := httpDo(t, "GET", e.hook+"?signature=0123456789abcdef0123456789abcdef01234567&timestamp=1&nonce=2&echostr=42", "", ""); code != http.StatusUnauthorized || body == "42" {
		t.Fatalf("URL verification with a bad signature: %d %q, want 401", code, body)
	}

	// Subscribe: the welcome is the passive reply (encrypted in safe mode),
	// not a customer-service message.
	d, err := e.fake.Follow(ctx, app, openid, "")
	if err != nil || !d.Acked {
		t.Fatalf("subscribe: %+v %v", d, err)
	}
	if d.ReplyError != "" || d.Reply == nil || d.Reply.Kind != "passive" ||
		!strings.Contains(d.Reply.Text, "欢迎") || !strings.Contains(d.Reply.Text, "Welcome") {
		t.Fatalf("subscribe: want the passive welcome, got %+v", d)
	}
	if encrypted := strings.Contains(d.Body, "<Encrypt>"); encrypted != mode.safe || (mode.safe && strings.Contains(d.Body, "欢迎")) {
		t.Fatalf("safe=%v, but the welcome went out as %q", mode.safe, d.Body)
	}

	// A text message opens a conversation with a wechat identity whose reply
	// window ends 48 h after the message.
	before := e.hubClock.Now()
	if d, err = e.fake.SendText(ctx, app, openid, "我的订单还没到"); err != nil || !d.Acked {
		t.Fatalf("text: %+v %v", d, err)
	}
	after := e.hubClock.Now()
	convID := api.waitConversationOf("wechat", openid)
	conv := api.conversation(convID)
	ident := conv.identity(t, "wechat")
	if conv.Subject != "我的订单还没到" || ident.Connector != e2eWXName || ident.ExternalID != openid || !ident.Reachable {
		t.Fatalf("conversation: %+v", conv)
	}
	if ident.LastInboundAt == nil || ident.ReplyUntil == nil ||
		ident.LastInboundAt.Before(before.Add(-time.Second)) || ident.LastInboundAt.After(after.Add(time.Second)) ||
		!ident.ReplyUntil.Equal(ident.LastInboundAt.Add(48*time.Hour)) {
		t.Fatalf("reply_until %v, last inbound %v, want last inbound (between %v and %v) + 48 h",
			ident.ReplyUntil, ident.LastInboundAt, before, after)
	}
	msgs, contacts := countInbound(t, e.hub), countRows(t, e.hub, "contacts")

	// WeChat re-posts the same push: nothing new is stored.
	if d, err = e.fake.Repost(ctx, app); err != nil || !d.Acked {
		t.Fatalf("repost: %+v %v", d, err)
	}
	if n := countInbound(t, e.hub); n != msgs {
		t.Fatalf("a re-posted push stored %d messages", n-msgs)
	}

	// A slow hub: WeChat gives up waiting and re-posts; the message is
	// stored once. (First the bot's answer to the first message is
	// delivered, so that only the push waits for the database writer.)
	wait.For(t, "the bot's answer delivered", func() bool {
		for _, m := range api.messages(convID) {
			if m.Sender.Type == "bot" {
				return m.Delivery.Status == "sent"
			}
		}
		return false
	})
	d, err = e.pushToSlowHub(t, func() (wxfake.Delivery, error) { return e.fake.SendText(ctx, app, openid, "还在吗？") })
	if err != nil || !d.Acked || d.Attempts < 2 {
		t.Fatalf("push to a slow hub: %+v %v (want it acknowledged after a re-post)", d, err)
	}
	if n := countInbound(t, e.hub); n != msgs+1 {
		t.Fatalf("a push re-posted to a slow hub stored %d messages, want 1", n-msgs)
	}
	msgs++

	// Forged, tampered and malformed pushes are refused and store nothing.
	// A push that is otherwise the same is accepted (the control).
	const stranger = "oE2EStranger0000000000001"
	plain := fmt.Sprintf(`<xml><ToUserName><![CDATA[%s]]></ToUserName><FromUserName><![CDATA[%s]]></FromUserName><CreateTime>%d</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[hello]]></Content><MsgId>7700000000000000001</MsgId></xml>`,
		e.orig, stranger, e.wxClock.Now().Unix())
	refusals := []struct {
		name   string
		plain  string
		tamper func(q url.Values, body string) string
		want   int
		safe   bool   // only in safe mode
		ts     string // the push's timestamp, if not now
		// plaintext: not encrypted even in safe mode.
		plaintext bool
	}{
		{name: "bad signature", plain: plain, want: http.StatusUnauthorized,
			tamper: func(q url.Values, b string) string { q.Set("signature", strings.Repeat("0", 40)); return b }},
		{name: "no signature", plain: plain, want: http.StatusUnauthorized,
			tamper: func(q url.Values, b string) string { q.Del("signature"); return b }},
		{name: "bad msg_signature", plain: plain, want: http.StatusUnauthorized, safe: true,
			tamper: func(q url.Values, b string) string { q.Set("msg_signature", strings.Repeat("0", 40)); return b }},
		{name: "body swapped under a valid msg_signature", plain: plain, want: http.StatusUnauthorized, safe: true,
			tamper: func(q url.Values, b string) string {
				_, other := e.craftPush(t, strings.Replace(plain, "hello", "evil", 1))
				return other
			}},
		{name: "malformed XML", plain: `<xml><ToUserName><![CDATA[gh_x]]></ToUserName><FromUserName>`, want: http.StatusBadRequest},
		{name: "malformed envelope", plain: plain, want: http.StatusBadRequest, safe: true,
			tamper: func(q url.Values, b string) string { return b[:len(b)/2] }},
		{name: "a 2020 timestamp", plain: plain, want: http.StatusForbidden, ts: "1588291200"},
		{name: "a timestamp that is not a number", plain: plain, want: http.StatusForbidden, ts: "soon"},
		{name: "6 minutes old", plain: plain, want: http.StatusForbidden,
			ts: strconv.FormatInt(e.hubClock.Now().Add(-6*time.Minute).Unix(), 10)},
		{name: "a signed plaintext push in safe mode", plain: plain, want: http.StatusForbidden, safe: true, plaintext: true},
	}
	for _, r := range refusals {
		if r.safe && !mode.safe {
			continue
		}
		q, body := e.craftPush(t, r.plain)
		if r.ts != "" || r.plaintext {
			ts := r.ts
			if ts == "" {
				ts = q.Get("timestamp")
			}
			q, body = e.craftPushAt(t, r.plain, ts, q.Get("nonce"), mode.safe && !r.plaintext)
		}
		if r.tamper != nil {
			body = r.tamper(q, body)
		}
		if code, answer := e.post(t, q, body); code != r.want {
			t.Errorf("%s: %d %q, want %d", r.name, code, answer, r.want)
		}
		if n, c := countInbound(t, e.hub), countRows(t, e.hub, "contacts"); n != msgs || c != contacts {
			t.Fatalf("%s: stored %d messages and %d contacts", r.name, n-msgs, c-contacts)
		}
	}
	q, body := e.craftPush(t, plain)
	if code, answer := e.post(t, q, body); code != http.StatusOK || answer != "success" {
		t.Fatalf("the genuine push: %d %q", code, answer)
	}
	if n, c := countInbound(t, e.hub), countRows(t, e.hub, "contacts"); n != msgs+1 || c != contacts+1 {
		t.Fatalf("the genuine push stored %d messages and %d contacts, want 1 and 1", n-msgs, c-contacts)
	}
	msgs, contacts = msgs+1, contacts+1
	// Its signed URL (as logged by a proxy) reused with another body: refused.
	other := strings.Replace(strings.Replace(plain, "hello", "link", 1), "7700000000000000001", "7700000000000000002", 1)
	q2, body2 := e.craftPushAt(t, other, q.Get("timestamp"), q.Get("nonce"), mode.safe)
	if code, answer := e.post(t, q2, body2); code != http.StatusForbidden || !strings.Contains(answer, "replayed") {
		t.Fatalf("a replayed signature with another body: %d %q, want 403", code, answer)
	}
	// The same request again is WeChat re-posting: answered, stored once.
	if code, answer := e.post(t, q, body); code != http.StatusOK || answer != "success" {
		t.Fatalf("the genuine push re-posted: %d %q", code, answer)
	}
	if n, c := countInbound(t, e.hub), countRows(t, e.hub, "contacts"); n != msgs || c != contacts {
		t.Fatalf("the replay and the re-post stored %d messages and %d contacts", n-msgs, c-contacts)
	}

	// The bot answers the first message (never silence) and the agent's
	// reply goes out as customer-service messages; the welcome never did.
	wait.For(t, "the bot's answer to the first message", func() bool { return len(e.kefu(openid)) == 1 })
	var sent apiMessage
	api.json("POST", "/api/v1/conversations/"+convID+"/messages", map[string]any{"text": "您好，我们马上查询。"}, &sent)
	if got := api.waitDelivery(convID, sent.ID); got.Delivery.Status != "sent" {
		t.Fatalf("agent reply: %+v", got)
	}
	if got := e.kefu(openid); len(got) != 2 || !strings.Contains(got[0], "#"+convID) || got[1] != "您好，我们马上查询。" {
		t.Fatalf("customer-service messages: %q, want the bot's ticket answer, then the agent's reply", got)
	}

	// A CLICK on the menu key "human" is confirmed in the passive reply and
	// shows as an action in the timeline.
	if d, err = e.fake.Click(ctx, app, openid, "human"); err != nil || !d.Acked {
		t.Fatalf("click: %+v %v", d, err)
	}
	if d.ReplyError != "" || d.Reply == nil || d.Reply.Kind != "passive" || !strings.Contains(d.Reply.Text, "人工") {
		t.Fatalf("click: want the passive confirmation, got %+v", d)
	}
	foundAction := false
	for _, m := range api.messages(convID) {
		foundAction = foundAction || (m.Kind == "action" && m.Direction == "in")
	}
	if !foundAction {
		t.Fatalf("the click is not in the timeline: %+v", api.messages(convID))
	}

	// 45015: the hub still believes the window open (47 h), WeChat counts
	// 49 h and refuses; the agent sees why.
	e.hubClock.Advance(47 * time.Hour)
	e.wxClock.Advance(49 * time.Hour)
	api.json("POST", "/api/v1/conversations/"+convID+"/messages", map[string]any{"text": "还需要帮助吗？"}, &sent)
	got := api.waitDelivery(convID, sent.ID)
	if got.Delivery.Status != "failed" || got.Delivery.Error == nil ||
		!strings.Contains(*got.Delivery.Error, "48-hour") || !strings.Contains(*got.Delivery.Error, "45015") {
		t.Fatalf("a reply WeChat refused with 45015: %+v (error %v)", got, deref(got.Delivery.Error))
	}
	if ident := api.conversation(convID).identity(t, "wechat"); ident.Reachable {
		t.Fatalf("after 45015 the identity must be unreachable: %+v", ident)
	}
	if got := e.kefu(openid); len(got) != 2 {
		t.Fatalf("customer-service messages after 45015: %q", got)
	}

	// The customer writes again (the clocks agree again: the hub refuses
	// pushes more than 5 minutes off); 49 h later (hub clock) the API
	// refuses a reply and names the window and its end.
	e.hubClock.Advance(2 * time.Hour)
	if d, err = e.fake.SendText(ctx, app, openid, "在的"); err != nil || !d.Acked {
		t.Fatalf("text: %+v %v", d, err)
	}
	ident = api.conversation(convID).identity(t, "wechat")
	if !ident.Reachable || ident.ReplyUntil == nil {
		t.Fatalf("a new message must make the identity reachable again: %+v", ident)
	}
	e.hubClock.Advance(49 * time.Hour)
	msgs = countRows(t, e.hub, "messages")
	code, raw := api.do("POST", "/api/v1/conversations/"+convID+"/messages", map[string]any{"text": "too late"})
	until := ident.ReplyUntil.UTC().Format(time.RFC3339)
	if code != http.StatusBadRequest || !strings.Contains(string(raw), `"code":"invalid"`) ||
		!strings.Contains(string(raw), "48-hour") || !strings.Contains(string(raw), until) {
		t.Fatalf("a reply outside the window: %d %s, want 400 invalid naming the 48-hour window and its end %s", code, raw, until)
	}
	if n := countRows(t, e.hub, "messages"); n != msgs {
		t.Fatalf("a refused reply stored %d messages", n-msgs)
	}

	// Unsubscribe: the identity becomes unreachable.
	e.wxClock.Advance(49 * time.Hour)
	if d, err = e.fake.Unfollow(ctx, app, openid); err != nil || !d.Acked {
		t.Fatalf("unsubscribe: %+v %v", d, err)
	}
	if ident := api.conversation(convID).identity(t, "wechat"); ident.Reachable || ident.UnreachableReason == "" {
		t.Fatalf("after unsubscribe: %+v, want reachable false with a reason", ident)
	}
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

// TestE2EWeChatSlowHubKeepsPassiveReply: when the hub is slow, WeChat
// re-posts a menu click and shows the customer only the answer to the
// re-post; that answer must still carry the bot's confirmation.
func TestE2EWeChatSlowHubKeepsPassiveReply(t *testing.T) {
	e := startWeChatE2E(t, wxMode{name: "plaintext", appID: "wxe2e0slowhub00000"})
	ctx := context.Background()
	const openid = "oE2ESlowHubCustomer000001"
	if d, err := e.fake.Follow(ctx, "", openid, ""); err != nil || !d.Acked {
		t.Fatalf("subscribe: %+v %v", d, err)
	}
	d, err := e.pushToSlowHub(t, func() (wxfake.Delivery, error) { return e.fake.Click(ctx, "", openid, "human") })
	if err != nil || !d.Acked || d.Attempts < 2 {
		t.Fatalf("click pushed to a slow hub: %+v %v (want it acknowledged after a re-post)", d, err)
	}
	if d.Reply == nil || !strings.Contains(d.Reply.Text, "人工") {
		t.Fatalf("the customer saw no confirmation after the re-post: %+v", d)
	}
}

// TestE2EWeChatWelcomeOffersAHuman: WeChat chats have no buttons, so the
// welcome's buttons arrive as numbered options in the passive reply, and the
// customer's "1" is that button: a hand-over to a human.
func TestE2EWeChatWelcomeOffersAHuman(t *testing.T) {
	e := startWeChatE2E(t, wxMode{name: "plaintext", appID: "wxe2e0welcome00000"})
	ctx := context.Background()
	const openid = "oE2EWelcomeCustomer000001"
	d, err := e.fake.Follow(ctx, "", openid, "")
	if err != nil || d.Reply == nil || !strings.Contains(d.Reply.Text, "1. 转人工") {
		t.Fatalf("the welcome must offer a human as option 1: %+v %v", d, err)
	}
	if d, err = e.fake.SendText(ctx, "", openid, "1"); err != nil || !d.Acked {
		t.Fatalf("choice: %+v %v", d, err)
	}
	convID := e.api.waitConversationOf("wechat", openid)
	msgs := e.api.messages(convID)
	if msgs[0].Kind != "action" || msgs[0].Text != "1" {
		t.Fatalf("the customer's \"1\" must be the human button: %+v", msgs[0])
	}
	wait.For(t, "the hand-over confirmation", func() bool {
		for _, text := range e.kefu(openid) {
			if strings.Contains(text, "人工") {
				return true
			}
		}
		return false
	})
}

// TestE2EWeChatLinkCodeOnlyInSealedReplies: the "link" menu click is
// answered in the passive reply, which goes to whoever made the request. A
// plaintext push may be forged with a leaked signed URL, so there the code
// goes to the customer's own chat as a customer-service message and the
// passive reply only says so; a safe-mode push (body signed by WeChat) gets
// it inline.
func TestE2EWeChatLinkCodeOnlyInSealedReplies(t *testing.T) {
	for _, mode := range []wxMode{
		{name: "plaintext", appID: "wxe2e0linkplain000"},
		{name: "safe", safe: true, appID: "wxe2e0linksafe0000"},
	} {
		t.Run(mode.name, func(t *testing.T) {
			e := startWeChatE2E(t, mode)
			ctx := context.Background()
			const openid = "oE2ELinkClickCustomer0001"
			if d, err := e.fake.Follow(ctx, mode.appID, openid, ""); err != nil || !d.Acked {
				t.Fatalf("subscribe: %+v %v", d, err)
			}
			if d, err := e.fake.SendText(ctx, mode.appID, openid, "my parcel is late"); err != nil || !d.Acked {
				t.Fatalf("text: %+v %v", d, err)
			}
			// The bot answers the first message with a customer-service
			// message (never silence).
			wait.For(t, "the bot's answer", func() bool { return len(e.kefu(openid)) == 1 })
			d, err := e.fake.Click(ctx, mode.appID, openid, "link")
			if err != nil || !d.Acked || d.Reply == nil {
				t.Fatalf("link click: %+v %v", d, err)
			}
			if !mode.safe {
				if codeRx.MatchString(d.Reply.Text) || !strings.Contains(d.Reply.Text, "separate message") {
					t.Fatalf("the passive reply to a plaintext push must not carry the code:\n%s", d.Reply.Text)
				}
				var kefu []string
				wait.For(t, "the offer as a customer-service message", func() bool {
					kefu = e.kefu(openid)
					return len(kefu) == 2
				})
				offerCode(t, kefu[1])
				return
			}
			offerCode(t, d.Reply.Text)
			if kefu := e.kefu(openid); len(kefu) != 1 {
				t.Fatalf("a sealed click's offer went out twice: %q", kefu)
			}
		})
	}
}

// TestE2EWeChatReplayRefusedAcrossReplicas: two hub replicas on one
// PostgreSQL database share the memory of recent push signatures: a signed
// URL used on one is refused with another body on the other, while WeChat's
// re-post of the same push to the other replica is answered and stored once.
func TestE2EWeChatReplayRefusedAcrossReplicas(t *testing.T) {
	e := startWeChatE2E(t, wxMode{name: "plaintext", appID: "wxe2e0replicas0000", dsn: pgDSN(t)})
	second := e.startHub(t, listenLocal(t))
	hook2 := second.URL() + "/webhooks/" + e2eWXName
	post2 := func(q url.Values, body string) (int, string) {
		return httpDo(t, "POST", hook2+"?"+q.Encode(), "text/xml", body)
	}
	const openid = "oE2EReplicaCustomer000001"
	push := func(id, text string) string {
		return fmt.Sprintf(`<xml><ToUserName><![CDATA[%s]]></ToUserName><FromUserName><![CDATA[%s]]></FromUserName><CreateTime>%d</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[%s]]></Content><MsgId>%s</MsgId></xml>`,
			e.orig, openid, e.wxClock.Now().Unix(), text, id)
	}
	q, body := e.craftPush(t, push("7710000000000000001", "hello"))
	if code, answer := e.post(t, q, body); code != http.StatusOK {
		t.Fatalf("the genuine push on replica 1: %d %q", code, answer)
	}
	msgs := countInbound(t, e.hub)
	q2, body2 := e.craftPushAt(t, push("7710000000000000002", "link"), q.Get("timestamp"), q.Get("nonce"), false)
	if code, answer := post2(q2, body2); code != http.StatusForbidden {
		t.Fatalf("the same signed URL with another body on replica 2: %d %q, want 403", code, answer)
	}
	if code, answer := post2(q, body); code != http.StatusOK || answer != "success" {
		t.Fatalf("the re-post on replica 2: %d %q", code, answer)
	}
	if n := countInbound(t, second); n != msgs {
		t.Fatalf("replica 2 stored %d messages, want none", n-msgs)
	}
}
