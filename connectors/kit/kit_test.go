package kit_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tongdao/hub/connectors/kit"
)

func TestBaseURL(t *testing.T) {
	good := map[string]string{
		"":                         "https://default.example",
		"  ":                       "https://default.example",
		"http://127.0.0.1:8081":    "http://127.0.0.1:8081",
		"https://API.Example.com/": "https://api.example.com",
		" https://h.example ":      "https://h.example",
		"http://[::1]:9000":        "http://[::1]:9000",
	}
	for raw, want := range good {
		got, err := kit.BaseURL(raw, "https://default.example")
		if err != nil || got != want {
			t.Errorf("BaseURL(%q) = %q, %v; want %q", raw, got, err, want)
		}
	}
	var first string
	for _, raw := range []string{"ftp://h", "h.example", "http://", "http://:80", "http://u:secret@h", "http://h/path",
		"http://h/?q=1", "http://h?", "http://h#f", "mailto:a@b", "http://h%zz", "/relative"} {
		_, err := kit.BaseURL(raw, "https://default.example")
		if err == nil {
			t.Errorf("BaseURL(%q) accepted", raw)
			continue
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("BaseURL(%q): the error repeats the credentials: %v", raw, err)
		}
		if first == "" {
			first = err.Error()
		} else if err.Error() != first {
			t.Errorf("BaseURL(%q): error %q differs from %q; one error text for every case", raw, err, first)
		}
	}
}

func TestWriteError(t *testing.T) {
	rec := httptest.NewRecorder()
	kit.WriteError(rec, http.StatusUnauthorized, "unauthorized", `bad "signature"`)
	if rec.Code != http.StatusUnauthorized || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("answer %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	var body struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("body %q: %v", rec.Body.String(), err)
	}
	if body.Error.Code != "unauthorized" || body.Error.Message != `bad "signature"` {
		t.Errorf("body = %+v", body)
	}
	if got := string(kit.ErrorBody("invalid", "use POST")); got != `{"error":{"code":"invalid","message":"use POST"}}` {
		t.Errorf("ErrorBody = %s", got)
	}
}

func TestSizeTextAndTooLarge(t *testing.T) {
	for n, want := range map[int64]string{20 << 20: "20 MB", 512 << 10: "512 KB", 1000: "1000 bytes", 1536 << 10: "1536 KB"} {
		if got := kit.SizeText(n); got != want {
			t.Errorf("SizeText(%d) = %q, want %q", n, got, want)
		}
	}
	if de := kit.TooLarge(2 << 20); !de.Permanent || de.Reason != "the file is larger than 2 MB" {
		t.Errorf("TooLarge = %+v", de)
	}
	canceled := false
	body := kit.CancelOnClose(io.NopCloser(strings.NewReader("x")), func() { canceled = true })
	if err := body.Close(); err != nil || !canceled {
		t.Errorf("Close: %v, canceled %v", err, canceled)
	}
}
