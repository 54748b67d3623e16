package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tongdao/hub/internal/wait"
	"github.com/tongdao/hub/models"
	"github.com/tongdao/hub/sandbox/tgfake"
)

// Routing through the real program and the stand-ins: the sandbox's rules
// (fraud, invoices) route new conversations as they open.

type routed struct {
	ID       string   `json:"id"`
	Team     *string  `json:"team"`
	Priority string   `json:"priority"`
	Labels   []string `json:"labels"`
}

func (r routed) String() string {
	b, _ := json.Marshal(r)
	return string(b)
}

// waitRouted waits for conversation id to show team, priority and labels
// (team "" for none).
func waitRouted(t *testing.T, api *client, id, team, priority, labels string) routed {
	t.Helper()
	var c routed
	wait.For(t, "conversation "+id+" routed to "+team+"/"+priority, func() bool {
		c = routed{}
		api.json("GET", "/api/v1/conversations/"+id, nil, &c)
		got := ""
		if c.Team != nil {
			got = *c.Team
		}
		return got == team && c.Priority == priority && strings.Join(c.Labels, ",") == labels
	})
	return c
}

// routedBy returns the "by" of the conversation.updated events of id,
// but automatic assignment's.
func routedBy(t *testing.T, m *Main, id string) []string {
	t.Helper()
	var by []string
	for _, ev := range eventsOf(t, m, models.EventTypeConversationUpdated) {
		if ev.ConversationID != id {
			continue
		}
		var d struct {
			By string `json:"by"`
		}
		b, _ := json.Marshal(ev.Data)
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatal(err)
		}
		if d.By != "assign" { // automatic assignment's own changes
			by = append(by, d.By)
		}
	}
	return by
}

// In the sandbox as a new user meets it: with cy's console open, an urgent
// message reaches the risk team first and is assigned to cy at once,
// ahead of an older normal conversation of the same team's queue; the
// conversation's SLA clock is set by the urgent policy.
func TestSandboxUrgentReachesRiskAndIsAssigned(t *testing.T) {
	e := startLinkSandbox(t)
	e.setClock("2026-12-02 10:00") // a Wednesday, agents in
	cy := &client{t: t, base: e.api.base, token: e.sb.AgentTokens["cy"]}
	if len(e.sb.AgentTokens) != len(sandboxAgents) {
		t.Fatalf("agent tokens: %v", e.sb.AgentTokens)
	}
	cy.openStream()
	wait.For(t, "cy online", func() bool { return e.api.agents()["cy"].Presence == "online" })

	wei := tgfake.User{ID: 7501, FirstName: "Wei", LanguageCode: "en"}
	e.tgFirst(t, wei, "My account is frozen!")
	id := e.conversationWith(t, "7501").ID
	waitRouted(t, e.api, id, "risk", "urgent", "fraud")
	var c struct {
		Assignee         *string    `json:"assignee"`
		FirstResponseDue *time.Time `json:"first_response_due"`
	}
	wait.For(t, "the urgent conversation assigned to cy", func() bool {
		e.api.json("GET", "/api/v1/conversations/"+id, nil, &c)
		return c.Assignee != nil && *c.Assignee == "cy"
	})
	if want := e.clock.Now().Add(10 * time.Minute); c.FirstResponseDue == nil || c.FirstResponseDue.Sub(want).Abs() > 5*time.Second {
		t.Fatalf("first response due %v, want 10 minutes after %v (the urgent policy)", c.FirstResponseDue, e.clock.Now())
	}
	// cy works it from the console: the conversation is in cy's "mine".
	var mine struct {
		Conversations []struct {
			ID string `json:"id"`
		} `json:"conversations"`
	}
	cy.json("GET", "/api/v1/conversations?view=mine", nil, &mine)
	if len(mine.Conversations) != 1 || mine.Conversations[0].ID != id {
		t.Fatalf("cy's view mine: %+v", mine.Conversations)
	}
}

