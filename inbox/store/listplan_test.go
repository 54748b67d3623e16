package store_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"

	"gorm.io/gorm"

	"github.com/tongdao/hub/inbox/store"
	"github.com/tongdao/hub/internal/testclock"
	"github.com/tongdao/hub/models"
)

// statements records the SQL a store reads with (its Read handle), with
// the arguments, while on is set.
type statements struct {
	mu   sync.Mutex
	on   bool
	sqls []string
	args [][]any
}

func recordReads(t *testing.T, s *store.Store) *statements {
	t.Helper()
	rec := &statements{}
	record := func(db *gorm.DB) {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		if rec.on {
			rec.sqls = append(rec.sqls, db.Statement.SQL.String())
			rec.args = append(rec.args, append([]any(nil), db.Statement.Vars...))
		}
	}
	// Find runs the query callbacks; Raw(…).Scan the row callbacks.
	if err := s.Read.Callback().Query().After("gorm:query").Register("test:record", record); err != nil {
		t.Fatal(err)
	}
	if err := s.Read.Callback().Row().After("gorm:row").Register("test:record", record); err != nil {
		t.Fatal(err)
	}
	return rec
}

func (r *statements) during(fn func()) ([]string, [][]any) {
	r.mu.Lock()
	r.on, r.sqls, r.args = true, nil, nil
	r.mu.Unlock()
	fn()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.on = false
	return r.sqls, r.args
}

// explain returns a statement's plan, one line per step. On PostgreSQL
// sequential scans are priced out, so that one shows only where no index
// can answer.
func explain(t *testing.T, s *store.Store, sql string, args []any) string {
	t.Helper()
	var lines []string
	if s.Driver == store.DriverPostgres {
		err := s.DB.Transaction(func(tx *gorm.DB) error {
			if err := tx.Exec("SET LOCAL enable_seqscan = off").Error; err != nil {
				return err
			}
			return tx.Raw("EXPLAIN "+sql, args...).Pluck("QUERY PLAN", &lines).Error
		})
		if err != nil {
			t.Fatalf("explain %s: %v", sql, err)
		}
		return strings.Join(lines, "\n")
	}
	rows, err := s.Read.Raw("EXPLAIN QUERY PLAN "+sql, args...).Rows()
	if err != nil {
		t.Fatalf("explain %s: %v", sql, err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, detail)
	}
	return strings.Join(lines, "\n")
}

var (
	// A table read whole: SQLite's SCAN without an index (an FTS table's
	// VIRTUAL TABLE INDEX is its index), PostgreSQL's Seq Scan.
	fullScan = regexp.MustCompile(`(?m)^SCAN (conversations|messages|contacts|identities|conversation_labels|sla_clocks)( AS \w+)?$|Seq Scan on (\w+)`)
	// Every matching row sorted to find the first page.
	sortAll = regexp.MustCompile(`USE TEMP B-TREE FOR ORDER BY|Sort Key: conversations.last_message_at`)
)

