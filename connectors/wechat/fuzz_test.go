package wechat

import (
	"bytes"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/silenceper/wechat/v2/util"

	"github.com/tongdao/hub/connectors"
	"github.com/tongdao/hub/models"
)

// fuzzConnector is a compatible-mode connector (plaintext and encrypted
// pushes both accepted) at the time of the test vectors.
func fuzzConnector(tb testing.TB) *Connector {
	tb.Helper()
	clock := vectorClock()
	cn, err := New(connectors.Config{Name: "wx", Decode: settingsDecoder(Settings{AppID: testAppID, AppSecret: "s",
		Token: "tok123", EncodingAESKey: testAESKey, Mode: ModeCompatible}),
		Deps: connectors.Deps{Logger: quietLogger(), Now: clock.Now, KV: newMemKV(clock.Now)}})
	if err != nil {
		tb.Fatal(err)
	}
	c := cn.(*Connector)
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

// pushRequest signs a push the way WeChat does, with a fresh nonce; when
// cipher is set the body is an envelope carrying it, msg_signature included.
func pushRequest(body []byte, cipher *string) *http.Request {
	ts := strconv.FormatInt(vectorTime, 10)
	nonce := strconv.FormatInt(1320562132+nonces.Add(1), 10)
	q := url.Values{"timestamp": {ts}, "nonce": {nonce}, "signature": {util.Signature("tok123", ts, nonce)}}
	if cipher != nil {
		var b bytes.Buffer
		b.WriteString("<xml><ToUserName>gh_3c884a361561</ToUserName><Encrypt>")
		_ = xml.EscapeText(&b, []byte(*cipher))
		b.WriteString("</Encrypt></xml>")
		body = b.Bytes()
		q.Set("encrypt_type", "aes")
		q.Set("msg_signature", util.Signature("tok123", ts, nonce, *cipher))
	}
	return httptest.NewRequest(http.MethodPost, "/webhooks/wx?"+q.Encode(), bytes.NewReader(body))
}

func xmlSeeds(f *testing.F) [][]byte {
	files, err := filepath.Glob("testdata/*.xml")
	if err != nil || len(files) == 0 {
		f.Fatalf("no seeds in testdata: %v", err)
	}
	var out [][]byte
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// checkAnswer holds for every push answer: a known status, and an ingested
// inbound that is well formed.
func checkAnswer(t *testing.T, rec *httptest.ResponseRecorder, sink *recSink, before int) {
	t.Helper()
	switch rec.Code {
	case http.StatusOK, http.StatusBadRequest, http.StatusRequestEntityTooLarge:
	default:
		t.Fatalf("status %d (%q)", rec.Code, rec.Body.String())
	}
	ins := sink.inbounds()
	if rec.Code != http.StatusOK && len(ins) != before {
		t.Fatalf("a refused push was ingested: %+v", ins[before:])
	}
	for _, in := range ins[before:] {
		if in.Connector != "wx" || in.Channel != models.ChannelWeChat || in.ExternalID == "" || in.From.ExternalID == "" {
			t.Fatalf("malformed inbound %+v", in)
		}
		if !utf8.ValidString(in.Text) {
			t.Fatalf("inbound text is not UTF-8: %q", in.Text)
		}
	}
}

// FuzzPush sends arbitrary push bodies, in plaintext and properly
// encrypted, through the push handler: parsing, decryption and
// normalisation never panic, answer 200 or a 4xx, and ingest only well
// formed inbounds.
func FuzzPush(f *testing.F) {
	for _, b := range xmlSeeds(f) {
		f.Add(b, false)
		f.Add(b, true)
	}
	c := fuzzConnector(f)
	sink := newSink()
	f.Fuzz(func(t *testing.T, body []byte, encrypt bool) {
		var cipher *string
		if encrypt {
			enc, err := util.EncryptMsg([]byte("aaaabbbbccccdddd"), body, testAppID, testAESKey)
			if err != nil {
				t.Skip()
			}
			s := string(enc)
			cipher = &s
		}
		before := len(sink.inbounds())
		rec := httptest.NewRecorder()
		c.servePush(rec, pushRequest(body, cipher), sink)
		checkAnswer(t, rec, sink, before)
	})
}

// FuzzDecrypt sends arbitrary ciphertexts with a valid msg_signature (as a
// holder of the Token could): decryption refuses them cleanly.
func FuzzDecrypt(f *testing.F) {
	for _, b := range xmlSeeds(f) {
		enc, err := util.EncryptMsg([]byte("aaaabbbbccccdddd"), b, testAppID, testAESKey)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(enc))
		f.Add(string(enc[:len(enc)/2]))
	}
	for _, s := range []string{"", "AAAA", strings.Repeat("A", 24), strings.Repeat("A", 44) + "==", "////////////////////////", "not base64!"} {
		f.Add(s)
	}
	c := fuzzConnector(f)
	sink := newSink()
	f.Fuzz(func(t *testing.T, cipher string) {
		if !utf8.ValidString(cipher) {
			t.Skip() // XML cannot carry it
		}
		before := len(sink.inbounds())
		rec := httptest.NewRecorder()
		c.servePush(rec, pushRequest(nil, &cipher), sink)
		checkAnswer(t, rec, sink, before)
	})
}
