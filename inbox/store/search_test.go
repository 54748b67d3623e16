package store_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tongdao/hub/inbox/store"
	"github.com/tongdao/hub/internal/testclock"
	"github.com/tongdao/hub/models"
)

// searchAll reads every page of a search and returns the conversations'
// subjects in list order; pages counts the pages read.
func searchAll(t *testing.T, s *store.Store, f models.ConversationFilter) (subjects []string, pages int) {
	t.Helper()
	seen := map[string]bool{}
	for pages = 1; pages < 1000; pages++ {
		items, next, err := s.ListConversations(context.Background(), f)
		if err != nil {
			t.Fatalf("search %+v: %v", f, err)
		}
		for _, it := range items {
			if seen[it.ID] {
				t.Fatalf("search %+v: conversation %s on two pages", f, it.ID)
			}
			seen[it.ID] = true
			subjects = append(subjects, it.Subject)
		}
		if next == "" {
			return subjects, pages
		}
		f.Cursor = next
	}
	t.Fatalf("search %+v: no last page", f)
	return nil, 0
}

func indexed(t *testing.T, s *store.Store, q string) bool {
	t.Helper()
	ok, err := s.SearchIndexed(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// Search finds a conversation by any of its messages' texts (private notes
// included), its subject or its contact's name, ignoring case, in Chinese
// as in English, through the trigram index; other filters still apply.
func TestSearchFindsTextsThroughTheIndex(t *testing.T) {
	defer store.SetSearchIndexEvery(1)()
	eachDriver(t, func(t *testing.T, s *store.Store, c *testclock.Clock) {
		ctx := context.Background()
		texts := []string{"my order 4711 has not arrived", "我的订单还没有到", "100% sure_thing", `he said "hi" to me`, "hello"}
		var ids []int64
		for i, text := range texts {
			ids = append(ids, ingest(t, s, inbound(fmt.Sprint(i), fmt.Sprintf("%d:1", i), text))[0].ConversationID)
			c.Advance(time.Second)
		}
		note := &models.Message{ConversationID: ids[4], Direction: models.DirectionOut, Kind: models.KindMessage,
			SenderType: models.SenderAgent, SenderName: "ana", Text: "Customer prefers Tuesday", Private: true,
			DeliveryStatus: models.DeliverySent}
		if err := s.AddMessage(ctx, note); err != nil {
			t.Fatal(err)
		}
		if err := s.DB.Exec("UPDATE contacts SET name = 'Zhang Wei' WHERE id = (SELECT contact_id FROM conversations WHERE id = ?)", ids[3]).Error; err != nil {
			t.Fatal(err)
		}
		if _, err := s.UpdateConversation(ctx, ids[2], map[string]any{"status": models.StatusPending}, "ana"); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			q    string
			f    models.ConversationFilter
			want []string
		}{
			{q: "ORDER 4711", want: []string{texts[0]}},
			{q: "订单还", want: []string{texts[1]}},
			{q: "0% s", want: []string{texts[2]}},      // % is a character, not a wildcard
			{q: "e_th", want: []string{texts[2]}},      // and _ too
			{q: `said "hi"`, want: []string{texts[3]}}, // quotes are characters
			{q: "tuesday", want: []string{texts[4]}},   // a private note
			{q: "zhang w", want: []string{texts[3]}},   // the contact's name
			{q: "has not", want: []string{texts[0]}},   // the subject
			{q: "nowhere", want: nil},
			{q: "rde", f: models.ConversationFilter{Status: models.StatusOpen}, want: []string{texts[0]}},
			{q: "sure", f: models.ConversationFilter{Status: models.StatusOpen}, want: nil},
			{q: "sure", f: models.ConversationFilter{Status: models.StatusPending}, want: []string{texts[2]}},
		} {
			if !indexed(t, s, tc.q) {
				t.Errorf("%q: not answered from the index", tc.q)
			}
			f := tc.f
			f.Query = tc.q
			if got, _ := searchAll(t, s, f); !slices.Equal(got, tc.want) {
				t.Errorf("%q %+v: got %q, want %q", tc.q, tc.f, got, tc.want)
			}
		}
	})
}

// The index follows every change: a masked text is found by its new words
// only, a deleted message not at all.
func TestSearchIndexFollowsUpdatesAndDeletes(t *testing.T) {
	defer store.SetSearchIndexEvery(1)()
	eachDriver(t, func(t *testing.T, s *store.Store, c *testclock.Clock) {
		ctx := context.Background()
		items := ingest(t, s, inbound("1", "1:1", "hello"), inbound("1", "1:2", "link code 93417265"), inbound("1", "1:3", "ephemeral words"))
		var msgs []models.Message
		if err := s.DB.Order("id").Find(&msgs).Error; err != nil || len(msgs) != 3 {
			t.Fatalf("%d messages, %v", len(msgs), err)
		}
		if got, _ := searchAll(t, s, models.ConversationFilter{Query: "93417265"}); len(got) != 1 {
			t.Fatalf("before masking: %q", got)
		}
		if err := s.MaskMessage(ctx, msgs[1].ID, "link code ••••"); err != nil {
			t.Fatal(err)
		}
		if got, _ := searchAll(t, s, models.ConversationFilter{Query: "93417265"}); len(got) != 0 {
			t.Fatalf("a masked secret is still found: %q", got)
		}
		if got, _ := searchAll(t, s, models.ConversationFilter{Query: "code ••"}); len(got) != 1 {
			t.Fatalf("the masked text is not found: %q", got)
		}
		if err := s.DB.Exec("DELETE FROM messages WHERE id = ?", msgs[2].ID).Error; err != nil {
			t.Fatal(err)
		}
		if got, _ := searchAll(t, s, models.ConversationFilter{Query: "ephemeral"}); len(got) != 0 {
			t.Fatalf("a deleted message is still found: %q", got)
		}
		// A note is indexed at a later group commit; until then search
		// reads it from the rows not yet indexed, and masking or deleting
		// it there leaves the index as it was.
		for i, text := range []string{"first draft note", "second draft note"} {
			note := &models.Message{ConversationID: items[0].ConversationID, Direction: models.DirectionOut, Kind: models.KindMessage,
				SenderType: models.SenderAgent, Text: text, Private: true, DeliveryStatus: models.DeliverySent}
			if err := s.AddMessage(ctx, note); err != nil {
				t.Fatal(err)
			}
			if got, _ := searchAll(t, s, models.ConversationFilter{Query: "draft note"}); len(got) != 1 {
				t.Fatalf("note %d before the next group commit: %q", i, got)
			}
			if i == 0 {
				if err := s.MaskMessage(ctx, note.ID, "first final"); err != nil {
					t.Fatal(err)
				}
			} else if err := s.DB.Exec("DELETE FROM messages WHERE id = ?", note.ID).Error; err != nil {
				t.Fatal(err)
			}
		}
		ingest(t, s, inbound("1", "1:4", "later"))
		for q, want := range map[string]int{"draft note": 0, "first final": 1, "ephemeral": 0, "93417265": 0, "later": 1} {
			if got, _ := searchAll(t, s, models.ConversationFilter{Query: q}); len(got) != want {
				t.Errorf("%q after the next group commit: %q", q, got)
			}
		}
		if s.Driver == store.DriverSQLite {
			var behind int64
			if err := s.DB.Raw(`SELECT (SELECT MAX(id) FROM messages) - upto FROM search_indexed WHERE tbl = 'messages'`).Scan(&behind).Error; err != nil || behind != 0 {
				t.Fatalf("%d messages left to index after a group commit, %v", behind, err)
			}
			// The index holds exactly the stored texts.
			for _, q := range []string{
				`INSERT INTO messages_fts (messages_fts, rank) VALUES ('integrity-check', 1)`,
				`INSERT INTO contacts_fts (contacts_fts, rank) VALUES ('integrity-check', 1)`,
			} {
				if err := s.DB.Exec(q).Error; err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
		}
	})
}

// Migration 17 indexes the texts stored before it.
func TestSearchMigrationIndexesExistingTexts(t *testing.T) {
	for _, driver := range []string{store.DriverSQLite, store.DriverPostgres} {
		t.Run(driver, func(t *testing.T) {
			dsn := freshDSN(t, driver)
			s, err := store.Open(context.Background(), driver, dsn)
			if err != nil {
				t.Fatal(err)
			}
			ingest(t, s, inbound("1", "1:1", "opening words"), inbound("1", "1:2", "stored before the index"))
			// As if they were stored before version 17: its Down.
			file, err := os.ReadFile(filepath.Join("migrations", driver, "00017_search.sql"))
			if err != nil {
				t.Fatal(err)
			}
			_, down, _ := strings.Cut(string(file), "-- +goose Down\n")
			for _, q := range append(strings.Split(strings.TrimSpace(down), ";\n"), `DELETE FROM goose_db_version WHERE version_id = 17`) {
				if err := s.DB.Exec(q).Error; err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			s.Close()
			if s, err = store.Open(context.Background(), driver, dsn); err != nil {
				t.Fatalf("reopen: %v", err)
			}
			defer s.Close()
			if !indexed(t, s, "before the") {
				t.Fatal("not answered from the index")
			}
			for _, q := range []string{"before the", "opening w", "user 1"} {
				if got, _ := searchAll(t, s, models.ConversationFilter{Query: q}); !slices.Equal(got, []string{"opening words"}) {
					t.Errorf("%q after the migration: %q", q, got)
				}
			}
		})
	}
}

// A query shorter than three characters, or one that many texts hold,
// reads the conversations in list order, a bounded window per page: a page
// may be short, or empty, with a cursor to read on from; all pages together
// hold every match once, in list order, as the index would give them.
func TestSearchShortAndCommonQueriesScanABoundedWindow(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store, c *testclock.Clock) {
		defer store.SetSearchLimits(5, 4)()
		defer store.SetSearchIndexEvery(1)()
		var want []string
		for i := 0; i < 20; i++ {
			text := fmt.Sprintf("question %d", i)
			if i%3 == 0 {
				text = fmt.Sprintf("退款 order %d", i)
				want = append([]string{text}, want...)
			}
			ingest(t, s, inbound(fmt.Sprint(i), fmt.Sprintf("%d:1", i), text))
			c.Advance(time.Second)
		}
		for _, q := range []string{"退款", "款 order", "OrDeR"} {
			if indexed(t, s, q) {
				t.Errorf("%q: answered from the index, want a scan", q)
			}
			got, pages := searchAll(t, s, models.ConversationFilter{Query: q, Limit: 3})
			if !slices.Equal(got, want) {
				t.Errorf("%q: got %q, want %q", q, got, want)
			}
			// 20 conversations, 4 tested per page: 5 pages (and a last,
			// empty one when the 20th ends a window).
			if pages < 5 || pages > 6 {
				t.Errorf("%q: %d pages", q, pages)
			}
		}
		// The other filters narrow the window: only pending ones are tested.
		items, _, err := s.ListConversations(context.Background(), models.ConversationFilter{Query: "退款", Status: models.StatusPending})
		if err != nil || len(items) != 0 {
			t.Fatalf("short query with a status: %d items, %v", len(items), err)
		}
		// With the index's limit back, the same words are found from it.
		store.SetSearchLimits(2000, 2000)
		if !indexed(t, s, "款 order") {
			t.Fatal("a rare word is not answered from the index")
		}
		if got, pages := searchAll(t, s, models.ConversationFilter{Query: "款 order", Limit: 3}); !slices.Equal(got, want) || pages != 3 {
			t.Fatalf("from the index: %q in %d pages", got, pages)
		}
	})
}
