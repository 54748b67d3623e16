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

// The customer's journey, through the real program and its stand-ins: the
// sandbox runs the example FAQ and business hours (Asia/Shanghai, Monday to
// Friday 09:00–18:00, 2026-10-01 a holiday).

var shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return loc
}()

// setClock sets the hub's clock to local time at in Shanghai.
func (e *linkEnv) setClock(at string) {
	t, err := time.ParseInLocation("2006-01-02 15:04", at, shanghai)
	if err != nil {
		panic(err)
	}
	e.clock.off.Store(int64(time.Until(t)))
}

// journeyConversation is a conversation with the journey's fields.
type journeyConversation struct {
	ID            string     `json:"id"`
	Status        string     `json:"status"`
	HandoffAt     *time.Time `json:"handoff_at"`
	QueuePosition *int       `json:"queue_position"`
	Deflected     bool       `json:"deflected"`
}

func (e *linkEnv) journey(t *testing.T, id string) journeyConversation {
	t.Helper()
	var c journeyConversation
	e.api.json("GET", "/api/v1/conversations/"+id, nil, &c)
	return c
}

func position(c journeyConversation) string {
	if c.QueuePosition == nil {
		return "null"
	}
	return fmt.Sprint(*c.QueuePosition)
}

// tgLast is the newest bot message to u on Telegram.
func (e *linkEnv) tgLast(u tgfake.User) tgfake.SentMessage {
	sent := e.tg.Sent(u.ID)
	return sent[len(sent)-1]
}

func tgButtons(m tgfake.SentMessage) []string {
	var out []string
	for _, row := range m.Buttons {
		for _, b := range row {
			out = append(out, b.Data)
		}
	}
	return out
}

func mustContain(t *testing.T, what, got string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(got, s) {
			t.Fatalf("%s lacks %q:\n%s", what, s, got)
		}
	}
}

func TestE2EJourneyFAQAnswersInChineseAndItalianAndAMissGetsNoGuess(t *testing.T) {
	e := startLinkSandbox(t)
	e.setClock("2026-12-02 10:00") // a Wednesday, agents in

	zh := tgfake.User{ID: 7101, FirstName: "Li", LanguageCode: "zh-hans"}
	got := e.tgSay(t, zh, "怎么申请退款")
	mustContain(t, "the Chinese FAQ answer", got, "退款将原路退回")
	if b := tgButtons(e.tgLast(zh)); strings.Join(b, ",") != "solved,human" {
		t.Fatalf("the FAQ answer offers %v, want solved and human", b)
	}
	zhConv := e.conversationWith(t, "7101")
	if c := e.journey(t, zhConv.ID); c.HandoffAt != nil || c.QueuePosition != nil {
		t.Fatalf("an answered question went to the human queue: %+v", c)
	}

	it := tgfake.User{ID: 7102, FirstName: "Giulia", LanguageCode: "it"}
	mustContain(t, "the Italian FAQ answer", e.tgSay(t, it, "Come posso avere un rimborso?"), "Il rimborso arriva")

	// A miss gets no guess: the bot hands over, with the ticket number.
	en := tgfake.User{ID: 7103, FirstName: "Sam", LanguageCode: "en"}
	got = e.tgSay(t, en, "my cat chewed through the router cable")
	enConv := e.conversationWith(t, "7103")
	mustContain(t, "the handoff", got, "#"+enConv.ID, "You are number 1 in the queue.", "no history")
	if c := e.journey(t, enConv.ID); c.HandoffAt == nil || position(c) != "1" {
		t.Fatalf("after a miss: handoff_at %v, queue_position %s; want set and 1", c.HandoffAt, position(c))
	}
	// Every bot message is in the timeline, as the bot's.
	for _, id := range []string{zhConv.ID, enConv.ID} {
		msgs := e.api.messages(id)
		if last := msgs[len(msgs)-1]; last.Direction != "out" || last.Sender.Type != "bot" {
			t.Fatalf("the bot's answer in conversation %s: %+v", id, last)
		}
	}

	// The same question again, before any agent replied: never the same
	// entry twice in a row (here: no other entry fits, so a human takes it).
	got = e.tgSay(t, zh, "怎么申请退款")
	if strings.Contains(got, "退款将原路退回") {
		t.Fatalf("the same FAQ answer twice in a row:\n%s", got)
	}
	mustContain(t, "the handoff in Chinese", got, "#"+zhConv.ID, "排第 2 位")
}

