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
	"github.com/tongdao/hub/internal/wait"
	"github.com/tongdao/hub/models"
)

// agentsConfig is a hub without connectors, with teams, on dsn.
func agentsConfig(t testing.TB, dir, driver, dsn string) string {
	return writeConfig(t, dir, fmt.Sprintf(`
database: { driver: %s, dsn: %q }
teams:
  - name: billing
    members: [ana, bo]
    capacity: 2
  - name: risk
    members: [ana]
    capacity: 3
default_team: billing
`, driver, dsn))
}

// newToken creates a token through the API and returns a client using it.
func (c *client) newToken(name, role string) (*client, models.NewTokenView) {
	c.t.Helper()
	var v models.NewTokenView
	code, body := c.do("POST", "/api/v1/tokens", map[string]string{"name": name, "role": role})
	if code != http.StatusCreated {
		c.t.Fatalf("create token %s: %d %s", name, code, body)
	}
	if err := json.Unmarshal(body, &v); err != nil || !strings.HasPrefix(v.Token, "tdk_") {
		c.t.Fatalf("create token %s: %s (%v)", name, body, err)
	}
	return &client{t: c.t, base: c.base, token: v.Token}, v
}

// agents calls GET /api/v1/agents and returns them by name.
func (c *client) agents() map[string]models.AgentView {
	c.t.Helper()
	var out struct {
		Agents []models.AgentView `json:"agents"`
	}
	c.json("GET", "/api/v1/agents", nil, &out)
	m := map[string]models.AgentView{}
	for _, a := range out.Agents {
		m[a.Name] = a
	}
	return m
}

// openStream opens an event stream for c; the stream ends with the
// returned function (or the test).
func (c *client) openStream() (closeStream func()) {
	c.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", c.base+"/api/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		c.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		cancel()
		c.t.Fatalf("event stream: %d", resp.StatusCode)
	}
	stop := func() {
		cancel()
		resp.Body.Close()
	}
	c.t.Cleanup(stop)
	return stop
}

// presenceEvents returns the agent.presence events of agent, oldest first,
// as "presence/status".
func presenceEvents(t testing.TB, m *Main, agent string) []string {
	t.Helper()
	var out []string
	for _, e := range eventsOf(t, m, models.EventTypeAgentPresence) {
		var v models.AgentPresenceView
		raw, _ := json.Marshal(e.Data)
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatal(err)
		}
		if v.Agent == agent {
			out = append(out, v.Presence+"/"+v.Status)
		}
	}
	return out
}

// TestE2ETokensOverTheAPI: an admin creates, lists and revokes tokens
// through the API; an agent may do none of it; a revoked token is refused
// at its very next request.
func TestE2ETokensOverTheAPI(t *testing.T) {
	dir := t.TempDir()
	m := startHub(t, listenLocal(t), agentsConfig(t, dir, "sqlite", filepath.Join(dir, "hub.db")))
	admin := adminClient(t, m)
	ana, created := admin.newToken("ana", models.RoleAgent)

	var me models.AgentView
	ana.json("GET", "/api/v1/me", nil, &me)
	if me.Name != "ana" || me.Role != models.RoleAgent || strings.Join(me.Teams, ",") != "billing,risk" || me.Capacity != 2 {
		t.Fatalf("me: %+v", me)
	}

	// Agents get 403 forbidden on every token route.
	for _, r := range []struct {
		method, path string
		body         any
	}{
		{"GET", "/api/v1/tokens", nil},
		{"POST", "/api/v1/tokens", map[string]string{"name": "eve", "role": "admin"}},
		{"DELETE", "/api/v1/tokens/" + created.ID, nil},
	} {
		code, body := ana.do(r.method, r.path, r.body)
		if code != http.StatusForbidden || !strings.Contains(string(body), `"forbidden"`) {
			t.Fatalf("agent %s %s: %d %s, want 403 forbidden", r.method, r.path, code, body)
		}
	}
	if code, body := admin.do("POST", "/api/v1/tokens", map[string]string{"name": "x", "role": "owner"}); code != http.StatusBadRequest {
		t.Fatalf("bad role: %d %s", code, body)
	}
	for _, name := range []string{"", "  ", " ana"} {
		if code, body := admin.do("POST", "/api/v1/tokens", map[string]string{"name": name, "role": "agent"}); code != http.StatusBadRequest {
			t.Fatalf("name %q: %d %s", name, code, body)
		}
	}

	// The list shows every token, never a secret or a hash.
	code, raw := admin.do("GET", "/api/v1/tokens", nil)
	if code != http.StatusOK || strings.Contains(string(raw), created.Token) || strings.Contains(string(raw), "hash") ||
		strings.Contains(string(raw), `"token"`) {
		t.Fatalf("token list: %d %s", code, raw)
	}
	var list struct {
		Tokens []models.TokenView `json:"tokens"`
	}
	if err := json.Unmarshal(raw, &list); err != nil || len(list.Tokens) != 2 {
		t.Fatalf("token list: %s (%v)", raw, err)
	}
	if got := list.Tokens[1]; got.ID != created.ID || got.Name != "ana" || got.Role != models.RoleAgent || got.LastUsedAt == nil {
		t.Fatalf("ana's token: %+v (used once already)", got)
	}

	// Revoked: refused at once.
	var revoked models.TokenView
	admin.json("DELETE", "/api/v1/tokens/"+created.ID, nil, &revoked)
	if revoked.ID != created.ID {
		t.Fatalf("revoked %+v", revoked)
	}
	if code, body := ana.do("GET", "/api/v1/me", nil); code != http.StatusUnauthorized {
		t.Fatalf("revoked token: %d %s, want 401", code, body)
	}
	if code, _ := admin.do("DELETE", "/api/v1/tokens/"+created.ID, nil); code != http.StatusNotFound {
		t.Fatalf("revoked twice: %d, want 404", code)
	}
	// An admin created over the API may manage tokens in turn.
	root, _ := admin.newToken("root", models.RoleAdmin)
	root.json("GET", "/api/v1/tokens", nil, nil)
}

