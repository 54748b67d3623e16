package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tongdao/hub/models"
)

// errorOf checks that rec holds exactly the error JSON shape with the given
// status and returns its code and message.
func errorOf(t *testing.T, rec *httptest.ResponseRecorder, wantStatus int) (code, message string) {
	t.Helper()
	if rec.Code != wantStatus {
		t.Fatalf("status = %d, want %d; body %s", rec.Code, wantStatus, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type = %q, want JSON", ct)
	}
	var raw map[string]map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &raw); err != nil {
		t.Fatalf("error body is not {\"error\": {...}}: %v: %s", err, rec.Body)
	}
	e, ok := raw["error"]
	if len(raw) != 1 || !ok || len(e) != 2 {
		t.Fatalf("error body shape: %s", rec.Body)
	}
	code, _ = e["code"].(string)
	message, _ = e["message"].(string)
	if code == "" || message == "" {
		t.Fatalf("error code or message empty: %s", rec.Body)
	}
	return code, message
}

func TestEveryAPIRouteNeedsBearerToken(t *testing.T) {
	h := newHarness(t)
	routes := h.srv.engine.Routes()
	checked := 0
	for _, r := range routes {
		if !strings.HasPrefix(r.Path, "/api/v1/") || r.Path == "/api/v1/openapi.json" {
			continue
		}
		path := strings.ReplaceAll(r.Path, ":id", "1")
		body, ct := "", ""
		if r.Method == http.MethodPost {
			body, ct = `{}`, "application/json"
		}
		for _, tc := range []struct {
			name, header, wantAuth string
		}{
			{"none", "", "Bearer"},
			{"bad token", "Bearer wrong-token", `Bearer error="invalid_token"`},
			{"basic scheme", "Basic Z29vZC10b2tlbjo=", "Bearer"},
			{"empty bearer", "Bearer ", "Bearer"},
		} {
			t.Run(r.Method+" "+r.Path+" "+tc.name, func(t *testing.T) {
				req := httptest.NewRequest(r.Method, path, strings.NewReader(body))
				if tc.header != "" {
					req.Header.Set("Authorization", tc.header)
				}
				if ct != "" {
					req.Header.Set("Content-Type", ct)
				}
				rec := httptest.NewRecorder()
				h.srv.ServeHTTP(rec, req)
				code, _ := errorOf(t, rec, http.StatusUnauthorized)
				if code != models.EUNAUTHORIZED {
					t.Errorf("code = %q", code)
				}
				if got := rec.Header().Get("WWW-Authenticate"); got != tc.wantAuth {
					t.Errorf("WWW-Authenticate = %q, want %q", got, tc.wantAuth)
				}
			})
		}
		checked++
	}
	if checked < 8 {
		t.Fatalf("only %d authenticated routes found", checked)
	}
	if len(h.inbox.replies)+len(h.inbox.statusSet) != 0 || h.inbox.assigned {
		t.Fatal("an unauthenticated request reached the inbox")
	}
}

func TestBearerSchemeIsCaseInsensitive(t *testing.T) {
	h := newHarness(t)
	req := httptest.NewRequest(http.MethodGet, "/api/v1/conversations/1", nil)
	req.Header.Set("Authorization", "bearer good-token")
	rec := httptest.NewRecorder()
	h.srv.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
}

func TestAuthenticateOutageIsNotUnauthorized(t *testing.T) {
	h := newHarness(t)
	h.inbox.authErr = models.Errorf(models.EUNAVAILABLE, "database is down")
	code, _ := errorOf(t, h.api(http.MethodGet, "/api/v1/conversations", ""), http.StatusServiceUnavailable)
	if code != models.EUNAVAILABLE {
		t.Fatalf("code = %q", code)
	}
}

