package telegram

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tongdao/hub/connectors"
	"github.com/tongdao/hub/models"
	"github.com/tongdao/hub/sandbox/tgfake"
)

// sendEnv is a connector (not running) pointed at a stand-in where Ana has
// written to the bot, so the bot may write to her.
func sendEnv(t *testing.T) (*tgfake.Server, *Connector) {
	t.Helper()
	fake := newFake(t)
	if _, err := fake.SendText(context.Background(), ana, "hi"); err != nil {
		t.Fatal(err)
	}
	conn := newConnector(t, map[string]any{"token": testToken, "webhook_secret": testSecret, "api_url": fake.URL()}, connectors.Deps{})
	return fake, conn
}

func TestSendText(t *testing.T) {
	fake, conn := sendEnv(t)
	res, err := conn.Send(context.Background(), models.Outbound{To: "1001", Text: "Hello Ana"})
	if err != nil {
		t.Fatal(err)
	}
	sent := fake.Sent(1001)
	if len(sent) != 1 || sent[0].Text != "Hello Ana" || sent[0].Method != "sendMessage" {
		t.Fatalf("sent = %+v", sent)
	}
	// Message ids count per chat: Ana's "hi" was 1.
	if res.ExternalID != "1001:2" {
		t.Errorf("ExternalID = %q, want 1001:2", res.ExternalID)
	}
}

func TestSendLongTextIsSplitInOrder(t *testing.T) {
	fake, conn := sendEnv(t)
	var b strings.Builder
	for i := 0; b.Len() < 13000; i++ {
		b.WriteString("Line " + strconv.Itoa(i) + " of a long answer, with 中文 and emoji 👍.\n")
	}
	text := b.String()
	res, err := conn.Send(context.Background(), models.Outbound{To: "1001", Text: text, Buttons: []models.Button{{ID: "ok", Label: "OK"}}})
	if err != nil {
		t.Fatal(err)
	}
	sent := fake.Sent(1001)
	if len(sent) < 3 {
		t.Fatalf("sent %d parts, want at least 3", len(sent))
	}
	var joined strings.Builder
	for i, m := range sent {
		joined.WriteString(m.Text)
		if (i == len(sent)-1) != (len(m.Buttons) == 1) {
			t.Errorf("part %d buttons = %v; the keyboard belongs to the last part only", i, m.Buttons)
		}
		if i < len(sent)-1 && !strings.HasSuffix(m.Text, "\n") {
			t.Errorf("part %d not cut at a line end", i)
		}
	}
	if joined.String() != text {
		t.Error("parts do not join back into the text")
	}
	if want := "1001:" + strconv.Itoa(sent[len(sent)-1].MessageID); res.ExternalID != want {
		t.Errorf("ExternalID = %q, want %q (the last part)", res.ExternalID, want)
	}
}

func TestSendPhotoThenText(t *testing.T) {
	fake, conn := sendEnv(t)
	_, err := conn.Send(context.Background(), models.Outbound{To: "1001", ReplyTo: "1001", Text: "Here is the label",
		Attachments: []models.Attachment{{Type: "image", URL: "https://files.example.com/label.png"}, {Type: "document", URL: "https://files.example.com/a.pdf"}}})
	if err != nil {
		t.Fatal(err)
	}
	sent := fake.Sent(1001)
	if len(sent) != 3 || sent[0].Photo != "https://files.example.com/label.png" || sent[1].Document != "https://files.example.com/a.pdf" || sent[2].Text != "Here is the label" {
		t.Fatalf("sent = %+v", sent)
	}
}

