package store_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tongdao/hub/inbox/store"
)

// The questions asked for every customer message use their index on SQLite,
// whose planner takes a partial index only when the query spells its
// predicate the same way.
func TestPerMessageQueriesUseTheirIndexes(t *testing.T) {
	ctx := context.Background()
	s, err := store.Open(ctx, store.DriverSQLite, filepath.Join(t.TempDir(), "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, q := range []struct{ name, sql, index string }{
		{"bot state", store.SQLBotState, "COVERING INDEX idx_messages_agent_replies"},
		{"queue position", store.SQLQueuePosition, "COVERING INDEX idx_conversations_queue"},
		{"team queue position", store.SQLTeamQueuePosition, "COVERING INDEX idx_conversations_team_queue"},
	} {
		args := make([]any, strings.Count(q.sql, "?"))
		for i := range args {
			args[i] = 1
		}
		rows, err := s.DB.WithContext(ctx).Raw("EXPLAIN QUERY PLAN "+q.sql, args...).Rows()
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		if p := strings.Join(plan, "; "); !strings.Contains(p, q.index) {
			t.Errorf("%s: plan %q does not use %s", q.name, p, q.index)
		} else {
			t.Logf("%s: %s", q.name, p)
		}
	}
}
