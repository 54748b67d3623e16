package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tongdao/hub/internal/openapicheck"
	"github.com/tongdao/hub/internal/wait"
	"github.com/tongdao/hub/models"
	"github.com/tongdao/hub/sandbox/tgfake"
)

const e2eTGToken2 = "7000000003:E2E-second-bot-token-00000000000"

var bob = tgfake.User{ID: 1002, FirstName: "Bob", Username: "bob", LanguageCode: "en"}

// reloadConfig is a hub config on listen with the given connectors section
// (YAML lines, already indented under "connectors:").
func reloadConfig(t testing.TB, dir, listen, publicURL, connectorsYAML string) string {
	return writeConfig(t, dir, fmt.Sprintf(`
server: { listen: %q, public_url: %q }
database: { driver: sqlite, dsn: %q }
connectors:
%s`, listen, publicURL, filepath.Join(dir, "hub.db"), connectorsYAML))
}

func tgConnector(name, token, apiURL string) string {
	return fmt.Sprintf("  - name: %s\n    type: telegram\n    settings: { token: %q, webhook_secret: %q, api_url: %q }\n",
		name, token, e2eTGSecret, apiURL)
}

// reload calls POST /api/v1/admin/reload.
func (c *client) reload() (int, []byte) {
	c.t.Helper()
	return c.do("POST", "/api/v1/admin/reload", nil)
}

// reloadOK calls the reload route and decodes its 200 answer.
func (c *client) reloadOK() models.ReloadView {
	t := c.t
	t.Helper()
	code, body := c.reload()
	if code != http.StatusOK {
		t.Fatalf("reload: %d %s", code, body)
	}
	var v models.ReloadView
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("reload answer %s: %v", body, err)
	}
	return v
}

