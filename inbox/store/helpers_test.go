package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tongdao/hub/inbox/store"
	"github.com/tongdao/hub/internal/testclock"
	"github.com/tongdao/hub/models"
)

func shortcuts(vs []models.CannedView) []string {
	out := []string{}
	for _, v := range vs {
		out = append(out, v.Shortcut)
	}
	return out
}

func TestCannedResponses(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store, c *testclock.Clock) {
		ctx := context.Background()
		thanks, err := s.CreateCanned(ctx, models.CannedInput{Shortcut: "thanks", Text: "Thank you, {name}! Your ticket is {ticket}."}, "root")
		if err != nil {
			t.Fatal(err)
		}
		if thanks.CreatedBy != "root" || thanks.ID == "" || !thanks.CreatedAt.Equal(c.Now()) {
			t.Fatalf("created %+v", thanks)
		}
		if _, err := s.CreateCanned(ctx, models.CannedInput{Shortcut: "grazie", Text: "Grazie PERCHÉ ci hai scritto"}, "root"); err != nil {
			t.Fatal(err)
		}
		// A shortcut in use is a conflict and stores nothing.
		_, err = s.CreateCanned(ctx, models.CannedInput{Shortcut: "thanks", Text: "again"}, "root")
		if models.ErrorCode(err) != models.ECONFLICT {
			t.Fatalf("duplicate shortcut: %v, want conflict", err)
		}
		if n := count(t, s, &models.CannedResponse{}); n != 2 {
			t.Fatalf("%d canned responses after a refused duplicate, want 2", n)
		}
		for q, want := range map[string][]string{
			"":        {"grazie", "thanks"},
			"THANK":   {"thanks"}, // the shortcut (and text), ignoring case
			"ticket":  {"thanks"}, // the text
			"perché":  {"grazie"}, // non-ASCII letters fold on both databases
			"nothing": {},
		} {
			got, err := s.ListCanned(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(shortcuts(got), want) {
				t.Errorf("q=%q: %v, want %v", q, shortcuts(got), want)
			}
		}
		id, _ := models.ParseID(thanks.ID)
		c.Advance(time.Second)
		up, err := s.UpdateCanned(ctx, id, models.CannedInput{Shortcut: "ty", Text: "Thanks!"}, "boss")
		if err != nil {
			t.Fatal(err)
		}
		if up.Shortcut != "ty" || up.Text != "Thanks!" || up.UpdatedBy != "boss" || up.CreatedBy != "root" || !up.UpdatedAt.After(up.CreatedAt) {
			t.Fatalf("updated %+v", up)
		}
		if _, err := s.UpdateCanned(ctx, id, models.CannedInput{Shortcut: "grazie", Text: "x"}, "boss"); models.ErrorCode(err) != models.ECONFLICT {
			t.Fatalf("update to a shortcut in use: %v, want conflict", err)
		}
		if got, _ := s.Canned(ctx, id); got.Shortcut != "ty" || got.Text != "Thanks!" {
			t.Fatalf("a refused update changed the row: %+v", got)
		}
		if _, err := s.UpdateCanned(ctx, 9999, models.CannedInput{Shortcut: "new", Text: "x"}, "boss"); models.ErrorCode(err) != models.ENOTFOUND {
			t.Fatalf("update of a missing one: %v", err)
		}
		if err := s.DeleteCanned(ctx, id); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteCanned(ctx, id); models.ErrorCode(err) != models.ENOTFOUND {
			t.Fatalf("second delete: %v, want not_found", err)
		}
		if _, err := s.Canned(ctx, id); models.ErrorCode(err) != models.ENOTFOUND {
			t.Fatalf("deleted one still found: %v", err)
		}
		// Its shortcut is free again.
		if _, err := s.CreateCanned(ctx, models.CannedInput{Shortcut: "ty", Text: "again"}, "root"); err != nil {
			t.Fatal(err)
		}
	})
}

