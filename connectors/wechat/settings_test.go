package wechat

import (
	"strings"
	"testing"

	"github.com/tongdao/hub/connectors"
)

const (
	testAppID  = "wx1234567890abcdef"
	testAESKey = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
)

func TestNewSettings(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		wantErr []string // substrings that must all appear
		base    string
	}{
		{
			name: "minimal",
			yaml: "app_id: wx1234567890abcdef\napp_secret: s3cret\ntoken: tok123\n",
			base: DefaultAPIURL,
		},
		{
			name: "full",
			yaml: "app_id: wx1234567890abcdef\napp_secret: s\ntoken: tok123\nencoding_aes_key: " + testAESKey + "\napi_url: http://127.0.0.1:9999/\n",
			base: "http://127.0.0.1:9999",
		},
		{
			name:    "everything missing",
			yaml:    "",
			wantErr: []string{"app_id: required", "app_secret: required", "token: required"},
		},
		{
			name:    "everything wrong",
			yaml:    "app_id: wx123\napp_secret: s\ntoken: 'a b'\nencoding_aes_key: short\napi_url: ftp://x/y\n",
			wantErr: []string{"app_id:", "token:", "encoding_aes_key:", "api_url:"},
		},
		{
			name:    "api_url with a path",
			yaml:    "app_id: wx1234567890abcdef\napp_secret: s\ntoken: tok123\napi_url: https://proxy.example/wechat\n",
			wantErr: []string{"api_url: must be a base URL"},
		},
		{
			name:    "aes key of 43 chars with a bad character",
			yaml:    "app_id: wx1234567890abcdef\napp_secret: s\ntoken: tok123\nencoding_aes_key: " + strings.Repeat("=", 43) + "\n",
			wantErr: []string{"encoding_aes_key:"},
		},
		{
			name:    "unknown key",
			yaml:    "app_id: wx1234567890abcdef\napp_secret: s\ntoken: tok123\nappsecret: x\n",
			wantErr: []string{"appsecret"},
		},
		{
			name:    "token too long",
			yaml:    "app_id: wx1234567890abcdef\napp_secret: s\ntoken: " + strings.Repeat("a", 33) + "\n",
			wantErr: []string{"token: must be 3 to 32"},
		},
	}
	const minimal = "app_id: wx1234567890abcdef\napp_secret: s\ntoken: tok123\n"
	tests = append(tests, []struct {
		name    string
		yaml    string
		wantErr []string
		base    string
	}{
		{name: "mode plain", yaml: minimal + "mode: plain\n", base: DefaultAPIURL},
		{name: "mode safe", yaml: minimal + "mode: safe\nencoding_aes_key: " + testAESKey + "\n", base: DefaultAPIURL},
		{name: "mode compatible", yaml: minimal + "mode: compatible\nencoding_aes_key: " + testAESKey + "\n", base: DefaultAPIURL},
		{name: "plain with a key", yaml: minimal + "mode: plain\nencoding_aes_key: " + testAESKey + "\n",
			wantErr: []string{"mode: plain takes no encoding_aes_key"}},
		{name: "safe without a key", yaml: minimal + "mode: safe\n", wantErr: []string{"encoding_aes_key: required in safe mode"}},
		{name: "compatible without a key", yaml: minimal + "mode: compatible\n",
			wantErr: []string{"encoding_aes_key: required in compatible mode"}},
		{name: "unknown mode", yaml: minimal + "mode: aes\n", wantErr: []string{`mode: must be plain, compatible or safe, not "aes"`}},
		{name: "mode is case-sensitive", yaml: minimal + "mode: Safe\nencoding_aes_key: " + testAESKey + "\n", wantErr: []string{"mode: must be"}},
	}...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cn, err := New(connectors.Config{Name: "wx", Decode: strictDecoder(tc.yaml)})
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				c := cn.(*Connector)
				defer c.Close()
				if c.base != tc.base {
					t.Errorf("base = %q, want %q", c.base, tc.base)
				}
				if c.Name() != "wx" || c.ReplyWindow().Hours() != 48 {
					t.Errorf("Name/ReplyWindow = %q/%v", c.Name(), c.ReplyWindow())
				}
				return
			}
			if err == nil {
				t.Fatal("New succeeded, want an error")
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error leaks the secret: %v", err)
			}
		})
	}
}

// TestEffectiveMode: a key implies safe mode unless compatible is chosen;
// no key means plain.
func TestEffectiveMode(t *testing.T) {
	for _, tc := range []struct{ mode, key, want string }{
		{"", "", ModePlain},
		{"", testAESKey, ModeSafe},
		{ModeCompatible, testAESKey, ModeCompatible},
		{ModeSafe, testAESKey, ModeSafe},
		{ModePlain, "", ModePlain},
	} {
		c := newTestConnector(t, "wx", Settings{AppID: testAppID, AppSecret: "s", Token: "tok123", EncodingAESKey: tc.key,
			Mode: tc.mode}, newClock(), nil)
		if c.settings.Mode != tc.want {
			t.Errorf("mode %q with key %v: effective %q, want %q", tc.mode, tc.key != "", c.settings.Mode, tc.want)
		}
	}
}

func TestRegistered(t *testing.T) {
	if _, ok := connectors.Lookup("wechat"); !ok {
		t.Fatal(`connector type "wechat" is not registered`)
	}
}
