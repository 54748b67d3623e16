package wxfake

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tongdao/hub/internal/testclock"
	"github.com/tongdao/hub/internal/wait"
)

const testKey = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"

func TestCryptoVectors(t *testing.T) {
	enc, err := Encrypt(testKey, "wxb11529c136998cb6", []byte("我是中文abcd123"), []byte("aaaabbbbccccdddd"))
	if err != nil {
		t.Fatal(err)
	}
	if enc != "jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg==" {
		t.Fatalf("encrypt vector: %s", enc)
	}
	const push = "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE="
	if got := Signature("spamtest", "1409735669", "1320562132", push); got != "5d197aaffba7e9b25a30732f161a50dee96bd5fa" {
		t.Fatalf("msg_signature vector: %s", got)
	}
	plain, err := Decrypt(testKey, "wx2c2769f8efd9abc2", push)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(plain, []byte("abcdteT")) || !bytes.Contains(plain, []byte("6054768590064713728")) {
		t.Fatalf("decrypted %s", plain)
	}
	if _, err := Decrypt(testKey, "wxother0000000000", push); err == nil {
		t.Fatal("decrypting for another AppID succeeded")
	}
}

// hubStub is a minimal webhook: it checks signatures, decrypts, records
// pushes and answers with reply (or success).
type hubStub struct {
	mu     sync.Mutex
	pushes []string
	reply  func(plain []byte) []byte
}

func (h *hubStub) handler(t *testing.T, token, appID string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("signature") != Signature(token, q.Get("timestamp"), q.Get("nonce")) {
			w.WriteHeader(401)
			return
		}
		if r.Method == http.MethodGet {
			_, _ = io.WriteString(w, q.Get("echostr"))
			return
		}
		body, _ := io.ReadAll(r.Body)
		if q.Get("encrypt_type") == "aes" {
			var env struct{ Encrypt string }
			if err := xml.Unmarshal(body, &env); err != nil ||
				q.Get("msg_signature") != Signature(token, q.Get("timestamp"), q.Get("nonce"), env.Encrypt) {
				w.WriteHeader(401)
				return
			}
			var err error
			if body, err = Decrypt(testKey, appID, env.Encrypt); err != nil {
				t.Errorf("decrypt push: %v", err)
			}
		}
		h.mu.Lock()
		h.pushes = append(h.pushes, string(body))
		reply := h.reply
		h.mu.Unlock()
		if reply != nil {
			_, _ = w.Write(reply(body))
			return
		}
		_, _ = io.WriteString(w, "success")
	})
}

