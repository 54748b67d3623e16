package httpapi

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tongdao/hub/internal/openapicheck"
	"github.com/tongdao/hub/internal/slowclient"
	"github.com/tongdao/hub/internal/wait"
	"github.com/tongdao/hub/models"
)

// wantAccess is who may call each route. The router is the list of routes:
// a route added without a decision here fails TestRoutesByRole.
var wantAccess = map[string]string{
	"GET /healthz":                            accessPublic,
	"GET /readyz":                             accessPublic,
	"GET /metrics":                            accessPublic,
	"GET /webhooks/:name":                     accessPublic,
	"POST /webhooks/:name":                    accessPublic,
	"GET /api/v1/openapi.json":                accessPublic,
	"GET /api/v1/conversations":               accessAgent,
	"GET /api/v1/conversations/:id":           accessAgent,
	"GET /api/v1/conversations/:id/messages":  accessAgent,
	"POST /api/v1/conversations/:id/messages": accessAgent,
	"POST /api/v1/conversations/:id/status":   accessAgent,
	"POST /api/v1/conversations/:id/assign":   accessAgent,
	"GET /api/v1/contacts/:id":                accessAgent,
	"POST /api/v1/contacts/:id/merge":         accessAgent,
	"GET /api/v1/contacts/:id/suggestions":    accessAgent,
	"POST /api/v1/merges/:id/undo":            accessAdmin,
	"POST /api/v1/identities/:id/unlink":      accessAdmin,
	"GET /api/v1/events":                      accessAgent,
	"GET /api/v1/channels":                    accessAgent,
	"GET /api/v1/views":                       accessAgent,
	"POST /api/v1/admin/reload":               accessAdmin,
	// Agent helpers.
	"GET /api/v1/canned":                    accessAgent,
	"POST /api/v1/canned":                   accessAdmin,
	"PUT /api/v1/canned/:id":                accessAdmin,
	"DELETE /api/v1/canned/:id":             accessAdmin,
	"POST /api/v1/conversations/:id/labels": accessAgent,
	// Agents and tokens.
	"GET /api/v1/agents":          accessAgent,
	"GET /api/v1/reports/summary": accessAgent,
	"GET /api/v1/me":              accessAgent,
	"POST /api/v1/me/presence":    accessAgent,
	"GET /api/v1/tokens":          accessAdmin,
	"POST /api/v1/tokens":         accessAdmin,
	"DELETE /api/v1/tokens/:id":   accessAdmin,
	// Read marks of the console.
	"POST /api/v1/conversations/:id/read": accessAgent,
	"GET /api/v1/me/reads":                accessAgent,
	// Media.
	"GET /api/v1/attachments/:id":           accessAgent,
	"GET /api/v1/attachments/:id/thumbnail": accessAgent,
}

// okWebhook is a connector handler that accepts everything.
func okWebhook(string) (http.Handler, bool) {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }), true
}

// TestRoutesByRole calls every registered route as nobody, as an agent and
// as an admin: public routes answer everyone, the others want a token, and
// admin routes answer agents 403 forbidden.
func TestRoutesByRole(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.Webhooks = okWebhook })
	doc, err := openapicheck.Load(openAPIDocument)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range h.srv.engine.Routes() {
		key := r.Method + " " + r.Path
		seen[key] = true
		want, ok := wantAccess[key]
		if !ok {
			t.Errorf("route %s has no role decision (add it to wantAccess and to openapi.json's x-roles)", key)
			continue
		}
		if got := h.srv.access[key]; got != want {
			t.Errorf("route %s is registered as %q, want %q", key, got, want)
		}
		path := strings.NewReplacer(":id", "1", ":name", "tg-main").Replace(r.Path)
		for _, caller := range []struct{ role, token string }{{"anonymous", ""}, {models.RoleAgent, "good-token"}, {models.RoleAdmin, "admin-token"}} {
			t.Run(key+" as "+caller.role, func(t *testing.T) {
				req := httptest.NewRequest(r.Method, path, nil)
				if r.Method == http.MethodPost || r.Method == http.MethodPut {
					req = httptest.NewRequest(r.Method, path, strings.NewReader(`{}`))
					req.Header.Set("Content-Type", "application/json")
				}
				if caller.token != "" {
					req.Header.Set("Authorization", "Bearer "+caller.token)
				}
				// An event stream that is let in ends at once.
				ctx, cancel := context.WithCancel(context.Background())
				if r.Path == "/api/v1/events" {
					cancel()
				}
				defer cancel()
				rec := httptest.NewRecorder()
				h.srv.ServeHTTP(rec, req.WithContext(ctx))
				// Every answer, errors included, is as documented.
				if strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
					if err := doc.CheckResponse(r.Method, path, rec.Code, rec.Body.Bytes()); err != nil {
						t.Error(err)
					}
				}
				switch {
				case want == accessPublic:
					if rec.Code == http.StatusUnauthorized || rec.Code == http.StatusForbidden {
						t.Fatalf("public route answered %d: %s", rec.Code, rec.Body)
					}
				case caller.token == "":
					if code, _ := errorOf(t, rec, http.StatusUnauthorized); code != models.EUNAUTHORIZED {
						t.Fatal(code)
					}
				case want == accessAdmin && caller.role == models.RoleAgent:
					if code, msg := errorOf(t, rec, http.StatusForbidden); code != models.EFORBIDDEN || !strings.Contains(msg, "admin") {
						t.Fatalf("%s %s", code, msg)
					}
				default:
					if rec.Code == http.StatusUnauthorized || rec.Code == http.StatusForbidden {
						t.Fatalf("answered %d: %s", rec.Code, rec.Body)
					}
				}
			})
		}
	}
	for key := range wantAccess {
		if !seen[key] {
			t.Errorf("wantAccess lists %s, which is not a route", key)
		}
	}
	if n := len(h.inbox.undone) + len(h.inbox.unlinked); n != 2 {
		t.Errorf("undo and unlink ran %d times, want once each (by the admin)", n)
	}
}

