package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/tongdao/hub/internal/wait"
	"github.com/tongdao/hub/models"
	"github.com/tongdao/hub/sandbox/tgfake"
)

// Agent helpers through the real program and the Telegram stand-in: an
// admin writes a canned response, an agent sends it with its placeholders
// filled, labels a conversation and filters the inbox by label.

type labelled struct {
	ID     string   `json:"id"`
	Labels []string `json:"labels"`
}

func (e *linkEnv) labelled(t *testing.T, query string) []string {
	t.Helper()
	var out struct {
		Conversations []labelled `json:"conversations"`
	}
	e.api.json("GET", "/api/v1/conversations"+query, nil, &out)
	ids := []string{}
	for _, c := range out.Conversations {
		ids = append(ids, c.ID)
	}
	return ids
}

func TestE2ECannedResponsesAndLabels(t *testing.T) {
	e := startLinkSandbox(t)
	e.setClock("2026-12-02 10:00") // a Wednesday, agents in
	tok, _, err := e.sb.Main.Store.CreateToken(context.Background(), "bo", models.RoleAgent)
	if err != nil {
		t.Fatal(err)
	}
	agent := &client{t: t, base: e.sb.Main.URL(), token: tok}

	ana := tgfake.User{ID: 7301, FirstName: "Ana", LastName: "Li", LanguageCode: "en"}
	e.tgFirst(t, ana, "my parcel never arrived")
	sam := tgfake.User{ID: 7302, FirstName: "Sam", LanguageCode: "en"}
	e.tgFirst(t, sam, "the order page is blank")
	a, s := e.conversationWith(t, "7301"), e.conversationWith(t, "7302")

	// Admins write canned responses; agents read them but may not write.
	var sorry models.CannedView
	e.api.json("POST", "/api/v1/canned", map[string]string{"shortcut": "Sorry", "text": "Hi {name}, {agent} here: ticket {ticket} is mine now."}, &sorry)
	if code, body := agent.do("POST", "/api/v1/canned", map[string]string{"shortcut": "mine", "text": "x"}); code != 403 {
		t.Fatalf("an agent wrote a canned response: %d %s", code, body)
	}
	if code, _ := agent.do("DELETE", "/api/v1/canned/"+sorry.ID, nil); code != 403 {
		t.Fatalf("an agent deleted a canned response: %d", code)
	}
	if code, body := e.api.do("POST", "/api/v1/canned", map[string]string{"shortcut": "SORRY", "text": "again"}); code != 409 {
		t.Fatalf("a duplicate shortcut: %d %s", code, body)
	}
	var list struct {
		Canned []models.CannedView `json:"canned"`
	}
	agent.json("GET", "/api/v1/canned?q=TICKET", nil, &list)
	if len(list.Canned) != 1 || list.Canned[0].ID != sorry.ID || list.Canned[0].Shortcut != "sorry" {
		t.Fatalf("search: %+v", list.Canned)
	}

	// The agent sends it: the customer's phone shows it filled in.
	before := len(e.tg.Sent(ana.ID))
	var sent apiMessage
	agent.json("POST", "/api/v1/conversations/"+a.ID+"/messages", map[string]string{"canned_id": sorry.ID}, &sent)
	want := "Hi Ana Li, bo here: ticket #" + a.ID + " is mine now."
	if sent.Text != want {
		t.Fatalf("stored %q, want %q", sent.Text, want)
	}
	got, err := waitSent(e.tg, ana.ID, before+1)
	if err != nil || got[before].Text != want {
		t.Fatalf("delivered %v (%v), want %q", got, err, want)
	}
	// Text and canned_id together, or an unknown canned_id: refused, and
	// nothing is stored.
	n := len(e.api.messages(a.ID))
	for _, body := range []map[string]string{{"canned_id": sorry.ID, "text": "hi"}, {"canned_id": "999999"}} {
		if code, b := agent.do("POST", "/api/v1/conversations/"+a.ID+"/messages", body); code != 400 {
			t.Fatalf("%v: %d %s", body, code, b)
		}
	}
	if m := len(e.api.messages(a.ID)); m != n {
		t.Fatalf("%d messages after refused replies, want %d", m, n)
	}

	// Labels: normalised, on the conversation, announced, filterable.
	var conv labelled
	agent.json("POST", "/api/v1/conversations/"+a.ID+"/labels", map[string][]string{"add": {" VIP ", "Lost  Parcel"}}, &conv)
	if strings.Join(conv.Labels, ",") != "lost parcel,vip" {
		t.Fatalf("labels %q", conv.Labels)
	}
	agent.json("POST", "/api/v1/conversations/"+s.ID+"/labels", map[string][]string{"add": {"vip"}}, nil)
	var updated []string
	wait.For(t, "the label changes on the event log", func() bool {
		updated = updated[:0]
		for _, ev := range eventsOf(t, e.sb.Main, models.EventTypeConversationUpdated) {
			if b, _ := json.Marshal(ev.Data); strings.Contains(string(b), `"labels"`) {
				updated = append(updated, ev.ConversationID+":"+string(b))
			}
		}
		return len(updated) == 2
	})
	mustContain(t, "the first label event", updated[0], a.ID+":", `"labels":["lost parcel","vip"]`, `"by":"bo"`)
	if got := e.labelled(t, "?label=VIP"); fmt.Sprint(got) != fmt.Sprint([]string{s.ID, a.ID}) && fmt.Sprint(got) != fmt.Sprint([]string{a.ID, s.ID}) {
		t.Fatalf("label=vip: %v", got)
	}
	if got := e.labelled(t, "?label=lost%20parcel"); fmt.Sprint(got) != fmt.Sprint([]string{a.ID}) {
		t.Fatalf("label=lost parcel: %v", got)
	}
	e.api.json("POST", "/api/v1/conversations/"+s.ID+"/status", map[string]string{"status": "resolved"}, nil)
	if got := e.labelled(t, "?label=vip&status=open"); fmt.Sprint(got) != fmt.Sprint([]string{a.ID}) {
		t.Fatalf("label=vip&status=open: %v", got)
	}
	// An unknown operation is refused and changes nothing.
	if code, b := agent.do("POST", "/api/v1/conversations/"+a.ID+"/labels", map[string][]string{"set": {"x"}}); code != 400 {
		t.Fatalf("unknown label op: %d %s", code, b)
	}
	if c := e.labelledOne(t, a.ID); strings.Join(c.Labels, ",") != "lost parcel,vip" {
		t.Fatalf("labels after a refused request: %q", c.Labels)
	}
}

func (e *linkEnv) labelledOne(t *testing.T, id string) labelled {
	t.Helper()
	var c labelled
	e.api.json("GET", "/api/v1/conversations/"+id, nil, &c)
	return c
}
