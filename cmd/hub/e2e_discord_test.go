package main

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/tongdao/hub/internal/wait"
	"github.com/tongdao/hub/sandbox/dcfake"
)

const (
	e2eDCToken = "e2e-discord-bot-token"
	e2eDCName  = "dc-e2e"
)

// startDiscordE2E runs the real hub against the Discord stand-in and waits
// until the bot's gateway session is up.
func startDiscordE2E(t *testing.T) (*dcfake.Server, *client) {
	t.Helper()
	// Discord's 3 s to acknowledge a click is a real deadline, but a busy
	// machine under -race must not fail the test for taking longer; dcfake's
	// TestInteractionDeadline covers lateness with a settable clock.
	fake := dcfake.New(dcfake.Options{BotToken: e2eDCToken, Logger: testLogger(), InteractionDeadline: wait.Timeout})
	if err := fake.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fake.Close() })
	dir := t.TempDir()
	l := listenLocal(t)
	listen := l.Addr().String()
	cfg := writeConfig(t, dir, fmt.Sprintf(`
server: { listen: %q, public_url: "http://%s" }
database: { driver: sqlite, dsn: %q }
connectors:
  - name: %s
    type: discord
    settings: { token: %q, api_url: %q, support_channels: [%q] }
`, listen, listen, filepath.Join(dir, "hub.db"), e2eDCName, e2eDCToken, fake.URL(), dcfake.DefaultSupportChannelID))
	m := startHub(t, l, cfg)
	if err := fake.WaitConnected(wait.Context(t)); err != nil {
		t.Fatalf("the bot did not connect to the gateway: %v", err)
	}
	return fake, adminClient(t, m)
}

// waitSentTo waits until the bot's messages to user include one with text
// and returns it.
func waitSentTo(t *testing.T, fake *dcfake.Server, userID, text string) dcfake.Message {
	t.Helper()
	var got dcfake.Message
	wait.For(t, fmt.Sprintf("%q to reach user %s", text, userID), func() bool {
		for _, m := range fake.Sent(userID) {
			if strings.Contains(m.Content, text) {
				got = m
				return true
			}
		}
		return false
	})
	return got
}

// reply posts an agent reply and waits for its final delivery status.
func (c *client) reply(convID string, body map[string]any) apiMessage {
	c.t.Helper()
	var sent apiMessage
	c.json("POST", "/api/v1/conversations/"+convID+"/messages", body, &sent)
	if sent.Delivery.Status != "queued" || sent.Direction != "out" {
		c.t.Fatalf("reply: %+v", sent)
	}
	return c.waitDelivery(convID, sent.ID)
}