func TestE2ERoutingRules(t *testing.T) {
	e := startLinkSandbox(t)
	e.setClock("2026-12-02 10:00") // a Wednesday, agents in

	// An urgent message on Telegram goes to the risk team, urgent, labelled.
	cy := tgfake.User{ID: 7401, FirstName: "Cy", LanguageCode: "en"}
	e.tgFirst(t, cy, "URGENT: my account is Frozen!")
	fraud := e.conversationWith(t, "7401")
	waitRouted(t, e.api, fraud.ID, "risk", "urgent", "fraud")
	if by := routedBy(t, e.sb.Main, fraud.ID); strings.Join(by, ",") != "routing:fraud" {
		t.Fatalf("fraud conversation updated by %v", by)
	}

	// An invoice question on WeChat goes to billing, priority normal.
	openid := e.wxUser(t)
	e.wxSend(t, openid, "请帮我开发票")
	e.wxKefu(t, openid, 1)
	invoice := e.conversationWith(t, openid)
	waitRouted(t, e.api, invoice.ID, "billing", "normal", "")

	// The same question on Telegram: the rule wants WeChat, so no rule
	// matches and there is no default team in the sandbox. The sentinel:
	// a later conversation that is routed.
	dee := tgfake.User{ID: 7402, FirstName: "Dee", LanguageCode: "en"}
	e.tgFirst(t, dee, "I need an invoice")
	plain := e.conversationWith(t, "7402")
	eve := tgfake.User{ID: 7403, FirstName: "Eve", LanguageCode: "it"}
	e.tgFirst(t, eve, "È una truffà")
	waitRouted(t, e.api, e.conversationWith(t, "7403").ID, "risk", "urgent", "fraud")
	waitRouted(t, e.api, plain.ID, "", "normal", "")
	if by := routedBy(t, e.sb.Main, plain.ID); len(by) != 0 {
		t.Fatalf("an unrouted conversation was updated by %v", by)
	}

	// The inbox filters by priority.
	if got := e.labelled(t, "?priority=urgent&status=open"); len(got) != 2 || !strings.Contains(strings.Join(got, ","), fraud.ID) {
		t.Fatalf("priority=urgent: %v", got)
	}
	if code, body := e.api.do("GET", "/api/v1/conversations?priority=critical", nil); code != 400 {
		t.Fatalf("priority=critical: %d %s", code, body)
	}

	// Later messages in a routed conversation change nothing; a customer
	// who writes again after a resolve opens a new conversation, routed
	// again on its own opening message.
	e.tgWrite(t, cy, "hello? still frozen")
	e.api.json("POST", "/api/v1/conversations/"+fraud.ID+"/status", map[string]string{"status": "resolved"}, nil)
	e.tgFirst(t, cy, "thanks, all good now")
	again := e.conversationWith(t, "7401")
	if again.ID == fraud.ID {
		t.Fatal("no new conversation after the resolve")
	}
	// The sentinel: another fraud conversation, routed after it.
	fay := tgfake.User{ID: 7404, FirstName: "Fay", LanguageCode: "zh-hans"}
	e.tgFirst(t, fay, "我的卡被盗刷了")
	waitRouted(t, e.api, e.conversationWith(t, "7404").ID, "risk", "urgent", "fraud")
	waitRouted(t, e.api, again.ID, "", "normal", "")
	if by := routedBy(t, e.sb.Main, fraud.ID); strings.Join(by, ",") != "routing:fraud,"+sandboxAdminName {
		t.Fatalf("fraud conversation updated by %v", by)
	}

	// An agent reopens a resolved conversation whose team was cleared: it
	// is routed again on its opening message.
	e.api.json("POST", "/api/v1/conversations/"+invoice.ID+"/assign", map[string]any{"team": nil}, nil)
	e.api.json("POST", "/api/v1/conversations/"+invoice.ID+"/status", map[string]string{"status": "resolved"}, nil)
	waitRouted(t, e.api, invoice.ID, "", "normal", "")
	e.api.json("POST", "/api/v1/conversations/"+invoice.ID+"/status", map[string]string{"status": "open"}, nil)
	waitRouted(t, e.api, invoice.ID, "billing", "normal", "")
	admin := sandboxAdminName
	if by := routedBy(t, e.sb.Main, invoice.ID); strings.Join(by, ",") != "routing:invoices,"+admin+","+admin+","+admin+",routing:invoices" {
		t.Fatalf("invoice conversation updated by %v", by)
	}
	// Back from pending is no reopen: not routed again. The sentinel: a
	// later new conversation, routed after it.
	e.api.json("POST", "/api/v1/conversations/"+invoice.ID+"/assign", map[string]any{"team": nil}, nil)
	e.api.json("POST", "/api/v1/conversations/"+invoice.ID+"/status", map[string]string{"status": "pending"}, nil)
	e.api.json("POST", "/api/v1/conversations/"+invoice.ID+"/status", map[string]string{"status": "open"}, nil)
	gus := tgfake.User{ID: 7405, FirstName: "Gus", LanguageCode: "en"}
	e.tgFirst(t, gus, "fraud alert")
	waitRouted(t, e.api, e.conversationWith(t, "7405").ID, "risk", "urgent", "fraud")
	waitRouted(t, e.api, invoice.ID, "", "normal", "")
}

