package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/tongdao/hub/internal/wait"
	"github.com/tongdao/hub/sandbox/tgfake"
)

const (
	e2eTGToken  = "7000000002:E2E-telegram-bot-token-0000000000"
	e2eTGSecret = "e2e-secret"
)

func telegramConfig(t testing.TB, dir, listen, apiURL, mode, driver, dsn string) string {
	return writeConfig(t, dir, fmt.Sprintf(`
server: { listen: %q, public_url: "http://%s" }
database: { driver: %s, dsn: %q }
connectors:
  - name: tg-main
    type: telegram
    settings: { token: %q, mode: %s, webhook_secret: %q, api_url: %q }
`, listen, listen, driver, dsn, e2eTGToken, mode, e2eTGSecret, apiURL))
}

func startTelegramFake(t testing.TB) *tgfake.Server {
	fake := tgfake.New(tgfake.Options{Token: e2eTGToken})
	if err := fake.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	return fake
}

var ana = tgfake.User{ID: 1001, FirstName: "Ana", LastName: "Li", Username: "ana", LanguageCode: "en"}

// customerToAgentAndBack is the core journey: a customer's message reaches
// the inbox; the agent's reply reaches the customer.
func customerToAgentAndBack(t *testing.T, fake *tgfake.Server, api *client) apiConversation {
	ctx := context.Background()
	if _, err := fake.SendText(ctx, ana, "My order #42 has not arrived"); err != nil {
		t.Fatal(err)
	}
	var convs []apiConversation
	wait.For(t, "the conversation", func() bool { convs = api.conversations(); return len(convs) == 1 })
	conv := convs[0]
	if conv.Subject != "My order #42 has not arrived" || len(conv.Contact.Identities) != 1 ||
		conv.Contact.Identities[0].Channel != "telegram" || conv.Contact.Identities[0].ExternalID != "1001" {
		t.Fatalf("conversation: %+v", conv)
	}
	// Never silence: the bot answers at once with the ticket number.
	greeting, err := waitSent(fake, ana.ID, 1)
	if err != nil || !strings.Contains(greeting[0].Text, "#"+conv.ID) {
		t.Fatalf("customer got %+v, %v", greeting, err)
	}
	var sent apiMessage
	api.json("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"text": "Sorry! It ships today."}, &sent)
	if sent.Delivery.Status != "queued" || sent.Direction != "out" {
		t.Fatalf("reply: %+v", sent)
	}
	got, err := waitSent(fake, ana.ID, 2)
	if err != nil || got[1].Text != "Sorry! It ships today." {
		t.Fatalf("customer got %+v, %v", got, err)
	}
	wait.For(t, "delivery status sent", func() bool {
		msgs := api.messages(conv.ID)
		return msgs[len(msgs)-1].Delivery.Status == "sent"
	})
	return conv
}

func waitSent(fake *tgfake.Server, user int64, n int) ([]tgfake.SentMessage, error) {
	ctx, cancel := context.WithTimeout(context.Background(), wait.Timeout)
	defer cancel()
	return fake.WaitSent(ctx, user, n)
}

func TestE2ETelegramWebhook(t *testing.T) {
	fake := startTelegramFake(t)
	dir := t.TempDir()
	l := listenLocal(t)
	m := startHub(t, l, telegramConfig(t, dir, l.Addr().String(), fake.URL(), "webhook", "sqlite", filepath.Join(dir, "hub.db")))
	api := adminClient(t, m)
	wait.For(t, "setWebhook", func() bool { return fake.Webhook().URL == m.URL()+"/webhooks/tg-main" })

	conv := customerToAgentAndBack(t, fake, api)
	before := countInbound(t, m)

	// A re-sent update (Telegram retries) stores nothing new.
	up, err := fake.SendText(context.Background(), ana, "second message")
	if err != nil {
		t.Fatal(err)
	}
	if err := fake.Resend(context.Background(), up); err != nil {
		t.Fatal(err)
	}
	if n := countInbound(t, m); n != before+1 {
		t.Fatalf("messages: %d, want %d (the retry must store nothing)", n, before+1)
	}

	hook := m.URL() + "/webhooks/tg-main"
	update := `{"update_id": 900001, "message": {"message_id": 77, "date": 1795440000, "chat": {"id": 2002, "type": "private"}, "from": {"id": 2002, "is_bot": false, "first_name": "Eve"}, "text": "hi"}}`
	// A wrong or missing secret gets 401 and stores nothing.
	for _, h := range []map[string]string{{"X-Telegram-Bot-Api-Secret-Token": "wrong"}, nil} {
		if code, _ := postJSON(t, hook, h, update); code != http.StatusUnauthorized && code != http.StatusForbidden {
			t.Fatalf("bad secret: %d", code)
		}
	}
	// Malformed JSON gets 400 and stores nothing.
	if code, _ := postJSON(t, hook, map[string]string{"X-Telegram-Bot-Api-Secret-Token": e2eTGSecret}, `{"update_id": 1, "message": {`); code != http.StatusBadRequest {
		t.Fatalf("malformed: %d", code)
	}
	if n := countInbound(t, m); n != before+1 {
		t.Fatalf("rejected requests stored messages: %d", n)
	}
	if n := countRows(t, m, "contacts"); n != 1 {
		t.Fatalf("rejected requests created contacts: %d", n)
	}
	// An unknown connector name is 404.
	if code, _ := postJSON(t, m.URL()+"/webhooks/nope", nil, update); code != http.StatusNotFound {
		t.Fatalf("unknown connector: %d", code)
	}
	// The genuine update with the right secret is accepted.
	if code, body := postJSON(t, hook, map[string]string{"X-Telegram-Bot-Api-Secret-Token": e2eTGSecret}, update); code != http.StatusOK {
		t.Fatalf("genuine update: %d %s", code, body)
	}
	if n := countRows(t, m, "contacts"); n != 2 {
		t.Fatalf("contacts after a genuine update: %d", n)
	}

	// Every /api/v1 route but the OpenAPI document needs a valid token.
	anon := &client{t: t, base: m.URL()}
	bad := &client{t: t, base: m.URL(), token: "tdk_not-a-token"}
	routes := [][2]string{{"GET", "/api/v1/conversations"}, {"GET", "/api/v1/conversations/" + conv.ID},
		{"GET", "/api/v1/conversations/" + conv.ID + "/messages"}, {"POST", "/api/v1/conversations/" + conv.ID + "/messages"},
		{"POST", "/api/v1/conversations/" + conv.ID + "/status"}, {"POST", "/api/v1/conversations/" + conv.ID + "/assign"},
		{"GET", "/api/v1/contacts/" + conv.Contact.ID}, {"GET", "/api/v1/events"}}
	for _, r := range routes {
		for _, c := range []*client{anon, bad} {
			if code, body := c.do(r[0], r[1], map[string]string{"text": "x"}); code != http.StatusUnauthorized || !strings.Contains(string(body), `"unauthorized"`) {
				t.Errorf("%s %s without a valid token: %d %s", r[0], r[1], code, body)
			}
		}
	}
	if code, _ := anon.do("GET", "/api/v1/openapi.json", nil); code != http.StatusOK {
		t.Errorf("openapi.json: %d", code)
	}
}

func TestE2ETelegramPolling(t *testing.T) {
	fake := startTelegramFake(t)
	dir := t.TempDir()
	l := listenLocal(t)
	m := startHub(t, l, telegramConfig(t, dir, l.Addr().String(), fake.URL(), "polling", "sqlite", filepath.Join(dir, "hub.db")))
	api := adminClient(t, m)
	customerToAgentAndBack(t, fake, api)
	if fake.Webhook().URL != "" {
		t.Fatal("polling mode must not leave a webhook set")
	}
}

// TestE2EKilledWithQueuedRepliesDeliversEachOnce runs the built binary, kills
// it (SIGKILL) while replies are queued, restarts it, and checks that each
// reply reaches the customer exactly once, in order.
//
// The binary listens on 127.0.0.1:0 and the test reads the address from its
// "hub started" log line: each run gets a port the kernel picked, so the
// connector polls (a webhook would need the address in the config first).
func TestE2EKilledWithQueuedRepliesDeliversEachOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := filepath.Join(t.TempDir(), "hub")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	fake := startTelegramFake(t)
	dir := t.TempDir()
	cfg := writeConfig(t, dir, fmt.Sprintf(`
server: { listen: "127.0.0.1:0" }
database: { driver: sqlite, dsn: %q }
connectors:
  - name: tg-main
    type: telegram
    settings: { token: %q, mode: polling, api_url: %q }
`, filepath.Join(dir, "hub.db"), e2eTGToken, fake.URL()))
	start := func() (*exec.Cmd, string) {
		cmd := exec.Command(bin, "serve", "--config", cfg, "--log-level", "info")
		stderr, err := cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		urls := make(chan string, 1)
		go scanHubLog(stderr, urls)
		base := wait.Recv(t, "the hub's \"hub started\" log line", urls)
		wait.For(t, "the hub to be ready", func() bool {
			resp, err := http.Get(base + "/readyz")
			if err != nil {
				return false
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return resp.StatusCode == 200 && strings.Contains(string(body), `"tg-main"`)
		})
		return cmd, base
	}
	hub, base := start()
	out, err := exec.Command(bin, "token", "create", "--config", cfg, "--name", "ops", "--role", "agent").Output()
	if err != nil {
		t.Fatalf("token create: %v", err)
	}
	token := strings.TrimSpace(string(out))
	api := &client{t: t, base: base, token: token}
	if _, err := fake.SendText(context.Background(), ana, "where is my parcel?"); err != nil {
		t.Fatal(err)
	}
	var convs []apiConversation
	wait.For(t, "the conversation", func() bool { convs = api.conversations(); return len(convs) == 1 })
	// The bot's answer to the first message goes out first.
	if _, err := waitSent(fake, ana.ID, 1); err != nil {
		t.Fatalf("the bot's answer: %v", err)
	}
	// The platform answers the first send with 429 retry_after: the first
	// reply waits, and the others queue behind it (one chat, in order).
	fake.FailNext("sendMessage", 429, "Too Many Requests: retry after 12", 12)
	for i := 1; i <= 3; i++ {
		api.json("POST", "/api/v1/conversations/"+convs[0].ID+"/messages", map[string]any{"text": fmt.Sprintf("reply %d", i)}, nil)
	}
	wait.For(t, "the first attempt to be refused", func() bool {
		// The refusal is recorded (not merely the attempt leased).
		for _, m := range api.messages(convs[0].ID) {
			if m.Text == "reply 1" {
				return m.Delivery.Attempts == 1 && m.Delivery.Status == "queued" &&
					m.Delivery.Error != nil && strings.Contains(*m.Delivery.Error, "429")
			}
		}
		return false
	})
	if got := fake.Sent(ana.ID); len(got) != 1 {
		t.Fatalf("nothing may be delivered yet: %+v", got)
	}
	if err := hub.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	hub.Wait()

	_, base = start()
	api = &client{t: t, base: base, token: token}
	if _, err := waitSent(fake, ana.ID, 4); err != nil {
		t.Fatalf("after restart: %v", err)
	}
	// A duplicate of reply 1..3 would be delivered before a later reply to
	// the same chat (one chat's queue goes out in order): reply 4 is the
	// sentinel.
	api.json("POST", "/api/v1/conversations/"+convs[0].ID+"/messages", map[string]any{"text": "reply 4"}, nil)
	if _, err := waitSent(fake, ana.ID, 5); err != nil {
		t.Fatalf("the sentinel reply: %v", err)
	}
	got := fake.Sent(ana.ID)[1:]
	if len(got) != 4 || got[0].Text != "reply 1" || got[1].Text != "reply 2" || got[2].Text != "reply 3" || got[3].Text != "reply 4" {
		t.Fatalf("customer received %+v, want reply 1..4 once each in order", got)
	}
}

// hubStarted finds the base URL in the hub's "hub started" log line.
var hubStarted = regexp.MustCompile(`msg="hub started" url=(http://\S+)`)

// scanHubLog reads a hub's log, sends the URL of its "hub started" line on
// urls, and echoes the log when the tests run with -v.
func scanHubLog(r io.Reader, urls chan<- string) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if m := hubStarted.FindStringSubmatch(sc.Text()); m != nil {
			select {
			case urls <- m[1]:
			default:
			}
		}
		if testing.Verbose() {
			fmt.Fprintln(os.Stderr, sc.Text())
		}
	}
}