// TestUnknownRoleIsForbidden: a token whose role is neither agent nor
// admin reaches nothing.
func TestUnknownRoleIsForbidden(t *testing.T) {
	h := newHarness(t)
	h.inbox.tokens["odd"] = models.Actor{TokenID: 9, Name: "odd", Role: "guest"}
	errorOf(t, h.do(http.MethodGet, "/api/v1/conversations", "odd", "", ""), http.StatusForbidden)
}

// TestAPIResponsesAreNotCachedNorSniffed checks the headers on answers,
// errors included.
func TestAPIResponsesAreNotCachedNorSniffed(t *testing.T) {
	h := newHarness(t)
	for _, rec := range []*httptest.ResponseRecorder{
		h.api(http.MethodGet, "/api/v1/conversations", ""),
		h.api(http.MethodGet, "/api/v1/conversations/1", ""),
		h.api(http.MethodGet, "/api/v1/conversations/404", ""),
		h.do(http.MethodGet, "/api/v1/conversations", "", "", ""),
		h.do(http.MethodGet, "/api/v1/openapi.json", "", "", ""),
		h.api(http.MethodGet, "/api/v1/nope", ""),
		h.api(http.MethodDelete, "/api/v1/conversations", ""),
		h.api(http.MethodPost, "/api/v1/conversations/1/status", `{"status":"pending"}`),
		h.do(http.MethodGet, "/readyz", "", "", ""),
	} {
		if got := rec.Header().Get("Cache-Control"); got != "no-store" {
			t.Errorf("%d %s: Cache-Control = %q", rec.Code, rec.Body, got)
		}
		if got := rec.Header().Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%d %s: X-Content-Type-Options = %q", rec.Code, rec.Body, got)
		}
	}
}

// TestRejectedWebhookClosesTheConnection: a rejected push gets
// "Connection: close"; an accepted one keeps the connection.
func TestRejectedWebhookClosesTheConnection(t *testing.T) {
	h := newHarness(t, func(o *Options) {
		o.Webhooks = func(name string) (http.Handler, bool) {
			if name != "tg" {
				return nil, false
			}
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("X-Secret") != "s" {
					http.Error(w, "bad secret", http.StatusUnauthorized)
					return
				}
				_, _ = w.Write([]byte("ok"))
			}), true
		}
	})
	req := httptest.NewRequest(http.MethodPost, "/webhooks/tg", strings.NewReader("{}"))
	req.Header.Set("X-Secret", "s")
	rec := httptest.NewRecorder()
	h.srv.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || rec.Header().Get("Connection") != "" {
		t.Fatalf("accepted: %d Connection=%q", rec.Code, rec.Header().Get("Connection"))
	}
	for _, path := range []string{"/webhooks/tg", "/webhooks/unknown"} {
		rec := h.do(http.MethodPost, path, "", "", "{}")
		if rec.Code < 400 || rec.Header().Get("Connection") != "close" {
			t.Errorf("%s rejected: %d Connection=%q", path, rec.Code, rec.Header().Get("Connection"))
		}
	}
}