// routingTeams are teams for the routing rules of tests and benchmarks
// that set default_team (the sandbox has teams but no default team).
const routingTeams = `teams:
  - { name: general, members: [ana] }
  - { name: billing, members: [bo] }
  - { name: risk, members: [cy] }
  - { name: managers, members: [dee] }
`

// appendConfig adds YAML at the end of a config file.
func appendConfig(t testing.TB, path, yaml string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.WriteString(yaml)
	if err := errors.Join(err, f.Close()); err != nil {
		t.Fatal(err)
	}
}

// TestE2ERoutingDefaultTeam: without a match, the default team and
// priority normal; a match without a team also takes the default team.
func TestE2ERoutingDefaultTeam(t *testing.T) {
	fake := startTelegramFake(t)
	dir := t.TempDir()
	l := listenLocal(t)
	path := telegramConfig(t, dir, l.Addr().String(), fake.URL(), "webhook", "sqlite", filepath.Join(dir, "hub.db"))
	appendConfig(t, path, routingTeams+`default_team: general
routing:
  - name: fraud
    when: { keywords: [frozen] }
    then: { team: risk, priority: urgent, labels: [fraud] }
  - name: orders
    when: { regex: '(?i)order\s*#?\d{4,}' }
    then: { priority: high }
`)
	m := startHub(t, l, path)
	api := adminClient(t, m)
	wait.For(t, "setWebhook", func() bool { return fake.Webhook().URL == m.URL()+"/webhooks/tg-main" })

	ids := map[string]string{}
	for _, u := range []struct {
		id   int64
		text string
	}{{2001, "hello there"}, {2002, "Where is order #12345?"}, {2003, "account frozen"}} {
		if _, err := fake.SendText(context.Background(), tgfake.User{ID: u.id, FirstName: "U", LanguageCode: "en"}, u.text); err != nil {
			t.Fatal(err)
		}
	}
	wait.For(t, "three conversations", func() bool {
		for _, c := range api.conversations() {
			ids[c.Contact.Identities[0].ExternalID] = c.ID
		}
		return len(ids) == 3
	})
	waitRouted(t, api, ids["2001"], "general", "normal", "")
	waitRouted(t, api, ids["2002"], "general", "high", "")
	waitRouted(t, api, ids["2003"], "risk", "urgent", "fraud")
	for id, want := range map[string]string{"2001": "routing", "2002": "routing:orders", "2003": "routing:fraud"} {
		if by := routedBy(t, m, ids[id]); strings.Join(by, ",") != want {
			t.Errorf("user %s: updated by %v, want %s", id, by, want)
		}
	}
}

// TestCheckConfigRouting: hub check-config lists every routing problem
// with its key path, and accepts the contract's example.
func TestCheckConfigRouting(t *testing.T) {
	dir := t.TempDir()
	db := "database: { dsn: " + filepath.Join(dir, "hub.db") + " }\n"
	bad := writeConfig(t, dir, db+`routing:
  - name: fraud
    when: { keywords: [fraud], regexp: "x" }
    then: { team: risk, priority: critical }
  - name: fraud
    when: { regex: "(frozen" }
    then: { team: risk }
  - when: {}
    then: { labels: [Fraud] }
`)
	var out bytes.Buffer
	err := run(context.Background(), []string{"check-config", "--config", bad}, &out, &out)
	if exitCode(err) != 1 {
		t.Fatalf("exit %d (%v), want 1", exitCode(err), err)
	}
	text := out.String() + err.Error()
	for _, want := range []string{
		bad + ": routing[0].when.regexp: unknown key (known: connector, channel, language, keywords, regex, contact_labels)",
		bad + `: routing[0].then.priority: unknown priority "critical" (known: low, normal, high, urgent)`,
		bad + `: routing[1].name: duplicate rule name "fraud" (also routing[0])`,
		bad + ": routing[1].when.regex: is not a valid regular expression: error parsing regexp: missing closing ): `(frozen`",
		bad + ": routing[2].name: is required",
		bad + ": routing[2].when: is empty",
		bad + `: routing[2].then.labels[0]: "Fraud" is not as labels are stored: write "fraud"`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("check-config output lacks %q:\n%s", want, text)
		}
	}
	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(good, []byte(db+routingTeams+"default_team: billing\n"+sandboxRouting), 0o600); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := run(context.Background(), []string{"check-config", "--config", good}, &out, &out); err != nil {
		t.Fatalf("the contract's example: %v\n%s", err, out.String())
	}
}
