package wechat

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tongdao/hub/sandbox/wxfake"
)

// forged is a push built by hand, signed with the account's token as WeChat
// (or someone holding one signed URL) would.
type forged struct {
	ts, nonce string
	plain     string // the plaintext push XML
	encrypt   bool   // safe-mode envelope with encrypt_type=aes and msg_signature
}

// textPush is a plaintext text push from openid with msgID.
func (h *harness) textPush(openid, msgID, text string) string {
	return fmt.Sprintf(`<xml><ToUserName><![CDATA[%s]]></ToUserName><FromUserName><![CDATA[%s]]></FromUserName>`+
		`<CreateTime>%d</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[%s]]></Content><MsgId>%s</MsgId></xml>`,
		h.fake.OriginalID(h.app), openid, h.clock.Now().Unix(), text, msgID)
}

// post signs f (and encrypts it when asked) and posts it to the connector.
func (h *harness) post(t *testing.T, f forged) (int, string) {
	t.Helper()
	if f.ts == "" {
		f.ts = strconv.FormatInt(h.clock.Now().Unix(), 10)
	}
	if f.nonce == "" {
		f.nonce = strconv.FormatInt(h.clock.Now().UnixNano(), 10)
	}
	q := url.Values{"signature": {wxfake.Signature("tok123", f.ts, f.nonce)}, "timestamp": {f.ts}, "nonce": {f.nonce}}
	body := f.plain
	if f.encrypt {
		enc, err := wxfake.Encrypt(testAESKey, h.app, []byte(f.plain), nil)
		if err != nil {
			t.Fatal(err)
		}
		q.Set("encrypt_type", "aes")
		q.Set("msg_signature", wxfake.Signature("tok123", f.ts, f.nonce, enc))
		body = "<xml><ToUserName><![CDATA[" + h.fake.OriginalID(h.app) + "]]></ToUserName><Encrypt><![CDATA[" + enc + "]]></Encrypt></xml>"
	}
	return h.postRaw(t, q, body)
}

