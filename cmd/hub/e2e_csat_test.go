package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tongdao/hub/internal/wait"
	"github.com/tongdao/hub/sandbox/dcfake"
	"github.com/tongdao/hub/sandbox/tgfake"
)

// The rating after an agent resolves, through the real program and its
// stand-ins.

// csatConversation is a conversation with its rating.
type csatConversation struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	CSAT   *struct {
		Score   int        `json:"score"`
		Comment *string    `json:"comment"`
		At      *time.Time `json:"at"`
	} `json:"csat"`
}

func (e *linkEnv) csat(t *testing.T, id string) csatConversation {
	t.Helper()
	var c csatConversation
	e.api.json("GET", "/api/v1/conversations/"+id, nil, &c)
	return c
}

// resolve is an agent resolving a conversation.
func (e *linkEnv) resolve(id string) {
	e.api.json("POST", "/api/v1/conversations/"+id+"/status", map[string]any{"status": "resolved"}, nil)
}

// csatEvents counts the rating events of a conversation.
func (e *linkEnv) csatEvents(t *testing.T, typ, conv string) int {
	n := 0
	for _, ev := range eventsOf(t, e.sb.Main, typ) {
		if ev.ConversationID == conv {
			n++
		}
	}
	return n
}

// customerConversations counts a customer's conversations, resolved ones
// included.
func (e *linkEnv) customerConversations(externalID string) int {
	n := 0
	for _, c := range e.api.conversations() {
		for _, i := range c.Contact.Identities {
			if i.ExternalID == externalID {
				n++
			}
		}
	}
	return n
}

// startCSAT is the sandbox on a working day's morning.
func startCSAT(t *testing.T) *linkEnv {
	e := startLinkSandbox(t)
	e.setClock("2026-12-02 10:00")
	return e
}

// tgTap is a Telegram customer tapping a button; it returns the bot's
// messages to them once there are n.
func (e *linkEnv) tgTap(t *testing.T, u tgfake.User, messageID int, data string, n int) []tgfake.SentMessage {
	t.Helper()
	if _, err := e.tg.Click(context.Background(), u, messageID, data); err != nil {
		t.Fatal(err)
	}
	return e.tgWait(t, u, n)
}

// tgWait returns the bot's messages to u once there are n.
func (e *linkEnv) tgWait(t *testing.T, u tgfake.User, n int) []tgfake.SentMessage {
	t.Helper()
	sent, err := waitSent(e.tg, u.ID, n)
	if err != nil {
		t.Fatal(err)
	}
	return sent
}

// tgResolved is a Telegram customer's new ticket, answered by the bot and
// resolved by an agent; it returns the conversation's id.
func (e *linkEnv) tgResolved(t *testing.T, u tgfake.User, text string) string {
	t.Helper()
	e.tgSay(t, u, text)
	conv := e.conversationWith(t, fmt.Sprint(u.ID)).ID
	e.resolve(conv)
	return conv
}

func TestE2ECSATTelegramButtonLowScoreCommentThenANewMessageReopens(t *testing.T) {
	e := startCSAT(t)
	u := tgfake.User{ID: 7601, FirstName: "Ugo", LanguageCode: "en"}
	e.tgSay(t, u, "my cat chewed through the router cable")
	conv := e.conversationWith(t, "7601").ID
	e.api.reply(conv, map[string]any{"text": "A new cable is on its way."})
	e.resolve(conv)

	// One prompt: the ticket, the question, five buttons.
	prompt := e.tgWait(t, u, 3)[2]
	mustContain(t, "the rating prompt", prompt.Text, "#"+conv, "is resolved", "How did we do?", "from 1")
	if b := strings.Join(tgButtons(prompt), ","); b != "csat:1,csat:2,csat:3,csat:4,csat:5" {
		t.Fatalf("the prompt offers %s, want the five scores", b)
	}
	sent := e.tgTap(t, u, prompt.MessageID, "csat:2", 4)
	mustContain(t, "the question after the score", sent[3].Text, "Anything to add?")
	if b := strings.Join(tgButtons(sent[3]), ","); b != "csat:skip" {
		t.Fatalf("after the score the bot offers %s, want skip", b)
	}
	c := e.csat(t, conv)
	if c.Status != "resolved" || c.CSAT == nil || c.CSAT.Score != 2 || c.CSAT.Comment != nil || c.CSAT.At == nil {
		t.Fatalf("after a score of 2: %+v %+v", c, c.CSAT)
	}
	if r, l := e.csatEvents(t, "csat.received", conv), e.csatEvents(t, "csat.low", conv); r != 1 || l != 1 {
		t.Fatalf("events: %d csat.received, %d csat.low; want 1 and 1", r, l)
	}

	// A second tap changes nothing and opens nothing: the comment is
	// still welcome.
	sent = e.tgTap(t, u, prompt.MessageID, "csat:4", 5)
	mustContain(t, "the answer to a second tap", sent[4].Text, "Anything to add?")
	if c := e.csat(t, conv); c.CSAT == nil || c.CSAT.Score != 2 || e.customerConversations("7601") != 1 {
		t.Fatalf("a second tap: %+v, %d conversations", c.CSAT, e.customerConversations("7601"))
	}

	// The next message is the comment: thanks, no new question, no reopen.
	mustContain(t, "the thanks", e.tgSay(t, u, "The cable took a week to arrive."), "Thank you!")
	c = e.csat(t, conv)
	if c.Status != "resolved" || c.CSAT == nil || c.CSAT.Comment == nil || *c.CSAT.Comment != "The cable took a week to arrive." {
		t.Fatalf("after the comment: %+v %+v", c, c.CSAT)
	}
	if n := e.customerConversations("7601"); n != 1 {
		t.Fatalf("the rating opened conversations: the customer has %d, want 1", n)
	}
	msgs := e.api.messages(conv)
	if !hasText(msgs, "The cable took a week") || !hasText(msgs, "Anything to add?") {
		t.Fatalf("the rating is not in the resolved conversation's timeline: %+v", msgs)
	}

	// After the rating, a new message reopens the conversation (the same
	// ticket goes on, answered as every first message is).
	got := e.tgSay(t, u, "my dog chewed through the new cable")
	again := e.conversationWith(t, "7601")
	if again.ID != conv || again.Status != "open" || e.customerConversations("7601") != 1 {
		t.Fatalf("the new message did not reopen the rated ticket: %+v", again)
	}
	mustContain(t, "the answer to the new message", got, "#"+conv)
	if c := e.csat(t, conv); c.CSAT == nil || c.CSAT.Score != 2 || *c.CSAT.Comment != "The cable took a week to arrive." {
		t.Fatalf("the new message changed the rating: %+v", c.CSAT)
	}
}

