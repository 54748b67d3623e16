package main

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/tongdao/hub/internal/wait"
)

// TestSandboxCustomersSendFiles runs the welcome text's step 7 against
// `hub sandbox` in-process: on each platform the customer sends a photo and
// a voice note through the stand-ins' customer API, and each arrives in the
// customer's conversation as an image and a voice attachment (WeChat's with
// its recognition text as the transcript).
func TestSandboxCustomersSendFiles(t *testing.T) {
	sb, err := StartSandbox(context.Background(), "127.0.0.1:0", t.TempDir(), &Main{Logger: testLogger()})
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
	posts := regexp.MustCompile(`(?m)^\s*curl -s -X POST (\S+/sandbox/\S+) -H 'Content-Type: application/json' -d '([^']*)'$`).
		FindAllStringSubmatch(welcome.String(), -1)
	if len(posts) != 6 {
		t.Fatalf("the welcome text prints %d file curl lines, want 6:\n%s", len(posts), welcome.String())
	}
	for _, p := range posts {
		if code, body := httpDo(t, "POST", p[1], "application/json", p[2]); code != http.StatusOK {
			t.Fatalf("curl %s: %d %s", p[1], code, body)
		}
	}
	api := &client{t: t, base: sb.Main.URL(), token: sb.AdminToken}
	type attachment struct {
		Type       string `json:"type"`
		Transcript string `json:"transcript"`
	}
	for _, c := range []struct{ channel, id, transcript string }{
		{"telegram", "1001", ""},
		{"wechat", "oSandboxUser0001", "包裹坏了，我要退货"},
		{"discord", "900000000000000001", ""},
	} {
		conv := api.waitConversationOf(c.channel, c.id)
		var got []attachment
		wait.For(t, c.channel+" photo and voice note in the conversation", func() bool {
			var out struct {
				Messages []struct {
					Attachments []attachment `json:"attachments"`
				} `json:"messages"`
			}
			api.json("GET", "/api/v1/conversations/"+conv+"/messages", nil, &out)
			got = got[:0]
			for _, m := range out.Messages {
				got = append(got, m.Attachments...)
			}
			return len(got) >= 2
		})
		types := map[string]attachment{}
		for _, a := range got {
			types[a.Type] = a
		}
		if _, ok := types["image"]; !ok {
			t.Errorf("%s: attachments %+v, want an image", c.channel, got)
		}
		if v, ok := types["audio"]; !ok || v.Transcript != c.transcript {
			t.Errorf("%s: attachments %+v, want a voice note with transcript %q", c.channel, got, c.transcript)
		}
	}
}
