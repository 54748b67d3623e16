package httpapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tongdao/hub/internal/openapicheck"
	"github.com/tongdao/hub/models"
)

// checkDoc checks an answer against the OpenAPI document.
func checkDoc(t *testing.T, method, path string, rec *httptest.ResponseRecorder) {
	t.Helper()
	doc, err := openapicheck.Load(openAPIDocument)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.CheckResponse(method, path, rec.Code, rec.Body.Bytes()); err != nil {
		t.Error(err)
	}
}

// Canned responses are shared settings: agents read them, only admins
// write them, and an agent's write never reaches the inbox.
func TestCannedRoutes(t *testing.T) {
	h := newHarness(t)
	rec := h.admin(http.MethodPost, "/api/v1/canned", `{"shortcut":" Thanks ","text":"Thank you, {name}!"}`)
	if rec.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	checkDoc(t, http.MethodPost, "/api/v1/canned", rec)
	var created models.CannedView
	if err := json.Unmarshal(rec.Body.Bytes(), &created); err != nil || created.Shortcut != "thanks" || created.CreatedBy != "root" {
		t.Fatalf("created %+v, %v", created, err)
	}
	// Agents read and search.
	rec = h.api(http.MethodGet, "/api/v1/canned?q=THANK", "")
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"shortcut":"thanks"`) || h.inbox.helpers.cannedQuery != "THANK" {
		t.Fatalf("list: %d %s (q %q)", rec.Code, rec.Body, h.inbox.helpers.cannedQuery)
	}
	checkDoc(t, http.MethodGet, "/api/v1/canned", rec)
	rec = h.api(http.MethodGet, "/api/v1/canned?q=nothing", "")
	if rec.Body.String() != `{"canned":[]}` {
		t.Fatalf("empty list: %s", rec.Body)
	}
	writes := h.inbox.helpers.cannedWrites
	// Agents may not write.
	for _, r := range []struct{ method, path, body string }{
		{http.MethodPost, "/api/v1/canned", `{"shortcut":"x","text":"y"}`},
		{http.MethodPut, "/api/v1/canned/1", `{"shortcut":"x","text":"y"}`},
		{http.MethodDelete, "/api/v1/canned/1", ""},
	} {
		if code, _ := errorOf(t, h.api(r.method, r.path, r.body), http.StatusForbidden); code != models.EFORBIDDEN {
			t.Errorf("%s %s as an agent: %s", r.method, r.path, code)
		}
	}
	if h.inbox.helpers.cannedWrites != writes {
		t.Fatal("an agent's write reached the inbox")
	}
	// A duplicate shortcut is a conflict.
	rec = h.admin(http.MethodPost, "/api/v1/canned", `{"shortcut":"THANKS","text":"again"}`)
	errorOf(t, rec, http.StatusConflict)
	checkDoc(t, http.MethodPost, "/api/v1/canned", rec)
	// Update, delete, and both on an absent one.
	rec = h.admin(http.MethodPut, "/api/v1/canned/1", `{"shortcut":"ty","text":"Thanks!"}`)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"shortcut":"ty"`) {
		t.Fatalf("update: %d %s", rec.Code, rec.Body)
	}
	checkDoc(t, http.MethodPut, "/api/v1/canned/1", rec)
	if rec = h.admin(http.MethodDelete, "/api/v1/canned/1", ""); rec.Code != http.StatusNoContent || rec.Body.Len() != 0 {
		t.Fatalf("delete: %d %s", rec.Code, rec.Body)
	}
	errorOf(t, h.admin(http.MethodDelete, "/api/v1/canned/1", ""), http.StatusNotFound)
	errorOf(t, h.admin(http.MethodPut, "/api/v1/canned/1", `{"shortcut":"ty","text":"x"}`), http.StatusNotFound)
	errorOf(t, h.admin(http.MethodDelete, "/api/v1/canned/9999999999999999999", ""), http.StatusNotFound)
	errorOf(t, h.admin(http.MethodDelete, "/api/v1/canned/abc", ""), http.StatusBadRequest)
}

// Bad canned writes are refused with the house error and reach nothing.
func TestCannedBadInput(t *testing.T) {
	for _, tc := range []struct{ name, method, path, body, msgHas string }{
		{"empty shortcut", http.MethodPost, "/api/v1/canned", `{"shortcut":"","text":"x"}`, "shortcut is required"},
		{"blank shortcut", http.MethodPost, "/api/v1/canned", `{"shortcut":"  ","text":"x"}`, "shortcut is required"},
		{"no shortcut", http.MethodPost, "/api/v1/canned", `{"text":"x"}`, "shortcut is required"},
		{"spaced shortcut", http.MethodPost, "/api/v1/canned", `{"shortcut":"two words","text":"x"}`, "only letters, digits"},
		{"long shortcut", http.MethodPost, "/api/v1/canned", `{"shortcut":"` + strings.Repeat("a", 51) + `","text":"x"}`, "at most 50"},
		{"no text", http.MethodPost, "/api/v1/canned", `{"shortcut":"a"}`, "text is required"},
		{"long text", http.MethodPost, "/api/v1/canned", `{"shortcut":"a","text":"` + strings.Repeat("字", 4097) + `"}`, "at most 4096"},
		{"unknown field", http.MethodPost, "/api/v1/canned", `{"shortcut":"a","text":"x","tags":[]}`, `unknown field "tags"`},
		{"put empty shortcut", http.MethodPut, "/api/v1/canned/1", `{"shortcut":"","text":"x"}`, "shortcut is required"},
		{"bad q", http.MethodGet, "/api/v1/canned?q=", "", `"q" is empty`},
		{"unknown query", http.MethodGet, "/api/v1/canned?shortcut=a", "", "unknown query parameter"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			code, msg := errorOf(t, h.admin(tc.method, tc.path, tc.body), http.StatusBadRequest)
			if code != models.EINVALID || !strings.Contains(msg, tc.msgHas) {
				t.Errorf("%s %q, want invalid with %q", code, msg, tc.msgHas)
			}
			if h.inbox.helpers.cannedWrites != 0 {
				t.Error("an invalid write reached the inbox")
			}
		})
	}
}