func TestHTTPStatusMapping(t *testing.T) {
	for _, tc := range []struct {
		err       error
		status    int
		code, msg string
	}{
		{models.Errorf(models.EINVALID, "bad"), 400, "invalid", "bad"},
		{models.Errorf(models.EUNAUTHORIZED, "who"), 401, "unauthorized", "who"},
		{models.Errorf(models.EFORBIDDEN, "no"), 403, "forbidden", "no"},
		{models.Errorf(models.ENOTFOUND, "gone"), 404, "not_found", "gone"},
		{models.Errorf(models.ECONFLICT, "clash"), 409, "conflict", "clash"},
		{models.Errorf(models.EUNAVAILABLE, "later"), 503, "unavailable", "later"},
		{models.Errorf(models.EINTERNAL, "secret detail"), 500, "internal", "internal error"},
		{fmt.Errorf("wrapped: %w", models.Errorf(models.ENOTFOUND, "deep")), 404, "not_found", "deep"},
		{errors.New("sql: connection refused to 10.0.0.5"), 500, "internal", "internal error"},
		{models.Errorf("teapot", "odd"), 500, "internal", "internal error"},
		{fmt.Errorf("query: %w", context.Canceled), 503, "unavailable", "request canceled"},
		{context.DeadlineExceeded, 503, "unavailable", "request timed out"},
		{withStatus(413, models.EINVALID, "big"), 413, "invalid", "big"},
	} {
		status, code, msg := httpStatus(tc.err)
		if status != tc.status || code != tc.code || msg != tc.msg {
			t.Errorf("httpStatus(%v) = %d %q %q, want %d %q %q", tc.err, status, code, msg, tc.status, tc.code, tc.msg)
		}
	}
}

func TestInboxErrorsBecomeErrorJSON(t *testing.T) {
	for _, tc := range []struct {
		name     string
		err      error
		status   int
		code     string
		logged   bool
		leakText string
	}{
		{"not found", models.Errorf(models.ENOTFOUND, "conversation 1 not found"), 404, "not_found", false, ""},
		{"conflict", models.Errorf(models.ECONFLICT, "already resolved"), 409, "conflict", false, ""},
		{"forbidden", models.Errorf(models.EFORBIDDEN, "admins only"), 403, "forbidden", false, ""},
		{"unavailable", models.Errorf(models.EUNAVAILABLE, "database busy"), 503, "unavailable", false, ""},
		{"internal", errors.New("pq: password authentication failed for user hub"), 500, "internal", true, "password"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.inbox.setErr(tc.err)
			code, msg := errorOf(t, h.api(http.MethodGet, "/api/v1/conversations/1", ""), tc.status)
			if code != tc.code {
				t.Errorf("code = %q, want %q", code, tc.code)
			}
			if tc.leakText != "" && strings.Contains(msg, tc.leakText) {
				t.Errorf("internal detail leaked: %q", msg)
			}
			logs := h.logs.String()
			errorLogged := strings.Contains(logs, `"level":"ERROR"`)
			if errorLogged != tc.logged {
				t.Errorf("error logged = %v, want %v; logs:\n%s", errorLogged, tc.logged, logs)
			}
			if tc.logged && !strings.Contains(logs, tc.leakText) {
				t.Errorf("internal error detail not in the log:\n%s", logs)
			}
		})
	}
}

func TestUnknownRouteAndWrongMethod(t *testing.T) {
	h := newHarness(t)
	for _, tc := range []struct {
		method, path string
		status       int
		allow        string
	}{
		{http.MethodGet, "/nope", 404, ""},
		{http.MethodGet, "/api/v1/nope", 404, ""},
		{http.MethodGet, "/api/v1/conversations/", 404, ""},
		{http.MethodDelete, "/api/v1/conversations", 405, "GET"},
		{http.MethodGet, "/api/v1/conversations/1/status", 405, "POST"},
		{http.MethodPut, "/webhooks/tg-main", 405, "GET, POST"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			rec := h.api(tc.method, tc.path, "")
			code, _ := errorOf(t, rec, tc.status)
			want := models.ENOTFOUND
			if tc.status == 405 {
				want = models.EINVALID
			}
			if code != want {
				t.Errorf("code = %q, want %q", code, want)
			}
			if tc.allow != "" {
				if got := rec.Header().Get("Allow"); got != tc.allow {
					t.Errorf("Allow = %q, want %q", got, tc.allow)
				}
			}
		})
	}
}

func TestInvalidPathIDs(t *testing.T) {
	h := newHarness(t)
	for _, id := range []string{"abc", "0", "-1", "+1", "01", "1.5", "99999999999999999999", "%20"} {
		for _, p := range []string{"/api/v1/conversations/" + id, "/api/v1/conversations/" + id + "/messages", "/api/v1/contacts/" + id} {
			code, msg := errorOf(t, h.api(http.MethodGet, p, ""), http.StatusBadRequest)
			if code != models.EINVALID || !strings.Contains(msg, "id must be a positive decimal integer") {
				t.Errorf("%s: %q %q", p, code, msg)
			}
		}
	}
}

