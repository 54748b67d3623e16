package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tongdao/hub/inbox/store"
	"github.com/tongdao/hub/internal/testclock"
	"github.com/tongdao/hub/models"
)

// Attachment rows on both databases (migration 00016): taken in hand with
// the message's copy rewritten and announced; due rows found by time and
// claimed once; saved as stored or failed; stored ones counted and found
// past a retention.
func TestAttachmentRows(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store, c *testclock.Clock) {
		ctx := context.Background()
		in := inbound("1", "1:1", "")
		in.Attachments = []models.Attachment{{Type: "link", URL: "https://example.com/x"}, {Type: "image", FileID: "AgAD-secret", Size: 100},
			{Type: "document", URL: "https://cdn.example/attachments/1/r.pdf?sig=secret"}}
		item := ingest(t, s, in)[0]
		msgID, err := s.InboundMessageID(ctx, "tg-main", "1:1")
		if err != nil || models.ID(msgID) != item.Result.MessageID {
			t.Fatalf("InboundMessageID = %d, %v; ingest said %s", msgID, err, item.Result.MessageID)
		}
		// Before the hub takes the files in hand, the platform's address of
		// a customer's file is not shown (a link's is).
		msgs, _, err := s.ListMessages(ctx, item.ConversationID, "", 10)
		if err != nil || len(msgs) != 1 {
			t.Fatal(msgs, err)
		}
		if a := msgs[0].Attachments; a[0].URL == nil || a[1].URL != nil || a[2].URL != nil || a[2].ID != nil {
			t.Fatalf("before AddAttachments: %+v", a)
		}
		now := c.Now()
		if err := s.AddAttachments(ctx, msgID, []models.AttachmentRow{{Position: 1, Connector: "tg-main", Type: "image",
			Size: 100, State: models.AttachmentPending, Source: `{"type":"image","file_id":"AgAD-secret"}`, NextTry: &now}}); err != nil {
			t.Fatal(err)
		}
		view := func() []models.AttachmentView {
			t.Helper()
			msgs, _, err := s.ListMessages(ctx, item.ConversationID, "", 10)
			if err != nil || len(msgs) != 1 {
				t.Fatalf("messages %v %v", msgs, err)
			}
			return msgs[0].Attachments
		}
		v := view()
		if len(v) != 3 || v[0].ID != nil || v[1].ID == nil || *v[1].State != models.AttachmentPending || v[1].URL != nil {
			t.Fatalf("after AddAttachments: %+v", v)
		}
		evs, err := s.EventsAfter(ctx, 0, 100)
		if err != nil || evs[len(evs)-1].Type != models.EventTypeMessageUpdated {
			t.Fatalf("last event %+v %v", evs[len(evs)-1], err)
		}
		var raw string
		if err := s.DB.Raw(`SELECT attachments FROM messages WHERE id = ?`, msgID).Scan(&raw).Error; err != nil {
			t.Fatal(err)
		}
		if strings.Contains(raw, "AgAD-secret") {
			t.Errorf("the message keeps the platform's file id: %s", raw)
		}

		due, err := s.DueAttachments(ctx, now.Add(-time.Second), 10)
		if err != nil || len(due) != 0 {
			t.Fatalf("due before its time: %v %v", due, err)
		}
		due, err = s.DueAttachments(ctx, now, 10)
		if err != nil || len(due) != 1 || due[0].Source == "" {
			t.Fatalf("due: %+v %v", due, err)
		}
		for i, want := range []bool{true, false} {
			if ok, err := s.ClaimAttachment(ctx, due[0].ID, now, now.Add(3*time.Minute)); err != nil || ok != want {
				t.Fatalf("claim %d = %v, %v", i, ok, err)
			}
		}
		r := due[0]
		at := now.Add(time.Second)
		r.State, r.ContentType, r.Size, r.BlobKey, r.ThumbnailKey, r.NextTry, r.StoredAt = models.AttachmentStored, "image/png", 4321, "att/1-x", "att/1-x.thumb.jpg", nil, &at
		if err := s.SaveAttachment(ctx, &r); err != nil {
			t.Fatal(err)
		}
		v = view()
		if *v[1].State != models.AttachmentStored || *v[1].URL != "/api/v1/attachments/"+*v[1].ID || v[1].ThumbnailURL == nil || v[1].Size != 4321 {
			t.Fatalf("after SaveAttachment: %+v", v[1])
		}
		got, err := s.Attachment(ctx, r.ID)
		if err != nil || got.Attempts != 1 || got.BlobKey != "att/1-x" {
			t.Fatalf("Attachment = %+v, %v", got, err)
		}
		if n, b, err := s.MediaUsage(ctx); err != nil || n != 1 || b != 4321 {
			t.Fatalf("MediaUsage = %d, %d, %v", n, b, err)
		}
		if old, err := s.ExpiredAttachments(ctx, at, 0, 10); err != nil || len(old) != 0 {
			t.Fatalf("expired at its storing: %v %v", old, err)
		}
		if old, err := s.ExpiredAttachments(ctx, at.Add(time.Hour), 0, 10); err != nil || len(old) != 1 {
			t.Fatalf("expired an hour later: %v %v", old, err)
		}
		if _, err := s.Attachment(ctx, 999); models.ErrorCode(err) != models.ENOTFOUND {
			t.Fatalf("unknown attachment: %v", err)
		}
	})
}