// TestE2EPresenceFromEventStreams: an agent with an open event stream is
// online; away and offline override it; online hands it back to the
// streams; once the stream is closed the agent is offline after the
// stream's expiry (the injected clock). Each change is one agent.presence
// event. The agents list shows teams, load and capacity.
func TestE2EPresenceFromEventStreams(t *testing.T) {
	dir := t.TempDir()
	clock := &offsetClock{}
	m := startHubAt(t, listenLocal(t), agentsConfig(t, dir, "sqlite", filepath.Join(dir, "hub.db")), clock.Now)
	admin := adminClient(t, m)
	ana, _ := admin.newToken("ana", models.RoleAgent)
	admin.newToken("bo", models.RoleAgent)

	as := admin.agents()
	if len(as) != 3 || as["ana"].Presence != models.PresenceOffline || as["bo"].Presence != models.PresenceOffline {
		t.Fatalf("agents before any stream: %+v", as)
	}
	if a := as["ana"]; strings.Join(a.Teams, ",") != "billing,risk" || a.Capacity != 2 || a.Load != 0 || a.Status != models.PresenceOnline {
		t.Fatalf("ana: %+v", a)
	}
	if a := as["test-admin"]; a.Role != models.RoleAdmin || len(a.Teams) != 0 || a.Capacity != models.DefaultCapacity {
		t.Fatalf("admin: %+v", a)
	}

	closeStream := ana.openStream()
	if p := admin.agents()["ana"].Presence; p != models.PresenceOnline {
		t.Fatalf("ana with a stream: %s, want online", p)
	}
	// A second stream changes nothing.
	ana.openStream()
	for _, step := range []struct{ say, want string }{
		{models.PresenceAway, models.PresenceAway},
		{models.PresenceOffline, models.PresenceOffline},
		{models.PresenceOnline, models.PresenceOnline},
	} {
		var me models.AgentView
		ana.json("POST", "/api/v1/me/presence", map[string]string{"status": step.say}, &me)
		if me.Presence != step.want || admin.agents()["ana"].Presence != step.want {
			t.Fatalf("ana said %s: %+v, want %s", step.say, me, step.want)
		}
	}
	if code, _ := ana.do("POST", "/api/v1/me/presence", map[string]string{"status": "busy"}); code != http.StatusBadRequest {
		t.Fatalf("unknown status: %d", code)
	}

	// Load: open conversations assigned to ana.
	ctx := context.Background()
	for i := range 3 {
		if _, err := m.Inbox.Ingest(ctx, models.Inbound{Connector: "tg-main", Channel: "telegram", Kind: models.KindMessage,
			ExternalID: fmt.Sprint("m", i), From: models.Sender{ExternalID: fmt.Sprint("u", i)}, Text: "hello"}); err != nil {
			t.Fatal(err)
		}
	}
	convs := admin.conversations()
	if len(convs) != 3 {
		t.Fatalf("%d conversations", len(convs))
	}
	for _, c := range convs {
		admin.json("POST", "/api/v1/conversations/"+c.ID+"/assign", map[string]string{"assignee": "ana"}, nil)
	}
	admin.json("POST", "/api/v1/conversations/"+convs[0].ID+"/status", map[string]string{"status": "resolved"}, nil)
	if a := admin.agents()["ana"]; a.Load != 2 {
		t.Fatalf("ana's load: %d, want 2 (3 assigned, 1 resolved)", a.Load)
	}

	// Closed streams: still online until they expire, then offline.
	closeStream()
	if err := m.Inbox.SweepPresence(ctx); err != nil {
		t.Fatal(err)
	}
	if p := admin.agents()["ana"].Presence; p != models.PresenceOnline {
		t.Fatalf("ana just after closing: %s, want online until the expiry", p)
	}
	clock.Advance(2 * time.Minute)
	if p := admin.agents()["ana"].Presence; p != models.PresenceOffline {
		t.Fatalf("ana after the expiry: %s, want offline", p)
	}
	if err := m.Inbox.SweepPresence(ctx); err != nil {
		t.Fatal(err)
	}
	want := "online/online,away/away,offline/offline,online/online,offline/online"
	wait.For(t, "ana's presence events", func() bool { return strings.Join(presenceEvents(t, m, "ana"), ",") == want })
	if got := presenceEvents(t, m, "bo"); len(got) != 0 {
		t.Fatalf("bo never changed, events %v", got)
	}
}

