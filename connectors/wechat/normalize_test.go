package wechat

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/silenceper/wechat/v2/util"

	"github.com/tongdao/hub/models"
)

const openID = "oLVPpjqs9BhvzwPj5A-vTYAX3GLc"

// vectorTime is the timestamp of WeChat's sample pushes; the tests that
// replay them set the connector's clock to it.
const vectorTime = 1409735669

func vectorClock() *fakeClock { return &fakeClock{t: time.Unix(vectorTime, 0).UTC()} }

// nonces numbers the pushes of signedURL: each push has its own nonce, as
// WeChat's do.
var nonces atomic.Int64

// signedURL returns /webhooks/wx at vectorTime with a valid signature for
// token and a fresh nonce, unless extra sets "nonce".
func signedURL(token string, extra url.Values) string {
	nonce := extra.Get("nonce")
	if nonce == "" {
		nonce = strconv.FormatInt(1320562132+nonces.Add(1), 10)
	}
	ts := strconv.FormatInt(vectorTime, 10)
	q := url.Values{"timestamp": {ts}, "openid": {openID}}
	for k, v := range extra {
		q[k] = v
	}
	q.Set("nonce", nonce)
	q.Set("signature", util.Signature(token, ts, nonce))
	return "/webhooks/wx?" + q.Encode()
}

func TestNormalizeTestdata(t *testing.T) {
	at := func(sec int64) time.Time { return time.Unix(sec, 0).UTC() }
	base := func(id, kind string, sec int64) models.Inbound {
		return models.Inbound{Connector: "wx", Channel: "wechat", ExternalID: id, Kind: kind,
			From: models.Sender{ExternalID: openID}, ReplyTo: openID, SentAt: at(sec)}
	}
	with := func(in models.Inbound, f func(*models.Inbound)) *models.Inbound { f(&in); return &in }
	tests := []struct {
		file string
		want *models.Inbound // nil: acknowledged, nothing ingested
	}{
		{"text.xml", with(base("1234567890123456", "message", 1348831860), func(in *models.Inbound) {
			in.Text = "你好，我的订单还没到 this is a test"
		})},
		{"image.xml", with(base("6054768590064713729", "message", 1348831860), func(in *models.Inbound) {
			in.Attachments = []models.Attachment{{Type: "image",
				URL:    "http://mmbiz.qpic.cn/mmbiz_jpg/5LdibfMkfUwqic7C8JicUdKdaLwOxEpicTTbEFAbp6JpRicLXEG4/0",
				FileID: "PuatJ3Xu8WVbxPoRBNmYswjdaMnwVCfkLjsXqZqDntmOJU8FyBYRgcL_WNzPYWBI"}}
		})},
		{"voice.xml", with(base("5837397576500011341", "message", 1357290913), func(in *models.Inbound) {
			in.Attachments = []models.Attachment{{Type: "voice", MIMEType: "audio/amr",
				FileID: "Ia8k8sy3Lu4GYtBeoBz3E0W-s4iAAiT2QbFaxVpgrt0VN6CKVsLXsy2MeQ1iqvTB"}}
		})},
		{"voice_recognition.xml", with(base("5837397576500011342", "message", 1357290913), func(in *models.Inbound) {
			in.Text = "腾讯微信团队"
			in.Attachments = []models.Attachment{{Type: "voice", MIMEType: "audio/speex", Transcript: "腾讯微信团队",
				FileID: "Ia8k8sy3Lu4GYtBeoBz3E0W-s4iAAiT2QbFaxVpgrt0VN6CKVsLXsy2MeQ1iqvTC"}}
		})},
		{"video.xml", with(base("5837397576500011343", "message", 1357290913), func(in *models.Inbound) {
			in.Attachments = []models.Attachment{
				{Type: "video", Name: "video", FileID: "rQbSn8SNkTo0ehmwGx2f5rE9Mqh7QvjTV4ER0AY0xa3VfMX8DtVtwUg_i8k1hbXN"},
				{Type: "image", Name: "thumbnail", FileID: "HVyxH7rqMKqxApHUTj3dPb3B_aWrmUC7TaxxxkyNV2OPRhKBsIr0ZO2_thxB52ub"},
			}
		})},
		{"shortvideo.xml", with(base("5837397576500011344", "message", 1357290913), func(in *models.Inbound) {
			in.Attachments = []models.Attachment{
				{Type: "video", Name: "shortvideo", FileID: "9bo7SCzPYAZSa2DfzB3YxUqL2Ni5Y3E1ctzmZLQ2cpOp8dDHc4thp3lbrIkR1hFp"},
				{Type: "image", Name: "thumbnail", FileID: "iV1-ZVBm6xZTfhdqtRH7_YX2B-HgQgl4LD4iIO8QbIgcS1otqJT4zNBzIeQGhL-c"},
			}
		})},
		{"location.xml", with(base("1234567890123457", "message", 1351776360), func(in *models.Inbound) {
			in.Location = &models.Location{Latitude: 23.134521, Longitude: 113.358803, Label: "广州市天河区天河北路"}
		})},
		{"link.xml", with(base("1234567890123458", "message", 1351776360), func(in *models.Inbound) {
			in.Attachments = []models.Attachment{{Type: "link", URL: "https://mp.weixin.qq.com/s/abcdef",
				Title: "公众平台官网链接", Description: "公众平台官网链接"}}
		})},
		{"event_subscribe.xml", with(base("ev:"+openID+":1446526359:subscribe", "event", 1446526359), func(in *models.Inbound) {
			in.Event, in.InlineReply = "subscribe", true
		})},
		{"event_subscribe_qrscene.xml", with(base("ev:"+openID+":1446526360:subscribe", "event", 1446526360), func(in *models.Inbound) {
			in.Event, in.Payload, in.InlineReply = "subscribe", "order-42", true
		})},
		{"event_unsubscribe.xml", with(base("ev:"+openID+":1446526400:unsubscribe", "event", 1446526400), func(in *models.Inbound) {
			in.Event = "unsubscribe"
		})},
		{"event_scan.xml", with(base("ev:"+openID+":1446526500:SCAN", "event", 1446526500), func(in *models.Inbound) {
			in.Event, in.Payload, in.InlineReply = "scan", "order-42", true
		})},
		{"event_click.xml", with(base("ev:"+openID+":1446526600:CLICK", "action", 1446526600), func(in *models.Inbound) {
			in.Action, in.InlineReply = "MENU_HUMAN_AGENT", true
		})},
		{"event_location.xml", nil},
		{"event_view.xml", nil},
	}
	c := newTestConnector(t, "wx", Settings{AppID: testAppID, AppSecret: "s", Token: "tok123"}, vectorClock(), nil)
	sink := newSink()
	runConnector(t, c, sink)
	files, _ := filepath.Glob("testdata/*.xml")
	if len(files) != len(tests)+1 { // + malformed.xml, tested below
		t.Errorf("testdata has %d files, the table covers %d", len(files), len(tests)+1)
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			before := len(sink.inbounds())
			rec := httptest.NewRecorder()
			c.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, signedURL("tok123", nil), bytes.NewReader(body)))
			if rec.Code != http.StatusOK || rec.Body.String() != "success" {
				t.Fatalf("answer = %d %q, want 200 success", rec.Code, rec.Body.String())
			}
			got := sink.inbounds()[before:]
			if tc.want == nil {
				if len(got) != 0 {
					t.Fatalf("ingested %+v, want nothing", got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("ingested %d inbounds, want 1", len(got))
			}
			if !reflect.DeepEqual(got[0], *tc.want) {
				t.Errorf("inbound\n got %+v\nwant %+v", got[0], *tc.want)
			}
		})
	}
}