func (h *harness) postRaw(t *testing.T, q url.Values, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(h.hub.URL+"/webhooks/wx?"+q.Encode(), "text/xml", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(answer)
}

func (h *harness) stored() int { return len(h.sink.inbounds()) }

// TestSafeModeRefusesPlaintextPushes: with a key and no mode (safe by
// default), a correctly signed plaintext push is refused and nothing is
// stored; so is an encrypted push with a bad msg_signature.
func TestSafeModeRefusesPlaintextPushes(t *testing.T) {
	for _, mode := range []string{"", ModeSafe} {
		t.Run("mode="+mode, func(t *testing.T) {
			h := newHarness(t, harnessOpts{safe: true, mode: mode})
			if h.conn.settings.Mode != ModeSafe {
				t.Fatalf("effective mode %q, want safe", h.conn.settings.Mode)
			}
			code, answer := h.post(t, forged{plain: h.textPush("o-mallory", "900001", "hi")})
			if code != http.StatusForbidden || !strings.Contains(answer, "safe mode") || h.stored() != 0 {
				t.Fatalf("plaintext push in safe mode: %d %q, %d stored; want 403 and nothing stored", code, answer, h.stored())
			}
			// A bad msg_signature.
			ts := strconv.FormatInt(h.clock.Now().Unix(), 10)
			enc, _ := wxfake.Encrypt(testAESKey, h.app, []byte(h.textPush("o-mallory", "900002", "hi")), nil)
			q := url.Values{"signature": {wxfake.Signature("tok123", ts, "77")}, "timestamp": {ts}, "nonce": {"77"},
				"encrypt_type": {"aes"}, "msg_signature": {strings.Repeat("0", 40)}}
			if code, _ := h.postRaw(t, q, "<xml><Encrypt><![CDATA["+enc+"]]></Encrypt></xml>"); code != http.StatusUnauthorized || h.stored() != 0 {
				t.Fatalf("bad msg_signature: %d, %d stored", code, h.stored())
			}
			// The control: the same push encrypted and signed is accepted and sealed.
			if code, answer := h.post(t, forged{plain: h.textPush("o-mallory", "900003", "hi"), encrypt: true}); code != http.StatusOK || answer != "success" {
				t.Fatalf("encrypted push: %d %q", code, answer)
			}
			if ins := h.sink.inbounds(); len(ins) != 1 || !ins[0].Sealed {
				t.Fatalf("the encrypted push must be stored, sealed: %+v", ins)
			}
		})
	}
}

// TestTimestampWindow: a push whose timestamp is not a number or more than
// five minutes from the connector's clock is refused, even correctly signed.
func TestTimestampWindow(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	now := h.clock.Now().Unix()
	for i, tc := range []struct {
		name string
		ts   string
		want int
	}{
		{"a 2020 timestamp", strconv.FormatInt(time.Date(2020, 5, 1, 0, 0, 0, 0, time.UTC).Unix(), 10), http.StatusForbidden},
		{"not a number", "now", http.StatusForbidden},
		{"a number with junk", strconv.FormatInt(now, 10) + "x", http.StatusForbidden},
		{"5 min 1 s old", strconv.FormatInt(now-301, 10), http.StatusForbidden},
		{"5 min 1 s ahead", strconv.FormatInt(now+301, 10), http.StatusForbidden},
		{"far future", "99999999999999999999", http.StatusForbidden},
		{"5 min old", strconv.FormatInt(now-300, 10), http.StatusOK},
		{"5 min ahead", strconv.FormatInt(now+300, 10), http.StatusOK},
	} {
		before := h.stored()
		code, answer := h.post(t, forged{ts: tc.ts, nonce: strconv.Itoa(1000 + i),
			plain: h.textPush("o-ts", strconv.Itoa(800000+i), tc.name)})
		if code != tc.want {
			t.Errorf("%s: %d %q, want %d", tc.name, code, answer, tc.want)
		}
		stored := h.stored() - before
		if tc.want != http.StatusOK && (stored != 0 || !strings.Contains(answer, "timestamp")) {
			t.Errorf("%s: stored %d, answer %q; want nothing stored and the reason", tc.name, stored, answer)
		}
		if tc.want == http.StatusOK && stored != 1 {
			t.Errorf("%s: stored %d, want 1", tc.name, stored)
		}
	}
	// The URL verification has the same window.
	old := strconv.FormatInt(now-3600, 10)
	resp, err := http.Get(h.hub.URL + "/webhooks/wx?" + url.Values{"signature": {wxfake.Signature("tok123", old, "5")},
		"timestamp": {old}, "nonce": {"5"}, "echostr": {"42"}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || string(body) == "42" {
		t.Fatalf("stale URL verification: %d %q, want 403 without the echo", resp.StatusCode, body)
	}
	if !strings.HasPrefix(string(body), `{"error":{"code":"forbidden","message":"timestamp is more than 5 minutes`) {
		t.Errorf("stale URL verification body %q, want the API's error shape with code forbidden", body)
	}
}

// TestReplayedNonceWithAnotherBodyRefused: a signed URL (token, timestamp,
// nonce) carries no body signature in plaintext mode; reused with another
// body it is refused, while the same request again (WeChat's own re-post)
// is answered and deduplicated by message id. In safe mode a re-post whose
// ciphertext was drawn anew is the same push too.
func TestReplayedNonceWithAnotherBodyRefused(t *testing.T) {
	for _, mode := range []string{ModePlain, ModeCompatible, ModeSafe} {
		t.Run(mode, func(t *testing.T) {
			h := newHarness(t, harnessOpts{mode: mode})
			h.sink.reply = "欢迎"
			ts := strconv.FormatInt(h.clock.Now().Unix(), 10)
			genuine := forged{ts: ts, nonce: "424242", plain: h.textPush("o-alice", "700001", "where is my parcel"),
				encrypt: mode != ModePlain}
			if code, _ := h.post(t, genuine); code != http.StatusOK {
				t.Fatalf("genuine push: %d", code)
			}
			// WeChat re-posts: same request, answered, stored once.
			if code, answer := h.post(t, genuine); code != http.StatusOK || answer != "success" {
				t.Fatalf("re-post: %d %q", code, answer)
			}
			if h.stored() != 1 || h.sink.callCount() != 2 {
				t.Fatalf("after the re-post: %d stored, %d ingests; want 1 and 2", h.stored(), h.sink.callCount())
			}
			// The same signed URL with another body: refused, nothing stored.
			forgedPush := genuine
			forgedPush.plain = h.textPush("o-alice", "700002", "link")
			forgedPush.encrypt = false
			wantCode := http.StatusForbidden
			code, answer := h.post(t, forgedPush)
			if code != wantCode || h.stored() != 1 || h.sink.callCount() != 2 {
				t.Fatalf("replayed nonce with another body: %d %q, %d stored; want %d and nothing stored",
					code, answer, h.stored(), wantCode)
			}
			if mode != ModeSafe && !strings.Contains(answer, "replayed") {
				t.Fatalf("the refusal must say why: %q", answer)
			}
			// Ten minutes later the URL is past its window anyway.
			h.clock.Advance(10 * time.Minute)
			if code, _ := h.post(t, genuine); code != http.StatusForbidden {
				t.Fatalf("the genuine push 10 minutes later: %d, want 403", code)
			}
		})
	}
}

// TestVerificationURLCannotSignAPush: the signed URL of a URL verification
// (also logged) cannot be reused for a push; the same verification again
// is still answered.
func TestVerificationURLCannotSignAPush(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	ts := strconv.FormatInt(h.clock.Now().Unix(), 10)
	q := url.Values{"signature": {wxfake.Signature("tok123", ts, "31337")}, "timestamp": {ts}, "nonce": {"31337"}, "echostr": {"8080"}}
	for range 2 {
		resp, err := http.Get(h.hub.URL + "/webhooks/wx?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || string(body) != "8080" {
			t.Fatalf("URL verification: %d %q", resp.StatusCode, body)
		}
	}
	if code, answer := h.post(t, forged{ts: ts, nonce: "31337", plain: h.textPush("o-eve", "400001", "link")}); code != http.StatusForbidden || h.stored() != 0 {
		t.Fatalf("a push under the verification's signature: %d %q, %d stored", code, answer, h.stored())
	}
}

// TestReplayRefusedAcrossReplicas: two connectors for one account sharing
// one KV (two hub replicas on one database) remember each other's pushes.
func TestReplayRefusedAcrossReplicas(t *testing.T) {
	h := newHarness(t, harnessOpts{mode: ModePlain})
	second := newTestConnector(t, "wx", Settings{AppID: h.app, AppSecret: "secret-" + h.app, Token: "tok123",
		APIURL: h.fake.URL(), Mode: ModePlain}, h.clock, h.kv)
	sink2 := newSink()
	runConnector(t, second, sink2)
	mux := http.NewServeMux()
	mux.Handle("/webhooks/wx", second)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	replica := &harness{clock: h.clock, fake: h.fake, conn: second, hub: srv, sink: sink2, app: h.app}

	ts := strconv.FormatInt(h.clock.Now().Unix(), 10)
	genuine := forged{ts: ts, nonce: "515151", plain: h.textPush("o-bob", "600001", "hello")}
	if code, _ := h.post(t, genuine); code != http.StatusOK {
		t.Fatalf("genuine push on replica 1: %d", code)
	}
	forgedPush := genuine
	forgedPush.plain = h.textPush("o-bob", "600002", "link")
	if code, answer := replica.post(t, forgedPush); code != http.StatusForbidden || replica.stored() != 0 {
		t.Fatalf("the same nonce with another body on replica 2: %d %q, %d stored", code, answer, replica.stored())
	}
	// WeChat's re-post may reach the other replica: answered there.
	if code, _ := replica.post(t, genuine); code != http.StatusOK {
		t.Fatalf("the re-post on replica 2: %d", code)
	}
}

// TestCompatibleModeAcceptsBoth: in compatible mode WeChat's pushes carry
// the plaintext and its encryption (sealed); a plaintext-only push is still
// accepted, unsealed.
func TestCompatibleModeAcceptsBoth(t *testing.T) {
	h := newHarness(t, harnessOpts{mode: ModeCompatible})
	h.sink.reply = "已转人工"
	ctx := context.Background()
	if _, err := h.fake.Follow(ctx, "", "o-cat", ""); err != nil {
		t.Fatal(err)
	}
	d, err := h.fake.Click(ctx, "", "o-cat", "human")
	if err != nil || !d.Acked || d.Reply == nil || d.Reply.Text != "已转人工" || !strings.Contains(d.Body, "<Encrypt>") {
		t.Fatalf("compatible-mode click: %+v %v", d, err)
	}
	if code, _ := h.post(t, forged{plain: h.textPush("o-cat", "500001", "plain one")}); code != http.StatusOK {
		t.Fatalf("plaintext push in compatible mode: %d", code)
	}
	ins := h.sink.inbounds()
	if len(ins) != 3 || !ins[0].Sealed || !ins[1].Sealed || ins[2].Sealed {
		t.Fatalf("sealed flags: %+v, want the platform's pushes sealed and the plaintext one not", ins)
	}
}

// TestPlainModeNotSealed: plaintext pushes are never sealed.
func TestPlainModeNotSealed(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	if h.conn.settings.Mode != ModePlain {
		t.Fatalf("effective mode %q, want plain without a key", h.conn.settings.Mode)
	}
	if _, err := h.fake.Follow(context.Background(), "", "o-dan", ""); err != nil {
		t.Fatal(err)
	}
	if ins := h.sink.inbounds(); len(ins) != 1 || ins[0].Sealed {
		t.Fatalf("inbounds %+v, want one, not sealed", ins)
	}
}
