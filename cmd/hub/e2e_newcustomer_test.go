package main

import (
	"context"
	"strings"
	"testing"

	"github.com/tongdao/hub/sandbox/dcfake"
	"github.com/tongdao/hub/sandbox/tgfake"
)

// What a new customer met in the sandbox (issue 10, point 8), each finding
// replayed through the real program and its stand-ins.

// A Discord customer's four direct messages each get an answer: the first
// hands over (no FAQ entry fits), "human" confirms the queue, and "/start"
// and "help", addressed to the bot, say where the ticket stands.
func TestE2ENewCustomerDiscordDMsAreAllAnswered(t *testing.T) {
	e := startLinkSandbox(t)
	e.setClock("2026-12-02 10:00")
	du := dcfake.User{ID: "900000000000008001", Username: "bo"}
	var conv string
	for i, text := range []string{"hi, I need help", "human", "/start", "help"} {
		e.dcDM(t, du, text)
		got := e.dcWait(t, du.ID, i+1)
		if conv == "" {
			conv = e.conversationWith(t, du.ID).ID
		}
		mustContain(t, "the answer to "+text, got, "Your ticket is #"+conv, "You are number 1 in the queue.")
	}
	if c := e.journey(t, conv); c.HandoffAt == nil || position(c) != "1" {
		t.Fatalf("the conversation: %+v, want handed over and first in the queue", c)
	}
}

// A Telegram customer who never sends /start is answered all the same,
// whatever the first message is: a question, or a command.
func TestE2ENewCustomerTelegramWithoutStartIsAnswered(t *testing.T) {
	e := startLinkSandbox(t)
	e.setClock("2026-12-02 10:00")

	ann := tgfake.User{ID: 8101, FirstName: "Ann", LanguageCode: "en"}
	got := e.tgSay(t, ann, "hello? is anyone there")
	mustContain(t, "the answer to a first message", got, "Your ticket is #"+e.conversationWith(t, "8101").ID)

	// A command first: the welcome and its buttons (a human, another app).
	bo := tgfake.User{ID: 8102, FirstName: "Bo", LanguageCode: "it"}
	mustContain(t, "the answer to /help", e.tgSay(t, bo, "/help"), "Benvenuto!")
	if b := tgButtons(e.tgLast(bo)); strings.Join(b, ",") != "human,link" {
		t.Fatalf("the welcome offers %v, want human and link", b)
	}
	// Its next message is the conversation's first question: answered too.
	got = e.tgSay(t, bo, "lo schermo resta nero")
	mustContain(t, "the answer after /help", got, "Il tuo ticket è #"+e.conversationWith(t, "8102").ID)
}

// Talking to a human shows in the conversation: a system entry in the
// timeline, where the agent reads it, besides handoff_at.
func TestE2ENewCustomerHandoffShowsInTheTimeline(t *testing.T) {
	e := startLinkSandbox(t)
	e.setClock("2026-12-02 10:00")
	tom := tgfake.User{ID: 8201, FirstName: "Tom", LanguageCode: "en"}
	mustContain(t, "the FAQ answer", e.tgSay(t, tom, "How do I get a refund?"), "Refunds are sent")
	if _, err := e.tg.Click(context.Background(), tom, e.tgLast(tom).MessageID, "human"); err != nil {
		t.Fatal(err)
	}
	if _, err := waitSent(e.tg, tom.ID, 2); err != nil {
		t.Fatal(err)
	}
	conv := e.conversationWith(t, "8201").ID
	if c := e.journey(t, conv); c.HandoffAt == nil {
		t.Fatalf("no handoff_at after the tap: %+v", c)
	}
	msgs := e.api.messages(conv)
	var kinds []string
	for _, m := range msgs {
		kinds = append(kinds, m.Sender.Type+":"+m.Kind)
	}
	// customer question, bot answer, the tap, the handoff, the bot's answer
	if strings.Join(kinds, " ") != "customer:message bot:message customer:action system:system bot:message" {
		t.Fatalf("the timeline: %v", kinds)
	}
	mustContain(t, "the handoff entry", msgs[3].Text, "Handed over to a human", "the customer asked")

	// The bot handing over on its own shows too, with why.
	sam := tgfake.User{ID: 8202, FirstName: "Sam", LanguageCode: "en"}
	e.tgSay(t, sam, "my cat chewed through the router cable")
	msgs = e.api.messages(e.conversationWith(t, "8202").ID)
	if len(msgs) != 3 || msgs[1].Sender.Type != "system" {
		t.Fatalf("the timeline after a miss: %+v", msgs)
	}
	mustContain(t, "the handoff entry", msgs[1].Text, "Handed over to a human", "no answer")

	// Asking again changes nothing: one entry per handoff.
	e.tgSay(t, sam, "human")
	n := 0
	for _, m := range e.api.messages(e.conversationWith(t, "8202").ID) {
		if m.Sender.Type == "system" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d handoff entries, want 1", n)
	}
}

// welcomes counts the messages to a WeChat customer that welcome them.
func (e *linkEnv) welcomes(openid string) (n int, all []string) {
	for _, s := range e.wx.Sent(sandboxWXAppID, openid) {
		all = append(all, s.Text)
		if strings.Contains(s.Text, "Welcome") || strings.Contains(s.Text, "欢迎") {
			n++
		}
	}
	return n, all
}