func newTestServer(t *testing.T, safe bool) (*Server, *hubStub, *testclock.Clock) {
	t.Helper()
	clk := testclock.New(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
	hub := &hubStub{}
	app := "wx1234567890abcdef"
	hs := httptest.NewServer(hub.handler(t, "tok", app))
	t.Cleanup(hs.Close)
	s := New(Options{Accounts: []Account{{AppID: app, AppSecret: "sec", Token: "tok", EncodingAESKey: testKey,
		SafeMode: safe, WebhookURL: hs.URL + "/webhooks/wx"}}, Now: clk.Now, PushTimeout: wait.Timeout})
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, hub, clk
}

func getJSON(t *testing.T, u string) map[string]any {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return m
}

func postJSON(t *testing.T, u string, body any) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(u, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

func TestAPI(t *testing.T) {
	s, _, clk := newTestServer(t, false)
	ctx := context.Background()
	base := s.URL()
	if m := getJSON(t, base+"/cgi-bin/token?grant_type=client_credential&appid=wx1234567890abcdef&secret=bad"); m["errcode"] != 40125.0 {
		t.Fatalf("wrong secret: %v", m)
	}
	m := getJSON(t, base+"/cgi-bin/token?grant_type=client_credential&appid=wx1234567890abcdef&secret=sec")
	tok, _ := m["access_token"].(string)
	if tok == "" || m["expires_in"] != 7200.0 {
		t.Fatalf("token: %v", m)
	}
	send := func(tk, openid, text string) float64 {
		_, m := postJSON(t, base+"/cgi-bin/message/custom/send?access_token="+url.QueryEscape(tk),
			map[string]any{"touser": openid, "msgtype": "text", "text": map[string]string{"content": text}})
		return m["errcode"].(float64)
	}
	if c := send("nope", "o1", "x"); c != 40001 {
		t.Fatalf("bad token: %v", c)
	}
	if c := send(tok, "o1", "x"); c != 40003 {
		t.Fatalf("unknown openid: %v", c)
	}
	if _, err := s.Follow(ctx, "", "o1", ""); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if c := send(tok, "o1", "welcome"); c != 0 {
			t.Fatalf("event window message %d: %v", i+1, c)
		}
	}
	if c := send(tok, "o1", "fourth"); c != 45047 {
		t.Fatalf("4th within a minute of subscribe: %v", c)
	}
	if c := send(tok, "o1", strings.Repeat("a", 2049)); c != 45002 {
		t.Fatalf("too long: %v", c)
	}
	clk.Advance(49 * time.Hour)
	if c := send(tok, "o1", "late"); c != 42001 {
		t.Fatalf("token after 49 h: %v", c)
	}
	m = getJSON(t, base+"/cgi-bin/token?grant_type=client_credential&appid=wx1234567890abcdef&secret=sec")
	tok = m["access_token"].(string)
	if c := send(tok, "o1", "late"); c != 45015 {
		t.Fatalf("after 49 h: %v", c)
	}
	s.FailNext(0)
	s.FailNext(-1)
	if c := send(tok, "o1", "x"); c != 45015 {
		t.Fatalf("FailNext(0) slot: %v", c)
	}
	if c := send(tok, "o1", "x"); c != -1 {
		t.Fatalf("FailNext(-1): %v", c)
	}

	// QR: no errcode on success, ticket resolves, image served.
	_, m = postJSON(t, base+"/cgi-bin/qrcode/create?access_token="+url.QueryEscape(tok), map[string]any{
		"expire_seconds": 600, "action_name": "QR_STR_SCENE", "action_info": map[string]any{"scene": map[string]any{"scene_str": "vip"}}})
	ticket, _ := m["ticket"].(string)
	if ticket == "" || m["errcode"] != nil || m["expire_seconds"] != 600.0 {
		t.Fatalf("qrcode/create: %v", m)
	}
	img := base + "/cgi-bin/showqrcode?ticket=" + url.QueryEscape(ticket)
	if app, scene, ok := s.SceneForQR(img); !ok || scene != "vip" || app != "wx1234567890abcdef" {
		t.Fatalf("SceneForQR = %q %q %v", app, scene, ok)
	}
	resp, err := http.Get(img)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("showqrcode: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	clk.Advance(11 * time.Minute)
	if _, _, ok := s.SceneForQR(img); ok {
		t.Fatal("expired QR still resolves")
	}
}

func TestPushesAndCustomerAPI(t *testing.T) {
	for _, safe := range []bool{false, true} {
		t.Run(map[bool]string{false: "plaintext", true: "safe"}[safe], func(t *testing.T) {
			s, hub, _ := newTestServer(t, safe)
			api := httptest.NewServer(http.StripPrefix("", s.CustomerAPI()))
			defer api.Close()
			// A reply built the way an Official Account does.
			hub.reply = func(plain []byte) []byte {
				var p struct{ FromUserName, ToUserName, MsgType string }
				_ = xml.Unmarshal(plain, &p)
				if p.MsgType != "event" {
					return []byte("success")
				}
				r := []byte("<xml><ToUserName><![CDATA[" + p.FromUserName + "]]></ToUserName><FromUserName><![CDATA[" +
					p.ToUserName + "]]></FromUserName><CreateTime>1</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[欢迎]]></Content></xml>")
				if !safe {
					return r
				}
				enc, _ := Encrypt(testKey, "wx1234567890abcdef", r, nil)
				return []byte("<xml><Encrypt><![CDATA[" + enc + "]]></Encrypt><MsgSignature>" + Signature("tok", "7", "n", enc) +
					"</MsgSignature><TimeStamp>7</TimeStamp><Nonce>n</Nonce></xml>")
			}
			code, m := postJSON(t, api.URL+"/sandbox/wechat/send", map[string]any{"openid": "o-x", "text": "在吗"})
			if code != 200 || m["acked"] != true || m["msg_id"] == "" {
				t.Fatalf("/send: %d %v", code, m)
			}
			hub.mu.Lock()
			pushes := append([]string(nil), hub.pushes...)
			hub.mu.Unlock()
			if len(pushes) != 2 || !strings.Contains(pushes[0], "<Event><![CDATA[subscribe]]></Event>") ||
				!strings.Contains(pushes[1], "<Content><![CDATA[在吗]]></Content>") {
				t.Fatalf("pushes %q", pushes)
			}
			sent := getJSON(t, api.URL+"/sent?openid=o-x")["sent"].([]any)
			if len(sent) != 1 || sent[0].(map[string]any)["kind"] != "passive" || sent[0].(map[string]any)["text"] != "欢迎" {
				t.Fatalf("/sent: %v", sent)
			}
			if code, m := postJSON(t, api.URL+"/verify", map[string]any{}); code != 200 || m["ok"] != true {
				t.Fatalf("/verify: %d %v", code, m)
			}
			if code, _ := postJSON(t, api.URL+"/click", map[string]any{"openid": "o-x"}); code != 400 {
				t.Fatalf("/click without key: %d", code)
			}
			if code, _ := postJSON(t, api.URL+"/unfollow", map[string]any{"openid": "o-x"}); code != 200 {
				t.Fatalf("/unfollow: %d", code)
			}
			if code, _ := postJSON(t, api.URL+"/click", map[string]any{"openid": "o-x", "key": "K"}); code != 409 {
				t.Fatalf("/click after unfollow: %d, want 409", code)
			}
		})
	}
}

// TestRetries: WeChat re-posts while the hub answers non-200, at most 3
// times in all.
func TestRetries(t *testing.T) {
	var mu sync.Mutex
	calls := 0
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		mu.Unlock()
		w.WriteHeader(500)
	}))
	defer hs.Close()
	s := New(Options{Accounts: []Account{{AppID: "wx1234567890abcdef", AppSecret: "s", Token: "tok", WebhookURL: hs.URL}},
		PushTimeout: wait.Timeout})
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	d, err := s.Follow(context.Background(), "", "o1", "")
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if d.Acked || d.Attempts != 3 || calls != 3 || d.Status != 500 {
		t.Fatalf("delivery %+v after %d calls", d, calls)
	}
}

