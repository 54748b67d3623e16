package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tongdao/hub/configs"
	"github.com/tongdao/hub/internal/wait"
)

// offsetClock is real time shifted by an offset the test moves forward. It
// keeps running, so the outbox's backoff timers and the stand-ins' deadlines
// still elapse, while a test jumps over hours (the 48-hour window) at once.
type offsetClock struct{ off atomic.Int64 }

// Now is the shifted time.
func (c *offsetClock) Now() time.Time { return time.Now().Add(time.Duration(c.off.Load())) }

// Advance moves the clock forward by d.
func (c *offsetClock) Advance(d time.Duration) { c.off.Add(int64(d)) }

// startHubAt runs the real program like startHub, with its clock injected
// (nil: the real clock).
func startHubAt(t testing.TB, l net.Listener, cfgPath string, now func() time.Time) *Main {
	t.Helper()
	return startHubWith(t, l, cfgPath, &Main{Now: now})
}

// startHubWith runs the real program like startHub, with m's settings
// (clock, schedules) and the configuration of cfgPath.
func startHubWith(t testing.TB, l net.Listener, cfgPath string, m *Main) *Main {
	t.Helper()
	cfg, err := configs.Load(cfgPath, nil)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	// The listener is in place before Run, which then serves on it instead
	// of listening on server.listen.
	m.Config, m.Logger, m.listener = cfg, testLogger(), l
	if err := m.Run(context.Background()); err != nil {
		t.Fatalf("run: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// testLogger discards logs, or shows warnings with -v.
func testLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	return slog.New(slog.DiscardHandler)
}

// apiIdentity is a contact's channel identity as GET /conversations/{id}
// shows it, with the reachability fields.
type apiIdentity struct {
	ID                string     `json:"id"`
	Channel           string     `json:"channel"`
	Connector         string     `json:"connector"`
	ExternalID        string     `json:"external_id"`
	ReplyUntil        *time.Time `json:"reply_until"`
	Reachable         bool       `json:"reachable"`
	UnreachableReason string     `json:"unreachable_reason"`
	LastInboundAt     *time.Time `json:"last_inbound_at"`
}

// apiConversationDetail is GET /conversations/{id}.
type apiConversationDetail struct {
	ID      string `json:"id"`
	Subject string `json:"subject"`
	Contact struct {
		ID         string        `json:"id"`
		Identities []apiIdentity `json:"identities"`
	} `json:"contact"`
}

func (c *client) conversation(id string) apiConversationDetail {
	c.t.Helper()
	var out apiConversationDetail
	c.json("GET", "/api/v1/conversations/"+id, nil, &out)
	return out
}

// identity returns the conversation's identity on channel; the test fails
// when there is none.
func (d apiConversationDetail) identity(t testing.TB, channel string) apiIdentity {
	t.Helper()
	for _, id := range d.Contact.Identities {
		if id.Channel == channel {
			return id
		}
	}
	t.Fatalf("conversation %s has no %s identity: %+v", d.ID, channel, d.Contact.Identities)
	return apiIdentity{}
}

// conversationOf returns the id of the conversation whose contact has the
// identity (channel, externalID), or "".
func (c *client) conversationOf(channel, externalID string) string {
	c.t.Helper()
	for _, conv := range c.conversations() {
		for _, id := range conv.Contact.Identities {
			if id.Channel == channel && id.ExternalID == externalID {
				return conv.ID
			}
		}
	}
	return ""
}

// waitConversationOf waits until the customer's conversation exists.
func (c *client) waitConversationOf(channel, externalID string) string {
	c.t.Helper()
	var id string
	wait.For(c.t, "the conversation of "+channel+" customer "+externalID, func() bool {
		id = c.conversationOf(channel, externalID)
		return id != ""
	})
	return id
}

// waitDelivery waits until the agent message id reaches a final delivery
// status (sent or failed) and returns it.
func (c *client) waitDelivery(convID, msgID string) apiMessage {
	c.t.Helper()
	var got apiMessage
	wait.For(c.t, "the delivery of message "+msgID, func() bool {
		for _, m := range c.messages(convID) {
			if m.ID == msgID {
				got = m
				return m.Delivery.Status == "sent" || m.Delivery.Status == "failed"
			}
		}
		return false
	})
	return got
}

// httpDo sends a request with a raw body and returns the status and body.
func httpDo(t testing.TB, method, url, contentType, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(b)
}

// getJSON GETs url and decodes a 200 answer into out.
func getJSON(t testing.TB, url string, out any) {
	t.Helper()
	code, body := httpDo(t, "GET", url, "", "")
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, code, body)
	}
	if err := json.Unmarshal([]byte(body), out); err != nil {
		t.Fatalf("GET %s: decode %s: %v", url, body, err)
	}
}