func TestE2EJourneyHandoffGivesTicketQueuePositionAndEstimate(t *testing.T) {
	e := startLinkSandbox(t)
	e.setClock("2026-12-02 10:00")

	en := tgfake.User{ID: 7201, FirstName: "Ann", LanguageCode: "en"}
	got := e.tgSay(t, en, "the screen stays black after the update")
	c1 := e.conversationWith(t, "7201")
	mustContain(t, "the English handoff", got, "Your ticket is #"+c1.ID, "You are number 1 in the queue.",
		"We cannot estimate the wait yet")

	zh := tgfake.User{ID: 7202, FirstName: "Wei", LanguageCode: "zh-hans"}
	got = e.tgSay(t, zh, "屏幕一直黑屏")
	c2 := e.conversationWith(t, "7202")
	mustContain(t, "the Chinese handoff", got, "您的工单号是 #"+c2.ID, "您在人工队列中排第 2 位", "暂无历史记录")

	it := tgfake.User{ID: 7203, FirstName: "Marco", LanguageCode: "it"}
	got = e.tgSay(t, it, "lo schermo resta nero")
	c3 := e.conversationWith(t, "7203")
	mustContain(t, "the Italian handoff", got, "Il tuo ticket è #"+c3.ID, "Sei il numero 3 in coda.", "Non possiamo ancora stimare")

	// An agent answers the first after 4 minutes: the next customer hears
	// the median first response.
	e.clock.Advance(4 * time.Minute)
	e.api.reply(c1.ID, map[string]any{"text": "Hello Ann, let's look at it."})
	en2 := tgfake.User{ID: 7204, FirstName: "Bo", LanguageCode: "en"}
	got = e.tgSay(t, en2, "the screen flickers")
	mustContain(t, "the estimate", got, "You are number 4 in the queue.", "Lately the first answer has come in about 4 min.")

	// Assigned conversations leave the queue; the others move up.
	e.api.json("POST", "/api/v1/conversations/"+c1.ID+"/assign", map[string]any{"assignee": "Ana"}, nil)
	if a, b := e.journey(t, c1.ID), e.journey(t, c2.ID); a.QueuePosition != nil || position(b) != "1" {
		t.Fatalf("after assigning #%s: its position %s, #%s's %s; want null and 1", c1.ID, position(a), c2.ID, position(b))
	}
}

func TestE2EJourneyOutOfHoursSaysWhenAgentsAreBack(t *testing.T) {
	e := startLinkSandbox(t)
	for i, tc := range []struct {
		name, at, lang, text string
		want                 []string
	}{
		// In time order: the hub's clock only moves forward.
		{"holiday", "2026-10-01 10:00", "zh-hans", "屏幕一直黑屏", []string{"客服现在不在线，将于周五 09:00回来", "工单会保留"}},
		{"weekend", "2026-12-05 11:00", "en", "my cat chewed through the router cable", []string{"Our agents are away now and back Monday 09:00", "your ticket is kept"}},
		{"just before opening", "2026-12-07 08:59", "it", "lo schermo resta nero", []string{"tornano lunedì 09:00", "il tuo ticket resta"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.setClock(tc.at)
			u := tgfake.User{ID: int64(7301 + i), FirstName: "Night", LanguageCode: tc.lang}
			got := e.tgSay(t, u, tc.text)
			conv := e.conversationWith(t, fmt.Sprint(u.ID))
			mustContain(t, "the out-of-hours answer", got, append(tc.want, "#"+conv.ID)...)
		})
	}
	// Within hours, nobody is said to be away.
	e.setClock("2026-12-07 09:00")
	u := tgfake.User{ID: 7399, FirstName: "Day", LanguageCode: "en"}
	if got := e.tgSay(t, u, "my dog chewed through the router cable"); strings.Contains(got, "away") || !strings.Contains(got, "#") {
		t.Fatalf("within hours:\n%s", got)
	}
}