// TestAbandonPushes: WeChat gives up on an attempt the hub has not answered
// and re-posts; the re-post is acknowledged.
func TestAbandonPushes(t *testing.T) {
	inFirst, release := make(chan struct{}, 1), make(chan struct{})
	var mu sync.Mutex
	calls := 0
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		first := calls == 1
		mu.Unlock()
		_, _ = io.Copy(io.Discard, r.Body) // then the server notices the client leave
		if first {
			inFirst <- struct{}{}
			select {
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		_, _ = io.WriteString(w, "success")
	}))
	defer hs.Close()
	defer close(release) // before hs.Close, which waits for the handlers
	s := New(Options{Accounts: []Account{{AppID: "wx1234567890abcdef", AppSecret: "s", Token: "tok", WebhookURL: hs.URL}},
		PushTimeout: wait.Timeout})
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	type result struct {
		d   Delivery
		err error
	}
	done := make(chan result, 1)
	go func() {
		d, err := s.Follow(context.Background(), "", "o1", "")
		done <- result{d, err}
	}()
	wait.Recv(t, "the first attempt", inFirst)
	if n, err := s.AbandonPushes(wait.Context(t)); n != 1 || err != nil {
		t.Fatalf("AbandonPushes = %d, %v", n, err)
	}
	r := wait.Recv(t, "the push", done)
	if r.err != nil || !r.d.Acked || r.d.Attempts != 2 {
		t.Fatalf("delivery %+v, %v: want acknowledged on attempt 2", r.d, r.err)
	}
	// Nothing in flight: AbandonPushes waits for an attempt, until ctx ends.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if n, err := s.AbandonPushes(ctx); n != 0 || err == nil {
		t.Fatalf("AbandonPushes with nothing in flight = %d, %v", n, err)
	}
}
