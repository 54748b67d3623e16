package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/tongdao/hub/inbox/store"
)

// sqlTeamQueueAfterCount is how a place in a team's queue was counted
// before the anchors (migration 00022): the waiting of its team up to its
// priority less a count of all those of its priority after it. Arguments:
// team, the subject's rank, team, priority, created_at, team, priority,
// created_at, id.
const sqlTeamQueueAfterCount = `SELECT COALESCE((SELECT SUM(waiting) FROM team_queue_stats WHERE team = ? AND CASE priority WHEN 'urgent' THEN 0 WHEN 'high' THEN 1 WHEN 'normal' THEN 2 ELSE 3 END <= CAST(? AS integer)), 0) -
	(SELECT COUNT(*) FROM conversations WHERE COALESCE(team, '') <> '' AND COALESCE(assignee, '') = '' AND status <> 'resolved' AND team = ? AND priority = ? AND created_at > ?) -
	(SELECT COUNT(*) FROM conversations WHERE COALESCE(team, '') <> '' AND COALESCE(assignee, '') = '' AND status <> 'resolved' AND team = ? AND priority = ? AND created_at = ? AND id > ?)`

// BenchmarkTeamQueuePlace measures what the assignment reaction pays for a
// new conversation's place in its team's queue when nobody can take it (the
// flood of the webhook benchmark with routing: nobody online), as the
// reaction lags behind routing by tail conversations already queued after
// it. Subjects are taken in the queue's order, as new conversations come,
// 200 to a transaction as in a reaction's round, after the first place of
// the queue (which counts the whole tail once); "count" is the count of
// the tail that the anchors replaced, "anchor" the assignment's pass
// (AssignQueue with the team's member offline: the online check, the place,
// and the anchor's moves):
//
//	go test -run '^$' -bench TeamQueuePlace ./inbox/store
func BenchmarkTeamQueuePlace(b *testing.B) {
	for _, tail := range []int{100, 10000} {
		for _, method := range []string{"count", "anchor"} {
			b.Run(fmt.Sprintf("tail=%d/%s", tail, method), func(b *testing.B) {
				benchTeamQueuePlace(b, tail, method)
			})
		}
	}
}

func benchTeamQueuePlace(b *testing.B, tail int, method string) {
	ctx := context.Background()
	s, err := store.Open(ctx, store.DriverSQLite, filepath.Join(b.TempDir(), "hub.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const subjects, round = 2000, 200
	// One group commit per instant, as under load: conversations share
	// their created_at 32 at a time.
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	for i := 0; i < subjects+tail; i += 32 {
		now := t0.Add(time.Duration(i) * time.Millisecond)
		s.Now = func() time.Time { return now }
		items := make([]*store.IngestItem, 0, 32)
		for u := i; u < i+32 && u < subjects+tail; u++ {
			items = append(items, &store.IngestItem{In: inbound(fmt.Sprint(u), fmt.Sprintf("%d:1", u), "where is my order?")})
		}
		if err := s.IngestBatch(ctx, items); err != nil {
			b.Fatal(err)
		}
	}
	if err := s.DB.Exec(`UPDATE conversations SET team = 'general'`).Error; err != nil {
		b.Fatal(err)
	}
	type subject struct {
		id      int64
		created time.Time
	}
	var subs []subject
	rows, err := s.DB.Raw(`SELECT id, created_at FROM conversations ORDER BY created_at, id LIMIT ?`, subjects).Rows()
	if err != nil {
		b.Fatal(err)
	}
	for rows.Next() {
		var sub subject
		if err := rows.Scan(&sub.id, &sub.created); err != nil {
			b.Fatal(err)
		}
		subs = append(subs, sub)
	}
	rows.Close()
	sqlDB, err := s.DB.DB()
	if err != nil {
		b.Fatal(err)
	}
	count, err := sqlDB.Prepare(sqlTeamQueueAfterCount)
	if err != nil {
		b.Fatal(err)
	}
	defer count.Close()
	members := []string{"ana"}
	capacity := func(string) int { return 10 }
	// The first place ever read in a queue counts its whole tail and sets
	// the anchor: done before the timer, again each time the subjects
	// start over (the anchor put back where it was).
	first := func() {
		if err := s.DB.Exec(`UPDATE team_queue_stats SET anchor_id = NULL, anchor_created_at = NULL, anchor_after = 0`).Error; err != nil {
			b.Fatal(err)
		}
		if res, err := s.AssignQueue(ctx, "general", members, capacity, subs[0].id); err != nil || res.Position != 1 {
			b.Fatalf("first place %d (%v)", res.Position, err)
		}
	}
	const walk = subjects - 1
	first()
	b.ResetTimer()
	for done := 0; done < b.N; {
		if done%walk == 0 && done > 0 {
			b.StopTimer()
			first()
			b.StartTimer()
		}
		n := min(round, b.N-done, walk-done%walk)
		err := s.Tx(ctx, func(tx *store.Store) error {
			for i := range n {
				sub := subs[1+(done+i)%walk]
				want := int64(1 + (done+i)%walk + 1)
				var got int64
				switch method {
				case "count":
					conn, _ := tx.DB.Statement.ConnPool.(*sql.Tx)
					if err := conn.Stmt(count).QueryRow("general", "2", "general", "normal", sub.created,
						"general", "normal", sub.created, sub.id).Scan(&got); err != nil {
						return err
					}
				default:
					res, err := tx.AssignQueue(ctx, "general", members, capacity, sub.id)
					if err != nil {
						return err
					}
					got = int64(res.Position)
				}
				if got != want {
					return fmt.Errorf("conversation %d at %d, want %d", sub.id, got, want)
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		done += n
	}
}