func TestWebhookRejects(t *testing.T) {
	// Compatible mode, so that plaintext pushes reach every check.
	c := newTestConnector(t, "wx", Settings{AppID: testAppID, AppSecret: "s", Token: "tok123", EncodingAESKey: testAESKey,
		Mode: ModeCompatible}, vectorClock(), nil)
	text, _ := os.ReadFile("testdata/text.xml")
	malformed, _ := os.ReadFile("testdata/malformed.xml")

	// Before Run: 503 for everything.
	rec := httptest.NewRecorder()
	c.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, signedURL("tok123", nil), bytes.NewReader(text)))
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("before Run: %d, want 503", rec.Code)
	}

	sink := newSink()
	runConnector(t, c, sink)
	enc, err := util.EncryptMsg([]byte("aaaabbbbccccdddd"), text, testAppID, testAESKey)
	if err != nil {
		t.Fatal(err)
	}
	envelope := []byte("<xml><ToUserName><![CDATA[gh_3c884a361561]]></ToUserName><Encrypt><![CDATA[" + string(enc) + "]]></Encrypt></xml>")
	goodMsgSig := util.Signature("tok123", "1409735669", "1320562132", string(enc))
	safeQuery := func(msgSig string) url.Values {
		q := url.Values{"encrypt_type": {"aes"}, "nonce": {"1320562132"}}
		if msgSig != "" {
			q.Set("msg_signature", msgSig)
		}
		return q
	}
	big := append([]byte("<xml><Content>"), bytes.Repeat([]byte("a"), maxPushBytes)...)

	tests := []struct {
		name   string
		method string
		target string
		body   []byte
		status int
	}{
		{"bad signature", "POST", "/webhooks/wx?signature=0000&timestamp=1409735669&nonce=1320562132", text, 401},
		{"missing signature", "POST", "/webhooks/wx?timestamp=1409735669&nonce=1320562132", text, 401},
		{"signature for another token", "POST", signedURL("other", nil), text, 401},
		{"bad msg_signature", "POST", signedURL("tok123", safeQuery(strings.Repeat("0", 40))), envelope, 401},
		{"missing msg_signature", "POST", signedURL("tok123", safeQuery("")), envelope, 401},
		{"malformed XML", "POST", signedURL("tok123", nil), malformed, 400},
		{"empty body", "POST", signedURL("tok123", nil), nil, 400},
		{"not XML", "POST", signedURL("tok123", nil), []byte(`{"MsgType":"text"}`), 400},
		{"safe mode without Encrypt", "POST", signedURL("tok123", safeQuery(goodMsgSig)), text, 400},
		{"oversized", "POST", signedURL("tok123", nil), big, 413},
		{"bad verification", "GET", "/webhooks/wx?signature=00&timestamp=1&nonce=2&echostr=123", nil, 401},
		{"PUT", "PUT", signedURL("tok123", nil), text, 405},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			c.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.target, bytes.NewReader(tc.body)))
			if rec.Code != tc.status {
				t.Fatalf("status = %d, want %d (%q)", rec.Code, tc.status, rec.Body.String())
			}
			// Every refusal is JSON in the API's error shape.
			var e struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", ct)
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
				t.Errorf("body %q is not the API's error shape (%v)", rec.Body.String(), err)
			}
			if tc.status == 401 && e.Error.Code != "unauthorized" {
				t.Errorf("401 code = %q, want unauthorized", e.Error.Code)
			}
		})
	}
	if n := sink.callCount(); n != 0 {
		t.Fatalf("sink called %d times for rejected pushes", n)
	}

	// The same encrypted push with the right msg_signature is accepted.
	rec = httptest.NewRecorder()
	c.ServeHTTP(rec, httptest.NewRequest("POST", signedURL("tok123", safeQuery(goodMsgSig)), bytes.NewReader(envelope)))
	if rec.Code != 200 || rec.Body.String() != "success" {
		t.Fatalf("good safe-mode push: %d %q", rec.Code, rec.Body.String())
	}
	if got := sink.inbounds(); len(got) != 1 || got[0].ExternalID != "1234567890123456" {
		t.Fatalf("ingested %+v", got)
	}

	// Ingest failure → 500 so that WeChat re-posts.
	sink.mu.Lock()
	sink.err = context.DeadlineExceeded
	sink.mu.Unlock()
	rec = httptest.NewRecorder()
	c.ServeHTTP(rec, httptest.NewRequest("POST", signedURL("tok123", nil), bytes.NewReader(text)))
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("ingest error: %d, want 500", rec.Code)
	}
}

