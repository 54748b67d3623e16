package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/tongdao/hub/internal/wait"
	"github.com/tongdao/hub/models"
	"github.com/tongdao/hub/sandbox/dcfake"
	"github.com/tongdao/hub/sandbox/tgfake"
)

// The console's work tools in a real browser against the real hub: canned
// replies by "/", the assign picker, labels, the rating, SLA clocks and
// unread marks in the rows; and the reports page drawn from the hub's
// numbers. TONGDAO_README_SCREENSHOTS=1 writes docs/img/reports.png.

// workConversation is what these tests check of a conversation.
type workConversation struct {
	Assignee *string  `json:"assignee"`
	Team     *string  `json:"team"`
	Labels   []string `json:"labels"`
	Priority string   `json:"priority"`
}

func (e *linkEnv) workConversation(t *testing.T, id string) workConversation {
	t.Helper()
	var c workConversation
	e.api.json("GET", "/api/v1/conversations/"+id, nil, &c)
	return c
}

// typeKeys types into the element with id, as the agent would.
func (b *browser) typeKeys(id, keys string) {
	b.t.Helper()
	b.run("type into #"+id, chromedp.SendKeys(chromedp.ID(id), keys))
}

// enter presses Enter in the element with id as a keyboard does: one
// keyDown that carries the text, so that a handler's preventDefault keeps
// the line break out (chromedp.SendKeys sends the character as an event of
// its own, which no handler can stop).
func (b *browser) enter(id string) {
	b.t.Helper()
	b.run("Enter in #"+id,
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Evaluate[bool](fmt.Sprintf(`document.getElementById(%q).focus(), true`, id))(ctx, tg)
			return err
		}),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			key := input.DispatchKeyEventParams{Type: input.DispatchKeyEventTypeKeyDown, Key: "Enter", Code: "Enter",
				WindowsVirtualKeyCode: 13, NativeVirtualKeyCode: 13, Text: "\r", UnmodifiedText: "\r"}
			if _, err := cdp.Call(ctx, tg, input.DispatchKeyEvent, key); err != nil {
				return err
			}
			key.Type, key.Text, key.UnmodifiedText = input.DispatchKeyEventTypeKeyUp, "", ""
			_, err := cdp.Call(ctx, tg, input.DispatchKeyEvent, key)
			return err
		}))
}