func TestHealthz(t *testing.T) {
	h := newHarness(t)
	rec := h.do(http.MethodGet, "/healthz", "", "", "")
	if rec.Code != 200 || strings.TrimSpace(rec.Body.String()) != `{"status":"ok"}` {
		t.Fatalf("healthz: %d %s", rec.Code, rec.Body)
	}
}

func TestReadyz(t *testing.T) {
	since := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	states := fakeStates{{Name: "tg-main", Type: "telegram", State: "running", Since: since},
		{Name: "wx-oa", Type: "wechat", State: "restarting", LastError: "token expired", Restarts: 2, Since: since}}
	h := newHarness(t, func(o *Options) { o.Connectors = states })

	rec := h.do(http.MethodGet, "/readyz", "", "", "")
	var body readiness
	if rec.Code != 200 {
		t.Fatalf("ready: %d %s", rec.Code, rec.Body)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	if body.Status != "ok" || body.Database.Status != "ok" || len(body.Connectors) != 2 || body.Connectors[1].State != "restarting" {
		t.Fatalf("ready body: %s", rec.Body)
	}

	h.inbox.ready = errors.New("dial tcp 10.1.2.3:5432: connection refused")
	rec = h.do(http.MethodGet, "/readyz", "", "", "")
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("not ready: %d %s", rec.Code, rec.Body)
	}
	body = readiness{}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	if body.Status != "unavailable" || body.Database.Status != "unavailable" || len(body.Connectors) != 2 {
		t.Fatalf("not ready body: %s", rec.Body)
	}
	if strings.Contains(rec.Body.String(), "10.1.2.3") {
		t.Fatalf("readyz leaks the database error: %s", rec.Body)
	}
}

func TestReadyzWithoutConnectorsListsNone(t *testing.T) {
	h := newHarness(t)
	rec := h.do(http.MethodGet, "/readyz", "", "", "")
	if !strings.Contains(rec.Body.String(), `"connectors":[]`) {
		t.Fatalf("body: %s", rec.Body)
	}
}