// labelEvents returns the label lists of the conversation.updated events
// that carry labels.
func labelEvents(t *testing.T, s *store.Store) [][]string {
	t.Helper()
	evs, err := s.EventsAfter(context.Background(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]string
	for _, ev := range evs {
		if ev.Type != models.EventTypeConversationUpdated {
			continue
		}
		var d struct {
			Changes struct {
				Labels *[]string `json:"labels"`
			} `json:"changes"`
			By string `json:"by"`
		}
		if err := json.Unmarshal(ev.Data.(json.RawMessage), &d); err != nil {
			t.Fatal(err)
		}
		if d.Changes.Labels != nil {
			out = append(out, *d.Changes.Labels)
		}
	}
	return out
}

func TestConversationLabels(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store, c *testclock.Clock) {
		ctx := context.Background()
		a := ingest(t, s, inbound("1", "1:1", "refund please"))[0].ConversationID
		b := ingest(t, s, inbound("2", "2:1", "where is my order"))[0].ConversationID
		if v, err := s.GetConversation(ctx, a); err != nil || v.Labels == nil || len(v.Labels) != 0 {
			t.Fatalf("a conversation without labels: %v %#v, want []", err, v.Labels)
		}
		c.Advance(time.Second)
		v, err := s.UpdateLabels(ctx, a, []string{"vip", "refund"}, nil, "ana")
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(v.Labels, []string{"refund", "vip"}) || !v.UpdatedAt.Equal(c.Now()) {
			t.Fatalf("labels %v updated_at %v", v.Labels, v.UpdatedAt)
		}
		if _, err := s.UpdateLabels(ctx, b, []string{"vip"}, nil, "ana"); err != nil {
			t.Fatal(err)
		}
		// Adding what is there and removing what is not changes nothing
		// and writes nothing.
		before := labelEvents(t, s)
		if v, err := s.UpdateLabels(ctx, a, []string{"vip"}, []string{"absent"}, "ana"); err != nil || !slices.Equal(v.Labels, []string{"refund", "vip"}) {
			t.Fatalf("no-op: %v %v", err, v.Labels)
		}
		if got := labelEvents(t, s); len(got) != len(before) || len(got) != 2 {
			t.Fatalf("label events %v, want the two changes only", got)
		}
		if got := labelEvents(t, s)[0]; !slices.Equal(got, []string{"refund", "vip"}) {
			t.Fatalf("event labels %v", got)
		}
		// Remove and add in one request.
		if v, err := s.UpdateLabels(ctx, a, []string{"urgent"}, []string{"refund"}, "ana"); err != nil || !slices.Equal(v.Labels, []string{"urgent", "vip"}) {
			t.Fatalf("remove+add: %v %v", err, v.Labels)
		}

		// The filter, alone and with others.
		list := func(f models.ConversationFilter) []string {
			t.Helper()
			items, _, err := s.ListConversations(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			out := []string{}
			for _, it := range items {
				out = append(out, it.ID)
			}
			return out
		}
		ida, idb := models.ID(a), models.ID(b)
		// Both plans of the filter (few conversations carry the label, or
		// many) give the same answers.
		for _, few := range []int64{2000, 1} {
			restore := store.SetLabelFewRows(few)
			if got := list(models.ConversationFilter{Label: "vip"}); !slices.Equal(got, []string{idb, ida}) {
				t.Fatalf("few=%d label=vip: %v", few, got)
			}
			if got := list(models.ConversationFilter{Label: "urgent"}); !slices.Equal(got, []string{ida}) {
				t.Fatalf("few=%d label=urgent: %v", few, got)
			}
			if got := list(models.ConversationFilter{Label: "refund"}); len(got) != 0 {
				t.Fatalf("few=%d label=refund (removed): %v", few, got)
			}
			if got := list(models.ConversationFilter{Label: "vip", Status: models.StatusPending}); len(got) != 0 {
				t.Fatalf("few=%d label=vip&status=pending: %v", few, got)
			}
			if got := list(models.ConversationFilter{Label: "vip", Query: "order"}); !slices.Equal(got, []string{idb}) {
				t.Fatalf("few=%d label=vip&q=order: %v", few, got)
			}
			// Paging through a label.
			items, next, err := s.ListConversations(ctx, models.ConversationFilter{Label: "vip", Limit: 1})
			if err != nil || len(items) != 1 || next == "" {
				t.Fatalf("few=%d page 1: %v %d %q", few, err, len(items), next)
			}
			items, next, err = s.ListConversations(ctx, models.ConversationFilter{Label: "vip", Limit: 1, Cursor: next})
			if err != nil || len(items) != 1 || items[0].ID != ida || next != "" {
				t.Fatalf("few=%d page 2: %v %+v %q", few, err, items, next)
			}
			restore()
		}
		if _, err := s.UpdateConversation(ctx, b, map[string]any{"status": models.StatusResolved}, "ana"); err != nil {
			t.Fatal(err)
		}
		if got := list(models.ConversationFilter{Label: "vip", Status: models.StatusOpen}); !slices.Equal(got, []string{ida}) {
			t.Fatalf("label=vip&status=open: %v", got)
		}

		// At most MaxLabels: a request beyond changes nothing.
		var many []string
		for i := range models.MaxLabels - 1 {
			many = append(many, fmt.Sprintf("l%02d", i))
		}
		if _, err := s.UpdateLabels(ctx, a, many, nil, "ana"); models.ErrorCode(err) != models.EINVALID {
			t.Fatalf("%d labels: %v, want invalid", len(many)+2, err)
		}
		if v, _ := s.GetConversation(ctx, a); !slices.Equal(v.Labels, []string{"urgent", "vip"}) {
			t.Fatalf("a refused change left %v", v.Labels)
		}
		if _, err := s.UpdateLabels(ctx, a, many[:models.MaxLabels-2], nil, "ana"); err != nil {
			t.Fatalf("exactly %d labels: %v", models.MaxLabels, err)
		}
		if _, err := s.UpdateLabels(ctx, 9999, []string{"x"}, nil, "ana"); models.ErrorCode(err) != models.ENOTFOUND {
			t.Fatalf("unknown conversation: %v", err)
		}
	})
}

// The label filter reads the index on (label, conversation_id), not the
// whole table.
func TestLabelFilterUsesTheIndex(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store, c *testclock.Clock) {
		const sub = `SELECT l.conversation_id FROM conversation_labels l WHERE l.label = 'vip'`
		var plan []string
		if s.Driver == store.DriverSQLite {
			var rows []struct {
				ID, Parent, Notused int
				Detail              string
			}
			if err := s.DB.Raw(`EXPLAIN QUERY PLAN ` + sub).Scan(&rows).Error; err != nil {
				t.Fatal(err)
			}
			for _, r := range rows {
				plan = append(plan, r.Detail)
			}
		} else {
			// With a sequential scan ruled out, the plan names the index
			// when there is one (and still seq-scans when there is none).
			tx := s.DB.Begin()
			defer tx.Rollback()
			if err := tx.Exec(`SET LOCAL enable_seqscan = off`).Error; err != nil {
				t.Fatal(err)
			}
			if err := tx.Raw(`EXPLAIN ` + sub).Scan(&plan).Error; err != nil {
				t.Fatal(err)
			}
		}
		if p := strings.Join(plan, "\n"); !strings.Contains(p, "idx_conversation_labels_label") {
			t.Fatalf("the label filter does not use its index:\n%s", p)
		}
	})
}
