package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/tongdao/hub/internal/wait"
	"github.com/tongdao/hub/sandbox/dcfake"
	"github.com/tongdao/hub/sandbox/tgfake"
)

// The agent console in a real browser (Debian's chromium, headless, driven
// with chromedp) against the real hub and its stand-ins.
//
// Without chromium the tests skip, except where a browser is required: under
// CI=true or TONGDAO_REQUIRE_BROWSER=1 (scripts/test.sh installs chromium and
// sets it), a missing browser fails them. On failure each test writes a
// screenshot to $TONGDAO_ARTIFACTS (default: a new temporary directory) and
// logs its path. TONGDAO_README_SCREENSHOTS=1 writes the README's picture of
// the inbox, docs/img/inbox.png.

// chromiumOrSkip returns the browser to drive.
func chromiumOrSkip(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("TONGDAO_CHROMIUM"), "/usr/bin/chromium"} {
		if p == "" {
			continue
		}
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") == "true" || os.Getenv("TONGDAO_REQUIRE_BROWSER") == "1" {
		t.Fatal("chromium is required (CI=true or TONGDAO_REQUIRE_BROWSER=1) but not installed: apt-get install chromium")
	}
	t.Skip("chromium is not installed (apt-get install chromium)")
	return ""
}

// browser is one headless chromium with a fresh profile, showing one tab.
type browser struct {
	t   *testing.T
	ctx context.Context
}

// startBrowser starts chromium with a viewport of width × height.
func startBrowser(t *testing.T, width, height int) *browser {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumOrSkip(t)),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(width, height),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelCtx()
		cancelAlloc()
	})
	b := &browser{t: t, ctx: ctx}
	// The first action starts the browser, which lives as long as the
	// context of that call: no timeout on it.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(int64(width), int64(height))); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	// Runs before the browser closes (cleanups run last-in first-out).
	t.Cleanup(func() {
		if t.Failed() {
			b.screenshot(failureShot(t))
		}
	})
	return b
}

// failureShot is where a failing test's screenshot goes.
func failureShot(t *testing.T) string {
	dir := os.Getenv("TONGDAO_ARTIFACTS")
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "tongdao-console-"); err != nil {
			t.Logf("no directory for the failure screenshot: %v", err)
			return ""
		}
	}
	return filepath.Join(dir, strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())+".png")
}

// screenshot writes the page as a PNG file.
func (b *browser) screenshot(path string) {
	if path == "" {
		return
	}
	ctx, cancel := context.WithTimeout(b.ctx, wait.Timeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("screenshot: %v", err)
		return
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		b.t.Logf("screenshot: %v", err)
		return
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Logf("screenshot: %v", err)
		return
	}
	b.t.Logf("screenshot written to %s", path)
}

