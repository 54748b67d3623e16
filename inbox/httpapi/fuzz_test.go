package httpapi

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// fuzzRoutes are the routes that decode a JSON body.
var fuzzRoutes = []string{
	"/api/v1/conversations/1/messages",
	"/api/v1/conversations/1/status",
	"/api/v1/conversations/1/priority",
	"/api/v1/conversations/1/assign",
	"/api/v1/contacts/10/merge",
	"/api/v1/conversations/1/labels",
	"/api/v1/canned", // as an admin
}

// FuzzRequestBody posts arbitrary bodies to every route that decodes one,
// through the server as a client would: decoding never panics nor answers
// 5xx, and every refusal is the API's JSON error.
func FuzzRequestBody(f *testing.F) {
	for i, body := range []string{
		`{"text": "Sorry! It ships today."}`,
		`{"text": "hi", "private": true, "via": "3", "buttons": [{"id": "yes", "label": "Yes"}], "attachments": [{"type": "image", "url": "https://example.com/a.png"}]}`,
		`{"status": "resolved"}`,
		`{"assignee": "ana", "team": null}`,
		`{"from": "11"}`,
		`{"text": "a", "text": "b"}`,
		`{"Text": "case"}`,
		`{"text": "\u0000"}`,
		`{"add": ["VIP"], "remove": ["refund"]}`,
		`{"canned_id": "1"}`,
		`{"shortcut": "thanks", "text": "Thank you, {name}!"}`,
		`[]`, `null`, `{}`, `{"text": 1e999}`, `{"buttons": [{"id": "` + strings.Repeat("x", 65) + `", "label": "L"}]}`,
	} {
		f.Add(uint8(i), []byte(body))
	}
	srv, err := New(Options{Inbox: newFakeInbox(), Registry: prometheus.NewRegistry(),
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		path := fuzzRoutes[int(route)%len(fuzzRoutes)]
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(string(body)))
		req.Header.Set("Authorization", "Bearer good-token")
		if path == "/api/v1/canned" {
			req.Header.Set("Authorization", "Bearer admin-token")
		}
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s: %d %s", path, rec.Code, rec.Body)
		}
		if rec.Code >= 400 {
			var e errorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
				t.Fatalf("%s: %d with a body that is not the error JSON: %s", path, rec.Code, rec.Body)
			}
		}
	})
}
