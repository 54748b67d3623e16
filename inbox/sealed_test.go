package inbox_test

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/tongdao/hub/inbox"
	"github.com/tongdao/hub/models"
)

var linkCodeRx = regexp.MustCompile(`\b[` + inbox.LinkCodeAlphabet + `]{8}\b`)

// TestLinkCodeNeverInAnUnsealedInlineReply: a WeChat "link" menu click that
// came as a plaintext push (not sealed: anyone holding one signed URL can
// forge it) gets an inline reply without the code; the code goes through the
// outbox to the customer's own chat. A sealed click gets it inline.
func TestLinkCodeNeverInAnUnsealedInlineReply(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	click := models.Inbound{Connector: "wx", Channel: models.ChannelWeChat, ExternalID: "ev:o1:1:CLICK", Kind: models.KindAction,
		Action: inbox.ActionLink, From: models.Sender{ExternalID: "o1"}, ReplyTo: "o1", InlineReply: true}
	res := f.ingest(t, click)
	if res.InlineReply == "" || linkCodeRx.MatchString(res.InlineReply) || !strings.Contains(res.InlineReply, "separate message") {
		t.Fatalf("the inline reply to an unsealed click must say the code comes apart, without it: %q", res.InlineReply)
	}
	if _, err := f.svc.DeliverDue(ctx); err != nil {
		t.Fatal(err)
	}
	sent := f.wx.sentTo("o1")
	if len(sent) != 1 || !linkCodeRx.MatchString(sent[0]) {
		t.Fatalf("the offer must go out through the outbox to the customer: %q", sent)
	}

	sealed := click
	sealed.ExternalID, sealed.Sealed = "ev:o1:2:CLICK", true
	res = f.ingest(t, sealed)
	if !linkCodeRx.MatchString(res.InlineReply) {
		t.Fatalf("a sealed click gets the offer inline: %q", res.InlineReply)
	}
	if _, err := f.svc.DeliverDue(ctx); err != nil {
		t.Fatal(err)
	}
	if sent := f.wx.sentTo("o1"); len(sent) != 1 {
		t.Fatalf("a sealed click's offer must not also go through the outbox: %q", sent)
	}
}