// linkToNewWeChatFollower has the Telegram customer u ask for a link code
// and a new WeChat follower send it; it returns the follower's openid and
// the greeting they get.
func (e *linkEnv) linkToNewWeChatFollower(t *testing.T, u tgfake.User) (openid, greeting string) {
	t.Helper()
	code := offerCode(t, e.tgSay(t, u, "/link"))
	openid = e.wxUser(t)
	e.wxSend(t, openid, code)
	return openid, e.wxKefu(t, openid, 1)
}

// A WeChat customer follows (welcomed) and sends a link code: the greeting
// that follows is no second welcome.
func TestE2ENewCustomerWeChatCodeRedemptionWelcomesOnce(t *testing.T) {
	e := startLinkSandbox(t)
	e.setClock("2026-12-02 10:00")
	ana := tgfake.User{ID: 8301, FirstName: "Ana", LanguageCode: "en"}
	e.tgFirst(t, ana, "My order #42 has not arrived")
	conv := e.conversationWith(t, "8301").ID
	openid, greeting := e.linkToNewWeChatFollower(t, ana)
	mustContain(t, "the greeting", greeting, "#"+conv, "My order #42 has not arrived")
	if n, all := e.welcomes(openid); n != 1 {
		t.Fatalf("%d welcomes, want 1:\n%s", n, strings.Join(all, "\n---\n"))
	}
}

// The greeting on a newly linked chat names the agent who already answered
// instead of saying the ticket waits for the next free agent.
func TestE2ENewCustomerGreetingNamesTheAgentWhoReplied(t *testing.T) {
	e := startLinkSandbox(t)
	e.setClock("2026-12-02 10:00")
	ana := tgfake.User{ID: 8401, FirstName: "Ana", LanguageCode: "en"}
	e.tgFirst(t, ana, "My order #42 has not arrived")
	conv := e.conversationWith(t, "8401").ID
	tok, _, err := e.sb.Main.Store.CreateToken(context.Background(), "Mia", "agent")
	if err != nil {
		t.Fatal(err)
	}
	agent := &client{t: t, base: e.sb.Main.URL(), token: tok}
	agent.reply(conv, map[string]any{"text": "Let me check with the courier."})
	if _, err := waitSent(e.tg, ana.ID, 2); err != nil {
		t.Fatal(err)
	}

	_, got := e.linkToNewWeChatFollower(t, ana)
	mustContain(t, "the greeting", got, "#"+conv, "Mia is handling it", "由 Mia 负责")
	if strings.Contains(got, "next free agent") || strings.Contains(got, "等待客服接手") {
		t.Fatalf("the greeting says nobody has the ticket after Mia answered:\n%s", got)
	}
}

// A linked customer's order number shaped like a link code is a message
// like any other: no "your code failed", nothing counted against them. A
// code-shaped message is a code only from a customer not linked yet or one
// who asked for a code lately.
func TestE2ENewCustomerLinkedCustomerOrderNumberIsNotACode(t *testing.T) {
	e := startLinkSandbox(t)
	e.setClock("2026-12-02 10:00")
	ana := tgfake.User{ID: 8501, FirstName: "Ana", LanguageCode: "en"}
	e.tgFirst(t, ana, "My order has not arrived")
	openid, _ := e.linkToNewWeChatFollower(t, ana)
	conv := e.conversationWith(t, "8501")
	if channels(conv) != "telegram,wechat" {
		t.Fatalf("not linked: %+v", conv)
	}

	// Past the link code's life: Ana no longer has a code in hand.
	e.setClock("2026-12-02 10:30")
	for _, order := range []string{"ABCD2345", "QWER6789", "ZXCV2233", "ABCD2346", "ABCD2347", "ABCD2348"} {
		e.tgWrite(t, ana, order)
	}
	e.wxSend(t, openid, "HJKM2345")
	// Sentinels: "help" is answered on each app; nothing came before it.
	mustContain(t, "the answer after the order numbers", e.tgSay(t, ana, "help"), "#"+conv.ID)
	e.wxSend(t, openid, "help")
	if got := e.wxKefu(t, openid, 2); !strings.Contains(got, "#"+conv.ID) {
		t.Fatalf("WeChat answered the order number:\n%s", got)
	}
	if n := countRows(t, e.sb.Main, "link_failures"); n != 0 {
		t.Fatalf("%d link failures counted against a linked customer", n)
	}
	msgs := e.api.messages(conv.ID)
	if !hasText(msgs, "ABCD2348") || !hasText(msgs, "HJKM2345") || hasText(msgs, "did not work") {
		t.Fatal("the order numbers are not in the timeline as messages, or were answered as codes")
	}

	// Asking for a code makes the next code-shaped message a code again: a
	// mistyped one fails, and the six order numbers before did not use up
	// the attempts.
	e.tgSay(t, ana, "/link")
	mustContain(t, "a mistyped code after asking", e.tgSay(t, ana, "ABCD2349"), "did not work", "Attempts left this hour: 4")
}