// run performs actions, failing the test when they fail or take longer
// than wait.Timeout.
func (b *browser) run(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, wait.Timeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// eval evaluates a JavaScript expression into out.
func (b *browser) eval(expr string, out any) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, wait.Timeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[json.RawMessage](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	if out == nil {
		return
	}
	if err := json.Unmarshal(v, out); err != nil {
		b.t.Fatalf("evaluate %s: %s: %v", expr, v, err)
	}
}

// text is the text of the first element matching a CSS selector ("" when
// there is none).
func (b *browser) text(sel string) string {
	b.t.Helper()
	var s string
	b.eval(fmt.Sprintf(`(document.querySelector(%q) || {}).textContent || ''`, sel), &s)
	return s
}

// waitFor polls a JavaScript condition until it holds, for at most
// wait.Timeout; what says what the test waits for, and a failure shows got
// (an expression) as it was last.
func (b *browser) waitFor(what, cond, got string) {
	b.t.Helper()
	deadline := time.Now().Add(wait.Timeout)
	for {
		var ok bool
		b.eval(cond, &ok)
		if ok {
			return
		}
		if time.Now().After(deadline) {
			last := "(not read)"
			if got != "" {
				b.eval(got, &last)
			}
			b.t.Fatalf("timed out after %v waiting for %s; last seen: %s", wait.Timeout, what, last)
		}
		time.Sleep(20 * time.Millisecond) // the pause between two polls
	}
}

// click clicks the element matching sel inside the page, in one step: a
// row the live updates re-render between a lookup and a click (as
// chromedp.Click does them) would be a node gone.
func (b *browser) click(what, sel string) {
	b.t.Helper()
	b.waitFor(what, fmt.Sprintf(`(() => { const el = document.querySelector(%q); if (!el) return false; el.click(); return true; })()`, sel), "")
}

// waitText waits until the element matching sel contains every one of subs.
func (b *browser) waitText(sel string, subs ...string) {
	b.t.Helper()
	js, _ := json.Marshal(subs)
	b.waitFor(fmt.Sprintf("%s to show %q", sel, subs),
		fmt.Sprintf(`(() => { const el = document.querySelector(%q); if (!el) return false; const t = el.textContent; return %s.every((s) => t.includes(s)); })()`, sel, js),
		fmt.Sprintf(`(document.querySelector(%q) || {}).textContent || '(none)'`, sel))
}

// waitCounts waits until the console shows the work queues' counts the hub
// gives (both read again on each poll, the bot's work going on meanwhile)
// and returns them.
func (b *browser) waitCounts(e *linkEnv, token string) string {
	b.t.Helper()
	deadline := time.Now().Add(wait.Timeout)
	for {
		var shown string
		b.eval(viewCountsJS, &shown)
		want := e.viewCounts(b.t, token)
		if shown == want {
			return want
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("timed out after %v waiting for the console's counts %q to be the hub's %q", wait.Timeout, shown, want)
		}
		time.Sleep(20 * time.Millisecond) // the pause between two polls
	}
}

// press sends one key to the page, outside any text field. A send in
// flight would put the focus back into the reply box when it ends: it ends
// first.
func (b *browser) press(key string) {
	b.t.Helper()
	b.waitFor("no reply being sent", `!document.getElementById('reply-send').disabled`, "")
	b.run("press "+key,
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Evaluate[bool](`document.activeElement && document.activeElement.blur(), true`)(ctx, tg)
			return err
		}),
		chromedp.KeyEvent(key))
}

// viewCounts reads the work queues' tabs: "mine=0 unassigned=2 ...".
const viewCountsJS = `[...document.querySelectorAll('.view-tab')].map((t) => t.dataset.view + '=' + t.querySelector('.view-count').textContent).join(' ')`

// noteModeJS describes the composer's note mode as the agent sees it.
const noteModeJS = `[document.getElementById('reply-private').checked, document.getElementById('reply-form').classList.contains('reply-private'),
	!document.getElementById('reply-note-warning').hidden, document.getElementById('reply-send').textContent].join(',')`

const noteOff = "false,false,false,Send"
const noteOn = "true,true,true,Add private note"

func rowSel(id string) string { return `.conv-row[data-id="` + id + `"]` }

