package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/tongdao/hub/models"
)

// TestReloadRouteIsAdminOnly: an agent token gets 403 and the reload does
// not run; an admin's runs it; an invalid file's problems come back as 400
// in the error shape; without a reload function the route is 503.
func TestReloadRouteIsAdminOnly(t *testing.T) {
	calls := 0
	var fail error
	h := newHarness(t, func(o *Options) {
		o.Reload = func(context.Context) (models.ReloadView, error) {
			calls++
			if fail != nil {
				return models.ReloadView{}, fail
			}
			return models.ReloadView{Added: []string{"tg"}, Removed: []string{}, Restarted: []string{}, Unchanged: []string{}, Warnings: []string{}}, nil
		}
	})
	h.inbox.tokens["admin-token"] = models.Actor{TokenID: 2, Name: "root", Role: models.RoleAdmin}

	if rec := h.do("POST", "/api/v1/admin/reload", "good-token", "", ""); rec.Code != http.StatusForbidden || calls != 0 {
		t.Fatalf("agent: %d %s (reload ran %d times), want 403 and no reload", rec.Code, rec.Body, calls)
	}
	if rec := h.do("POST", "/api/v1/admin/reload", "", "", ""); rec.Code != http.StatusUnauthorized || calls != 0 {
		t.Fatalf("no token: %d %s, want 401", rec.Code, rec.Body)
	}
	rec := h.do("POST", "/api/v1/admin/reload", "admin-token", "", "")
	var v models.ReloadView
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &v) != nil || calls != 1 || len(v.Added) != 1 {
		t.Fatalf("admin: %d %s", rec.Code, rec.Body)
	}
	fail = models.Errorf(models.EINVALID, "the configuration file is invalid; nothing was changed:\nhub.yaml: a: bad\nhub.yaml: b: bad")
	rec = h.do("POST", "/api/v1/admin/reload", "admin-token", "", "")
	var eb errorBody
	if rec.Code != http.StatusBadRequest || json.Unmarshal(rec.Body.Bytes(), &eb) != nil || eb.Error.Code != models.EINVALID ||
		!strings.Contains(eb.Error.Message, "a: bad\nhub.yaml: b: bad") {
		t.Fatalf("invalid: %d %s", rec.Code, rec.Body)
	}

	h2 := newHarness(t)
	h2.inbox.tokens["admin-token"] = models.Actor{TokenID: 2, Name: "root", Role: models.RoleAdmin}
	if rec := h2.do("POST", "/api/v1/admin/reload", "admin-token", "", ""); rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("no reload function: %d %s, want 503", rec.Code, rec.Body)
	}
}
