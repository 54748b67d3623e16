package inbox_test

import (
	"context"
	"testing"
	"time"

	"github.com/tongdao/hub/inbox"
	"github.com/tongdao/hub/models"
)

// TestSetConnectorsReplacesWhatTheInboxKnows: after a reload the reply
// windows (and with them reply_until and the refusal) are the new ones.
func TestSetConnectorsReplacesWhatTheInboxKnows(t *testing.T) {
	f := newFixture(t)
	f.ingest(t, msg("wx", "wechat", "oUser", "m1", "你好"))
	conv := f.onlyConversation(t)
	id, _ := models.ParseID(conv.ID)
	f.clock.Advance(49 * time.Hour)
	reply := func() error {
		_, err := f.svc.Reply(context.Background(), models.ReplyRequest{ConversationID: id, Text: "hello", Actor: agent})
		return err
	}
	if err := reply(); err == nil {
		t.Fatal("a reply after the 48-hour window must be refused")
	}
	f.svc.SetConnectors(inbox.ConnectorInfo{ReplyWindows: map[string]time.Duration{"wx": 72 * time.Hour},
		Titles: map[string]string{"wx": "WeChat"}})
	if err := reply(); err != nil {
		t.Fatalf("reply inside the new 72-hour window: %v", err)
	}
	view := f.onlyConversation(t)
	if until := view.Contact.Identities[0].ReplyUntil; until == nil || !until.Equal(f.clock.Now().Add(23*time.Hour)) {
		t.Fatalf("reply_until %v, want 72 h after the message", until)
	}
}