func TestSendErrors(t *testing.T) {
	fake, conn := sendEnv(t)
	ctx := context.Background()
	tests := []struct {
		name    string
		setup   func()
		out     models.Outbound
		check   func(t *testing.T, de *models.DeliveryError)
		plain   bool // a transient, non-DeliveryError error
		noCalls bool
	}{
		{name: "429 retry_after", setup: func() { fake.FailNext("sendMessage", 429, "Too Many Requests: retry after 7", 7) },
			out: outbound("1001", "x"), check: func(t *testing.T, de *models.DeliveryError) {
				if de.Permanent || de.RetryAfter != 7*time.Second || de.Code != "429" {
					t.Errorf("%+v", de)
				}
			}},
		{name: "blocked", setup: func() { fake.Block(1001) }, out: outbound("1001", "x"),
			check: func(t *testing.T, de *models.DeliveryError) {
				if !de.Permanent || !de.Unreachable || de.Code != "403" || !strings.Contains(de.Reason, "blocked the bot") {
					t.Errorf("%+v", de)
				}
				fake.Unblock(1001)
			}},
		{name: "deactivated", setup: func() { fake.FailNext("sendMessage", 403, "Forbidden: user is deactivated", 0) },
			out: outbound("1001", "x"), check: func(t *testing.T, de *models.DeliveryError) {
				if !de.Permanent || !de.Unreachable || !strings.Contains(de.Reason, "deleted") {
					t.Errorf("%+v", de)
				}
			}},
		{name: "chat not found", out: outbound("424242", "x"), check: func(t *testing.T, de *models.DeliveryError) {
			if !de.Permanent || de.Unreachable || de.Code != "400" {
				t.Errorf("%+v", de)
			}
		}},
		{name: "5xx is transient", setup: func() { fake.FailNext("sendMessage", 502, "Bad Gateway", 0) }, out: outbound("1001", "x"), plain: true},
		{name: "button id too long", out: outbound("1001", "x", strings.Repeat("b", 65)), noCalls: true,
			check: func(t *testing.T, de *models.DeliveryError) {
				if !de.Permanent || !strings.Contains(de.Reason, "64 bytes") {
					t.Errorf("%+v", de)
				}
			}},
		{name: "bad chat id", out: outbound("@ana", "x"), noCalls: true, check: func(t *testing.T, de *models.DeliveryError) {
			if !de.Permanent {
				t.Errorf("%+v", de)
			}
		}},
		{name: "empty", out: outbound("1001", ""), noCalls: true, check: func(t *testing.T, de *models.DeliveryError) {
			if !de.Permanent {
				t.Errorf("%+v", de)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.setup != nil {
				tt.setup()
			}
			before := fake.Calls("sendMessage")
			_, err := conn.Send(ctx, tt.out)
			if err == nil {
				t.Fatal("Send succeeded")
			}
			var de *models.DeliveryError
			if tt.plain {
				if errors.As(err, &de) {
					t.Fatalf("want a plain transient error, got %+v", de)
				}
				return
			}
			if !errors.As(err, &de) {
				t.Fatalf("want *models.DeliveryError, got %v", err)
			}
			tt.check(t, de)
			if tt.noCalls && fake.Calls("sendMessage") != before {
				t.Error("invalid message reached the API")
			}
		})
	}
}

func TestTransportErrorsHideToken(t *testing.T) {
	conn := newConnector(t, map[string]any{"token": testToken, "webhook_secret": testSecret, "api_url": hangUpURL(t)}, connectors.Deps{})
	_, err := conn.Send(context.Background(), outbound("1001", "x"))
	var de *models.DeliveryError
	if err == nil || errors.As(err, &de) {
		t.Fatalf("Send = %v, want a transient error", err)
	}
	if strings.Contains(err.Error(), testToken) || strings.Contains(err.Error(), "/bot") {
		t.Errorf("error leaks the token URL: %v", err)
	}
}

func TestSendWaitsForRateLimitAndHonoursContext(t *testing.T) {
	fake, conn := sendEnv(t)
	var waits []time.Duration
	conn.sleep = func(ctx context.Context, d time.Duration) error {
		if d > 0 {
			waits = append(waits, d)
		}
		return ctx.Err()
	}
	for i := range 4 {
		if _, err := conn.Send(context.Background(), outbound("1001", "msg "+strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	// The clock stands still: a burst of 3 per chat, then a 1 s wait.
	if len(waits) != 1 || waits[0] != time.Second {
		t.Errorf("waits = %v, want [1s]", waits)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := conn.Send(ctx, outbound("1001", "late")); !errors.Is(err, context.Canceled) {
		t.Errorf("Send with cancelled ctx = %v", err)
	}
	if n := len(fake.Sent(1001)); n != 4 {
		t.Errorf("sent %d, want 4", n)
	}
}

func TestLimiter(t *testing.T) {
	l := newLimiter()
	now := testNow
	// Per chat: three at once, then one a second.
	for i, want := range []time.Duration{0, 0, 0, time.Second, 2 * time.Second} {
		if got := l.reserve("1", now); got != want {
			t.Errorf("chat send %d waits %v, want %v", i, got, want)
		}
	}
	// Per bot: 30 at once across chats, then one every 1/30 s.
	l = newLimiter()
	for i := range 30 {
		if got := l.reserve(strconv.Itoa(i), now); got != 0 {
			t.Fatalf("send %d waits %v", i, got)
		}
	}
	if got := l.reserve("x", now); got != globalEvery {
		t.Errorf("31st send waits %v, want %v", got, globalEvery)
	}
	// Time passing restores the budget.
	if got := l.reserve("y", now.Add(2*time.Second)); got != 0 {
		t.Errorf("after 2 s waits %v", got)
	}
}