func TestE2EConsoleCannedAssignLabelsSLAAndUnreadInABrowser(t *testing.T) {
	e := startLinkSandbox(t)
	e.setClock("2026-12-02 10:00") // a Wednesday, agents in
	b := startBrowser(t, 1280, 860)
	ctx := context.Background()

	var canned models.CannedView
	e.api.json("POST", "/api/v1/canned", map[string]string{"shortcut": "cable", "text": "Hi {name}, {agent} here: a new cable for {ticket} ships today."}, &canned)
	e.api.json("POST", "/api/v1/canned", map[string]string{"shortcut": "thanks", "text": "Thank you for your patience!"}, nil)
	cat := tgfake.User{ID: 7501, FirstName: "Ana", LastName: "Li", LanguageCode: "en"}
	e.tgSay(t, cat, "my cat chewed through the router cable")
	catConv := e.conversationWith(t, "7501").ID
	fraud := tgfake.User{ID: 7502, FirstName: "Fei", LanguageCode: "en"}
	e.tgSay(t, fraud, "my card is frozen, I think it is fraud")
	fraudConv := e.conversationWith(t, "7502").ID
	// Routing is its own reaction, after the bot's answer: wait for it.
	waitRouted(t, e.api, fraudConv, "risk", "urgent", "fraud")
	tok := consoleAgent(t, e, "ana")
	consoleAgent(t, e, "bo") // an agent who is not signed in: offline

	b.run("open the cat conversation", chromedp.Navigate(e.sb.Main.URL()+"/c/"+catConv+"#token="+tok))
	b.waitText("#timeline", "my cat chewed through the router cable")

	// SLA clocks: the urgent conversation's row shows one.
	b.waitFor("an SLA clock on the fraud row", fmt.Sprintf(`!!document.querySelector(%q)`, rowSel(fraudConv)+" .sla"), "")
	b.waitText(rowSel(fraudConv), "urgent")

	// Canned reply: "/cab", Enter picks, Enter sends; the hub fills it.
	b.typeKeys("reply-text", "/cab")
	b.waitText("#canned-picker", "/cable", "{ticket} ships today")
	b.enter("reply-text")
	want := "Hi Ana Li, ana here: a new cable for #" + catConv + " ships today."
	b.waitFor("the picked reply in the box", `document.getElementById('reply-text').value === `+fmt.Sprintf("%q", want), `JSON.stringify(document.getElementById('reply-text').value)`)
	b.waitText("#canned-tag", "Canned reply /cable")
	before := len(e.tg.Sent(cat.ID))
	b.enter("reply-text")
	sent, err := waitSent(e.tg, cat.ID, before+1)
	if err != nil || sent[len(sent)-1].Text != want {
		t.Fatalf("the canned reply did not reach the customer as shown: %v %+v", err, sent)
	}
	var posted []apiMessage
	wait.For(t, "the canned reply in the timeline", func() bool {
		posted = e.api.messages(catConv)
		return hasText(posted, want)
	})
	b.waitText("#timeline", want)

	// Assign picker: agents with presence and load, teams; arrows and Enter.
	b.run("open the assign picker", chromedp.Click(chromedp.ID("assign-input")))
	b.waitText("#assign-picker", "ana · online · 0/5 open", "bo · offline · 0/5 open", "Team billing", "Team risk")
	b.typeKeys("assign-input", "risk")
	// Typing filters by name and team: cy (in risk) and the team risk.
	optionsJS := `[...document.querySelectorAll('#assign-picker .picker-item')].map((e) => e.textContent).join('|')`
	b.waitFor("risk's member and the team", optionsJS+` === 'cy · offline · 0/10 open|Team risk'`, optionsJS)
	b.typeKeys("assign-input", kb.ArrowDown+kb.ArrowDown)
	b.waitText("#assign-picker .picker-item.active", "Team risk")
	b.enter("assign-input")
	wait.For(t, "the conversation with team risk", func() bool {
		c := e.workConversation(t, catConv)
		return c.Team != nil && *c.Team == "risk"
	})
	b.waitFor("the assignee box empty again", `document.getElementById('assign-input').value === '' && document.activeElement.id !== 'assign-input'`, "")
	b.run("open the assign picker", chromedp.Click(chromedp.ID("assign-input")))
	b.typeKeys("assign-input", "bo")
	b.waitText("#assign-picker", "bo · offline")
	b.typeKeys("assign-input", kb.ArrowDown)
	b.enter("assign-input")
	wait.For(t, "the conversation assigned to bo", func() bool {
		c := e.workConversation(t, catConv)
		return c.Assignee != nil && *c.Assignee == "bo"
	})

	// Labels: added by typing, removed by their ×.
	b.typeKeys("label-input", "Refund")
	b.enter("label-input")
	b.waitText("#conv-labels", "refund")
	if c := e.workConversation(t, catConv); !slices.Equal(c.Labels, []string{"refund"}) {
		t.Fatalf("labels %v", c.Labels)
	}
	b.click("remove the label", "#conv-labels .label-remove")
	wait.For(t, "the label removed", func() bool { return len(e.workConversation(t, catConv).Labels) == 0 })
	b.waitFor("no label chip", `!document.querySelector('#conv-labels .label-chip')`, "")

	// Resolve with "e"; the customer rates 5: the screen shows it live.
	before = len(e.tg.Sent(cat.ID))
	b.press("e")
	prompt := e.tgWait(t, cat, before+1)[before]
	if !slices.Contains(tgButtons(prompt), "csat:5") {
		t.Fatalf("no rating prompt: %+v", prompt)
	}
	e.tgTap(t, cat, prompt.MessageID, "csat:5", before+2)
	b.waitText("#conv-csat", "CSAT ★★★★★ 5/5")

	// The fraud report breaches its 10 minutes: the row turns red live.
	b.eval(`window.__noReload = true`, nil)
	e.setClock("2026-12-02 10:11")
	if _, err := e.sb.Main.Inbox.CheckSLA(ctx); err != nil {
		t.Fatal(err)
	}
	b.waitFor("the fraud row's SLA clock red", fmt.Sprintf(`!!document.querySelector(%q)`, rowSel(fraudConv)+" .sla.sla-breached"),
		fmt.Sprintf(`(document.querySelector(%q) || {}).className || '(none)'`, rowSel(fraudConv)+" .sla"))

	// Unread: the fraud customer writes again; the row is marked until opened.
	e.tgWrite(t, fraud, "hello? my card is still frozen")
	b.waitFor("the fraud row unread", fmt.Sprintf(`!!document.querySelector(%q)`, rowSel(fraudConv)+".unread"), "")
	b.click("open the fraud conversation", rowSel(fraudConv))
	b.waitText("#timeline", "hello? my card is still frozen")
	b.waitText("#conv-sla", "SLA")
	b.waitFor("the fraud row read", fmt.Sprintf(`!document.querySelector(%q)`, rowSel(fraudConv)+".unread"), "")
	// The hub keeps ana's mark: another browser of hers knows it is read.
	wait.For(t, "ana's read mark on the hub", func() bool {
		var marks struct {
			Reads []models.ReadMarkView `json:"reads"`
		}
		(&client{t: t, base: e.sb.Main.URL(), token: tok}).json("GET", "/api/v1/me/reads", nil, &marks)
		return slices.ContainsFunc(marks.Reads, func(m models.ReadMarkView) bool { return m.ConversationID == fraudConv })
	})
	var still bool
	b.eval(`window.__noReload === true`, &still)
	if !still {
		t.Fatal("the page reloaded")
	}
}