func TestMetricsCountByRouteTemplate(t *testing.T) {
	h := newHarness(t)
	for range 3 {
		h.api(http.MethodGet, "/api/v1/conversations/1", "")
	}
	h.api(http.MethodGet, "/api/v1/conversations/42", "")
	h.do(http.MethodGet, "/api/v1/conversations/1", "", "", "")
	h.do(http.MethodGet, "/no/such/path/123", "", "", "")
	h.do("BREW", "/healthz", "", "", "")

	rec := h.do(http.MethodGet, "/metrics", "", "", "")
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain") {
		t.Fatalf("metrics: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	text := rec.Body.String()
	for _, want := range []string{
		`tongdao_http_requests_total{code="200",method="GET",route="/api/v1/conversations/:id"} 3`,
		`tongdao_http_requests_total{code="404",method="GET",route="/api/v1/conversations/:id"} 1`,
		`tongdao_http_requests_total{code="401",method="GET",route="/api/v1/conversations/:id"} 1`,
		`tongdao_http_requests_total{code="404",method="GET",route="unmatched"} 1`,
		`tongdao_http_requests_total{code="405",method="OTHER",route="unmatched"} 1`,
		`tongdao_http_request_duration_seconds_count{route="/api/v1/conversations/:id"} 5`,
		`tongdao_http_request_duration_seconds_bucket{route="/webhooks/:name",le="+Inf"} 0`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	for _, leak := range []string{"/conversations/42", "/no/such/path"} {
		if strings.Contains(text, leak) {
			t.Errorf("metrics carry a raw path %q", leak)
		}
	}
}

func TestMetricsRuntimeCollectorsAreTheCallersChoice(t *testing.T) {
	h := newHarness(t) // a registry is given and RuntimeMetrics is false
	text := h.do(http.MethodGet, "/metrics", "", "", "").Body.String()
	if strings.Contains(text, "go_goroutines") {
		t.Fatal("Go collector registered although the caller did not ask")
	}
	h = newHarness(t, func(o *Options) { o.RuntimeMetrics = true })
	text = h.do(http.MethodGet, "/metrics", "", "", "").Body.String()
	if !strings.Contains(text, "go_goroutines") {
		t.Fatal("Go collector missing with RuntimeMetrics")
	}
}

func TestTwoServersShareARegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	for range 2 {
		if _, err := New(Options{Inbox: newFakeInbox(), Registry: reg, RuntimeMetrics: true}); err != nil {
			t.Fatalf("New: %v", err)
		}
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	if _, err := New(Options{}); err == nil {
		t.Error("New without Inbox succeeded")
	}
	if _, err := New(Options{Inbox: newFakeInbox(), TrustedProxies: []string{"not-an-ip"}}); err == nil {
		t.Error("New with a malformed trusted proxy succeeded")
	}
}

func TestTrustedProxies(t *testing.T) {
	for _, tc := range []struct {
		trusted []string
		want    string
	}{
		{nil, "127.0.0.1"},
		{[]string{"127.0.0.1"}, "203.0.113.9"},
	} {
		h := newHarness(t, func(o *Options) { o.TrustedProxies = tc.trusted })
		req := httptest.NewRequest(http.MethodGet, "/healthz", nil)
		req.RemoteAddr = "127.0.0.1:5555"
		req.Header.Set("X-Forwarded-For", "203.0.113.9")
		h.srv.ServeHTTP(httptest.NewRecorder(), req)
		if !strings.Contains(h.logs.String(), `"client_ip":"`+tc.want+`"`) {
			t.Errorf("trusted %v: client ip not %s in log:\n%s", tc.trusted, tc.want, h.logs)
		}
	}
}

func TestRequestLogOmitsSecrets(t *testing.T) {
	h := newHarness(t)
	h.api(http.MethodPost, "/api/v1/conversations/1/messages?x=query-secret", `{"text":"body-secret"}`)
	h.api(http.MethodGet, "/api/v1/conversations?q=query-secret", "")
	logs := h.logs.String()
	for _, secret := range []string{"good-token", "body-secret", "query-secret", "Authorization"} {
		if strings.Contains(logs, secret) {
			t.Errorf("log contains %q:\n%s", secret, logs)
		}
	}
	if n := strings.Count(logs, `"msg":"http request"`); n != 2 {
		t.Errorf("%d request lines, want 2:\n%s", n, logs)
	}
	if !strings.Contains(logs, `"route":"/api/v1/conversations"`) || !strings.Contains(logs, `"level":"DEBUG"`) {
		t.Errorf("request line lacks route or debug level:\n%s", logs)
	}
}

func TestPanicBecomesInternalError(t *testing.T) {
	h := newHarness(t)
	code, msg := errorOf(t, h.api(http.MethodGet, "/api/v1/contacts/666", ""), http.StatusInternalServerError)
	if code != models.EINTERNAL || msg != "internal error" {
		t.Fatalf("%q %q", code, msg)
	}
	logs := h.logs.String()
	if !strings.Contains(logs, "fake inbox: boom") || !strings.Contains(logs, `"level":"ERROR"`) {
		t.Fatalf("panic not logged at error:\n%s", logs)
	}
	if !strings.Contains(logs, `"level":"WARN","msg":"http request"`) {
		t.Fatalf("5xx request line not at warn:\n%s", logs)
	}
}

func TestWebhooksMount(t *testing.T) {
	var gotBody, gotMethod, gotPath string
	tg := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, "too large", http.StatusRequestEntityTooLarge)
			return
		}
		gotBody, gotMethod, gotPath = string(b), r.Method, r.URL.Path
		if r.Header.Get("X-Telegram-Bot-Api-Secret-Token") != "s3cret" {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	h := newHarness(t, func(o *Options) {
		o.MaxBodyBytes = 64
		o.Webhooks = func(name string) (http.Handler, bool) {
			if name == "tg-main" {
				return tg, true
			}
			return nil, false
		}
	})
	update := `{"update_id":1,"message":{"text":"hi"}}`
	req := httptest.NewRequest(http.MethodPost, "/webhooks/tg-main", strings.NewReader(update))
	req.Header.Set("X-Telegram-Bot-Api-Secret-Token", "s3cret")
	rec := httptest.NewRecorder()
	h.srv.ServeHTTP(rec, req)
	if rec.Code != 200 || gotBody != update || gotMethod != "POST" || gotPath != "/webhooks/tg-main" {
		t.Fatalf("webhook: %d body %q method %q path %q", rec.Code, gotBody, gotMethod, gotPath)
	}
	// The connector's own answer goes through untouched.
	if rec := h.do(http.MethodPost, "/webhooks/tg-main", "", "", update); rec.Code != http.StatusForbidden {
		t.Fatalf("bad secret: %d", rec.Code)
	}
	if rec := h.do(http.MethodPost, "/webhooks/tg-main", "", "", strings.Repeat("x", 65)); rec.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized webhook: %d", rec.Code)
	}
	code, msg := errorOf(t, h.do(http.MethodPost, "/webhooks/nope", "", "", update), http.StatusNotFound)
	if code != models.ENOTFOUND || !strings.Contains(msg, `"nope"`) {
		t.Fatalf("%q %q", code, msg)
	}
	if n := strings.Count(h.do(http.MethodGet, "/metrics", "", "", "").Body.String(), `route="/webhooks/:name"`); n == 0 {
		t.Fatal("webhook requests not counted")
	}
}

