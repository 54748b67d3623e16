package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tongdao/hub/internal/wait"
	"github.com/tongdao/hub/sandbox/dcfake"
	"github.com/tongdao/hub/sandbox/tgfake"
)

// Visible progress, through the real program and its stand-ins: /status
// (and the status words) before and after an agent takes the conversation,
// and the pushes when an agent assigns it or waits for the customer.

// tgPushed waits for the bot's next message to u after before messages.
func (e *linkEnv) tgPushed(t *testing.T, u tgfake.User, before int) tgfake.SentMessage {
	t.Helper()
	got, err := waitSent(e.tg, u.ID, before+1)
	if err != nil {
		t.Fatalf("no push on Telegram to %d: %v", u.ID, err)
	}
	return got[before]
}

func (e *linkEnv) assign(id, assignee string) {
	e.api.json("POST", "/api/v1/conversations/"+id+"/assign", map[string]any{"assignee": assignee}, nil)
}

func (e *linkEnv) setStatus(id, status string) {
	e.api.json("POST", "/api/v1/conversations/"+id+"/status", map[string]any{"status": status}, nil)
}

func TestE2EProgressOnTelegramInEnglishAndItalian(t *testing.T) {
	e := startLinkSandbox(t)
	e.setClock("2026-12-02 10:00") // a Wednesday, agents in

	// No conversation yet: no open ticket, and the way to a human.
	u := tgfake.User{ID: 7601, FirstName: "Ann", LanguageCode: "en"}
	got := e.tgSay(t, u, "/status")
	mustContain(t, "/status with no ticket", got, "You have no open ticket right now.")
	if b := tgButtons(e.tgLast(u)); strings.Join(b, ",") != "human" {
		t.Fatalf("/status with no ticket offers %v, want the human button", b)
	}
	conv := e.conversationWith(t, "7601")
	if c := e.journey(t, conv.ID); c.HandoffAt != nil {
		t.Fatalf("/status was taken for a question: handed over at %v", c.HandoffAt)
	}

	// The bot copes: it says so, and offers a human.
	mustContain(t, "the FAQ answer", e.tgSay(t, u, "How do I get a refund?"), "Refunds are sent")
	got = e.tgSay(t, u, "  STATUS ")
	mustContain(t, "status while the bot copes", got, "Ticket #"+conv.ID+": open; our bot is answering you")
	if b := tgButtons(e.tgLast(u)); strings.Join(b, ",") != "human" {
		t.Fatalf("status while the bot copes offers %v, want the human button", b)
	}

	// In the queue: the position and the estimate, as the handoff says.
	mustContain(t, "the handoff", e.tgSay(t, u, "human"), "You are number 1 in the queue.")
	got = e.tgSay(t, u, "/status")
	mustContain(t, "/status in the queue", got, "Ticket #"+conv.ID+": open; it is waiting for the next free agent.",
		"You are number 1 in the queue.", "We cannot estimate the wait yet")
	if c := e.journey(t, conv.ID); position(c) != "1" {
		t.Fatalf("/status moved the queue: position %s", position(c))
	}

	// An agent takes it: pushed at once, and /status names them.
	n := len(e.tg.Sent(u.ID))
	start := time.Now() // a measurement, not business time
	e.assign(conv.ID, "Ana")
	wait.For(t, "the push in the timeline", func() bool { return hasText(e.api.messages(conv.ID), "Ana is on it") })
	stored := time.Since(start)
	push := e.tgPushed(t, u, n)
	t.Logf("assignment to push: in the timeline after %v, on Telegram after %v (the outbox keeps about 1 message/s per chat)",
		stored.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	if push.Text != "Ana is on it (ticket #"+conv.ID+")." {
		t.Fatalf("the assignment push: %q", push.Text)
	}
	got = e.tgSay(t, u, "/status")
	if got != "Ticket #"+conv.ID+": open; Ana is handling it." || len(tgButtons(e.tgLast(u))) != 0 {
		t.Fatalf("/status once assigned: %q with %v, want Ana and no human button", got, tgButtons(e.tgLast(u)))
	}

	// The agent waits for the customer: pushed, and /status says pending.
	n = len(e.tg.Sent(u.ID))
	e.setStatus(conv.ID, "pending")
	mustContain(t, "the pending push", e.tgPushed(t, u, n).Text, "Ana is waiting for your answer on ticket #"+conv.ID)
	mustContain(t, "/status while pending", e.tgSay(t, u, "/status"), "Ticket #"+conv.ID+": pending; Ana is handling it.")

	// Italian, by the platform's language.
	it := tgfake.User{ID: 7602, FirstName: "Giulia", LanguageCode: "it"}
	mustContain(t, "the Italian FAQ answer", e.tgSay(t, it, "Come posso avere un rimborso?"), "Il rimborso arriva")
	faqAnswer := e.tgLast(it)
	itConv := e.conversationWith(t, "7602")
	mustContain(t, "stato", e.tgSay(t, it, "Stato"), "Ticket #"+itConv.ID+": aperto; ti sta rispondendo il nostro bot")
	n = len(e.tg.Sent(it.ID))
	e.setStatus(itConv.ID, "pending")
	mustContain(t, "the Italian pending push", e.tgPushed(t, it, n).Text, "Il nostro operatore aspetta una tua risposta sul ticket #"+itConv.ID)
	e.assign(itConv.ID, "Marco")
	mustContain(t, "the Italian assignment push", e.tgPushed(t, it, n+1).Text, "Marco si sta occupando del tuo ticket #"+itConv.ID)
	got = e.tgSay(t, it, "/status")
	if got != "Ticket #"+itConv.ID+": in attesa; se ne occupa Marco." {
		t.Fatalf("the Italian /status once assigned: %q", got)
	}
	// The customer taps "This solved it" after all: the bot's own resolve
	// pushes nothing of ours, and afterwards there is no open ticket.
	n = len(e.tg.Sent(it.ID))
	if _, err := e.tg.Click(context.Background(), it, faqAnswer.MessageID, "solved"); err != nil {
		t.Fatal(err)
	}
	mustContain(t, "the thanks", e.tgPushed(t, it, n).Text, "#"+itConv.ID)
	wait.For(t, "the conversation resolved", func() bool { return e.journey(t, itConv.ID).Status == "resolved" })
	got = e.tgSay(t, it, "stato")
	mustContain(t, "stato after the resolve", got, "Il tuo ultimo ticket #"+itConv.ID+" è risolto.", "Non hai ticket aperti.")

	// Discord: the command, in the same words.
	du := dcfake.User{ID: "900000000000007601", Username: "dee"}
	e.dcDM(t, du, "/status")
	mustContain(t, "Discord's /status", e.dcWait(t, du.ID, 1), "You have no open ticket right now.")

	// Nothing but the answers above and the pushes: no push for the bot's
	// handoff, its FAQ answers or its resolve.
	for _, tc := range []struct {
		u    tgfake.User
		want int
	}{{u, 9}, {it, 7}} {
		if sent := e.tg.Sent(tc.u.ID); len(sent) != tc.want {
			var texts []string
			for _, m := range sent {
				texts = append(texts, m.Text)
			}
			t.Fatalf("%d messages to %d, want %d:\n%s", len(sent), tc.u.ID, tc.want, strings.Join(texts, "\n---\n"))
		}
	}
}

// wxKefuCount is how many customer-service messages openid got.
func (e *linkEnv) wxKefuCount(openid string) int {
	n := 0
	for _, s := range e.wx.Sent(sandboxWXAppID, openid) {
		if s.Kind == "kefu" {
			n++
		}
	}
	return n
}

// wxAsk sends text on WeChat and returns the bot's answer (a
// customer-service message: a text message has no passive reply).
func (e *linkEnv) wxAsk(t *testing.T, openid, text string) string {
	t.Helper()
	n := e.wxKefuCount(openid)
	e.wxSend(t, openid, text)
	return e.wxKefu(t, openid, n+1)
}

func TestE2EProgressOnWeChatInChinese(t *testing.T) {
	e := startLinkSandbox(t)
	e.setClock("2026-12-02 10:00")

	openid := e.wxUser(t)
	mustContain(t, "进度 with no ticket", e.wxAsk(t, openid, "进度"), "您目前没有未完成的工单。")
	conv := e.conversationWith(t, openid)

	mustContain(t, "the handoff", e.wxAsk(t, openid, "我的快递一直没有到"), "#"+conv.ID, "您在人工队列中排第 1 位")
	mustContain(t, "进度 in the queue", e.wxAsk(t, openid, "进度"),
		"工单 #"+conv.ID+"：处理中；正在等待客服接手。", "您在人工队列中排第 1 位。", "暂无历史记录")
	// WeChat has no commands: "/status" is text, and tells no language
	// (Chinese, then English, WeChat's fallbacks).
	mustContain(t, "/status on WeChat", e.wxAsk(t, openid, "/status"),
		"工单 #"+conv.ID+"：处理中", "Ticket #"+conv.ID+": open; it is waiting for the next free agent.")
	// A menu key status is answered in the passive reply.
	d, err := e.wx.Click(context.Background(), sandboxWXAppID, openid, "status")
	if err != nil || d.Reply == nil {
		t.Fatalf("menu key status: %+v %v", d, err)
	}
	mustContain(t, "the menu key status", d.Reply.Text, "工单 #"+conv.ID+"：处理中；正在等待客服接手。")

	// The pushes, and /status once an agent has it.
	n := e.wxKefuCount(openid)
	e.assign(conv.ID, "Ana")
	if got := e.wxKefu(t, openid, n+1); got != "Ana 正在处理您的工单 #"+conv.ID+"。" {
		t.Fatalf("the assignment push: %q", got)
	}
	if got := e.wxAsk(t, openid, "进度"); got != "工单 #"+conv.ID+"：处理中；由 Ana 负责。" {
		t.Fatalf("进度 once assigned: %q", got)
	}
	// "stato" tells its language when WeChat does not.
	if got := e.wxAsk(t, openid, "stato"); got != "Ticket #"+conv.ID+": aperto; se ne occupa Ana." {
		t.Fatalf("stato on WeChat: %q", got)
	}
	n = e.wxKefuCount(openid)
	e.setStatus(conv.ID, "pending")
	mustContain(t, "the pending push", e.wxKefu(t, openid, n+1), "Ana 正在等待您的回复（工单 #"+conv.ID+"）")

	// Every answer and push is the bot's, in the timeline; no other.
	bots := 0
	for _, m := range e.api.messages(conv.ID) {
		if m.Sender.Type == "bot" {
			bots++
		}
	}
	if want := 9; bots != want { // seven answers and two pushes
		t.Fatalf("%d bot messages in the timeline, want %d", bots, want)
	}
}