// reportSummary reads the hub's report of the UTC days first to last.
func (e *linkEnv) reportSummary(t *testing.T, first, last string) models.ReportSummary {
	t.Helper()
	var r models.ReportSummary
	e.api.json("GET", "/api/v1/reports/summary?from="+first+"T00:00:00Z&to="+last+"T00:00:00Z", nil, &r)
	return r
}

func TestE2EConsoleReportsPageDrawsTheHubsNumbers(t *testing.T) {
	e := startLinkSandbox(t)
	// A week of work: customers on the three channels, answered and
	// resolved at different speeds, some rated.
	n := 0
	for day, at := range []string{"2026-11-26", "2026-11-27", "2026-11-30", "2026-12-01", "2026-12-02"} {
		for i := 0; i <= day%3; i++ {
			// The clock only moves forward: customer i of a day writes at
			// 10:00 + 2i h, is answered 3 + 7i minutes later, and the
			// even ones are resolved at 11:30 + 2i h.
			n++
			e.setClock(fmt.Sprintf("%s %02d:00", at, 10+2*i))
			u := tgfake.User{ID: int64(7700 + n), FirstName: fmt.Sprint("Customer", n), LanguageCode: "en"}
			e.tgSay(t, u, "my order has not arrived")
			conv := e.conversationWith(t, fmt.Sprint(u.ID)).ID
			e.setClock(fmt.Sprintf("%s %02d:%02d", at, 10+2*i, 3+7*i))
			e.api.reply(conv, map[string]any{"text": "Looking into it."})
			if i%2 == 0 {
				e.setClock(fmt.Sprintf("%s %02d:30", at, 11+2*i))
				before := len(e.tg.Sent(u.ID))
				e.resolve(conv)
				prompt := e.tgWait(t, u, before+1)[before]
				e.tgTap(t, u, prompt.MessageID, fmt.Sprint("csat:", 3+(n%3)), before+2)
			}
		}
		e.setClock(at + " 15:00")
		e.wxSend(t, e.wxUser(t), "do you ship to Suzhou?")
		if day%2 == 1 {
			e.dcDM(t, dcfake.User{ID: fmt.Sprint(900000000000007700 + day), Username: fmt.Sprint("dc", day)}, "the app crashes on start")
		}
	}
	e.setClock("2026-12-02 16:00")
	want := e.reportSummary(t, "2026-11-26", "2026-12-03")
	if want.Conversations < 15 || want.CSAT.Count == 0 || want.Resolved == 0 {
		t.Fatalf("the fixture is too thin: %+v", want)
	}

	b := startBrowser(t, 1280, 1240) // tall enough for every chart in the README's picture
	tok := consoleAgent(t, e, "ana")
	b.run("open the console", chromedp.Navigate(e.sb.Main.URL()+"/#token="+tok))
	b.waitFor("the inbox", `document.querySelectorAll('.conv-row').length > 0 || !document.getElementById('list-empty').hidden`, "")
	b.click("open the reports", "#nav-reports")
	b.waitFor("the reports page", `!document.getElementById('reports').hidden && location.pathname === '/reports'`, "location.pathname")
	b.eval(`(() => { document.getElementById('report-first').value = '2026-11-26'; document.getElementById('report-last').value = '2026-12-02'; return true; })()`, nil)
	// The charts draw the hub's numbers: per-day volume by channel, the
	// distributions, SLA, ratings and deflection. The hub's reactions (the
	// SLA clocks) still work behind the fixture, so each round reads the
	// hub's report, asks the page to show the week again, and compares.
	sum := func(chart string) string {
		return fmt.Sprintf(`[...document.querySelectorAll('#%s svg rect')].reduce((s, r) => s + Number(r.dataset.value), 0)`, chart)
	}
	charts := []string{"chart-volume", "chart-first", "chart-resolution", "chart-sla", "chart-csat", "chart-deflection"}
	var parts []string
	for _, c := range charts {
		parts = append(parts, sum(c))
	}
	drawnJS := "[" + strings.Join(parts, ", ") + "].join(' ')"
	var drawn, wanted string
	wait.For(t, "the page to draw the hub's report", func() bool {
		want = e.reportSummary(t, "2026-11-26", "2026-12-03")
		wanted = fmt.Sprint(want.Conversations, want.FirstResponseSeconds.Count, want.ResolutionSeconds.Count,
			want.SLA.Met+want.SLA.Breached, want.CSAT.Count, want.Resolved)
		b.click("show the week", `#report-filters button[type=submit]`)
		b.waitFor("the report drawn", `document.getElementById('report-body').getAttribute('aria-busy') === 'false'`, "")
		b.eval(drawnJS, &drawn)
		return drawn == wanted
	})
	var days int
	b.eval(`[...document.querySelectorAll('#chart-volume svg text.axis')].filter((t) => /^\d\d-\d\d$/.test(t.textContent)).length`, &days)
	if days != 7 {
		t.Fatalf("the volume chart labels %d days, want 7", days)
	}
	b.waitText("#legend-volume", "Telegram", "WeChat", "Discord")
	b.waitText("#report-tiles", "Conversations"+fmt.Sprint(want.Conversations), "Resolved"+fmt.Sprint(want.Resolved))
	// Export CSV downloads the report the page shows, under the strict CSP.
	dir := t.TempDir()
	b.run("allow downloads", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{Behavior: "allow", DownloadPath: dir})
		return err
	}))
	b.run("export CSV", chromedp.Click(chromedp.ID("report-csv")))
	var csv []byte
	wait.For(t, "the CSV file", func() bool {
		files, _ := filepath.Glob(filepath.Join(dir, "tongdao-report-*.csv"))
		if len(files) != 1 {
			return false
		}
		csv, _ = os.ReadFile(files[0])
		return len(csv) > 0
	})
	for _, line := range []string{"metric,key,value", fmt.Sprint("conversations,,", want.Conversations), "by_day,2026-11-28,0",
		fmt.Sprint("csat,count,", want.CSAT.Count)} {
		if !strings.Contains(string(csv), line+"\r\n") {
			t.Fatalf("the CSV lacks %q:\n%s", line, csv)
		}
	}
	if os.Getenv("TONGDAO_README_SCREENSHOTS") == "1" {
		b.screenshot(filepath.Join("..", "..", "docs", "img", "reports.png"))
	}

	// A channel filter asks the hub again and draws its answer.
	wx := e.reportSummary(t, "2026-11-26", "2026-12-03")
	var wxOnly models.ReportSummary
	e.api.json("GET", "/api/v1/reports/summary?from=2026-11-26T00:00:00Z&to=2026-12-03T00:00:00Z&channel=wechat", nil, &wxOnly)
	if wxOnly.Conversations == 0 || wxOnly.Conversations == wx.Conversations {
		t.Fatalf("the wechat filter counts %d of %d", wxOnly.Conversations, wx.Conversations)
	}
	b.eval(`(() => { const s = document.getElementById('report-channel'); s.value = 'wechat'; s.dispatchEvent(new Event('change')); return true; })()`, nil)
	b.waitFor(fmt.Sprintf("the volume chart to total %d", wxOnly.Conversations), fmt.Sprintf(`%s === %d`, sum("chart-volume"), wxOnly.Conversations), "String("+sum("chart-volume")+")")

	// On a phone the page fits the screen.
	b.run("a 390 px screen", chromedp.EmulateViewport(390, 844))
	var fits bool
	b.eval(`document.documentElement.scrollWidth <= window.innerWidth`, &fits)
	if !fits {
		var w int
		b.eval(`document.documentElement.scrollWidth`, &w)
		t.Fatalf("the reports page is %d px wide on a 390 px screen", w)
	}
}