func TestReplyWithCannedID(t *testing.T) {
	h := newHarness(t)
	rec := h.api(http.MethodPost, "/api/v1/conversations/1/messages", `{"canned_id":"7","private":true}`)
	if rec.Code != http.StatusAccepted || len(h.inbox.replies) != 1 || h.inbox.replies[0].CannedID != 7 || h.inbox.replies[0].Text != "" {
		t.Fatalf("%d %s %+v", rec.Code, rec.Body, h.inbox.replies)
	}
	for _, tc := range []struct{ name, body, msgHas string }{
		{"both", `{"text":"hi","canned_id":"7"}`, "not both"},
		{"neither", `{"canned_id":null}`, "text is required"},
		{"empty canned_id", `{"canned_id":""}`, "text is required"},
		{"malformed", `{"canned_id":"seven"}`, "canned_id must be a canned response id"},
		{"number", `{"canned_id":7}`, `field "canned_id" must be a string`},
		{"beyond int64", `{"canned_id":"9999999999999999999"}`, "does not exist"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			code, msg := errorOf(t, h.api(http.MethodPost, "/api/v1/conversations/1/messages", tc.body), http.StatusBadRequest)
			if code != models.EINVALID || !strings.Contains(msg, tc.msgHas) {
				t.Errorf("%s %q, want invalid with %q", code, msg, tc.msgHas)
			}
			if len(h.inbox.replies) != 0 {
				t.Error("an invalid reply reached the inbox")
			}
		})
	}
}

func TestLabelsRoute(t *testing.T) {
	h := newHarness(t)
	rec := h.api(http.MethodPost, "/api/v1/conversations/1/labels", `{"add":["vip","refund"]}`)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"labels":["vip","refund"]`) || h.inbox.byActor.Name != "alice" {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	checkDoc(t, http.MethodPost, "/api/v1/conversations/1/labels", rec)
	errorOf(t, h.api(http.MethodPost, "/api/v1/conversations/2/labels", `{"add":["x"]}`), http.StatusNotFound)
	writes := h.inbox.helpers.labelWrites
	for _, tc := range []struct{ name, body, msgHas string }{
		{"unknown op", `{"set":["vip"]}`, `unknown field "set"`},
		{"unknown op beside add", `{"add":["a"],"replace":["b"]}`, `unknown field "replace"`},
		{"nothing", `{}`, "give add and/or remove"},
		{"empty lists", `{"add":[],"remove":[]}`, "give add and/or remove"},
		{"empty label", `{"add":[" "]}`, "add[0]: a label must not be empty"},
		{"comma", `{"remove":["a,b"]}`, "remove[0]"},
		{"long label", `{"add":["` + strings.Repeat("l", 51) + `"]}`, "at most 50"},
		{"not a list", `{"add":"vip"}`, `field "add" must be an array`},
		{"too many", `{"add":[` + strings.TrimSuffix(strings.Repeat(`"a",`, 21), ",") + `]}`, "at most 20"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, msg := errorOf(t, h.api(http.MethodPost, "/api/v1/conversations/1/labels", tc.body), http.StatusBadRequest)
			if code != models.EINVALID || !strings.Contains(msg, tc.msgHas) {
				t.Errorf("%s %q, want invalid with %q", code, msg, tc.msgHas)
			}
		})
	}
	if h.inbox.helpers.labelWrites != writes {
		t.Fatal("an invalid label request reached the inbox")
	}
	if got := h.inbox.convs[1].Labels; strings.Join(got, ",") != "vip,refund" {
		t.Fatalf("labels %v after refused requests", got)
	}
}

func TestListConversationsLabelFilter(t *testing.T) {
	h := newHarness(t)
	rec := h.api(http.MethodGet, "/api/v1/conversations?label=%20VIP%20&status=open", "")
	if rec.Code != http.StatusOK || h.inbox.filter.Label != "vip" || h.inbox.filter.Status != "open" {
		t.Fatalf("%d %s filter %+v", rec.Code, rec.Body, h.inbox.filter)
	}
	checkDoc(t, http.MethodGet, "/api/v1/conversations", rec)
	for _, q := range []string{"label=", "label=a,b", "label=" + strings.Repeat("x", 51), "label=a&label=b"} {
		errorOf(t, h.api(http.MethodGet, "/api/v1/conversations?"+q, ""), http.StatusBadRequest)
	}
}