// Every question the conversation list, the conversation view and the
// timeline ask, for every filter of the API, is answered from indexes on
// both stores: no table is read whole, and the list's first page is read
// in list order from an index, not sorted from every match, except where
// the matches are known to be few (a rare word of a search, a rare label).
func TestListViewAndTimelineUseIndexes(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store, c *testclock.Clock) {
		ctx := context.Background()
		conv := ingest(t, s, inbound("1", "1:1", "where is my order"))[0].ConversationID
		if s.Driver == store.DriverPostgres {
			// PostgreSQL plans by the data's statistics (SQLite, never
			// analysed, plans by rules): rows as the filters find them in a
			// busy hub.
			seedForPlans(t, s)
		}
		rec := recordReads(t, s)
		few := func(f models.ConversationFilter) bool {
			return f.Query == "order 4711" || f.Label == "vip"
		}
		cases := []models.ConversationFilter{
			{},
			{Status: models.StatusOpen},
			{Assignee: "agent2"},
			{Assignee: "none"},
			{Team: "billing"},
			{Priority: "urgent"},
			{Channel: models.ChannelTelegram},
			{Label: "vip"},
			{Label: "common"},
			{View: models.ViewMine, Me: "agent2"},
			{View: models.ViewUnassigned},
			{View: models.ViewHuman},
			{View: models.ViewWaiting},
			{View: models.ViewAll},
			{Query: "order 4711"},
			{Query: "where"},
			{Query: "退款"},
			{View: models.ViewMine, Me: "agent2", Status: models.StatusOpen, Query: "order 4711"},
			{Cursor: "MTc2NDE1NTIwMDAwMDAwMDAwMDox"},
		}
		for _, f := range cases {
			name := fmt.Sprintf("%+v", f)
			restore := func() {}
			switch {
			case f.Label == "common":
				restore = store.SetLabelFewRows(0)
			case f.Query == "where":
				restore = store.SetSearchLimits(0, 2000)
			}
			sqls, args := rec.during(func() {
				if _, _, err := s.ListConversations(ctx, f); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
			})
			restore()
			checkPlans(t, s, name, sqls, args, few(f))
			if f.Query == "order 4711" {
				// A rare word: the texts are found in the index, and the
				// page is read from their conversations.
				want := []string{"SCAN messages_fts VIRTUAL TABLE INDEX", "SEARCH conversations USING INTEGER PRIMARY KEY"}
				if s.Driver == store.DriverPostgres {
					want = []string{"Bitmap Index Scan on idx_messages_text_trgm", "Index Scan using messages_pkey"}
				}
				var plans []string
				for i := range sqls {
					plans = append(plans, explain(t, s, sqls[i], args[i]))
				}
				for _, w := range want {
					if all := strings.Join(plans, "\n"); !strings.Contains(all, w) {
						t.Errorf("%s: the search does not use its index (%s):\n%s", name, w, all)
					}
				}
			}
		}
		sqls, args := rec.during(func() {
			if _, err := s.GetConversation(ctx, conv); err != nil {
				t.Fatal(err)
			}
			if _, _, err := s.ListMessages(ctx, conv, "", 50); err != nil {
				t.Fatal(err)
			}
		})
		checkPlans(t, s, "view and timeline", sqls, args, false)
	})
}

func checkPlans(t *testing.T, s *store.Store, name string, sqls []string, args [][]any, few bool) {
	t.Helper()
	if len(sqls) == 0 {
		t.Fatalf("%s: no statements recorded", name)
	}
	for i, sql := range sqls {
		plan := explain(t, s, sql, args[i])
		if m := fullScan.FindStringSubmatch(plan); m != nil {
			t.Errorf("%s: reads a table whole (%s):\n%s\n%s", name, m[0], sql, plan)
		}
		if i == 0 && strings.Contains(sql, "ORDER BY last_message_at DESC") && !few && sortAll.MatchString(plan) {
			t.Errorf("%s: sorts every match for a page:\n%s\n%s", name, sql, plan)
		}
		if testing.Verbose() {
			t.Logf("%s #%d: %s\n%s", name, i, sql, plan)
		}
	}
}

// seedForPlans adds 20,000 conversations of three messages each, written
// directly (the plans, not the writes, are under test), and analyses them.
func seedForPlans(t *testing.T, s *store.Store) {
	t.Helper()
	for _, q := range []string{
		`INSERT INTO contacts (name, created_at, updated_at) SELECT 'customer ' || g, now(), now() FROM generate_series(1, 20000) g`,
		`INSERT INTO identities (contact_id, channel, connector, external_id, created_at, updated_at)
			SELECT id, CASE WHEN id % 10 = 0 THEN 'wechat' ELSE 'telegram' END, 'seed', 'seed' || id, now(), now() FROM contacts WHERE name LIKE 'customer %'`,
		`INSERT INTO conversations (contact_id, status, priority, assignee, team, subject, last_message_at, created_at, updated_at, handoff_at)
			SELECT id, CASE WHEN id % 3 = 0 THEN 'resolved' ELSE 'open' END, CASE WHEN id % 4 = 0 THEN 'urgent' ELSE 'normal' END,
				CASE WHEN id % 2 = 0 THEN 'agent' || (id % 20) ELSE '' END, CASE WHEN id % 2 = 0 THEN 'billing' ELSE 'sales' END,
				'question ' || id, now() - id * interval '1 second', now(), now(), CASE WHEN id % 5 = 0 THEN now() END
			FROM contacts WHERE name LIKE 'customer %'`,
		`INSERT INTO messages (conversation_id, direction, kind, sender_type, text, private, delivery_status, created_at)
			SELECT c.id, 'in', 'message', 'customer', 'question ' || c.id || ' part ' || k, false, 'received', now()
			FROM conversations c, generate_series(1, 3) k WHERE c.subject LIKE 'question %'`,
		`INSERT INTO conversation_labels (conversation_id, label, created_at) SELECT id, 'common', now() FROM conversations WHERE id % 2 = 0`,
		`ANALYZE`,
	} {
		if err := s.DB.Exec(q).Error; err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}
