package httpapi

import (
	"net/http"
	"testing"
	"time"

	"github.com/tongdao/hub/models"
)

// The summary report: agents and admins may read it; from and to are
// RFC 3339 (default the last 7 days), team and channel are passed on; bad
// input is a 400 in the house error format and never reaches the inbox.
func TestReportSummaryRoute(t *testing.T) {
	h := newHarness(t)
	before := time.Now().UTC()
	rec := h.api(http.MethodGet, "/api/v1/reports/summary", "")
	if rec.Code != http.StatusOK {
		t.Fatalf("default range: %d %s", rec.Code, rec.Body)
	}
	checkDoc(t, http.MethodGet, "/api/v1/reports/summary", rec)
	got := h.inbox.reports[0]
	if got.To.Before(before) || got.To.Sub(got.From) != 7*24*time.Hour || got.Team != "" || got.Channel != "" {
		t.Fatalf("default filter: %+v", got)
	}
	rec = h.admin(http.MethodGet, "/api/v1/reports/summary?from=2026-11-23T00:00:00%2B08:00&to=2026-11-30T00:00:00Z&team=risk&channel=telegram", "")
	if rec.Code != http.StatusOK {
		t.Fatalf("admin: %d %s", rec.Code, rec.Body)
	}
	want := models.ReportFilter{From: time.Date(2026, 11, 22, 16, 0, 0, 0, time.UTC), To: time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC),
		Team: "risk", Channel: "telegram"}
	if got := h.inbox.reports[1]; got != want {
		t.Fatalf("filter: %+v, want %+v", got, want)
	}
	for _, q := range []string{
		"from=yesterday",
		"to=2026-11-30",
		"from=2026-11-30T00:00:00Z&to=2026-11-30T00:00:00Z",
		"from=2026-12-01T00:00:00Z&to=2026-11-30T00:00:00Z",
		"from=2024-01-01T00:00:00Z&to=2026-11-30T00:00:00Z",
		"team=",
		"teams=risk",
		"team=a&team=b",
	} {
		rec := h.api(http.MethodGet, "/api/v1/reports/summary?"+q, "")
		if code, _ := errorOf(t, rec, http.StatusBadRequest); code != models.EINVALID {
			t.Errorf("%s: code %s", q, code)
		}
		checkDoc(t, http.MethodGet, "/api/v1/reports/summary", rec)
	}
	if len(h.inbox.reports) != 2 {
		t.Fatalf("bad input reached the inbox: %d calls", len(h.inbox.reports))
	}
	rec = h.do(http.MethodGet, "/api/v1/reports/summary", "", "", "")
	if code, _ := errorOf(t, rec, http.StatusUnauthorized); code != models.EUNAUTHORIZED {
		t.Fatalf("without a token: %s", code)
	}
}