// TestE2EPresenceAcrossReplicas: two hubs on one PostgreSQL. A stream on
// one makes the agent online on both; its expiry is announced once though
// both sweep; a token revoked on one is refused by the other at once.
func TestE2EPresenceAcrossReplicas(t *testing.T) {
	dsn := pgDSN(t)
	clock := &offsetClock{}
	a := startHubAt(t, listenLocal(t), agentsConfig(t, t.TempDir(), "postgres", dsn), clock.Now)
	b := startHubAt(t, listenLocal(t), agentsConfig(t, t.TempDir(), "postgres", dsn), clock.Now)
	adminA := adminClient(t, a)
	adminB := &client{t: t, base: b.URL(), token: adminA.token}
	ana, created := adminB.newToken("ana", models.RoleAgent)
	ana.base = a.URL()

	closeStream := ana.openStream()
	for _, admin := range []*client{adminA, adminB} {
		if p := admin.agents()["ana"].Presence; p != models.PresenceOnline {
			t.Fatalf("ana on %s: %s, want online", admin.base, p)
		}
	}
	ana.base = b.URL()
	ana.json("POST", "/api/v1/me/presence", map[string]string{"status": "away"}, nil)
	if p := adminA.agents()["ana"].Presence; p != models.PresenceAway {
		t.Fatalf("ana away on b, on a: %s", p)
	}
	ana.json("POST", "/api/v1/me/presence", map[string]string{"status": "online"}, nil)

	closeStream()
	clock.Advance(2 * time.Minute)
	ctx := context.Background()
	errs := make(chan error, 2)
	for _, m := range []*Main{a, b} {
		go func() { errs <- m.Inbox.SweepPresence(ctx) }()
	}
	for range 2 {
		if err := wait.Recv(t, "a sweep", errs); err != nil {
			t.Fatal(err)
		}
	}
	for _, admin := range []*client{adminA, adminB} {
		if p := admin.agents()["ana"].Presence; p != models.PresenceOffline {
			t.Fatalf("ana on %s after the expiry: %s, want offline", admin.base, p)
		}
	}
	want := "online/online,away/away,online/online,offline/online"
	if got := strings.Join(presenceEvents(t, b, "ana"), ","); got != want {
		t.Fatalf("ana's events %s, want %s (each change once)", got, want)
	}

	// Revoked on one replica, refused on the other at once.
	ana.json("GET", "/api/v1/me", nil, nil)
	adminA.json("DELETE", "/api/v1/tokens/"+created.ID, nil, nil)
	if code, body := ana.do("GET", "/api/v1/me", nil); code != http.StatusUnauthorized {
		t.Fatalf("token revoked on a, on b: %d %s, want 401", code, body)
	}
}

