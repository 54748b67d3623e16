package store_test

import (
	"context"
	"strings"
	"testing"

	"github.com/tongdao/hub/inbox/store"
	"github.com/tongdao/hub/internal/testclock"
	"github.com/tongdao/hub/models"
)

// Every text field of an inbound is stored without NUL characters and with
// invalid UTF-8 replaced, on both databases.
func TestIngestCleansTextFields(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store, c *testclock.Clock) {
		in := inbound("1", "1:1", "my\x00 order \xff is late")
		in.From.DisplayName, in.From.Username = "Ana\x00 Li", "ana\x00"
		in.Attachments = []models.Attachment{{Type: "document", Name: "bill\x00.pdf", FileID: "f\x00"}}
		items := ingest(t, s, in)
		var m models.Message
		if err := s.DB.Where("external_id = ?", "1:1").Take(&m).Error; err != nil {
			t.Fatal(err)
		}
		if m.Text != "my order \uFFFD is late" || strings.Contains(m.Attachments, `\u0000`) || m.SenderName != "Ana Li" {
			t.Fatalf("stored message: text %q, attachments %s, sender %q", m.Text, m.Attachments, m.SenderName)
		}
		if i := identityOf(t, s, "tg-main", "1"); i.DisplayName != "Ana Li" || i.Username != "ana" {
			t.Fatalf("stored identity: %+v", i)
		}
		// API inputs too: a search, an agent's reply.
		if _, _, err := s.ListConversations(context.Background(), models.ConversationFilter{Query: "order\x00", Assignee: "a\x00", Team: "t\x00"}); err != nil {
			t.Fatalf("search with a NUL: %v", err)
		}
		reply := &models.Message{ConversationID: items[0].ConversationID, Direction: models.DirectionOut, Kind: models.KindMessage,
			SenderType: models.SenderAgent, Text: "on\x00 it", DeliveryStatus: models.DeliveryQueued}
		if err := s.AddMessage(context.Background(), reply); err != nil || reply.Text != "on it" {
			t.Fatalf("reply with a NUL: %v, stored %q", err, reply.Text)
		}
	})
}

// An inbound that the database refuses for its data is skipped: recorded,
// announced by an event, and reported as invalid (permanent), while the next
// one is stored. (A value longer than its column is refused by PostgreSQL
// only; SQLite's text has no length.)
func TestDataErrorSkipsTheInboundAndTheNextFlows(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store, c *testclock.Clock) {
		if s.Driver != store.DriverPostgres {
			t.Skip("SQLite stores text of any length")
		}
		bad := inbound("2", "2:1", "hello")
		bad.From.Username = strings.Repeat("u", 300)
		items := []*store.IngestItem{{In: bad}}
		err := s.IngestBatch(context.Background(), items)
		if models.ErrorCode(err) != models.EINVALID {
			t.Fatalf("ingest of a refused row: %v (code %q), want invalid", err, models.ErrorCode(err))
		}
		var rows []models.SkippedInbound
		if err := s.DB.Find(&rows).Error; err != nil {
			t.Fatal(err)
		}
		if len(rows) != 1 || rows[0].Connector != "tg-main" || rows[0].ExternalID != "2:1" || !strings.Contains(rows[0].Reason, "22001") {
			t.Fatalf("skipped rows: %+v", rows)
		}
		var evs []models.Event
		if err := s.DB.Where("type = ?", models.EventTypeInboundSkipped).Find(&evs).Error; err != nil || len(evs) != 1 ||
			!strings.Contains(evs[0].Data, `"external_id":"2:1"`) {
			t.Fatalf("inbound.skipped events: %+v, %v", evs, err)
		}
		ingest(t, s, inbound("1", "1:1", "next"))
	})
}