func eventsOf(t testing.TB, m *Main, typ string) []models.EventView {
	t.Helper()
	evs, err := m.Inbox.EventsAfter(context.Background(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []models.EventView
	for _, e := range evs {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

func webhookStatus(t testing.TB, m *Main, name string) int {
	code, _ := postJSON(t, m.URL()+"/webhooks/"+name, map[string]string{"X-Telegram-Bot-Api-Secret-Token": e2eTGSecret}, `{"update_id":1}`)
	return code
}

// TestE2EReloadAddsRestartsAndRejects adds a Telegram connector to a running
// hub by reload and receives a message through it; changes its token (it
// restarts, the old bot is left alone); then an invalid file changes
// nothing and says why.
func TestE2EReloadAddsRestartsAndRejects(t *testing.T) {
	dir := t.TempDir()
	l := listenLocal(t)
	listen := l.Addr().String()
	public := "http://" + listen
	path := reloadConfig(t, dir, listen, public, "  []\n")
	m := startHub(t, l, path)
	admin := adminClient(t, m)
	agentTok, _, err := m.Store.CreateToken(context.Background(), "agent", models.RoleAgent)
	if err != nil {
		t.Fatal(err)
	}
	agent := &client{t: t, base: m.URL(), token: agentTok}

	if code, body := agent.reload(); code != http.StatusForbidden || !strings.Contains(string(body), `"forbidden"`) {
		t.Fatalf("agent reload: %d %s, want 403 forbidden", code, body)
	}
	if code := webhookStatus(t, m, "tg-main"); code != http.StatusNotFound {
		t.Fatalf("webhook of an unconfigured connector: %d, want 404", code)
	}

	// Added: it starts, registers its webhook, and a customer gets through.
	fake1 := startTelegramFake(t)
	reloadConfig(t, dir, listen, public, tgConnector("tg-main", e2eTGToken, fake1.URL()))
	v := admin.reloadOK()
	want := models.ReloadView{Added: []string{"tg-main"}, Removed: []string{}, Restarted: []string{}, Unchanged: []string{}, Warnings: []string{}}
	if !reflect.DeepEqual(v, want) {
		t.Fatalf("reload: %+v, want %+v", v, want)
	}
	wait.For(t, "setWebhook of the added connector", func() bool { return fake1.Webhook().URL != "" })
	var chans struct {
		Channels []struct {
			Name       string   `json:"name"`
			Connectors []string `json:"connectors"`
		} `json:"channels"`
	}
	admin.json("GET", "/api/v1/channels", nil, &chans)
	listed := map[string][]string{}
	for _, ch := range chans.Channels {
		listed[ch.Name] = ch.Connectors
	}
	if !reflect.DeepEqual(listed, map[string][]string{"telegram": {"tg-main"}, "wechat": {}, "discord": {}}) {
		t.Fatalf("GET /channels after the reload: %+v", listed)
	}
	customerToAgentAndBack(t, fake1, admin)
	if ev := eventsOf(t, m, models.EventTypeConfigReloaded); len(ev) != 1 {
		t.Fatalf("config.reloaded events: %+v", ev)
	}

	// Unchanged when reloaded again, comments and layout aside.
	v = admin.reloadOK()
	if !reflect.DeepEqual(v.Unchanged, []string{"tg-main"}) || len(v.Restarted)+len(v.Added)+len(v.Removed) != 0 {
		t.Fatalf("second reload of the same file: %+v", v)
	}

	// Changed token (another bot): restart. A changed public_url is only a
	// warning: the connector registers its webhook under the running one.
	fake2 := tgfake.New(tgfake.Options{Token: e2eTGToken2})
	if err := fake2.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake2.Close)
	reloadConfig(t, dir, listen, "https://support.example.com", tgConnector("tg-main", e2eTGToken2, fake2.URL()))
	v = admin.reloadOK()
	if !reflect.DeepEqual(v.Restarted, []string{"tg-main"}) || len(v.Unchanged)+len(v.Added)+len(v.Removed) != 0 ||
		len(v.Warnings) != 1 || !strings.HasPrefix(v.Warnings[0], "server.public_url changed") {
		t.Fatalf("reload with a new token: %+v", v)
	}
	wait.For(t, "setWebhook of the restarted connector", func() bool {
		return strings.HasPrefix(fake2.Webhook().URL, public+"/webhooks/tg-main")
	})
	if _, err := fake2.SendText(context.Background(), bob, "hello from the new bot"); err != nil {
		t.Fatal(err)
	}
	wait.For(t, "the new bot's customer", func() bool { return len(admin.conversations()) == 2 })

	// Invalid: every problem listed, nothing changed, no secret shown.
	reloadConfig(t, dir, listen, public,
		"  - name: tg-main\n    type: telegram\n    settings: { token: \""+e2eTGToken2+"\", webhook_secret: x, api_url: \""+fake2.URL()+"\", colour: red }\n"+
			"  - name: Bad Name\n    type: carrier-pigeon\n")
	code, body := admin.reload()
	var eb struct {
		Error struct{ Code, Message string }
	}
	_ = json.Unmarshal(body, &eb)
	if code != http.StatusBadRequest || eb.Error.Code != "invalid" {
		t.Fatalf("invalid reload: %d %s, want 400 invalid", code, body)
	}
	for _, p := range []string{"connectors[0].settings.colour: unknown key", "connectors[1].name:", "connectors[1].type: unknown connector type"} {
		if !strings.Contains(eb.Error.Message, p) {
			t.Errorf("invalid reload message lacks %q:\n%s", p, eb.Error.Message)
		}
	}
	rejected := eventsOf(t, m, models.EventTypeConfigRejected)
	if len(rejected) != 1 {
		t.Fatalf("config.rejected events: %+v", rejected)
	}
	data, _ := json.Marshal(rejected[0].Data)
	if !strings.Contains(string(data), "colour: unknown key") {
		t.Fatalf("config.rejected data lacks the problems: %s", data)
	}
	for _, secret := range []string{"E2E-second-bot-token", "E2E-telegram-bot-token"} {
		if strings.Contains(string(body), secret) || strings.Contains(string(data), secret) {
			t.Fatalf("a token appears in the answer or the event: %s %s", body, data)
		}
	}
	// The answers and the events are as the served document says.
	_, raw := admin.do("GET", "/api/v1/openapi.json", nil)
	doc, err := openapicheck.Load(raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.CheckResponse("POST", "/api/v1/admin/reload", code, body); err != nil {
		t.Errorf("400 answer: %v", err)
	}
	for _, typ := range []string{models.EventTypeConfigReloaded, models.EventTypeConfigRejected} {
		for _, ev := range eventsOf(t, m, typ) {
			b, _ := json.Marshal(ev)
			if err := doc.CheckSchema("Event", b); err != nil {
				t.Errorf("%s event %s: %v", typ, b, err)
			}
		}
	}
	reloadConfig(t, dir, listen, public, tgConnector("tg-main", e2eTGToken2, fake2.URL()))
	code, body = admin.reload()
	if err := doc.CheckResponse("POST", "/api/v1/admin/reload", code, body); code != http.StatusOK || err != nil {
		t.Errorf("200 answer: %d %s %v", code, body, err)
	}
	// Still the second bot, still running.
	if _, err := fake2.SendText(context.Background(), bob, "still there?"); err != nil {
		t.Fatal(err)
	}
	wait.For(t, "the message after a refused reload", func() bool {
		for _, c := range admin.conversations() {
			if hasText(admin.messages(c.ID), "still there?") {
				return true
			}
		}
		return false
	})
	if st := m.States(); len(st) != 1 || st[0].Name != "tg-main" || st[0].State != "running" {
		t.Fatalf("connector states after a refused reload: %+v", st)
	}
}

// removedWithQueuedReply is a hub whose connector tg-main was removed by
// reload while a reply to one of its customers was queued; the reply has
// been tried once since, and is still queued.
type removedWithQueuedReply struct {
	m      *Main
	admin  *client
	fake   *tgfake.Server
	clock  *offsetClock
	path   string
	dir    string
	listen string
	conv   string
	reply  string
}

const removedReason = "connector tg-main was removed from the configuration"

func (e *removedWithQueuedReply) last(t *testing.T) apiMessage {
	t.Helper()
	for _, msg := range e.admin.messages(e.conv) {
		if msg.ID == e.reply {
			return msg
		}
	}
	t.Fatalf("reply %s is not in the conversation", e.reply)
	return apiMessage{}
}

func removeWithQueuedReply(t *testing.T) *removedWithQueuedReply {
	l := listenLocal(t)
	e := &removedWithQueuedReply{dir: t.TempDir(), listen: l.Addr().String(), clock: &offsetClock{}}
	public := "http://" + e.listen
	e.fake = startTelegramFake(t)
	e.path = reloadConfig(t, e.dir, e.listen, public, tgConnector("tg-main", e2eTGToken, e.fake.URL()))
	e.m = startHubAt(t, l, e.path, e.clock.Now)
	e.admin = adminClient(t, e.m)
	wait.For(t, "setWebhook", func() bool { return e.fake.Webhook().URL != "" })
	if _, err := e.fake.SendText(context.Background(), ana, "is anyone there?"); err != nil {
		t.Fatal(err)
	}
	var convs []apiConversation
	wait.For(t, "the conversation", func() bool { convs = e.admin.conversations(); return len(convs) == 1 })
	e.conv = convs[0].ID
	// The bot's answer to the first message goes out first (never silence).
	if _, err := waitSent(e.fake, ana.ID, 1); err != nil {
		t.Fatalf("the bot's answer: %v", err)
	}

	e.fake.FailNext("sendMessage", 429, "Too Many Requests: retry after 600", 600)
	var reply apiMessage
	e.admin.json("POST", "/api/v1/conversations/"+e.conv+"/messages", map[string]any{"text": "Yes, we are here."}, &reply)
	e.reply = reply.ID
	wait.For(t, "the first attempt refused", func() bool {
		// The refusal recorded, not merely the attempt leased.
		r := e.last(t)
		return r.Delivery.Attempts == 1 && r.Delivery.Status == "queued" && strings.Contains(deref(r.Delivery.Error), "429")
	})

	reloadConfig(t, e.dir, e.listen, public, "  []\n")
	v := e.admin.reloadOK()
	if !reflect.DeepEqual(v.Removed, []string{"tg-main"}) {
		t.Fatalf("reload: %+v", v)
	}
	if code := webhookStatus(t, e.m, "tg-main"); code != http.StatusNotFound {
		t.Fatalf("webhook of a removed connector: %d, want 404", code)
	}
	if st := e.m.States(); len(st) != 0 {
		t.Fatalf("states after removal: %+v", st)
	}
	// Past the platform's retry-after: the next attempt finds no connector,
	// and the reply stays queued for a later one.
	e.clock.Advance(11 * time.Minute)
	wait.For(t, "the attempt after the removal", func() bool {
		r := e.last(t)
		return r.Delivery.Status != "queued" || deref(r.Delivery.Error) == removedReason
	})
	if r := e.last(t); r.Delivery.Status != "queued" || r.Delivery.Attempts != 2 || deref(r.Delivery.Error) != removedReason {
		t.Fatalf("after the removal the reply must stay queued with the reason: %+v %q", r.Delivery, deref(r.Delivery.Error))
	}
	return e
}

// TestE2EReloadRemovedConnectorKeepsRepliesQueuedThenFails removes a
// connector while a reply to one of its customers is queued: the reply stays
// queued and visible through the outbox's retries, then fails with a plain
// reason.
func TestE2EReloadRemovedConnectorKeepsRepliesQueuedThenFails(t *testing.T) {
	e := removeWithQueuedReply(t)
	// The connector does not come back: the usual schedule runs out.
	wait.For(t, "the reply to fail", func() bool {
		e.clock.Advance(13 * time.Minute)
		return e.last(t).Delivery.Status == "failed"
	})
	if r := e.last(t); r.Delivery.Error == nil || *r.Delivery.Error != removedReason {
		t.Fatalf("failed reply: %+v, want the error %q", r.Delivery, removedReason)
	}
	if got := e.fake.Sent(ana.ID); len(got) != 1 {
		t.Fatalf("the removed bot sent %+v (want only its answer before the removal)", got)
	}
}

// TestE2EReloadConnectorBackInTimeDeliversQueuedReply: a removed connector
// that is added back before its queued reply gives up delivers it.
func TestE2EReloadConnectorBackInTimeDeliversQueuedReply(t *testing.T) {
	e := removeWithQueuedReply(t)
	reloadConfig(t, e.dir, e.listen, "http://"+e.listen, tgConnector("tg-main", e2eTGToken, e.fake.URL()))
	if v := e.admin.reloadOK(); !reflect.DeepEqual(v.Added, []string{"tg-main"}) {
		t.Fatalf("reload: %+v", v)
	}
	wait.For(t, "the reply to be delivered", func() bool {
		e.clock.Advance(time.Minute)
		return e.last(t).Delivery.Status == "sent"
	})
	if got, err := waitSent(e.fake, ana.ID, 2); err != nil || got[1].Text != "Yes, we are here." {
		t.Fatalf("customer got %+v, %v", got, err)
	}
}

// syncBuffer is a bytes.Buffer safe for a process writing and a test reading.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestE2EReloadOnSIGHUP runs the built binary and reloads it with SIGHUP: a
// connector added to the file starts; an invalid file is refused and logged.
func TestE2EReloadOnSIGHUP(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := filepath.Join(t.TempDir(), "hub")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	// The hub listens on a port the kernel picks and says which in its
	// "hub started" log line; the connector polls (no webhook address).
	dir := t.TempDir()
	config := func(conns string) string {
		return writeConfig(t, dir, fmt.Sprintf("server: { listen: \"127.0.0.1:0\" }\ndatabase: { driver: sqlite, dsn: %q }\nconnectors:\n%s",
			filepath.Join(dir, "hub.db"), conns))
	}
	path := config("  []\n")
	var logs syncBuffer
	cmd := exec.Command(bin, "serve", "--config", path, "--log-level", "info")
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	var base string
	wait.For(t, "the hub's \"hub started\" log line", func() bool {
		if m := hubStarted.FindStringSubmatch(logs.String()); m != nil {
			base = m[1]
		}
		return base != ""
	})
	readyz := func() string {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}

	fake := startTelegramFake(t)
	config(fmt.Sprintf("  - { name: tg-main, type: telegram, settings: { token: %q, mode: polling, api_url: %q } }\n", e2eTGToken, fake.URL()))
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	wait.For(t, "the added connector to run", func() bool { return strings.Contains(readyz(), `"tg-main"`) })
	// The connector runs before the reload is over and logged.
	wait.For(t, "the log line for the reload", func() bool { return strings.Contains(logs.String(), "configuration reloaded") })
	// It receives: the bot welcomes the customer who starts it.
	if _, err := fake.SendText(context.Background(), ana, "/start"); err != nil {
		t.Fatal(err)
	}
	wait.For(t, "the bot's welcome through the added connector", func() bool { return len(fake.Sent(ana.ID)) > 0 })

	if err := os.WriteFile(path, []byte("server: { listen: 1 }\nconnectors: nope\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	wait.For(t, "the refusal in the log", func() bool {
		return strings.Contains(logs.String(), "configuration reload refused; nothing was changed")
	})
	if !strings.Contains(readyz(), `"tg-main"`) {
		t.Fatalf("the connector stopped after a refused reload: %s", readyz())
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("hub exit: %v\n%s", err, logs.String())
	}
}

// TestE2EReloadedConnectorIsAHandoffTarget: a Telegram bot added by reload
// is offered at once when a customer asks to continue elsewhere (the
// inbox's handoff targets follow the live set).
func TestE2EReloadedConnectorIsAHandoffTarget(t *testing.T) {
	dir := t.TempDir()
	l := listenLocal(t)
	listen := l.Addr().String()
	public := "http://" + listen
	fake1 := startTelegramFake(t)
	path := reloadConfig(t, dir, listen, public, tgConnector("tg-main", e2eTGToken, fake1.URL()))
	m := startHub(t, l, path)
	admin := adminClient(t, m)
	wait.For(t, "setWebhook", func() bool { return fake1.Webhook().URL != "" })
	say := func(text string) string {
		t.Helper()
		before := len(fake1.Sent(ana.ID))
		if _, err := fake1.SendText(context.Background(), ana, text); err != nil {
			t.Fatal(err)
		}
		got, err := waitSent(fake1, ana.ID, before+1)
		if err != nil {
			t.Fatalf("no answer to %q: %v", text, err)
		}
		return got[before].Text
	}
	const second = "https://t.me/second_support_bot?start=link_"
	if offer := say("/link"); strings.Contains(offer, second) {
		t.Fatalf("offer before the reload already names the second bot:\n%s", offer)
	}

	fake2 := tgfake.New(tgfake.Options{Token: e2eTGToken2, BotUsername: "second_support_bot"})
	if err := fake2.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake2.Close)
	reloadConfig(t, dir, listen, public, tgConnector("tg-main", e2eTGToken, fake1.URL())+tgConnector("tg-two", e2eTGToken2, fake2.URL()))
	v := admin.reloadOK()
	if !reflect.DeepEqual(v.Added, []string{"tg-two"}) || !reflect.DeepEqual(v.Unchanged, []string{"tg-main"}) {
		t.Fatalf("reload: %+v", v)
	}
	// The new bot learns its username when it connects (getMe).
	wait.For(t, "the second bot's webhook", func() bool { return fake2.Webhook().URL != "" })
	if offer := say("/link"); !strings.Contains(offer, second) {
		t.Fatalf("offer after the reload lacks the second bot's deep link:\n%s", offer)
	}
}