// liveServer runs the API on a loopback listener.
func liveServer(t *testing.T, mutate func(*Options)) (*harness, string) {
	t.Helper()
	h := newHarness(t, mutate)
	ts := httptest.NewServer(h.srv)
	t.Cleanup(ts.Close)
	return h, ts.Listener.Addr().String()
}

// TestTricklingWebhookBodyIsCutOff: an unauthenticated client announcing a
// large body and sending it a byte at a time is cut off after the body
// deadline, and the connection is closed.
func TestTricklingWebhookBodyIsCutOff(t *testing.T) {
	_, addr := liveServer(t, func(o *Options) {
		o.BodyTimeout = 300 * time.Millisecond
		o.Webhooks = func(string) (http.Handler, bool) {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if _, err := io.ReadAll(r.Body); err != nil {
					http.Error(w, "bad body", http.StatusBadRequest)
					return
				}
				w.WriteHeader(http.StatusOK)
			}), true
		}
	})
	got := slowclient.Trickle(t, addr, "POST /webhooks/tg HTTP/1.1\r\nHost: hub\r\nContent-Length: 1000000\r\n\r\nx", 20*time.Second)
	if !strings.HasPrefix(got, "HTTP/1.1 400") || !strings.Contains(got, "Connection: close") {
		t.Fatalf("answer: %q", got)
	}
}

// TestTricklingAPIBodyIsCutOff: the same for an API request with a token.
func TestTricklingAPIBodyIsCutOff(t *testing.T) {
	h, addr := liveServer(t, func(o *Options) { o.BodyTimeout = 300 * time.Millisecond })
	got := slowclient.Trickle(t, addr, "POST /api/v1/conversations/1/messages HTTP/1.1\r\nHost: hub\r\nAuthorization: Bearer good-token\r\n"+
		"Content-Type: application/json\r\nContent-Length: 500000\r\n\r\n{\"text\":\"", 20*time.Second)
	if !strings.HasPrefix(got, "HTTP/1.1 408") || !strings.Contains(got, "Connection: close") || !strings.Contains(got, `"code":"invalid"`) {
		t.Fatalf("answer: %q", got)
	}
	if len(h.inbox.replies) != 0 {
		t.Fatal("a cut-off reply reached the inbox")
	}
}

// openStream opens an event stream with token and returns the response.
func openStream(t *testing.T, addr, token string) *http.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/api/v1/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = resp.Body.Close() })
	return resp
}

// TestEventStreamOutlivesTheDeadlines: the body and write deadlines of
// other routes do not cut an event stream.
func TestEventStreamOutlivesTheDeadlines(t *testing.T) {
	h, addr := liveServer(t, func(o *Options) {
		o.BodyTimeout = 100 * time.Millisecond
		o.WriteTimeout = 100 * time.Millisecond
		o.HeartbeatInterval = 25 * time.Millisecond
	})
	resp := openStream(t, addr, "good-token")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	r := bufio.NewReader(resp.Body)
	start := time.Now()
	for beats := 0; beats < 10 || time.Since(start) < 300*time.Millisecond; {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("stream ended after %s: %v", time.Since(start), err)
		}
		if strings.HasPrefix(line, ": heartbeat") {
			beats++
		}
	}
	h.inbox.addEvents(1)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("stream ended: %v", err)
		}
		if strings.HasPrefix(line, "id: ") {
			return
		}
	}
}

// TestEventStreamLimits: the (N+1)th stream of a token and the stream over
// the total get 429 rate_limited; a freed slot is usable again.
func TestEventStreamLimits(t *testing.T) {
	h, addr := liveServer(t, func(o *Options) {
		o.MaxStreamsPerToken = 2
		o.MaxStreams = 3
	})
	refused := func(token, want string) {
		t.Helper()
		resp := openStream(t, addr, token)
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(string(body), `"code":"rate_limited"`) ||
			!strings.Contains(string(body), want) {
			t.Fatalf("status %d %s, want 429 naming %q", resp.StatusCode, body, want)
		}
	}
	a1 := openStream(t, addr, "good-token")
	openStream(t, addr, "good-token")
	refused("good-token", "this token already has 2")
	openStream(t, addr, "admin-token")
	refused("admin-token", "the hub already serves 3")

	_ = a1.Body.Close()
	wait.For(t, "the closed stream's slot to be freed", func() bool {
		total, _ := h.srv.streams.open(1)
		return total == 2
	})
	if resp := openStream(t, addr, "good-token"); resp.StatusCode != http.StatusOK {
		t.Fatalf("freed slot: status %d", resp.StatusCode)
	}
	if total, mine := h.srv.streams.open(1); total != 3 || mine != 2 {
		t.Fatalf("open streams: %d total, %d for the token", total, mine)
	}
}

