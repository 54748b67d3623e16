package httpapi

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/tongdao/hub/models"
)

// Read marks: the caller marks a conversation read (no body, or {}), and
// lists their own marks; bad input is a 400 that never reaches the inbox,
// an unknown conversation a 404.
func TestReadMarkRoutes(t *testing.T) {
	h := newHarness(t)
	for _, body := range []string{"", "{}"} {
		rec := h.api(http.MethodPost, "/api/v1/conversations/7/read", body)
		if rec.Code != http.StatusOK {
			t.Fatalf("body %q: %d %s", body, rec.Code, rec.Body)
		}
		checkDoc(t, http.MethodPost, "/api/v1/conversations/7/read", rec)
		var m models.ReadMarkView
		if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil || m.ConversationID != "7" || !m.ReadAt.Equal(fakeReadAt) {
			t.Fatalf("mark %s: %+v %v", rec.Body, m, err)
		}
	}
	h.admin(http.MethodPost, "/api/v1/conversations/8/read", "")
	for _, bad := range []struct{ path, body string }{
		{"/api/v1/conversations/x/read", ""},
		{"/api/v1/conversations/0/read", ""},
		{"/api/v1/conversations/7/read", `{"at": "2026-12-02T10:00:00Z"}`},
		{"/api/v1/conversations/7/read", `[`},
	} {
		rec := h.api(http.MethodPost, bad.path, bad.body)
		if code, _ := errorOf(t, rec, http.StatusBadRequest); code != models.EINVALID {
			t.Errorf("%s %s: code %s", bad.path, bad.body, code)
		}
	}
	rec := h.api(http.MethodPost, "/api/v1/conversations/404/read", "")
	if code, _ := errorOf(t, rec, http.StatusNotFound); code != models.ENOTFOUND {
		t.Fatalf("unknown conversation: %s", code)
	}
	checkDoc(t, http.MethodPost, "/api/v1/conversations/404/read", rec)
	if len(h.inbox.reads) != 3 {
		t.Fatalf("the inbox was asked %d times, want 3: %v", len(h.inbox.reads), h.inbox.reads)
	}

	// Each agent lists their own marks only.
	rec = h.api(http.MethodGet, "/api/v1/me/reads", "")
	checkDoc(t, http.MethodGet, "/api/v1/me/reads", rec)
	var list struct {
		Reads []models.ReadMarkView `json:"reads"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil || len(list.Reads) != 2 || list.Reads[0].ConversationID != "7" {
		t.Fatalf("alice's marks: %s", rec.Body)
	}
	if rec := h.api(http.MethodGet, "/api/v1/me/reads?limit=5", ""); rec.Code != http.StatusBadRequest {
		t.Fatalf("an unknown parameter: %d", rec.Code)
	}
}