func TestE2EDiscord(t *testing.T) {
	fake, api := startDiscordE2E(t)
	ctx := context.Background()

	// A DM opens a conversation; the agent's reply lands in the user's DM.
	bo := dcfake.User{ID: "900000000000000001", Username: "bo", GlobalName: "Bo"}
	if _, err := fake.SendDM(ctx, bo, "hi, I need help"); err != nil {
		t.Fatal(err)
	}
	boConv := api.waitConversationOf("discord", bo.ID)
	if ident := api.conversation(boConv).identity(t, "discord"); ident.Connector != e2eDCName || !ident.Reachable || ident.ReplyUntil != nil {
		t.Fatalf("DM identity: %+v", ident)
	}
	if got := api.reply(boConv, map[string]any{"text": "Hello Bo, how can we help?"}); got.Delivery.Status != "sent" {
		t.Fatalf("reply to a DM: %+v", got)
	}
	if dm := waitSentTo(t, fake, bo.ID, "Hello Bo, how can we help?"); dm.GuildID != "" {
		t.Fatalf("the reply to a DM went to a guild channel: %+v", dm)
	}

	// A message in the support channel opens a conversation; the reply lands
	// in the thread the bot opened on it.
	cy := dcfake.User{ID: "900000000000000002", Username: "cy"}
	question, err := fake.PostInChannel(ctx, "", cy, "My invoice is wrong")
	if err != nil {
		t.Fatal(err)
	}
	cyConv := api.waitConversationOf("discord", cy.ID)
	var thread dcfake.Thread
	for _, th := range fake.Threads() {
		if th.StarterID == cy.ID {
			thread = th
		}
	}
	if thread.ID == "" || thread.ParentID != dcfake.DefaultSupportChannelID {
		t.Fatalf("no support thread on %s: %+v", question.ID, fake.Threads())
	}
	if got := api.reply(cyConv, map[string]any{"text": "Let me check your invoice."}); got.Delivery.Status != "sent" {
		t.Fatalf("reply to a support-channel message: %+v", got)
	}
	if msg := waitSentTo(t, fake, cy.ID, "Let me check your invoice."); msg.ChannelID != thread.ID {
		t.Fatalf("the reply landed in channel %s, want the thread %s", msg.ChannelID, thread.ID)
	}

	// A button click: the agent offers a button, the user clicks it; the
	// click is an action in the timeline and the bot confirms it.
	offer := api.reply(boConv, map[string]any{"text": "Or talk to a person:",
		"buttons": []map[string]string{{"id": "human", "label": "Talk to a human"}}})
	if offer.Delivery.Status != "sent" {
		t.Fatalf("reply with a button: %+v", offer)
	}
	withButton := waitSentTo(t, fake, bo.ID, "Or talk to a person:")
	if len(withButton.Buttons) != 1 || withButton.Buttons[0].CustomID != "human" || withButton.Buttons[0].Label != "Talk to a human" {
		t.Fatalf("the button as Discord got it: %+v", withButton.Buttons)
	}
	if _, err := fake.Click(ctx, bo.ID, withButton.ID, "human"); err != nil {
		t.Fatal(err)
	}
	wait.For(t, "the click in the timeline", func() bool {
		for _, msg := range api.messages(boConv) {
			if msg.Kind == "action" && msg.Direction == "in" && msg.Sender.Type == "customer" {
				return true
			}
		}
		return false
	})
	waitSentTo(t, fake, bo.ID, "human agent")
	wait.For(t, "the click to be acknowledged", func() bool {
		ixs := fake.Interactions()
		return len(ixs) == 1 && ixs[0].Answered
	})
	if ix := fake.Interactions()[0]; ix.Late || ix.CallbackType != 6 {
		t.Fatalf("the click's acknowledgement: %+v", ix)
	}

	// A gateway reconnect (op 7) in the middle of a burst of DMs: every DM is
	// stored once, in order.
	dee := dcfake.User{ID: "900000000000000003", Username: "dee"}
	const burst = 30
	resumes := fake.Stats().Resumes
	for i := range burst {
		if i == burst/2 {
			if err := fake.Reconnect(); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := fake.SendDM(ctx, dee, fmt.Sprintf("burst %02d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := fake.SendDM(ctx, dee, "burst done"); err != nil {
		t.Fatal(err)
	}
	deeConv := api.waitConversationOf("discord", dee.ID)
	var texts []string
	wait.For(t, "the whole burst", func() bool {
		texts = texts[:0]
		for _, msg := range api.messages(deeConv) {
			if msg.Direction == "in" {
				texts = append(texts, msg.Text)
			}
		}
		return len(texts) > 0 && texts[len(texts)-1] == "burst done"
	})
	if len(texts) != burst+1 {
		t.Fatalf("stored %d messages of the burst, want %d: %q", len(texts), burst+1, texts)
	}
	for i := range burst {
		if want := fmt.Sprintf("burst %02d", i); texts[i] != want {
			t.Fatalf("message %d is %q, want %q (lost, duplicated or out of order): %q", i, texts[i], want, texts)
		}
	}
	if st := fake.Stats(); st.Resumes <= resumes || !st.Connected {
		t.Fatalf("the bot did not resume after op 7: %+v", st)
	}

	// 50007: the user closed their DMs; the reply fails with the reason and
	// the identity becomes unreachable.
	fake.CloseDMs(bo.ID)
	got := api.reply(boConv, map[string]any{"text": "Are you still there?"})
	if got.Delivery.Status != "failed" || got.Delivery.Error == nil ||
		!strings.Contains(*got.Delivery.Error, "DMs closed") || !strings.Contains(*got.Delivery.Error, "50007") {
		t.Fatalf("a reply to closed DMs: %+v (error %s)", got, deref(got.Delivery.Error))
	}
	if ident := api.conversation(boConv).identity(t, "discord"); ident.Reachable || ident.UnreachableReason == "" {
		t.Fatalf("after 50007: %+v, want reachable false with a reason", ident)
	}
	for _, msg := range fake.Sent(bo.ID) {
		if msg.Content == "Are you still there?" {
			t.Fatal("a message reached a user whose DMs are closed")
		}
	}
}

// TestSandboxSmoke starts `hub sandbox` in-process, plays the three
// customers with the curl lines the welcome text prints, and checks that
// each conversation appears and each customer's phone shows the reply.
func TestSandboxSmoke(t *testing.T) {
	ctx := context.Background()
	sb, err := StartSandbox(ctx, "127.0.0.1:0", t.TempDir(), &Main{Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sb.Close)
	waitRunning(t, sb.Main)
	wait.For(t, "the Telegram webhook", func() bool { return sb.Telegram.Webhook().URL != "" })
	if err := sb.Discord.WaitConnected(wait.Context(t)); err != nil {
		t.Fatal(err)
	}

	var welcome strings.Builder
	printWelcome(&welcome, sb)
	// curl -s -X POST URL -d 'JSON' (curl sends -d as a form post).
	posts := regexp.MustCompile(`(?m)^\s*curl -s -X POST (\S+/sandbox/\S+) -d '([^']*)'$`).FindAllStringSubmatch(welcome.String(), -1)
	// Steps 1 and 1b (three customers), step 5 (ask for a link, redeem
	// it), step 6 (an urgent problem).
	if len(posts) != 6 {
		t.Fatalf("the welcome text prints %d customer curl lines, want 6:\n%s", len(posts), welcome.String())
	}
	linkAsk, linkRedeem, urgent := posts[3], posts[4], posts[5]
	posts = posts[:3]
	for _, p := range posts {
		if code, body := httpDo(t, "POST", p[1], "application/x-www-form-urlencoded", p[2]); code != http.StatusOK {
			t.Fatalf("curl %s: %d %s", p[1], code, body)
		}
	}

	api := &client{t: t, base: sb.Main.URL(), token: sb.AdminToken}
	// The channels come from the registry, with the configured connectors.
	code, body := api.do("GET", "/api/v1/channels", nil)
	wantChannels := `{"channels":[{"name":"discord","title":"Discord","connectors":["dc-sandbox"]},` +
		`{"name":"telegram","title":"Telegram","connectors":["tg-sandbox"]},{"name":"wechat","title":"WeChat","connectors":["wx-sandbox"]}]}`
	if code != http.StatusOK || strings.TrimSpace(string(body)) != wantChannels {
		t.Errorf("GET /api/v1/channels: %d %s, want %s", code, body, wantChannels)
	}
	customers := []struct{ channel, id, sentURL string }{
		{"telegram", "1001", "/sandbox/telegram/sent?user_id=1001"},
		{"wechat", "oSandboxUser0001", "/sandbox/wechat/sent?openid=oSandboxUser0001"},
		{"discord", "900000000000000001", "/sandbox/discord/sent?user_id=900000000000000001"},
	}
	if !strings.Contains(welcome.String(), `curl -s "`+sb.Main.URL()+customers[0].sentURL+`"`) {
		t.Errorf("the welcome text does not show how to read the Telegram customer's phone:\n%s", welcome.String())
	}
	for _, c := range customers {
		conv := api.waitConversationOf(c.channel, c.id)
		text := "Sorry! It ships today. (" + c.channel + ")"
		if got := api.reply(conv, map[string]any{"text": text}); got.Delivery.Status != "sent" {
			t.Fatalf("%s reply: %+v", c.channel, got)
		}
		var phone struct {
			Messages []struct {
				Text    string `json:"text"`
				Content string `json:"content"`
			} `json:"messages"`
			Sent []struct {
				Text string `json:"text"`
			} `json:"sent"`
		}
		getJSON(t, sb.Main.URL()+c.sentURL, &phone)
		var texts []string
		for _, m := range phone.Messages {
			texts = append(texts, m.Text+m.Content)
		}
		for _, s := range phone.Sent {
			texts = append(texts, s.Text)
		}
		if !slices.Contains(texts, text) {
			t.Errorf("%s customer's phone shows %q, want %q among them", c.channel, texts, text)
		}
	}
	if n := len(api.conversations()); n != 3 {
		t.Fatalf("%d conversations, want 3", n)
	}

	// Step 5: the Telegram customer continues on WeChat with the code.
	if code, body := httpDo(t, "POST", linkAsk[1], "application/x-www-form-urlencoded", linkAsk[2]); code != http.StatusOK {
		t.Fatalf("curl %s: %d %s", linkAsk[1], code, body)
	}
	codeRE := regexp.MustCompile(`\b[A-HJKMNP-Z2-9]{8}\b`)
	var linkCode string
	wait.For(t, "the link code on Telegram", func() bool {
		var phone struct {
			Messages []struct {
				Text string `json:"text"`
			} `json:"messages"`
		}
		getJSON(t, sb.Main.URL()+customers[0].sentURL, &phone)
		for _, m := range phone.Messages {
			if c := codeRE.FindString(m.Text); c != "" && strings.Contains(m.Text, "WeChat") {
				linkCode = c
				return true
			}
		}
		return false
	})
	if code, body := httpDo(t, "POST", linkRedeem[1], "application/x-www-form-urlencoded", strings.Replace(linkRedeem[2], "<CODE>", linkCode, 1)); code != http.StatusOK {
		t.Fatalf("curl %s: %d %s", linkRedeem[1], code, body)
	}
	wait.For(t, "the greeting on WeChat with the opening words", func() bool {
		var phone struct {
			Sent []struct {
				Text string `json:"text"`
			} `json:"sent"`
			Messages []struct {
				Text string `json:"text"`
			} `json:"messages"`
		}
		getJSON(t, sb.Main.URL()+"/sandbox/wechat/sent?openid=oSandboxAna", &phone)
		for _, m := range append(phone.Sent, phone.Messages...) {
			if strings.Contains(m.Text, "My order #42 has not arrived") {
				return true
			}
		}
		return false
	})
	var open struct {
		Conversations []apiConversation `json:"conversations"`
	}
	api.json("GET", "/api/v1/conversations?status=open", nil, &open)
	if len(open.Conversations) != 3 {
		t.Fatalf("after linking: %d open conversations, want 3 (the WeChat customer joined Ana's)", len(open.Conversations))
	}
	for _, c := range open.Conversations {
		if c.Subject == "My order #42 has not arrived" && len(c.Contact.Identities) != 2 {
			t.Fatalf("Ana's contact after linking: %+v", c.Contact)
		}
	}

	// Step 6: with cy's console (the link the welcome prints) open, the
	// urgent problem goes to the risk team and is assigned to cy at once.
	cyLink := regexp.MustCompile(`(?m)^\s*cy \(risk\)\s+\S+/#token=(\S+)$`).FindStringSubmatch(welcome.String())
	if cyLink == nil {
		t.Fatalf("the welcome text has no console link for cy:\n%s", welcome.String())
	}
	(&client{t: t, base: sb.Main.URL(), token: cyLink[1]}).openStream()
	wait.For(t, "cy online", func() bool { return api.agents()["cy"].Presence == "online" })
	if code, body := httpDo(t, "POST", urgent[1], "application/x-www-form-urlencoded", urgent[2]); code != http.StatusOK {
		t.Fatalf("curl %s: %d %s", urgent[1], code, body)
	}
	var c struct {
		Team     *string `json:"team"`
		Priority string  `json:"priority"`
		Assignee *string `json:"assignee"`
	}
	id := api.waitConversationOf("telegram", "1002")
	wait.For(t, "the urgent conversation assigned to cy", func() bool {
		api.json("GET", "/api/v1/conversations/"+id, nil, &c)
		return c.Assignee != nil && *c.Assignee == "cy"
	})
	if c.Team == nil || *c.Team != "risk" || c.Priority != "urgent" {
		t.Fatalf("the urgent conversation: team %v, priority %s", c.Team, c.Priority)
	}
}
