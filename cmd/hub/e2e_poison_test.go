package main

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/tongdao/hub/internal/wait"
	"github.com/tongdao/hub/sandbox/tgfake"
)

// Poison messages on PostgreSQL: a NUL in an update is stored without it; an
// update the database refuses for its data is skipped with an event; in both
// cases the updates after it still flow (polling moves past them). The API
// answers a NUL in a reply, a search or an assignee without a 500.
func TestE2EPoisonMessagesDoNotBlockTelegramPolling(t *testing.T) {
	fake := startTelegramFake(t)
	dir := t.TempDir()
	l := listenLocal(t)
	m := startHub(t, l, telegramConfig(t, dir, l.Addr().String(), fake.URL(), "polling", "postgres", pgDSN(t)))
	api := adminClient(t, m)
	ctx := context.Background()

	if _, err := fake.SendText(ctx, ana, "my order\x00 is late"); err != nil {
		t.Fatal(err)
	}
	var convs []apiConversation
	wait.For(t, "the message with a NUL", func() bool { convs = api.conversations(); return len(convs) == 1 })
	if msgs := api.messages(convs[0].ID); len(msgs) != 1 || msgs[0].Text != "my order is late" {
		t.Fatalf("stored messages: %+v", msgs)
	}
	if _, err := fake.SendText(ctx, ana, "hello again"); err != nil {
		t.Fatal(err)
	}
	wait.For(t, "the update after the NUL", func() bool { return len(api.messages(convs[0].ID)) == 2 })

	// A username longer than the column allows: PostgreSQL refuses the row
	// (SQLSTATE 22001), a data error. It is skipped, not retried forever.
	long := tgfake.User{ID: 3003, FirstName: "Long", Username: strings.Repeat("u", 300)}
	if _, err := fake.SendText(ctx, long, "refused"); err != nil {
		t.Fatal(err)
	}
	if _, err := fake.SendText(ctx, ana, "after the refused one"); err != nil {
		t.Fatal(err)
	}
	wait.For(t, "the update after the refused one", func() bool { return len(api.messages(convs[0].ID)) == 3 })
	if n := countRows(t, m, "skipped_inbounds"); n != 1 {
		t.Fatalf("skipped inbounds: %d, want 1", n)
	}
	var skipped int64
	if err := m.Store.DB.Table("events").Where("type = ?", "inbound.skipped").Count(&skipped).Error; err != nil || skipped != 1 {
		t.Fatalf("inbound.skipped events: %d (%v), want 1", skipped, err)
	}

	// The API: a NUL in a reply, a search, an assignee or a team is never a 500.
	for _, r := range []struct {
		method, path string
		body         any
	}{
		{"POST", "/api/v1/conversations/" + convs[0].ID + "/messages", map[string]any{"text": "we\x00 are on it"}},
		{"GET", "/api/v1/conversations?q=" + url.QueryEscape("order\x00"), nil},
		{"GET", "/api/v1/conversations?assignee=" + url.QueryEscape("ana\x00"), nil},
		{"GET", "/api/v1/conversations?team=" + url.QueryEscape("t\x00"), nil},
		{"POST", "/api/v1/conversations/" + convs[0].ID + "/assign", map[string]any{"assignee": "ana\x00"}},
	} {
		if code, body := api.do(r.method, r.path, r.body); code >= 500 {
			t.Errorf("%s %s: %d %s", r.method, r.path, code, body)
		}
	}
	if got := api.messages(convs[0].ID); got[len(got)-1].Text != "we are on it" {
		t.Errorf("reply stored as %q", got[len(got)-1].Text)
	}
}

// With PostgreSQL gone, the API answers 503 unavailable, not 500.
func TestE2EDatabaseOutageIsUnavailable(t *testing.T) {
	dsn := pgDSN(t)
	host := regexp.MustCompile(`host=(\S+)`).FindStringSubmatch(dsn)
	port := regexp.MustCompile(`port=(\d+)`).FindStringSubmatch(dsn)
	if host == nil || port == nil {
		t.Skipf("no host and port in the test DSN")
	}
	// The proxy listens on TCP and reaches the server where it is: its Unix
	// socket (a directory as host) or its TCP port.
	network, target := "tcp", net.JoinHostPort(host[1], port[1])
	if strings.HasPrefix(host[1], "/") {
		network, target = "unix", host[1]+"/.s.PGSQL."+port[1]
	}
	p := startTCPProxy(t, network, target)
	dsn = strings.Replace(dsn, host[0], "host=127.0.0.1", 1)
	dsn = strings.Replace(dsn, port[0], "port="+p.port(), 1)
	dir := t.TempDir()
	l := listenLocal(t)
	m := startHub(t, l, writeConfig(t, dir, `
server: { listen: "`+l.Addr().String()+`" }
database: { driver: postgres, dsn: "`+dsn+`" }
`))
	api := adminClient(t, m)
	if code, body := api.do("GET", "/api/v1/conversations", nil); code != http.StatusOK {
		t.Fatalf("before the outage: %d %s", code, body)
	}
	p.stop()
	for _, r := range []struct{ method, path string }{{"GET", "/api/v1/conversations"}, {"GET", "/api/v1/conversations/1"},
		{"POST", "/api/v1/conversations/1/messages"}} {
		code, body := api.do(r.method, r.path, map[string]any{"text": "hi"})
		if r.method == "GET" {
			code, body = api.do(r.method, r.path, nil)
		}
		if code != http.StatusServiceUnavailable || !strings.Contains(string(body), `"unavailable"`) {
			t.Errorf("%s %s during the outage: %d %s", r.method, r.path, code, body)
		}
	}
}

// tcpProxy forwards loopback connections to a server until stopped; stopping
// closes the listener and every connection, as a stopped server would.
type tcpProxy struct {
	l       net.Listener
	mu      sync.Mutex
	conns   []net.Conn
	stopped bool
	wg      sync.WaitGroup
}

func startTCPProxy(t *testing.T, network, target string) *tcpProxy {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{l: l}
	p.wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial(network, target)
			if err != nil {
				c.Close()
				continue
			}
			if !p.track(c, up) {
				return
			}
			p.wg.Go(func() { _, _ = io.Copy(up, c); up.Close() })
			p.wg.Go(func() { _, _ = io.Copy(c, up); c.Close() })
		}
	})
	t.Cleanup(p.stop)
	return p
}

func (p *tcpProxy) track(cs ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		for _, c := range cs {
			c.Close()
		}
		return false
	}
	p.conns = append(p.conns, cs...)
	return true
}

func (p *tcpProxy) port() string {
	_, port, _ := net.SplitHostPort(p.l.Addr().String())
	return port
}

func (p *tcpProxy) stop() {
	if err := p.l.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		return
	}
	p.mu.Lock()
	p.stopped = true
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
	p.mu.Unlock()
	p.wg.Wait()
}
