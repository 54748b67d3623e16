package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tongdao/hub/internal/openapicheck"
	"github.com/tongdao/hub/internal/slowclient"
	"github.com/tongdao/hub/internal/wait"
	"github.com/tongdao/hub/sandbox/dcfake"
	"github.com/tongdao/hub/sandbox/tgfake"
)

// TestE2EAgentsCannotUndoMergesNorUnlink runs the attack of the security
// review on the real hub: an agent token merges two contacts (allowed),
// then tries to undo the merge and to unlink an identity (403, nothing
// changes); merging the emptied contact again is 409; an admin undoes.
func TestE2EAgentsCannotUndoMergesNorUnlink(t *testing.T) {
	e := startLinkSandbox(t)
	mo := tgfake.User{ID: 5701, FirstName: "Mo", LanguageCode: "en"}
	e.tgWrite(t, mo, "My card was charged twice")
	du := dcfake.User{ID: "900000000000005701", Username: "mo"}
	e.dcDM(t, du, "this is Mo from Telegram")
	wait.For(t, "two conversations", func() bool { return len(e.api.conversations()) == 2 })
	a, b := e.conversationWith(t, "5701"), e.conversationWith(t, du.ID)

	tok, _, err := e.sb.Main.Store.CreateToken(context.Background(), "ana", "agent")
	if err != nil {
		t.Fatal(err)
	}
	agent := &client{t: t, base: e.sb.Main.URL(), token: tok}
	var merge struct {
		ID      string `json:"id"`
		Contact struct {
			Identities []struct{ ID, Channel string } `json:"identities"`
		} `json:"contact"`
	}
	agent.json("POST", "/api/v1/contacts/"+a.Contact.ID+"/merge", map[string]string{"from": b.Contact.ID}, &merge)
	if len(merge.Contact.Identities) != 2 {
		t.Fatalf("merge: %+v", merge)
	}
	if code, body := agent.do("POST", "/api/v1/contacts/"+a.Contact.ID+"/merge", map[string]string{"from": b.Contact.ID}); code != http.StatusConflict {
		t.Fatalf("merging the emptied contact again: %d %s", code, body)
	}
	before := e.state(t)
	for _, path := range []string{"/api/v1/merges/" + merge.ID + "/undo", "/api/v1/identities/" + merge.Contact.Identities[1].ID + "/unlink"} {
		code, body := agent.do("POST", path, nil)
		if code != http.StatusForbidden || !strings.Contains(string(body), `"code":"forbidden"`) {
			t.Fatalf("agent POST %s: %d %s", path, code, body)
		}
	}
	if after := e.state(t); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("a refused call changed the state:\n got %v\nwant %v", after, before)
	}
	e.api.json("POST", "/api/v1/merges/"+merge.ID+"/undo", nil, nil)
}