func TestE2EJourneySolvedResolvesAsDeflected(t *testing.T) {
	e := startLinkSandbox(t)
	e.setClock("2026-12-02 10:00")
	u := tgfake.User{ID: 7401, FirstName: "Ida", LanguageCode: "en"}
	mustContain(t, "the FAQ answer", e.tgSay(t, u, "How do I get a refund?"), "Refunds are sent")
	conv := e.conversationWith(t, "7401")
	answer := e.tgLast(u)
	if _, err := e.tg.Click(context.Background(), u, answer.MessageID, "solved"); err != nil {
		t.Fatal(err)
	}
	if _, err := waitSent(e.tg, u.ID, 2); err != nil {
		t.Fatal(err)
	}
	thanks := e.tgLast(u)
	mustContain(t, "the thanks", thanks.Text, "Glad it helped", "#"+conv.ID)
	if b := tgButtons(thanks); strings.Join(b, ",") != "human" {
		t.Fatalf("the thanks offers %v, want the human button (no dead ends)", b)
	}
	var c journeyConversation
	wait.For(t, "the conversation resolved", func() bool { c = e.journey(t, conv.ID); return c.Status == "resolved" })
	if !c.Deflected || c.HandoffAt != nil {
		t.Fatalf("solved: %+v, want deflected and never handed over", c)
	}
}

func TestE2EJourneyOneTapToAHuman(t *testing.T) {
	e := startLinkSandbox(t)
	e.setClock("2026-12-02 10:00")
	ctx := context.Background()

	// Telegram: the button under an FAQ answer.
	tg := tgfake.User{ID: 7501, FirstName: "Tom", LanguageCode: "en"}
	e.tgSay(t, tg, "How do I get a refund?")
	if _, err := e.tg.Click(ctx, tg, e.tgLast(tg).MessageID, "human"); err != nil {
		t.Fatal(err)
	}
	if _, err := waitSent(e.tg, tg.ID, 2); err != nil {
		t.Fatal(err)
	}
	tgConv := e.conversationWith(t, "7501")
	mustContain(t, "Telegram's handoff", e.tgLast(tg).Text, "#"+tgConv.ID, "You are number 1 in the queue.")

	// WeChat: the menu key human, answered in the passive reply.
	openid := e.wxUser(t)
	d, err := e.wx.Click(ctx, sandboxWXAppID, openid, "human")
	if err != nil || d.Reply == nil {
		t.Fatalf("menu click: %+v %v", d, err)
	}
	wxConv := e.conversationWith(t, openid)
	mustContain(t, "WeChat's handoff", d.Reply.Text, "#"+wxConv.ID, "排第 2 位")

	// Discord: the word, as a whole message, and the button.
	du := dcfake.User{ID: "900000000000007501", Username: "dee"}
	e.dcDM(t, du, "  Human ")
	got := e.dcWait(t, du.ID, 1)
	dcConv := e.conversationWith(t, du.ID)
	mustContain(t, "Discord's handoff", got, "#"+dcConv.ID, "You are number 3 in the queue.")
	du2 := dcfake.User{ID: "900000000000007502", Username: "eli"}
	e.dcDM(t, du2, "How do I get a refund?")
	mustContain(t, "the Discord FAQ answer", e.dcWait(t, du2.ID, 1), "Refunds are sent")
	if _, err := e.dc.Click(ctx, du2.ID, e.dc.Sent(du2.ID)[0].ID, "human"); err != nil {
		t.Fatal(err)
	}
	dcConv2 := e.conversationWith(t, du2.ID)
	mustContain(t, "Discord's button handoff", e.dcWait(t, du2.ID, 2), "#"+dcConv2.ID, "You are number 4 in the queue.")

	// The words, in any case; each one a handoff.
	for i, word := range []string{"转人工", " AGENT ", "Operatore", "人工", "客服"} {
		u := tgfake.User{ID: int64(7510 + i), FirstName: "W", LanguageCode: "en"}
		got := e.tgSay(t, u, word)
		conv := e.conversationWith(t, fmt.Sprint(u.ID))
		mustContain(t, fmt.Sprintf("the answer to %q", word), got, "#"+conv.ID, fmt.Sprintf("number %d in the queue", 5+i))
		if c := e.journey(t, conv.ID); c.HandoffAt == nil {
			t.Fatalf("%q: no handoff", word)
		}
	}
	for _, id := range []string{tgConv.ID, wxConv.ID, dcConv.ID, dcConv2.ID} {
		if c := e.journey(t, id); c.HandoffAt == nil || c.QueuePosition == nil {
			t.Fatalf("conversation %s not in the human queue: %+v", id, c)
		}
	}
}