// TestE2EAgentsAnswersMatchTheOpenAPIDocument checks the answers of the
// agents' and tokens' routes, and agent.presence events, against the
// document the hub serves.
func TestE2EAgentsAnswersMatchTheOpenAPIDocument(t *testing.T) {
	dir := t.TempDir()
	m := startHub(t, listenLocal(t), agentsConfig(t, dir, "sqlite", filepath.Join(dir, "hub.db")))
	admin := adminClient(t, m)
	_, raw := admin.do("GET", "/api/v1/openapi.json", nil)
	doc, err := openapicheck.Load(raw)
	if err != nil {
		t.Fatal(err)
	}
	check := func(c *client, method, path string, body any, want int) []byte {
		t.Helper()
		code, b := c.do(method, path, body)
		if code != want {
			t.Fatalf("%s %s: %d %s, want %d", method, path, code, b, want)
		}
		if err := doc.CheckResponse(method, path, code, b); err != nil {
			t.Errorf("%s %s: %v", method, path, err)
		}
		return b
	}
	var created models.NewTokenView
	if err := json.Unmarshal(check(admin, "POST", "/api/v1/tokens", map[string]string{"name": "ana", "role": "agent"}, 201), &created); err != nil {
		t.Fatal(err)
	}
	ana := &client{t: t, base: m.URL(), token: created.Token}
	check(admin, "POST", "/api/v1/tokens", map[string]string{"name": "ana"}, 400)
	check(ana, "POST", "/api/v1/tokens", map[string]string{"name": "x", "role": "agent"}, 403)
	check(admin, "GET", "/api/v1/tokens", nil, 200)
	check(ana, "GET", "/api/v1/tokens", nil, 403)
	ana.openStream()
	check(ana, "GET", "/api/v1/me", nil, 200)
	check(ana, "POST", "/api/v1/me/presence", map[string]string{"status": "away"}, 200)
	check(ana, "POST", "/api/v1/me/presence", map[string]string{"status": "gone"}, 400)
	check(ana, "GET", "/api/v1/agents", nil, 200)
	check(admin, "GET", "/api/v1/agents?x=1", nil, 400)
	check(admin, "DELETE", "/api/v1/tokens/999", nil, 404)
	check(admin, "DELETE", "/api/v1/tokens/"+created.ID, nil, 200)
	check(ana, "GET", "/api/v1/me", nil, 401)
	evs := eventsOf(t, m, models.EventTypeAgentPresence)
	if len(evs) != 2 {
		t.Fatalf("agent.presence events: %+v, want online then away", evs)
	}
	for _, e := range evs {
		b, _ := json.Marshal(e)
		if err := doc.CheckSchema("Event", b); err != nil {
			t.Errorf("event %s: %v", b, err)
		}
	}
}

// TestE2EReloadAppliesTeams: a reload applies changed members and
// capacities at once, and says that a changed default team needs a restart.
func TestE2EReloadAppliesTeams(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "hub.db")
	m := startHub(t, listenLocal(t), agentsConfig(t, dir, "sqlite", db))
	admin := adminClient(t, m)
	admin.newToken("cy", models.RoleAgent)
	admin.newToken("ana", models.RoleAgent)
	if a := admin.agents()["cy"]; len(a.Teams) != 0 || a.Capacity != models.DefaultCapacity {
		t.Fatalf("cy before: %+v", a)
	}
	writeConfig(t, dir, fmt.Sprintf(`
database: { driver: sqlite, dsn: %q }
teams:
  - name: billing
    members: [ana, bo]
  - name: risk
    members: [ana, cy]
    capacity: 4
default_team: risk
`, db))
	v := admin.reloadOK()
	if strings.Join(v.Warnings, "\n") != "default_team changed; it is not applied until the hub restarts" {
		t.Fatalf("warnings %q", v.Warnings)
	}
	if a := admin.agents()["cy"]; strings.Join(a.Teams, ",") != "risk" || a.Capacity != 4 {
		t.Fatalf("cy after the reload: %+v", a)
	}
	if a := admin.agents()["ana"]; a.Capacity != 4 {
		t.Fatalf("ana after the reload: %+v (billing now has the default 10, risk 4)", a)
	}
}