// consoleAgent creates an agent token for the console.
func consoleAgent(t *testing.T, e *linkEnv, name string) string {
	t.Helper()
	tok, _, err := e.sb.Main.Store.CreateToken(context.Background(), name, "agent")
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// consoleConversation is what the test checks of a conversation.
type consoleConversation struct {
	ID       string  `json:"id"`
	Status   string  `json:"status"`
	Assignee *string `json:"assignee"`
}

func (e *linkEnv) consoleConversation(t *testing.T, id string) consoleConversation {
	t.Helper()
	var c consoleConversation
	e.api.json("GET", "/api/v1/conversations/"+id, nil, &c)
	return c
}

func TestE2EConsoleAgentWorksTheQueueInABrowser(t *testing.T) {
	e := startLinkSandbox(t)
	e.setClock("2026-12-02 10:00") // a Wednesday, agents in
	b := startBrowser(t, 1280, 800)

	// Three customers: one the bot cannot help (asked for a human), one it
	// answered, one who opened with /start before saying anything.
	cat := tgfake.User{ID: 7301, FirstName: "Ana", LastName: "Li", LanguageCode: "en"}
	e.tgSay(t, cat, "my cat chewed through the router cable")
	catConv := e.conversationWith(t, "7301").ID
	refund := tgfake.User{ID: 7302, FirstName: "Bruno", LanguageCode: "en"}
	e.tgSay(t, refund, "How do I get a refund?")
	refundConv := e.conversationWith(t, "7302").ID
	starter := tgfake.User{ID: 7303, FirstName: "Chen", LanguageCode: "en"}
	e.tgSay(t, starter, "/start")
	e.tgSay(t, starter, "I was charged twice for order 1881")
	starterConv := e.conversationWith(t, "7303").ID

	tok := consoleAgent(t, e, "ana")
	b.run("open the console", chromedp.Navigate(e.sb.Main.URL()+"/#token="+tok))

	// Sign in, views and counts: ana has no assignment, so "Unassigned".
	if got := b.waitCounts(e, tok); !strings.HasPrefix(got, "mine=0 unassigned=3 ") || !strings.HasSuffix(got, " all=3") {
		t.Fatalf("the hub counts %s", got)
	}
	b.waitText(".view-tab.active", "Unassigned")
	b.waitText(rowSel(starterConv), "#"+starterConv, "I was charged twice for order 1881")
	if row := b.text(rowSel(starterConv)); strings.Contains(row, "/start") {
		t.Fatalf("the row shows the command as its subject: %s", row)
	}
	b.waitText(rowSel(catConv), "#"+catConv, "my cat chewed through the router cable", "asked for a human", "→ Bot:")
	var hash string
	b.eval(`location.hash`, &hash)
	if hash != "" {
		t.Fatalf("the token stayed in the address bar: %q", hash)
	}
	// The "Asked for a human" view holds the one the bot could not help,
	// never the one it answered.
	human := e.viewIDs(t, tok, "human")
	if !slices.Contains(human, catConv) || slices.Contains(human, refundConv) {
		t.Fatalf("the hub's human view holds %v", human)
	}
	b.click("open the human view", `.view-tab[data-view="human"]`)
	b.waitText(".view-tab.active", "Asked for a human")
	b.waitFor("the rows of the human view", rowIDsJS+` === `+fmt.Sprintf("%q", strings.Join(human, ",")), rowIDsJS)

	b.click("open the all view", `.view-tab[data-view="all"]`)
	b.waitText(rowSel(starterConv), "#"+starterConv)

	// Open a conversation: the ticket number and the real subject head it.
	b.click("open the cat conversation", rowSel(catConv))
	b.waitText("#conv-ticket", "#"+catConv)
	b.waitText("#conv-subject", "my cat chewed through the router cable")
	b.waitText("#timeline", "my cat chewed through the router cable", "Your ticket is #"+catConv)

	// A private note: unmistakable while on, off again after it is sent.
	b.run("turn note mode on", chromedp.Click(chromedp.ID("reply-private")))
	b.waitFor("note mode on", noteModeJS+` === `+fmt.Sprintf("%q", noteOn), noteModeJS)
	b.run("write a note", chromedp.SendKeys(chromedp.ID("reply-text"), "customer has a cat; offer the armoured cable"),
		chromedp.Click(chromedp.ID("reply-send")))
	b.waitText("#timeline", "customer has a cat; offer the armoured cable", "Private note")
	b.waitFor("note mode off after the send", noteModeJS+` === `+fmt.Sprintf("%q", noteOff), noteModeJS)
	// On again, then another conversation: off.
	b.run("turn note mode on", chromedp.Click(chromedp.ID("reply-private")))
	b.waitFor("note mode on", noteModeJS+` === `+fmt.Sprintf("%q", noteOn), noteModeJS)
	b.click("switch conversations", rowSel(starterConv))
	b.waitText("#conv-ticket", "#"+starterConv)
	b.waitFor("note mode off after the switch", noteModeJS+` === `+fmt.Sprintf("%q", noteOff), noteModeJS)
	b.click("back to the cat conversation", rowSel(catConv))
	b.waitText("#conv-ticket", "#"+catConv)

	// Reply: the customer's phone gets it.
	before := len(e.tg.Sent(cat.ID))
	b.run("reply", chromedp.SendKeys(chromedp.ID("reply-text"), "Sorry! A new cable ships today."),
		chromedp.Click(chromedp.ID("reply-send")))
	sent, err := waitSent(e.tg, cat.ID, before+1)
	if err != nil || sent[len(sent)-1].Text != "Sorry! A new cable ships today." {
		t.Fatalf("the reply did not reach the customer: %v %+v", err, sent)
	}
	for _, m := range sent[before:] {
		if strings.Contains(m.Text, "armoured cable") {
			t.Fatal("the private note reached the customer")
		}
	}
	b.waitText("#timeline", "Sorry! A new cable ships today.")

	// Assign to me with "a": "Mine" counts it at once (live).
	b.press("a")
	wait.For(t, "the conversation assigned to ana", func() bool {
		c := e.consoleConversation(t, catConv)
		return c.Assignee != nil && *c.Assignee == "ana"
	})
	b.waitFor("mine=1 in the counts", viewCountsJS+`.startsWith('mine=1 ')`, viewCountsJS)

	// Live: the customer writes again; the open timeline and the row show it
	// without a reload.
	b.eval(`window.__noReload = true`, nil)
	e.tgWrite(t, cat, "thanks, is it the long one?")
	b.waitText("#timeline", "thanks, is it the long one?")
	b.waitText(rowSel(catConv), "← Customer: thanks, is it the long one?")
	// And a new customer appears in the list by themselves.
	b.click("back to the unassigned view", `.view-tab[data-view="unassigned"]`)
	newcomer := tgfake.User{ID: 7304, FirstName: "Dara", LanguageCode: "en"}
	e.tgSay(t, newcomer, "the app logs me out every five minutes")
	newConv := e.conversationWith(t, "7304").ID
	b.waitText(rowSel(newConv), "#"+newConv, "the app logs me out every five minutes")
	// The counts follow without a reload.
	if got := b.waitCounts(e, tok); !strings.HasPrefix(got, "mine=1 unassigned=3 ") {
		t.Fatalf("the hub counts %s", got)
	}
	var still bool
	b.eval(`window.__noReload === true`, &still)
	if !still {
		t.Fatal("the page reloaded")
	}
	// Every conversation, the cat one open (the README's picture).
	b.click("open the all view", `.view-tab[data-view="all"]`)
	b.waitText(rowSel(newConv), "#"+newConv)
	b.click("open the cat conversation", rowSel(catConv))
	b.waitText("#timeline", "thanks, is it the long one?")
	if os.Getenv("TONGDAO_README_SCREENSHOTS") == "1" {
		b.screenshot(filepath.Join("..", "..", "docs", "img", "inbox.png"))
	}

	// Resolve with "e".
	b.waitText("#conv-ticket", "#"+catConv)
	b.press("e")
	wait.For(t, "the conversation resolved", func() bool { return e.consoleConversation(t, catConv).Status == "resolved" })
	b.waitFor("the Resolved button pressed", `document.querySelector('.seg-btn[data-status="resolved"]').classList.contains('active')`, "")
	b.waitFor("mine=0 again", viewCountsJS+`.startsWith('mine=0 ')`, viewCountsJS)

	// "?" lists the shortcuts.
	b.press("?")
	b.waitText("#shortcuts", "Keyboard shortcuts", "Assign to me", "Resolve the conversation")
}

// rowIDsJS lists the ids of the rows shown, in order.
const rowIDsJS = `[...document.querySelectorAll('.conv-row')].map((r) => r.dataset.id).join(',')`

// viewIDs asks the hub which conversations a work queue holds, as an agent
// sees them, in the list's order.
func (e *linkEnv) viewIDs(t *testing.T, token, view string) []string {
	t.Helper()
	var page struct {
		Conversations []struct {
			ID string `json:"id"`
		} `json:"conversations"`
	}
	(&client{t: t, base: e.sb.Main.URL(), token: token}).json("GET", "/api/v1/conversations?view="+view, nil, &page)
	var ids []string
	for _, c := range page.Conversations {
		ids = append(ids, c.ID)
	}
	return ids
}

// viewCounts asks the hub for the work queues' sizes as an agent sees them:
// "mine=0 unassigned=2 ...".
func (e *linkEnv) viewCounts(t *testing.T, token string) string {
	t.Helper()
	var v struct {
		Views []struct {
			ID    string `json:"id"`
			Count int    `json:"count"`
		} `json:"views"`
	}
	(&client{t: t, base: e.sb.Main.URL(), token: token}).json("GET", "/api/v1/views", nil, &v)
	var parts []string
	for _, c := range v.Views {
		parts = append(parts, fmt.Sprintf("%s=%d", c.ID, c.Count))
	}
	return strings.Join(parts, " ")
}

func TestE2EConsoleNarrowScreenKeepsContactCardsOffTheTimeline(t *testing.T) {
	e := startLinkSandbox(t)
	e.setClock("2026-12-02 10:00")
	b := startBrowser(t, 390, 844)
	u := tgfake.User{ID: 7401, FirstName: "Eva", LanguageCode: "en"}
	e.tgSay(t, u, "my parcel shows delivered but it is not here")
	tgConv := e.conversationWith(t, "7401")
	conv := tgConv.ID
	// The same customer on WeChat and Discord, merged into one contact: three
	// identity cards above the timeline.
	openid := e.wxUser(t)
	e.wxSend(t, openid, "it is Eva again, from WeChat")
	e.dcDM(t, dcfake.User{ID: "900000000000007401", Username: "eva"}, "and from Discord")
	for _, other := range []string{openid, "900000000000007401"} {
		var from apiConversation
		wait.For(t, "the conversation of "+other, func() bool {
			for _, c := range e.api.conversations() {
				for _, i := range c.Contact.Identities {
					if i.ExternalID == other {
						from = c
						return true
					}
				}
			}
			return false
		})
		e.api.json("POST", "/api/v1/contacts/"+tgConv.Contact.ID+"/merge", map[string]string{"from": from.Contact.ID}, nil)
	}
	if n := len(e.api.conversation(conv).Contact.Identities); n != 3 {
		t.Fatalf("the merged contact has %d identities, want 3", n)
	}
	tok := consoleAgent(t, e, "bo")
	b.run("open the conversation", chromedp.Navigate(e.sb.Main.URL()+"/c/"+conv+"#token="+tok))
	b.waitText("#timeline", "my parcel shows delivered but it is not here")
	// The inbox list is hidden on a phone while a conversation is open.
	var listShown bool
	b.eval(`getComputedStyle(document.getElementById('inbox')).display !== 'none'`, &listShown)
	if listShown {
		t.Fatal("the inbox list shares a 390 px screen with the conversation")
	}
	b.eval(`document.getElementById('timeline').scrollTop = 0, true`, nil)
	var geo struct {
		CardBottom, FirstTop, TimelineTop, ReplyTop, ViewportWidth, PageWidth float64
	}
	b.eval(`(() => {
		const card = document.getElementById('identities').getBoundingClientRect();
		const first = document.querySelector('#timeline .msg').getBoundingClientRect();
		return { CardBottom: card.bottom, FirstTop: first.top,
			TimelineTop: document.getElementById('timeline').getBoundingClientRect().top,
			ReplyTop: document.getElementById('reply-form').getBoundingClientRect().top,
			ViewportWidth: window.innerWidth, PageWidth: document.documentElement.scrollWidth };
	})()`, &geo)
	if geo.CardBottom > geo.TimelineTop || geo.CardBottom > geo.FirstTop {
		t.Fatalf("the contact cards overlap the timeline: card bottom %v, timeline top %v, first message top %v", geo.CardBottom, geo.TimelineTop, geo.FirstTop)
	}
	if geo.FirstTop >= geo.ReplyTop {
		t.Fatalf("no room for the first message: it starts at %v, the reply box at %v", geo.FirstTop, geo.ReplyTop)
	}
	if geo.PageWidth > geo.ViewportWidth {
		t.Fatalf("the page is %v px wide on a %v px screen", geo.PageWidth, geo.ViewportWidth)
	}
	// The assign list opens within the screen.
	b.run("open the assign list", chromedp.Click(chromedp.ID("assign-input")))
	b.waitText("#assign-picker", "Team billing")
	var list struct{ Left, Right, ViewportWidth, PageWidth float64 }
	b.eval(`(() => {
		const r = document.getElementById('assign-picker').getBoundingClientRect();
		return { Left: r.left, Right: r.right, ViewportWidth: window.innerWidth, PageWidth: document.documentElement.scrollWidth };
	})()`, &list)
	if list.Left < 0 || list.Right > list.ViewportWidth || list.PageWidth > list.ViewportWidth {
		t.Fatalf("the assign list runs off a %v px screen: %+v", list.ViewportWidth, list)
	}
	b.run("close the assign list", chromedp.KeyEvent(kb.Escape))
	// Back to the list, then into the conversation again with the keyboard.
	b.run("back", chromedp.Click(chromedp.ID("back")))
	b.waitText(rowSel(conv), "#"+conv)
	b.press("j")
	b.waitText("#conv-ticket", "#"+conv)
}