// TestIDBeyondInt64IsNotFound: an id of the documented syntax
// (^[1-9][0-9]{0,18}$) that does not fit an int64 names nothing: 404, as
// any other unknown id; a malformed one stays 400.
func TestIDBeyondInt64IsNotFound(t *testing.T) {
	h := newHarness(t)
	const big = "9999999999999999999" // 19 digits, > 2^63-1
	for _, p := range []string{"/api/v1/conversations/" + big, "/api/v1/conversations/" + big + "/messages", "/api/v1/contacts/" + big,
		"/api/v1/contacts/" + big + "/suggestions"} {
		if code, _ := errorOf(t, h.api(http.MethodGet, p, ""), http.StatusNotFound); code != models.ENOTFOUND {
			t.Errorf("%s: %s", p, code)
		}
	}
	errorOf(t, h.admin(http.MethodPost, "/api/v1/merges/"+big+"/undo", ""), http.StatusNotFound)
	errorOf(t, h.api(http.MethodPost, "/api/v1/contacts/10/merge", `{"from":"`+big+`"}`), http.StatusNotFound)
	if _, msg := errorOf(t, h.api(http.MethodPost, "/api/v1/conversations/1/messages", `{"text":"hi","via":"`+big+`"}`),
		http.StatusBadRequest); !strings.Contains(msg, "does not belong") {
		t.Errorf("via beyond int64: %s", msg)
	}
	errorOf(t, h.api(http.MethodGet, "/api/v1/conversations/"+big+"0", ""), http.StatusBadRequest)
}

// TestEmptyQueryValuesAreRefused: ?status= would silently mean "any
// status"; like an unknown parameter it is a 400 naming it.
func TestEmptyQueryValuesAreRefused(t *testing.T) {
	h := newHarness(t)
	for _, target := range []string{"/api/v1/conversations?status=", "/api/v1/conversations?limit=", "/api/v1/conversations?q=&status=open",
		"/api/v1/conversations/1/messages?cursor=", "/api/v1/events?last_event_id="} {
		if _, msg := errorOf(t, h.api(http.MethodGet, target, ""), http.StatusBadRequest); !strings.Contains(msg, "is empty") {
			t.Errorf("%s: %s", target, msg)
		}
	}
}

// TestButtonIDIsPrintableASCII: the id's limit is the same in characters
// (the OpenAPI maxLength) and in bytes (Telegram's callback_data).
func TestButtonIDIsPrintableASCII(t *testing.T) {
	h := newHarness(t)
	for _, id := range []string{"是", `a\tb`, `\u007f`, strings.Repeat("x", 65)} {
		body := `{"text":"hi","buttons":[{"id":"` + id + `","label":"A"}]}`
		if _, msg := errorOf(t, h.api(http.MethodPost, "/api/v1/conversations/1/messages", body), http.StatusBadRequest); !strings.Contains(msg, "printable ASCII") {
			t.Errorf("id %q: %s", id, msg)
		}
	}
	body := `{"text":"hi","buttons":[{"id":"` + strings.Repeat("~", 64) + `","label":"是"}]}`
	if rec := h.api(http.MethodPost, "/api/v1/conversations/1/messages", body); rec.Code != http.StatusAccepted {
		t.Fatalf("64 ASCII characters: %d %s", rec.Code, rec.Body)
	}
}

// TestRefusalsDoNotWaitForTheBody: a malformed body, a missing token or a
// wrong content type is answered at once, without waiting for (or
// draining) the announced rest of the body, and the connection is closed.
func TestRefusalsDoNotWaitForTheBody(t *testing.T) {
	_, addr := liveServer(t, func(o *Options) { o.BodyTimeout = time.Minute })
	for _, tc := range []struct{ head, want string }{
		{"Authorization: Bearer good-token\r\nContent-Type: application/json\r\n\r\n{\"status\" 1", "HTTP/1.1 400"},
		{"Content-Type: application/json\r\n\r\n{\"status\":\"", "HTTP/1.1 401"},
		{"Authorization: Bearer good-token\r\nContent-Type: text/plain\r\n\r\nstatus=", "HTTP/1.1 415"},
	} {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(conn, "POST /api/v1/conversations/1/status HTTP/1.1\r\nHost: hub\r\nContent-Length: 100000\r\n"+tc.head); err != nil {
			t.Fatal(err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
		got, err := io.ReadAll(conn)
		conn.Close()
		if err != nil || !strings.HasPrefix(string(got), tc.want) || !strings.Contains(string(got), "Connection: close") {
			t.Errorf("%q: answer %q, %v", tc.head, got, err)
		}
	}
}
