package wechat

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/silenceper/wechat/v2/util"

	"github.com/tongdao/hub/connectors"
	"github.com/tongdao/hub/internal/seeds"
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

func xmlSeeds(f *testing.F) [][]byte { return seeds.Files(f, "testdata/*.xml") }

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
// holder of the Token could): decryption and unframing refuse them cleanly.
// With raw set, data is the plaintext block sequence itself (zero-padded to
// WeChat's 32-byte blocks) encrypted with the account's key, so that the
// padding, length and AppID fields the SDK reads are the fuzzer's; else
// data is the base64 text of the Encrypt element.
func FuzzDecrypt(f *testing.F) {
	for _, b := range xmlSeeds(f) {
		enc, err := util.EncryptMsg([]byte("aaaabbbbccccdddd"), b, testAppID, testAESKey)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(enc, false)
		f.Add(enc[:len(enc)/2], false)
		framed, err := base64.StdEncoding.DecodeString(string(enc))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(decryptRaw(f, framed), true)
	}
	for _, s := range []string{"", "AAAA", strings.Repeat("A", 24), strings.Repeat("A", 44) + "==", "////////////////////////", "not base64!"} {
		f.Add([]byte(s), false)
	}
	f.Add(make([]byte, 32), true)
	f.Add(append(bytes.Repeat([]byte{0}, 31), 32), true)
	f.Add(append(append(bytes.Repeat([]byte{0}, 16), 0xff, 0xff, 0xff, 0xff), bytes.Repeat([]byte{1}, 12)...), true)
	c := fuzzConnector(f)
	sink := newSink()
	block, err := aes.NewCipher(aesKey(f))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte, raw bool) {
		cipherText := string(data)
		if raw {
			plain := append([]byte(nil), data...)
			for len(plain)%32 != 0 || len(plain) == 0 {
				plain = append(plain, 0)
			}
			out := make([]byte, len(plain))
			cipher.NewCBCEncrypter(block, aesKey(t)[:16]).CryptBlocks(out, plain)
			cipherText = base64.StdEncoding.EncodeToString(out)
		}
		if !xmlCarries(cipherText) {
			t.Skip() // the signature would be over text the envelope cannot hold
		}
		before := len(sink.inbounds())
		rec := httptest.NewRecorder()
		c.servePush(rec, pushRequest(nil, &cipherText), sink)
		checkAnswer(t, rec, sink, before)
	})
}

func aesKey(tb testing.TB) []byte {
	key, err := base64.StdEncoding.DecodeString(testAESKey + "=")
	if err != nil || len(key) != 32 {
		tb.Fatalf("test AES key: %v", err)
	}
	return key
}

// decryptRaw undoes the AES-CBC layer only, giving WeChat's framed
// plaintext (random, length, message, AppID, padding).
func decryptRaw(tb testing.TB, ciphertext []byte) []byte {
	block, err := aes.NewCipher(aesKey(tb))
	if err != nil {
		tb.Fatal(err)
	}
	out := make([]byte, len(ciphertext))
	cipher.NewCBCDecrypter(block, aesKey(tb)[:16]).CryptBlocks(out, ciphertext)
	return out
}

// xmlCarries reports whether s survives the Encrypt element unchanged (XML
// cannot hold NUL and most control characters, and turns CR LF into LF).
func xmlCarries(s string) bool {
	var b bytes.Buffer
	b.WriteString("<x>")
	_ = xml.EscapeText(&b, []byte(s))
	b.WriteString("</x>")
	var got string
	return xml.Unmarshal(b.Bytes(), &got) == nil && got == s
}
