package httpapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tongdao/hub/models"
)

const monitorToken = "monitoring-token-0123456789"

func monitorRequest(h *harness, path, token, remote string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if remote != "" {
		req.RemoteAddr = remote
	}
	rec := httptest.NewRecorder()
	h.srv.ServeHTTP(rec, req)
	return rec
}

// TestMonitoringOpenByDefault: without configuration /metrics and the
// detail of /readyz stay open, as before.
func TestMonitoringOpenByDefault(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.Connectors = fakeStates{{Name: "tg-main", Type: "telegram", State: "running"}} })
	if rec := monitorRequest(h, "/metrics", "", ""); rec.Code != 200 {
		t.Fatalf("metrics: %d", rec.Code)
	}
	if rec := monitorRequest(h, "/readyz", "", ""); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"tg-main"`) {
		t.Fatalf("readyz: %d %s", rec.Code, rec.Body)
	}
}

// TestMonitoringTokenProtects: with a token, /metrics refuses without it
// (401) or with another; /readyz keeps its status code but shows its detail
// only with the token; /healthz stays open.
func TestMonitoringTokenProtects(t *testing.T) {
	h := newHarness(t, func(o *Options) {
		o.Monitoring = Monitoring{Token: monitorToken}
		o.Connectors = fakeStates{{Name: "tg-main", Type: "telegram", State: "running"}}
	})
	for _, tok := range []string{"", "wrong-token", monitorToken + "x"} {
		rec := monitorRequest(h, "/metrics", tok, "127.0.0.1:4000")
		if code, _ := errorOf(t, rec, http.StatusUnauthorized); code != models.EUNAUTHORIZED {
			t.Fatalf("metrics with %q: %s", tok, code)
		}
		if strings.Contains(rec.Body.String(), "tongdao_") {
			t.Fatal("metrics leaked in a refusal")
		}
		rec = monitorRequest(h, "/readyz", tok, "")
		if rec.Code != 200 || strings.TrimSpace(rec.Body.String()) != `{"status":"ok"}` {
			t.Fatalf("readyz without the token: %d %s", rec.Code, rec.Body)
		}
	}
	rec := monitorRequest(h, "/metrics", monitorToken, "")
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "tongdao_http_requests_total") {
		t.Fatalf("metrics with the token: %d", rec.Code)
	}
	if rec := monitorRequest(h, "/readyz", monitorToken, ""); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"tg-main"`) {
		t.Fatalf("readyz with the token: %d %s", rec.Code, rec.Body)
	}
	if rec := monitorRequest(h, "/healthz", "", ""); rec.Code != 200 {
		t.Fatalf("healthz: %d", rec.Code)
	}
	// Not ready: the status code still tells, without the detail.
	h.inbox.ready = models.Errorf(models.EUNAVAILABLE, "the database does not accept writes")
	if rec := monitorRequest(h, "/readyz", "", ""); rec.Code != 503 || strings.TrimSpace(rec.Body.String()) != `{"status":"unavailable"}` {
		t.Fatalf("readyz not ready without the token: %d %s", rec.Code, rec.Body)
	}
}

// TestMonitoringLoopbackOnly: loopback clients see everything, others get
// 403 on /metrics and the status only on /readyz.
func TestMonitoringLoopbackOnly(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.Monitoring = Monitoring{LoopbackOnly: true} })
	for _, remote := range []string{"127.0.0.1:4000", "[::1]:4000"} {
		if rec := monitorRequest(h, "/metrics", "", remote); rec.Code != 200 {
			t.Fatalf("metrics from %s: %d", remote, rec.Code)
		}
		if rec := monitorRequest(h, "/readyz", "", remote); !strings.Contains(rec.Body.String(), `"database"`) {
			t.Fatalf("readyz from %s: %s", remote, rec.Body)
		}
	}
	rec := monitorRequest(h, "/metrics", "", "203.0.113.9:4000")
	if code, _ := errorOf(t, rec, http.StatusForbidden); code != models.EFORBIDDEN {
		t.Fatalf("metrics from afar: %s", code)
	}
	if rec := monitorRequest(h, "/readyz", "", "203.0.113.9:4000"); strings.TrimSpace(rec.Body.String()) != `{"status":"ok"}` {
		t.Fatalf("readyz from afar: %s", rec.Body)
	}
}

// TestReadyzStaleConnector: a connector whose progress is stale makes the
// hub not ready (a stuck poller), with the connector marked.
func TestReadyzStaleConnector(t *testing.T) {
	last := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	h := newHarness(t, func(o *Options) {
		o.Connectors = fakeStates{
			{Name: "tg-poll", Type: "telegram", State: "running", LastProgress: &last, Stale: true},
			{Name: "wx-oa", Type: "wechat", State: "running"},
		}
	})
	rec := monitorRequest(h, "/readyz", "", "")
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("stale connector: %d %s", rec.Code, rec.Body)
	}
	var body readiness
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	if body.Status != "unavailable" || body.Database.Status != "ok" || !body.Connectors[0].Stale ||
		body.Connectors[0].LastProgress == nil || !body.Connectors[0].LastProgress.Equal(last) {
		t.Fatalf("body: %s", rec.Body)
	}
}
