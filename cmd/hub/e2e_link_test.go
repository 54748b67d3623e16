package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tongdao/hub/internal/wait"
	"github.com/tongdao/hub/sandbox/dcfake"
	"github.com/tongdao/hub/sandbox/tgfake"
	"github.com/tongdao/hub/sandbox/wxfake"
)

// linkEnv is the sandbox (hub plus the three stand-ins) with a movable clock.
type linkEnv struct {
	sb    *Sandbox
	api   *client
	clock *offsetClock
	tg    *tgfake.Server
	wx    *wxfake.Server
	dc    *dcfake.Server
}

func startLinkSandbox(t *testing.T) *linkEnv {
	t.Helper()
	clk := &offsetClock{}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	sb, err := StartSandbox(context.Background(), "127.0.0.1:0", t.TempDir(), &Main{Logger: log, Now: clk.Now, ReminderInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sb.Close)
	e := &linkEnv{sb: sb, clock: clk, tg: sb.Telegram, wx: sb.WeChat, dc: sb.Discord,
		api: &client{t: t, base: sb.Main.URL(), token: sb.AdminToken}}
	// Handoffs need what the connectors learn when they connect.
	wait.For(t, "the connectors to know their bots", func() bool {
		for _, c := range sb.Main.Connectors {
			switch c := c.(type) {
			case interface{ BotName() string }:
				if c.BotName() == "" {
					return false
				}
			case interface{ BotUsername() string }:
				if c.BotUsername() == "" {
					return false
				}
			}
		}
		return sb.Telegram.Webhook().URL != ""
	})
	return e
}

var (
	codeRx      = regexp.MustCompile(`\b[ABCDEFGHJKMNPQRSTUVWXYZ23456789]{8}\b`)
	deepLinkRx  = regexp.MustCompile(`https://t\.me/[A-Za-z0-9_]+\?start=(link_[A-Za-z0-9_-]+)`)
	qrURLRx     = regexp.MustCompile(`https?://\S+showqrcode\?ticket=\S+`)
	wxOpenIDSeq atomic.Int64
)

func offerCode(t *testing.T, text string) string {
	t.Helper()
	m := codeRx.FindString(text)
	if m == "" {
		t.Fatalf("no link code in the offer:\n%s", text)
	}
	return m
}

// tgSay sends a Telegram message and returns the bot's next message to u.
func (e *linkEnv) tgSay(t *testing.T, u tgfake.User, text string) string {
	t.Helper()
	before := len(e.tg.Sent(u.ID))
	if _, err := e.tg.SendText(context.Background(), u, text); err != nil {
		t.Fatal(err)
	}
	got, err := waitSent(e.tg, u.ID, before+1)
	if err != nil {
		t.Fatalf("no answer on Telegram to %q: %v", text, err)
	}
	return got[before].Text
}

// tgFirst sends the first message of a conversation and returns the bot's
// answer (never silence: an FAQ answer or a handoff).
func (e *linkEnv) tgFirst(t *testing.T, u tgfake.User, text string) string {
	t.Helper()
	return e.tgSay(t, u, text)
}

// tgWrite sends a Telegram message the bot does not answer.
func (e *linkEnv) tgWrite(t *testing.T, u tgfake.User, text string) {
	t.Helper()
	if _, err := e.tg.SendText(context.Background(), u, text); err != nil {
		t.Fatal(err)
	}
}

// wxUser is a new WeChat follower.
func (e *linkEnv) wxUser(t *testing.T) string {
	t.Helper()
	openid := fmt.Sprintf("oLinkUser%04d", wxOpenIDSeq.Add(1))
	if _, err := e.wx.Follow(context.Background(), sandboxWXAppID, openid, ""); err != nil {
		t.Fatal(err)
	}
	return openid
}

// wxKefu waits for the n-th customer-service message to openid.
func (e *linkEnv) wxKefu(t *testing.T, openid string, n int) string {
	t.Helper()
	var texts []string
	wait.For(t, fmt.Sprintf("%d customer-service messages to %s", n, openid), func() bool {
		texts = texts[:0]
		for _, s := range e.wx.Sent(sandboxWXAppID, openid) {
			if s.Kind == "kefu" {
				texts = append(texts, s.Text)
			}
		}
		return len(texts) >= n
	})
	return texts[n-1]
}

func (e *linkEnv) wxSend(t *testing.T, openid, text string) wxfake.Delivery {
	t.Helper()
	d, err := e.wx.SendText(context.Background(), sandboxWXAppID, openid, text)
	if err != nil || !d.Acked {
		t.Fatalf("wechat push %q: %+v %v", text, d, err)
	}
	return d
}

func (e *linkEnv) dcDM(t *testing.T, u dcfake.User, text string) {
	t.Helper()
	if _, err := e.dc.SendDM(context.Background(), u, text); err != nil {
		t.Fatal(err)
	}
}

func (e *linkEnv) dcWait(t *testing.T, userID string, n int) string {
	t.Helper()
	var got []dcfake.Message
	wait.For(t, fmt.Sprintf("%d Discord messages to %s", n, userID), func() bool {
		got = e.dc.Sent(userID)
		return len(got) >= n
	})
	return got[n-1].Content
}

// conversationWith finds the one conversation whose contact has an identity
// with externalID.
func (e *linkEnv) conversationWith(t *testing.T, externalID string) apiConversation {
	t.Helper()
	var found []apiConversation
	for _, c := range e.api.conversations() {
		for _, i := range c.Contact.Identities {
			if i.ExternalID == externalID {
				found = append(found, c)
			}
		}
	}
	var active []apiConversation
	for _, c := range found {
		if c.Status != "resolved" {
			active = append(active, c)
		}
	}
	if len(active) != 1 {
		t.Fatalf("customer %s has %d active conversations (of %d)", externalID, len(active), len(found))
	}
	return active[0]
}

func channels(c apiConversation) string {
	var ch []string
	for _, i := range c.Contact.Identities {
		ch = append(ch, i.Channel)
	}
	return strings.Join(ch, ",")
}

func hasText(msgs []apiMessage, sub string) bool {
	for _, m := range msgs {
		if strings.Contains(m.Text, sub) {
			return true
		}
	}
	return false
}

func TestE2ELinkTelegramToWeChatByCodeAndRepliesFollow(t *testing.T) {
	e := startLinkSandbox(t)
	ana := tgfake.User{ID: 5101, FirstName: "Ana", Username: "ana_l", LanguageCode: "en"}
	e.tgFirst(t, ana, "My order #42 has not arrived")
	e.tgWrite(t, ana, "It was due on Monday")
	wait.For(t, "the conversation", func() bool { return len(e.api.conversations()) == 1 })

	offer := e.tgSay(t, ana, "/link")
	code := offerCode(t, offer)
	if !qrURLRx.MatchString(offer) || !strings.Contains(offer, "@"+dcfake.DefaultBotUsername) {
		t.Fatalf("the offer lacks the WeChat QR code or the Discord instruction:\n%s", offer)
	}
	conv := e.conversationWith(t, "5101")

	openid := e.wxUser(t)
	e.wxSend(t, openid, code)
	greeting := e.wxKefu(t, openid, 1)
	for _, want := range []string{"#" + conv.ID, "My order #42 has not arrived", "It was due on Monday", "open"} {
		if !strings.Contains(greeting, want) {
			t.Fatalf("greeting lacks %q:\n%s", want, greeting)
		}
	}

	// One contact, both identities, one active conversation with both sides.
	linked := e.conversationWith(t, openid)
	if linked.ID != conv.ID || channels(linked) != "telegram,wechat" {
		t.Fatalf("after linking: %+v", linked)
	}
	msgs := e.api.messages(conv.ID)
	if !hasText(msgs, "My order #42") || !hasText(msgs, code) || !hasText(msgs, "Continued on WeChat (via link code)") {
		t.Fatalf("timeline: %+v", msgs)
	}
	// The delivered offer keeps no usable code in the database.
	wait.For(t, "the offer to be masked", func() bool {
		for _, m := range e.api.messages(conv.ID) {
			if m.Kind == "link_offer" {
				return !strings.Contains(m.Text, code)
			}
		}
		return false
	})

	// Replies go where the customer is: WeChat, where they wrote last.
	e.api.json("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"text": "Found it: it ships today."}, nil)
	if got := e.wxKefu(t, openid, 2); got != "Found it: it ships today." {
		t.Fatalf("WeChat got %q", got)
	}
	// The customer writes on Telegram again: replies follow.
	e.tgWrite(t, ana, "thanks, and the invoice?")
	wait.For(t, "the Telegram message", func() bool { return hasText(e.api.messages(conv.ID), "the invoice?") })
	before := len(e.tg.Sent(ana.ID))
	e.api.json("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"text": "Invoice attached."}, nil)
	got, err := waitSent(e.tg, ana.ID, before+1)
	if err != nil || got[before].Text != "Invoice attached." {
		t.Fatalf("Telegram got %+v %v", got, err)
	}

	// The 48-hour window: WeChat is newest, but within two hours of closing
	// the reply moves to Telegram; via picks WeChat while it is open, and
	// fails cleanly once it has closed.
	e.wxSend(t, openid, "one more thing")
	wait.For(t, "the WeChat message", func() bool { return hasText(e.api.messages(conv.ID), "one more thing") })
	var detail struct {
		Contact struct {
			Identities []struct {
				ID         string     `json:"id"`
				Channel    string     `json:"channel"`
				ReplyUntil *time.Time `json:"reply_until"`
				Reachable  bool       `json:"reachable"`
			} `json:"identities"`
		} `json:"contact"`
	}
	e.api.json("GET", "/api/v1/conversations/"+conv.ID, nil, &detail)
	wxID := ""
	for _, i := range detail.Contact.Identities {
		switch i.Channel {
		case "wechat":
			wxID = i.ID
			if i.ReplyUntil == nil || !i.Reachable || i.ReplyUntil.Sub(e.clock.Now()) < 47*time.Hour {
				t.Fatalf("WeChat identity: %+v", i)
			}
		case "telegram":
			if i.ReplyUntil != nil || !i.Reachable {
				t.Fatalf("Telegram identity: %+v", i)
			}
		}
	}
	e.clock.Advance(46*time.Hour + 30*time.Minute)
	before = len(e.tg.Sent(ana.ID))
	var sent apiMessage
	e.api.json("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"text": "Closing soon on WeChat"}, &sent)
	if sent.Channel != "telegram" {
		t.Fatalf("a reply near the window's end went to %s", sent.Channel)
	}
	if _, err := waitSent(e.tg, ana.ID, before+1); err != nil {
		t.Fatal(err)
	}
	e.api.json("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"text": "via WeChat", "via": wxID}, &sent)
	if sent.Channel != "wechat" {
		t.Fatalf("via picked %s", sent.Channel)
	}
	// Delivered inside the window, before the clock moves past it.
	wait.For(t, "the reply via WeChat to be delivered", func() bool {
		for _, s := range e.wx.Sent(sandboxWXAppID, openid) {
			if s.Kind == "kefu" && s.Text == "via WeChat" {
				return true
			}
		}
		return false
	})
	e.clock.Advance(2 * time.Hour)
	code2, body := e.api.do("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"text": "too late", "via": wxID})
	if code2 != http.StatusBadRequest || !strings.Contains(string(body), "window closed") {
		t.Fatalf("via a closed window: %d %s", code2, body)
	}
}

func TestE2ELinkTelegramToWeChatByQRScan(t *testing.T) {
	e := startLinkSandbox(t)
	bo := tgfake.User{ID: 5201, FirstName: "Bo", LanguageCode: "en"}
	e.tgFirst(t, bo, "The app crashes when I pay")
	offer := e.tgSay(t, bo, "link")
	qr := qrURLRx.FindString(offer)
	if qr == "" {
		t.Fatalf("no QR code in the offer:\n%s", offer)
	}
	conv := e.conversationWith(t, "5201")

	// A new customer scans: WeChat sends subscribe with qrscene_, and the
	// greeting is the passive reply.
	openid := "oLinkScanner0001"
	d, err := e.wx.ScanQR(context.Background(), openid, qr)
	if err != nil || !d.Acked || d.Reply == nil {
		t.Fatalf("scan: %+v %v", d, err)
	}
	if !strings.Contains(d.Reply.Text, "The app crashes when I pay") || !strings.Contains(d.Reply.Text, "#"+conv.ID) {
		t.Fatalf("passive greeting:\n%s", d.Reply.Text)
	}
	linked := e.conversationWith(t, openid)
	if linked.ID != conv.ID || channels(linked) != "telegram,wechat" {
		t.Fatalf("after the scan: %+v", linked)
	}
	if !hasText(e.api.messages(conv.ID), "Continued on WeChat (via QR scan)") {
		t.Fatal("no system entry for the scan")
	}
	// The QR code works once.
	other := e.wxUser(t)
	d, err = e.wx.ScanQR(context.Background(), other, qr)
	if err != nil || d.Reply == nil || !strings.Contains(d.Reply.Text, "did not work") {
		t.Fatalf("second scan: %+v %v", d, err)
	}
	if c := e.conversationWith(t, openid); c.ID != conv.ID {
		t.Fatal("a used QR code changed the link")
	}
}

func TestE2ELinkWeChatToTelegramByDeepLink(t *testing.T) {
	e := startLinkSandbox(t)
	openid := e.wxUser(t)
	e.wxSend(t, openid, "我的发票开错了")
	e.wxKefu(t, openid, 1) // the bot's answer
	e.wxSend(t, openid, "绑定")
	offer := e.wxKefu(t, openid, 2)
	m := deepLinkRx.FindStringSubmatch(offer)
	if m == nil || !strings.Contains(offer, "验证码") {
		t.Fatalf("no Telegram deep link in the offer:\n%s", offer)
	}
	conv := e.conversationWith(t, openid)
	cy := tgfake.User{ID: 5301, FirstName: "Cy", LanguageCode: "zh-hans"}
	greeting := e.tgSay(t, cy, "/start "+m[1])
	if !strings.Contains(greeting, "我的发票开错了") || !strings.Contains(greeting, "#"+conv.ID) {
		t.Fatalf("greeting:\n%s", greeting)
	}
	if linked := e.conversationWith(t, "5301"); linked.ID != conv.ID || channels(linked) != "wechat,telegram" {
		t.Fatalf("after the deep link: %+v", linked)
	}
	if !hasText(e.api.messages(conv.ID), "Continued on Telegram (via deep link)") {
		t.Fatal("no system entry for the deep link")
	}
}

func TestE2ELinkTelegramToDiscordByCode(t *testing.T) {
	e := startLinkSandbox(t)
	dee := tgfake.User{ID: 5401, FirstName: "Dee", LanguageCode: "en"}
	e.tgFirst(t, dee, "I was charged twice")
	offer := e.tgSay(t, dee, "/link")
	code := offerCode(t, offer)
	conv := e.conversationWith(t, "5401")
	du := dcfake.User{ID: "900000000000005401", Username: "dee"}
	e.dcDM(t, du, strings.ToLower(code)) // typed in lower case
	greeting := e.dcWait(t, du.ID, 1)
	if !strings.Contains(greeting, "I was charged twice") || !strings.Contains(greeting, "#"+conv.ID) {
		t.Fatalf("greeting:\n%s", greeting)
	}
	if linked := e.conversationWith(t, du.ID); linked.ID != conv.ID || channels(linked) != "telegram,discord" {
		t.Fatalf("after linking: %+v", linked)
	}
	// The agent's assignment is pushed to the customer on the channel they
	// used last (Discord), and shows in the next greeting.
	e.api.json("POST", "/api/v1/conversations/"+conv.ID+"/assign", map[string]any{"assignee": "Mei", "team": "Billing"}, nil)
	mustContain(t, "the assignment push", e.dcWait(t, du.ID, 2), "Mei is on it (ticket #"+conv.ID+")")
	offer = e.tgSay(t, dee, "/link")
	openid := e.wxUser(t)
	e.wxSend(t, openid, offerCode(t, offer))
	if g := e.wxKefu(t, openid, 1); !strings.Contains(g, "Mei") || !strings.Contains(g, "Billing") {
		t.Fatalf("greeting without the assignee:\n%s", g)
	}
}

func TestE2ELinkExpiredReusedAndGuessedCodesFail(t *testing.T) {
	e := startLinkSandbox(t)
	fay := tgfake.User{ID: 5501, FirstName: "Fay", LanguageCode: "en"}
	e.tgFirst(t, fay, "Where is my refund?")
	code := offerCode(t, e.tgSay(t, fay, "/link"))
	conv := e.conversationWith(t, "5501")

	first := e.wxUser(t)
	e.wxSend(t, first, code)
	e.wxKefu(t, first, 1)

	// Reused: another customer sends the same code.
	intruder := e.wxUser(t)
	e.wxSend(t, intruder, code)
	if got := e.wxKefu(t, intruder, 1); !strings.Contains(got, "did not work") || !strings.Contains(got, "4") {
		t.Fatalf("reused code answer:\n%s", got)
	}
	// Expired: 16 minutes later.
	code2 := offerCode(t, e.tgSay(t, fay, "/link"))
	e.clock.Advance(16 * time.Minute)
	e.wxSend(t, intruder, code2)
	if got := e.wxKefu(t, intruder, 2); !strings.Contains(got, "did not work") {
		t.Fatalf("expired code answer:\n%s", got)
	}
	// Guessed: three more wrong codes make five; the sixth attempt is
	// refused without being checked, even with a valid code.
	for i, guess := range []string{"ABCD2345", "QWER6789", "ZXCV2233"} {
		e.wxSend(t, intruder, guess)
		e.wxKefu(t, intruder, 3+i)
	}
	code3 := offerCode(t, e.tgSay(t, fay, "/link"))
	e.wxSend(t, intruder, code3)
	if got := e.wxKefu(t, intruder, 6); !strings.Contains(got, "Too many wrong link codes") {
		t.Fatalf("sixth attempt answer:\n%s", got)
	}
	// Nothing was linked to the intruder.
	if c := e.conversationWith(t, intruder); c.ID == conv.ID || channels(c) != "wechat" {
		t.Fatalf("the intruder was linked: %+v", c)
	}
	if c := e.conversationWith(t, first); c.ID != conv.ID {
		t.Fatal("the rightful link changed")
	}
	// Ordinary 8-letter words are not attempts: "PURCHASE" gets no link
	// code answer but the bot's (never silence: a human will answer).
	e.wxSend(t, intruder, "PURCHASE")
	if got := e.wxKefu(t, intruder, 7); strings.Contains(got, "did not work") || strings.Contains(got, "Too many") {
		t.Fatalf("\"PURCHASE\" was answered as a code:\n%s", got)
	}
}

// apiState is what an exact undo must restore, read through the API.
type apiState struct {
	Conversations map[string]string
	Messages      map[string]string
}

func (e *linkEnv) state(t *testing.T) apiState {
	t.Helper()
	st := apiState{Conversations: map[string]string{}, Messages: map[string]string{}}
	for _, c := range e.api.conversations() {
		st.Conversations[c.ID] = c.Status + " contact=" + c.Contact.ID + " channels=" + channels(c)
		for _, m := range e.api.messages(c.ID) {
			st.Messages[m.ID] = c.ID
		}
	}
	return st
}

func TestE2EMergeUndoUnlinkAndSuggestions(t *testing.T) {
	e := startLinkSandbox(t)
	eve := tgfake.User{ID: 5601, FirstName: "Eve", LanguageCode: "en"}
	e.tgFirst(t, eve, "Password reset does not work")
	du := dcfake.User{ID: "900000000000005601", Username: "eve"}
	e.dcDM(t, du, "still locked out, this is Eve from Telegram")
	e.dcWait(t, du.ID, 1) // the bot's answer
	wait.For(t, "two conversations", func() bool { return len(e.api.conversations()) == 2 })
	a, b := e.conversationWith(t, "5601"), e.conversationWith(t, du.ID)
	before := e.state(t)

	var merge struct {
		ID            string   `json:"id"`
		ContactID     string   `json:"contact_id"`
		FromContactID string   `json:"from_contact_id"`
		Method        string   `json:"method"`
		By            string   `json:"by"`
		IdentityIDs   []string `json:"identity_ids"`
		MovedMessages int      `json:"moved_messages"`
		UndoneAt      *string  `json:"undone_at"`
		Contact       struct {
			Identities []struct{ ID, Channel string } `json:"identities"`
		} `json:"contact"`
	}
	e.api.json("POST", "/api/v1/contacts/"+a.Contact.ID+"/merge", map[string]string{"from": b.Contact.ID}, &merge)
	if merge.Method != "agent" || merge.By != sandboxAdminName || merge.MovedMessages == 0 || len(merge.Contact.Identities) != 2 {
		t.Fatalf("merge: %+v", merge)
	}
	merged := e.conversationWith(t, du.ID)
	if merged.ID != a.ID || !hasText(e.api.messages(a.ID), "still locked out") {
		t.Fatalf("after merge: %+v", merged)
	}
	var old apiConversation
	e.api.json("GET", "/api/v1/conversations/"+b.ID, nil, &old)
	if old.Status != "resolved" {
		t.Fatalf("the emptied conversation is %s", old.Status)
	}

	e.api.json("POST", "/api/v1/merges/"+merge.ID+"/undo", nil, &merge)
	if merge.UndoneAt == nil {
		t.Fatalf("undo: %+v", merge)
	}
	if after := e.state(t); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("undo did not restore the prior state:\n got %v\nwant %v", after, before)
	}
	if code, body := e.api.do("POST", "/api/v1/merges/"+merge.ID+"/undo", nil); code != http.StatusConflict {
		t.Fatalf("second undo: %d %s", code, body)
	}

	// Unlink: merge again, then split the Discord identity off.
	e.api.json("POST", "/api/v1/contacts/"+a.Contact.ID+"/merge", map[string]string{"from": b.Contact.ID}, &merge)
	dcIdentity := ""
	for _, i := range merge.Contact.Identities {
		if i.Channel == "discord" {
			dcIdentity = i.ID
		}
	}
	var split struct {
		ID         string `json:"id"`
		Identities []struct {
			ID string `json:"id"`
		} `json:"identities"`
	}
	e.api.json("POST", "/api/v1/identities/"+dcIdentity+"/unlink", nil, &split)
	if split.ID == a.Contact.ID || len(split.Identities) != 1 || split.Identities[0].ID != dcIdentity {
		t.Fatalf("unlink: %+v", split)
	}
	if code, _ := e.api.do("POST", "/api/v1/identities/"+dcIdentity+"/unlink", nil); code != http.StatusConflict {
		t.Fatalf("unlinking a lone identity: %d", code)
	}

	// Suggestions: a verified phone shared on Telegram by two accounts.
	share := func(u tgfake.User) {
		if _, err := e.tg.SendMessage(context.Background(), u, tgfake.Message{Contact: &tgfake.Contact{
			PhoneNumber: "+8613900000001", FirstName: u.FirstName, UserID: u.ID}}); err != nil {
			t.Fatal(err)
		}
	}
	eve2 := tgfake.User{ID: 5602, FirstName: "Eve (work)"}
	share(eve)
	share(eve2)
	var sugg struct {
		Suggestions []struct {
			Contact struct{ ID string } `json:"contact"`
			Reasons []string            `json:"reasons"`
		} `json:"suggestions"`
	}
	wait.For(t, "the suggestion", func() bool {
		e.api.json("GET", "/api/v1/contacts/"+a.Contact.ID+"/suggestions", nil, &sugg)
		return len(sugg.Suggestions) == 1
	})
	if sugg.Suggestions[0].Reasons[0] != "verified_phone" || sugg.Suggestions[0].Contact.ID == a.Contact.ID {
		t.Fatalf("suggestions: %+v", sugg)
	}
	if c := e.conversationWith(t, "5602"); c.Contact.ID == a.Contact.ID {
		t.Fatal("a suggestion must never merge by itself")
	}

	// Every new route needs a token.
	anon := &client{t: t, base: e.sb.Main.URL()}
	for _, r := range [][2]string{{"POST", "/api/v1/contacts/1/merge"}, {"GET", "/api/v1/contacts/1/suggestions"},
		{"POST", "/api/v1/merges/1/undo"}, {"POST", "/api/v1/identities/1/unlink"}} {
		if code, _ := anon.do(r[0], r[1], map[string]string{"from": "2"}); code != http.StatusUnauthorized {
			t.Errorf("%s %s without a token: %d", r[0], r[1], code)
		}
	}
}

func TestE2ELinkReminderBeforeTheWeChatWindowCloses(t *testing.T) {
	e := startLinkSandbox(t)
	openid := e.wxUser(t)
	e.wxSend(t, openid, "Can I change my delivery address?")
	wait.For(t, "the conversation", func() bool { return len(e.api.conversations()) == 1 })
	e.wxKefu(t, openid, 1) // the bot's answer
	ctx := context.Background()
	if n, err := e.sb.Main.Inbox.SendReminders(ctx); err != nil || n != 0 {
		t.Fatalf("early reminders: %d %v", n, err)
	}
	e.clock.Advance(46*time.Hour + 30*time.Minute)
	if n, err := e.sb.Main.Inbox.SendReminders(ctx); err != nil || n != 1 {
		t.Fatalf("reminders: %d %v", n, err)
	}
	offer := e.wxKefu(t, openid, 2)
	if !deepLinkRx.MatchString(offer) || !strings.Contains(offer, "1h30m") {
		t.Fatalf("reminder:\n%s", offer)
	}
	// Once per window.
	if n, err := e.sb.Main.Inbox.SendReminders(ctx); err != nil || n != 0 {
		t.Fatalf("second pass: %d %v", n, err)
	}
}