func TestE2ECSATDiscordButtonAndSkip(t *testing.T) {
	e := startCSAT(t)
	ctx := context.Background()
	du := dcfake.User{ID: "900000000000007601", Username: "vi"}
	e.dcDM(t, du, "my cat chewed through the router cable")
	e.dcWait(t, du.ID, 1)
	conv := e.conversationWith(t, du.ID).ID
	e.resolve(conv)
	e.resolve(conv) // twice in a row (a double click): one resolve, one prompt

	mustContain(t, "the Discord prompt", e.dcWait(t, du.ID, 2), "#"+conv, "How did we do?")
	prompt := e.dc.Sent(du.ID)[1]
	var ids []string
	for _, b := range prompt.Buttons {
		ids = append(ids, b.CustomID)
	}
	if strings.Join(ids, ",") != "csat:1,csat:2,csat:3,csat:4,csat:5" {
		t.Fatalf("the Discord prompt offers %v", ids)
	}
	if _, err := e.dc.Click(ctx, du.ID, prompt.ID, "csat:5"); err != nil {
		t.Fatal(err)
	}
	mustContain(t, "the question after the score", e.dcWait(t, du.ID, 3), "Anything to add?")
	ask := e.dc.Sent(du.ID)[2]
	if len(ask.Buttons) != 1 || ask.Buttons[0].CustomID != "csat:skip" || ask.Buttons[0].Label != "Skip" {
		t.Fatalf("after the score: %+v, want the skip button", ask.Buttons)
	}
	if _, err := e.dc.Click(ctx, du.ID, ask.ID, "csat:skip"); err != nil {
		t.Fatal(err)
	}
	mustContain(t, "the thanks", e.dcWait(t, du.ID, 4), "Thank you!")
	c := e.csat(t, conv)
	if c.Status != "resolved" || c.CSAT == nil || c.CSAT.Score != 5 || c.CSAT.Comment != nil {
		t.Fatalf("after 5 and skip: %+v %+v", c, c.CSAT)
	}
	if r, l := e.csatEvents(t, "csat.received", conv), e.csatEvents(t, "csat.low", conv); r != 1 || l != 0 {
		t.Fatalf("events: %d csat.received, %d csat.low; want 1 and 0", r, l)
	}
	if n := e.customerConversations(du.ID); n != 1 {
		t.Fatalf("the rating opened conversations: the customer has %d, want 1", n)
	}
	// The bot's messages after the handoff (the prompt, the thanks) are no
	// first response: no agent ever answered, so there is no estimate
	// (recomputed: the estimate is cached for a minute).
	e.clock.Advance(2 * time.Minute)
	next := dcfake.User{ID: "900000000000007602", Username: "wu"}
	e.dcDM(t, next, "my cat chewed through the router cable")
	mustContain(t, "the next handoff", e.dcWait(t, next.ID, 1), "We cannot estimate the wait yet")

	// Once the next customer's prompt is out, the rating reaction has
	// passed the second resolve: it asked nothing.
	e.resolve(e.conversationWith(t, next.ID).ID)
	mustContain(t, "the next prompt", e.dcWait(t, next.ID, 2), "How did we do?")
	prompts := 0
	for _, m := range e.api.messages(conv) {
		if strings.Contains(m.Text, "How did we do?") {
			prompts++
		}
	}
	if prompts != 1 {
		t.Fatalf("%d prompts for one resolve clicked twice, want 1", prompts)
	}
}