// TestE2ESlowClientsAreCutOff: with the server limits from the config, a
// client trickling its headers or a body is disconnected, and event streams
// beyond the per-token cap get 429.
func TestE2ESlowClientsAreCutOff(t *testing.T) {
	dir := t.TempDir()
	m := startHub(t, listenLocal(t), writeConfig(t, dir, fmt.Sprintf(`
server:
  listen: "127.0.0.1:0"
  read_header_timeout: 300ms
  body_timeout: 300ms
  max_event_streams_per_token: 1
database: { driver: sqlite, dsn: %q }
`, filepath.Join(dir, "hub.db"))))
	addr := strings.TrimPrefix(m.URL(), "http://")
	admin := adminClient(t, m)

	slowclient.Trickle(t, addr, "GET /healthz HTTP/1.1\r\nHost: hub\r\nX-Slow: ", 20*time.Second)
	got := slowclient.Trickle(t, addr, "POST /webhooks/tg-main HTTP/1.1\r\nHost: hub\r\nContent-Length: 1000000\r\n\r\n", 20*time.Second)
	if !strings.HasPrefix(got, "HTTP/1.1 404") || !strings.Contains(got, "Connection: close") {
		t.Fatalf("unknown webhook: %q", got)
	}
	got = slowclient.Trickle(t, addr, "POST /api/v1/conversations/1/status HTTP/1.1\r\nHost: hub\r\nAuthorization: Bearer "+admin.token+
		"\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"status\":\"", 20*time.Second)
	if !strings.HasPrefix(got, "HTTP/1.1 408") {
		t.Fatalf("trickled API body: %q", got)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	stream := func() *http.Response {
		req, _ := http.NewRequestWithContext(ctx, "GET", m.URL()+"/api/v1/events", nil)
		req.Header.Set("Authorization", "Bearer "+admin.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	if r := stream(); r.StatusCode != http.StatusOK {
		t.Fatalf("first stream: %d", r.StatusCode)
	}
	if r := stream(); r.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("second stream of the token: %d", r.StatusCode)
	}
}

// TestE2EAnswersMatchTheOpenAPIDocument drives the real hub through a
// customer's life (messages, a link offer, replies, status, assignment,
// merge, undo, unlink, errors) and checks every answer and every event of
// the log against the OpenAPI document the hub serves.
func TestE2EAnswersMatchTheOpenAPIDocument(t *testing.T) {
	e := startLinkSandbox(t)
	_, raw := e.api.do("GET", "/api/v1/openapi.json", nil)
	doc, err := openapicheck.Load(raw)
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	call := func(method, path string, body any) []byte {
		t.Helper()
		code, b := e.api.do(method, path, body)
		if err := doc.CheckResponse(method, path, code, b); err != nil {
			t.Errorf("%v\n%s", err, b)
		}
		checked++
		return b
	}
	lee := tgfake.User{ID: 5801, FirstName: "Lee", LanguageCode: "en"}
	e.tgFirst(t, lee, "Where is my refund?")
	offer := e.tgSay(t, lee, "/link")
	code := offerCode(t, offer)
	du := dcfake.User{ID: "900000000000005801", Username: "lee"}
	e.dcDM(t, du, "Lee here, on Discord now")
	wait.For(t, "two conversations", func() bool { return len(e.api.conversations()) == 2 })
	a, b := e.conversationWith(t, "5801"), e.conversationWith(t, du.ID)

	call("GET", "/api/v1/conversations", nil)
	call("GET", "/api/v1/conversations?status=open&channel=telegram&limit=1", nil)
	call("GET", "/api/v1/conversations/"+a.ID, nil)
	msgs := call("GET", "/api/v1/conversations/"+a.ID+"/messages", nil)
	if strings.Contains(string(msgs), code) {
		t.Errorf("the API shows the link code %s: %s", code, msgs)
	}
	sent := call("POST", "/api/v1/conversations/"+a.ID+"/messages", map[string]any{"text": "Checking now.",
		"buttons": []map[string]string{{"id": "ok", "label": "OK"}}})
	var m struct{ ID string }
	_ = json.Unmarshal(sent, &m)
	e.api.waitDelivery(a.ID, m.ID)
	call("POST", "/api/v1/conversations/"+a.ID+"/messages", map[string]any{"text": "note", "private": true})
	call("POST", "/api/v1/conversations/"+a.ID+"/status", map[string]any{"status": "pending"})
	call("POST", "/api/v1/conversations/"+a.ID+"/assign", map[string]any{"assignee": "ana", "team": nil})
	call("GET", "/api/v1/contacts/"+a.Contact.ID, nil)
	call("GET", "/api/v1/contacts/"+a.Contact.ID+"/suggestions", nil)
	var merge struct {
		ID      string `json:"id"`
		Contact struct {
			Identities []struct{ ID string } `json:"identities"`
		} `json:"contact"`
	}
	_ = json.Unmarshal(call("POST", "/api/v1/contacts/"+a.Contact.ID+"/merge", map[string]string{"from": b.Contact.ID}), &merge)
	call("POST", "/api/v1/contacts/"+a.Contact.ID+"/merge", map[string]string{"from": b.Contact.ID}) // 409
	call("POST", "/api/v1/merges/"+merge.ID+"/undo", nil)
	call("POST", "/api/v1/merges/"+merge.ID+"/undo", nil) // 409
	_ = json.Unmarshal(call("POST", "/api/v1/contacts/"+a.Contact.ID+"/merge", map[string]string{"from": b.Contact.ID}), &merge)
	if len(merge.Contact.Identities) == 2 {
		call("POST", "/api/v1/identities/"+merge.Contact.Identities[1].ID+"/unlink", nil)
	}
	call("GET", "/api/v1/conversations/9999999999999999999", nil)           // 404
	call("GET", "/api/v1/conversations/abc", nil)                           // 400
	call("GET", "/api/v1/conversations?stauts=open", nil)                   // 400
	call("POST", "/api/v1/conversations/"+a.ID+"/status", map[string]any{}) // 400
	call("GET", "/readyz", nil)
	call("GET", "/healthz", nil)

	evs, err := e.sb.Main.Inbox.EventsAfter(context.Background(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]bool{}
	for _, ev := range evs {
		b, _ := json.Marshal(ev)
		if err := doc.CheckSchema("Event", b); err != nil {
			t.Errorf("event %s %s: %v\n%s", ev.ID, ev.Type, err, b)
		}
		if strings.Contains(string(b), code) {
			t.Errorf("event %s %s shows the link code %s", ev.ID, ev.Type, code)
		}
		types[ev.Type] = true
	}
	if len(types) < 8 || checked < 20 {
		t.Fatalf("only %d answers and event types %v checked", checked, types)
	}
}