// TestOfficialVectors checks the WXBizMsgCrypt sample vectors.
func TestOfficialVectors(t *testing.T) {
	enc, err := util.EncryptMsg([]byte("aaaabbbbccccdddd"), []byte("我是中文abcd123"), "wxb11529c136998cb6", testAESKey)
	if err != nil {
		t.Fatal(err)
	}
	const want = "jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg=="
	if string(enc) != want {
		t.Fatalf("encrypt vector:\n got %s\nwant %s", enc, want)
	}

	// The full safe-mode push, through the webhook.
	const (
		encrypt = "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE="
		msgSig  = "5d197aaffba7e9b25a30732f161a50dee96bd5fa"
	)
	c := newTestConnector(t, "wx", Settings{AppID: "wx2c2769f8efd9abc2", AppSecret: "s", Token: "spamtest", EncodingAESKey: testAESKey}, vectorClock(), nil)
	sink := newSink()
	runConnector(t, c, sink)
	body := "<xml><ToUserName><![CDATA[toUser]]></ToUserName><Encrypt><![CDATA[" + encrypt + "]]></Encrypt></xml>"
	target := "/webhooks/wx?" + url.Values{
		"signature": {util.Signature("spamtest", "1409735669", "1320562132")},
		"timestamp": {"1409735669"}, "nonce": {"1320562132"},
		"encrypt_type": {"aes"}, "msg_signature": {msgSig},
	}.Encode()
	rec := httptest.NewRecorder()
	c.ServeHTTP(rec, httptest.NewRequest("POST", target, strings.NewReader(body)))
	if rec.Code != 200 || rec.Body.String() != "success" {
		t.Fatalf("answer = %d %q", rec.Code, rec.Body.String())
	}
	got := sink.inbounds()
	if len(got) != 1 || got[0].Text != "abcdteT" || got[0].ExternalID != "6054768590064713728" || got[0].Kind != "message" {
		t.Fatalf("ingested %+v", got)
	}
}