func TestE2ECSATWeChatDigitsOutOfRangeIgnored(t *testing.T) {
	e := startCSAT(t)
	openid := e.wxUser(t)
	e.wxSend(t, openid, "屏幕一直黑屏")
	e.wxKefu(t, openid, 1) // the handoff
	conv := e.conversationWith(t, openid).ID
	e.resolve(conv)

	// WeChat has no buttons: the scores are the numbers 1–5.
	prompt := e.wxKefu(t, openid, 2)
	mustContain(t, "the WeChat prompt", prompt, "#"+conv, "回复数字 1–5 / Reply 1–5")
	if strings.Contains(prompt, "1. 1") {
		t.Fatalf("the scores are listed one by one:\n%s", prompt)
	}
	n := 2
	for _, digit := range []string{"7", "0", "12"} {
		e.wxSend(t, openid, digit)
		n++
		mustContain(t, "the answer to "+digit, e.wxKefu(t, openid, n), "1 到 5", "1–5")
		if c := e.csat(t, conv); c.CSAT != nil {
			t.Fatalf("%q counted as a rating: %+v", digit, c.CSAT)
		}
	}
	e.wxSend(t, openid, "４")
	mustContain(t, "the question after the score", e.wxKefu(t, openid, n+1), "还有什么想补充的吗")
	c := e.csat(t, conv)
	if c.CSAT == nil || c.CSAT.Score != 4 {
		t.Fatalf("after 4: %+v", c.CSAT)
	}
	e.wxSend(t, openid, "客服很耐心")
	mustContain(t, "the thanks", e.wxKefu(t, openid, n+2), "谢谢")
	if c := e.csat(t, conv); c.CSAT == nil || c.CSAT.Comment == nil || *c.CSAT.Comment != "客服很耐心" {
		t.Fatalf("after the comment: %+v", c.CSAT)
	}
	if n := e.customerConversations(openid); n != 1 {
		t.Fatalf("the rating opened conversations: the customer has %d, want 1", n)
	}
}

func TestE2ECSATNoPromptAfterADeflectionNorAfterTheWindow(t *testing.T) {
	e := startCSAT(t)

	// The bot's answer solved it: no rating of an agent's help.
	bot := tgfake.User{ID: 7611, FirstName: "Ida", LanguageCode: "en"}
	e.tgSay(t, bot, "How do I get a refund?")
	deflected := e.conversationWith(t, "7611").ID
	e.tgTap(t, bot, e.tgLast(bot).MessageID, "solved", 2)
	wait.For(t, "the deflected conversation resolved", func() bool { return e.csat(t, deflected).Status == "resolved" })

	// An agent resolves another conversation afterwards: once its prompt is
	// out, the rating reaction has passed the deflection.
	u := tgfake.User{ID: 7612, FirstName: "Pia", LanguageCode: "en"}
	conv := e.tgResolved(t, u, "my cat chewed through the router cable")
	prompt := e.tgWait(t, u, 2)[1]
	mustContain(t, "the prompt", prompt.Text, "How did we do?")
	if hasText(e.api.messages(deflected), "How did we do?") {
		t.Fatal("a deflected conversation was asked for a rating")
	}
	if got := e.tg.Sent(bot.ID); len(got) != 2 {
		t.Fatalf("the deflected customer got %d messages, want 2 (no prompt): last %q", len(got), got[len(got)-1].Text)
	}

	// A score after the 24 hours no longer counts.
	e.clock.Advance(25 * time.Hour)
	e.tgTap(t, u, prompt.MessageID, "csat:5", 3)
	if c := e.csat(t, conv); c.CSAT != nil {
		t.Fatalf("a score after the window counted: %+v", c.CSAT)
	}
}

func TestE2ECSATReopenedAndResolvedAgainAsksAgain(t *testing.T) {
	e := startCSAT(t)
	u := tgfake.User{ID: 7621, FirstName: "Rea", LanguageCode: "en"}
	conv := e.tgResolved(t, u, "my cat chewed through the router cable")
	e.tgWait(t, u, 2)
	// The agent reopens it (say, resolved by mistake), then resolves it
	// again: a new end of the help, asked again.
	e.api.json("POST", "/api/v1/conversations/"+conv+"/status", map[string]any{"status": "open"}, nil)
	e.resolve(conv)
	prompt := e.tgWait(t, u, 3)[2]
	mustContain(t, "the second prompt", prompt.Text, "#"+conv, "How did we do?")
	e.tgTap(t, u, prompt.MessageID, "csat:3", 4)
	if c := e.csat(t, conv); c.CSAT == nil || c.CSAT.Score != 3 {
		t.Fatalf("after the second prompt's score: %+v", c.CSAT)
	}
}
