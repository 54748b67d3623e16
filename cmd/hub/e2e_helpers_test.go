package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tongdao/hub/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// client calls the hub's HTTP API as an agent.
type client struct {
	t     testing.TB
	base  string
	token string
}

func (c *client) do(method, path string, body any) (int, []byte) {
	c.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.base+path, r)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// json calls the API and decodes a 2xx answer into out.
func (c *client) json(method, path string, body, out any) {
	c.t.Helper()
	code, b := c.do(method, path, body)
	if code/100 != 2 {
		c.t.Fatalf("%s %s: %d %s", method, path, code, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			c.t.Fatalf("%s %s: decode %s: %v", method, path, b, err)
		}
	}
}

type apiMessage struct {
	ID        string `json:"id"`
	Direction string `json:"direction"`
	Kind      string `json:"kind"`
	Channel   string `json:"channel"`
	Connector string `json:"connector"`
	Text      string `json:"text"`
	Sender    struct {
		Type string `json:"type"`
	} `json:"sender"`
	Delivery struct {
		Status   string  `json:"status"`
		Error    *string `json:"error"`
		Attempts int     `json:"attempts"`
	} `json:"delivery"`
}

type apiConversation struct {
	ID      string `json:"id"`
	Status  string `json:"status"`
	Subject string `json:"subject"`
	Contact struct {
		ID         string `json:"id"`
		Identities []struct {
			ID         string     `json:"id"`
			Channel    string     `json:"channel"`
			Connector  string     `json:"connector"`
			ExternalID string     `json:"external_id"`
			ReplyUntil *time.Time `json:"reply_until"`
			Reachable  bool       `json:"reachable"`
		} `json:"identities"`
	} `json:"contact"`
}

func (c *client) conversations() []apiConversation {
	var out struct {
		Conversations []apiConversation `json:"conversations"`
	}
	c.json("GET", "/api/v1/conversations", nil, &out)
	return out.Conversations
}

func (c *client) messages(convID string) []apiMessage {
	var out struct {
		Messages []apiMessage `json:"messages"`
	}
	c.json("GET", "/api/v1/conversations/"+convID+"/messages", nil, &out)
	return out.Messages
}

// listenLocal opens the loopback listener a test's hub serves on, on a port
// the kernel picks. The test reads the address from it and hands it to
// startHub: a port is never picked first and bound later, when another
// process may have taken it.
func listenLocal(t testing.TB) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() }) // in case the hub never took it
	return l
}

// writeConfig writes a hub config file and returns its path.
func writeConfig(t testing.TB, dir, yaml string) string {
	path := filepath.Join(dir, "hub.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// startHub runs the real program in-process from a config file, serving on
// l (see listenLocal).
func startHub(t testing.TB, l net.Listener, cfgPath string) *Main {
	t.Helper()
	return startHubAt(t, l, cfgPath, nil)
}

func adminClient(t testing.TB, m *Main) *client {
	tok, _, err := m.Store.CreateToken(context.Background(), "test-admin", "admin")
	if err != nil {
		t.Fatal(err)
	}
	return &client{t: t, base: m.URL(), token: tok}
}

func postJSON(t testing.TB, url string, header map[string]string, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func countRows(t testing.TB, m *Main, table string) int64 {
	var n int64
	if err := m.Store.DB.Table(table).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func pgDSN(t testing.TB) string { return pgtest.DSN(t) }
