package httpapi

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/tongdao/hub/models"
)

func TestMergeContactsRoute(t *testing.T) {
	h := newHarness(t)
	rec := h.api(http.MethodPost, "/api/v1/contacts/10/merge", `{"from": "12"}`)
	if rec.Code != http.StatusOK {
		t.Fatalf("merge: %d %s", rec.Code, rec.Body)
	}
	var m models.MergeView
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil || m.ID != "5" || m.Contact.ID != "10" {
		t.Fatalf("merge body: %s (%v)", rec.Body, err)
	}
	if len(h.inbox.merged) != 1 || h.inbox.merged[0] != [2]int64{10, 12} || h.inbox.byActor.Name != "alice" {
		t.Fatalf("inbox got %+v by %+v", h.inbox.merged, h.inbox.byActor)
	}
	for _, tc := range []struct{ body, want string }{
		{`{}`, "from is required"},
		{`{"from": "x1"}`, "from must be a contact id"},
		{`{"from": "10"}`, "cannot be merged into itself"},
		{`{"from": 12}`, ""},
		{`{"from": "12", "into": "3"}`, ""},
	} {
		rec := h.api(http.MethodPost, "/api/v1/contacts/10/merge", tc.body)
		code, msg := errorOf(t, rec, http.StatusBadRequest)
		if code != models.EINVALID || (tc.want != "" && !strings.Contains(msg, tc.want)) {
			t.Errorf("%s: %s %q", tc.body, code, msg)
		}
	}
	if len(h.inbox.merged) != 1 {
		t.Fatalf("invalid requests reached the inbox: %+v", h.inbox.merged)
	}
	rec = h.api(http.MethodPost, "/api/v1/contacts/99/merge", `{"from": "12"}`)
	if code, _ := errorOf(t, rec, http.StatusNotFound); code != models.ENOTFOUND {
		t.Fatal(code)
	}
	h.inbox.setErr(models.Errorf(models.ECONFLICT, "busy"))
	rec = h.api(http.MethodPost, "/api/v1/contacts/10/merge", `{"from": "12"}`)
	errorOf(t, rec, http.StatusConflict)
}

func TestUndoUnlinkAndSuggestionRoutes(t *testing.T) {
	h := newHarness(t)
	rec := h.admin(http.MethodPost, "/api/v1/merges/5/undo", "")
	if rec.Code != http.StatusOK || len(h.inbox.undone) != 1 || h.inbox.undone[0] != 5 {
		t.Fatalf("undo: %d %s %+v", rec.Code, rec.Body, h.inbox.undone)
	}
	errorOf(t, h.admin(http.MethodPost, "/api/v1/merges/6/undo", ""), http.StatusNotFound)
	errorOf(t, h.admin(http.MethodPost, "/api/v1/merges/abc/undo", ""), http.StatusBadRequest)

	rec = h.admin(http.MethodPost, "/api/v1/identities/7/unlink", "")
	var c models.ContactView
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &c) != nil || c.ID != "11" || h.inbox.unlinked[0] != 7 {
		t.Fatalf("unlink: %d %s", rec.Code, rec.Body)
	}

	rec = h.api(http.MethodGet, "/api/v1/contacts/10/suggestions", "")
	if rec.Code != http.StatusOK || rec.Body.String() != `{"suggestions":[]}` {
		t.Fatalf("suggestions: %d %s", rec.Code, rec.Body)
	}
	errorOf(t, h.api(http.MethodGet, "/api/v1/contacts/99/suggestions", ""), http.StatusNotFound)
}