func TestWebhooksNil(t *testing.T) {
	h := newHarness(t)
	errorOf(t, h.do(http.MethodGet, "/webhooks/wx-oa?echostr=1", "", "", ""), http.StatusNotFound)
}

func TestConsoleServesOtherPaths(t *testing.T) {
	console := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, "<!doctype html>console "+r.URL.Path)
	})
	h := newHarness(t, func(o *Options) { o.Console = console })
	for _, p := range []string{"/", "/index.html", "/assets/app.js"} {
		rec := h.do(http.MethodGet, p, "", "", "")
		if rec.Code != 200 || rec.Body.String() != "<!doctype html>console "+p {
			t.Errorf("GET %s: %d %s", p, rec.Code, rec.Body)
		}
	}
	for _, p := range []string{"/api/v1/nope", "/api", "/webhooks/x/y"} {
		errorOf(t, h.do(http.MethodGet, p, "", "", ""), http.StatusNotFound)
	}
	errorOf(t, h.do(http.MethodPost, "/", "", "application/json", "{}"), http.StatusNotFound)
	text := h.do(http.MethodGet, "/metrics", "", "", "").Body.String()
	if !strings.Contains(text, `tongdao_http_requests_total{code="200",method="GET",route="console"} 3`) {
		t.Errorf("console requests not labelled console:\n%s", grep(text, "tongdao_http_requests_total"))
	}
}

func TestOpenAPIIsPublic(t *testing.T) {
	h := newHarness(t)
	rec := h.do(http.MethodGet, "/api/v1/openapi.json", "", "", "")
	if rec.Code != 200 || !json.Valid(rec.Body.Bytes()) || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		t.Fatalf("openapi: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
}

func grep(text, pattern string) string {
	re := regexp.MustCompile(pattern)
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if re.MatchString(l) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestMutationErrorsAreMapped(t *testing.T) {
	h := newHarness(t)
	h.inbox.setErr(models.Errorf(models.ECONFLICT, "conversation is resolved"))
	for _, tc := range []struct{ path, body string }{
		{"/api/v1/conversations/1/status", `{"status":"snoozed"}`},
		{"/api/v1/conversations/1/assign", `{"assignee":"bob"}`},
		{"/api/v1/conversations/1/messages", `{"text":"hi"}`},
	} {
		code, msg := errorOf(t, h.api(http.MethodPost, tc.path, tc.body), http.StatusConflict)
		if code != models.ECONFLICT || msg != "conversation is resolved" {
			t.Errorf("%s: %q %q", tc.path, code, msg)
		}
	}
}

func TestHandlerServesTheSameRoutes(t *testing.T) {
	h := newHarness(t)
	rec := httptest.NewRecorder()
	h.srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	if h.srv.Registry() == nil {
		t.Fatal("no registry")
	}
}

func TestMetricsNameClashFailsNew(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewGauge(prometheus.GaugeOpts{Name: "tongdao_http_requests_total", Help: "a gauge"}))
	if _, err := New(Options{Inbox: newFakeInbox(), Registry: reg}); err == nil {
		t.Fatal("New registered a clashing metric")
	}
}

func TestTruncateKeepsRunes(t *testing.T) {
	if got := truncate("客服通道", 4); got != "客…" {
		t.Fatalf("truncate = %q", got)
	}
	if got := truncate("short", 10); got != "short" {
		t.Fatalf("truncate = %q", got)
	}
}
