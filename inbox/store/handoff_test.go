package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/tongdao/hub/inbox/store"
	"github.com/tongdao/hub/internal/testclock"
	"github.com/tongdao/hub/models"
)

// The human queue on both databases: handoff once with its event, the
// position by handoff time (assigned and resolved conversations leave it),
// and the median first human response (bot messages and notes are not
// responses).
func TestHumanQueueAndFirstResponses(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store, c *testclock.Clock) {
		ctx := context.Background()
		var convs []int64
		for _, u := range []string{"1", "2", "3"} {
			convs = append(convs, ingest(t, s, inbound(u, u+":1", "help"))[0].ConversationID)
		}
		botState := func(id int64) store.BotState {
			t.Helper()
			b, err := s.BotState(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			// In a transaction, the statement prepared once reads the same.
			if err := s.Tx(ctx, func(tx *store.Store) error {
				inTx, err := tx.BotState(ctx, id)
				if err == nil && inTx != b {
					t.Errorf("bot state in a transaction %+v, outside %+v", inTx, b)
				}
				return err
			}); err != nil {
				t.Fatal(err)
			}
			// Read with others in one query (the bot's prefetch), the same;
			// a conversation that does not exist is left out.
			all, err := s.BotStates(ctx, append(append([]int64{}, convs...), 999))
			if err != nil || all[id] != b || len(all) != len(convs) {
				t.Errorf("bot states read together: %+v (%v), alone %+v", all, err, b)
			}
			return b
		}
		if b := botState(convs[0]); b != (store.BotState{Status: models.StatusOpen}) {
			t.Fatalf("bot state of a new conversation: %+v", b)
		}
		if _, err := s.BotState(ctx, 999); models.ErrorCode(err) != models.ENOTFOUND {
			t.Fatalf("bot state of no conversation: %v", err)
		}
		if _, ok, err := s.MedianFirstResponse(ctx, 50); err != nil || ok {
			t.Fatalf("median with no history: ok %v, %v", ok, err)
		}
		for _, id := range convs {
			c.Advance(time.Minute)
			if changed, err := s.Handoff(ctx, id, "asked"); err != nil || !changed {
				t.Fatalf("handoff %d: %v %v", id, changed, err)
			}
		}
		if changed, err := s.Handoff(ctx, convs[0], "asked"); err != nil || changed {
			t.Fatalf("a second handoff changed: %v %v", changed, err)
		}
		var events int64
		if err := s.DB.Model(&models.Event{}).Where("type = ?", models.EventTypeConversationHandoff).Count(&events).Error; err != nil || events != 3 {
			t.Fatalf("handoff events: %d %v", events, err)
		}
		positions := func() []int {
			var out []int
			for _, id := range convs {
				p, err := s.QueuePosition(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, p)
			}
			return out
		}
		if got := positions(); got[0] != 1 || got[1] != 2 || got[2] != 3 {
			t.Fatalf("positions %v, want 1 2 3", got)
		}
		v, err := s.GetConversation(ctx, convs[1])
		if err != nil || v.QueuePosition == nil || *v.QueuePosition != 2 || v.HandoffAt == nil {
			t.Fatalf("view: %+v %v", v, err)
		}

		// The first is answered: a bot message and a note do not count,
		// the agent's reply 4 minutes after the handoff does.
		c.Advance(time.Minute)
		for _, m := range []*models.Message{
			{SenderType: models.SenderBot, Text: "bot"},
			{SenderType: models.SenderAgent, Text: "note", Private: true},
		} {
			m.ConversationID, m.Direction, m.Kind, m.DeliveryStatus = convs[0], models.DirectionOut, models.KindMessage, models.DeliveryQueued
			if err := s.AddMessage(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
		if _, ok, _ := s.MedianFirstResponse(ctx, 50); ok {
			t.Fatal("a bot message or a note counted as a first response")
		}
		if b := botState(convs[0]); !b.HandedOff || b.HumanReplied {
			t.Fatalf("bot state after a handoff, a bot message and a note: %+v", b)
		}
		c.Advance(time.Minute)
		if err := s.AddMessage(ctx, &models.Message{ConversationID: convs[0], Direction: models.DirectionOut, Kind: models.KindMessage,
			SenderType: models.SenderAgent, Text: "hello", DeliveryStatus: models.DeliveryQueued}); err != nil {
			t.Fatal(err)
		}
		if b := botState(convs[0]); !b.HumanReplied {
			t.Fatalf("bot state after an agent's reply: %+v", b)
		}
		// handoff of convs[0] at +1 min, reply at +5 min.
		if d, ok, err := s.MedianFirstResponse(ctx, 50); err != nil || !ok || d != 4*time.Minute {
			t.Fatalf("median %v %v %v, want 4m", d, ok, err)
		}

		// Assigned and resolved conversations leave the queue.
		if _, err := s.UpdateConversation(ctx, convs[0], map[string]any{"assignee": "ana"}, "ana"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UpdateConversation(ctx, convs[1], map[string]any{"status": models.StatusResolved}, "ana"); err != nil {
			t.Fatal(err)
		}
		if got := positions(); got[0] != 0 || got[1] != 0 || got[2] != 1 {
			t.Fatalf("positions %v, want 0 0 1", got)
		}
		if v, _ := s.GetConversation(ctx, convs[0]); v.QueuePosition != nil {
			t.Fatalf("an assigned conversation has a position: %d", *v.QueuePosition)
		}
	})
}

// The queue's length kept by triggers (migration 00020) stays the count
// of waiting conversations through handoffs (several at one instant),
// assignments, unassignments, resolves and reopens, on both databases;
// and every conversation's place agrees with the queue read in order.
func TestQueuePositionsThroughChanges(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store, c *testclock.Clock) {
		ctx := context.Background()
		var convs []int64
		for i := range 8 {
			u := fmt.Sprint("q", i)
			convs = append(convs, ingest(t, s, inbound(u, u+":1", "help"))[0].ConversationID)
		}
		check := func(step string) {
			t.Helper()
			var queue []int64
			if err := s.DB.Raw(`SELECT id FROM conversations WHERE status <> 'resolved' AND handoff_at IS NOT NULL
				AND COALESCE(assignee, '') = '' ORDER BY handoff_at, id`).Scan(&queue).Error; err != nil {
				t.Fatal(err)
			}
			var n int64
			if err := s.DB.Raw(`SELECT waiting FROM queue_stats WHERE id = 1`).Scan(&n).Error; err != nil || n != int64(len(queue)) {
				t.Fatalf("%s: queue length %d (%v), the queue has %d", step, n, err, len(queue))
			}
			want := map[int64]int{}
			for i, id := range queue {
				want[id] = i + 1
			}
			for _, id := range convs {
				if got, err := s.QueuePosition(ctx, id); err != nil || got != want[id] {
					t.Fatalf("%s: conversation %d at %d (%v), want %d; queue %v", step, id, got, err, want[id], queue)
				}
			}
		}
		rnd := rand.New(rand.NewPCG(1, 2))
		for i := range 120 {
			id := convs[rnd.IntN(len(convs))]
			if rnd.IntN(3) == 0 {
				c.Advance(time.Second) // else at the same instant as the step before
			}
			var err error
			step := ""
			switch rnd.IntN(5) {
			case 0, 1:
				step = "handoff"
				_, err = s.Handoff(ctx, id, "asked")
			case 2:
				step = "assign"
				_, err = s.UpdateConversation(ctx, id, map[string]any{"assignee": "ana"}, "ana")
			case 3:
				step = "unassign"
				_, err = s.UpdateConversation(ctx, id, map[string]any{"assignee": nil}, "ana")
			case 4:
				step = "resolve or reopen"
				status := models.StatusResolved
				if rnd.IntN(2) == 0 {
					status = models.StatusOpen
				}
				_, err = s.UpdateConversation(ctx, id, map[string]any{"status": status}, "ana")
			}
			if err != nil {
				t.Fatalf("step %d %s of %d: %v", i, step, id, err)
			}
			check(fmt.Sprintf("step %d %s of %d", i, step, id))
		}
	})
}

// The teams' queues' counters (migration 00021) and anchors (00022)
// through routing, priority changes, assignments, resolves and reopens, on
// both databases: every waiting conversation's place, as the assignment's
// pass reads it when nobody can take one, agrees with its team's queue read
// in order (priority, then age), and the counters with a count. With a
// slack of 0 the anchor moves to every place read at or after it, with 2
// to some, with 16 (as in production, for this small queue) never.
func TestTeamQueuePositionsThroughChanges(t *testing.T) {
	for _, slack := range []int64{16, 0, 2} {
		t.Run(fmt.Sprint("slack", slack), func(t *testing.T) {
			defer store.SetTeamQueueAnchorSlack(slack)()
			testTeamQueuePositions(t)
		})
	}
}

func testTeamQueuePositions(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store, c *testclock.Clock) {
		ctx := context.Background()
		var convs []int64
		for i := range 10 {
			if i%3 == 0 {
				c.Advance(time.Second) // else created at the same instant
			}
			u := fmt.Sprint("t", i)
			convs = append(convs, ingest(t, s, inbound(u, u+":1", "help"))[0].ConversationID)
		}
		teams := []string{"billing", "risk"}
		priorities := []string{"low", "normal", "high", "urgent"}
		check := func(step string) {
			t.Helper()
			var stats []struct {
				Team, Priority string
				Waiting        int64
			}
			if err := s.DB.Raw(`SELECT team, priority, waiting FROM team_queue_stats WHERE waiting <> 0`).Scan(&stats).Error; err != nil {
				t.Fatal(err)
			}
			got := map[string]int64{}
			for _, st := range stats {
				got[st.Team+"/"+st.Priority] = st.Waiting
			}
			var counts []struct {
				Team, Priority string
				N              int64
			}
			if err := s.DB.Raw(`SELECT team, priority, COUNT(*) AS n FROM conversations WHERE COALESCE(team, '') <> ''
				AND COALESCE(assignee, '') = '' AND status <> 'resolved' GROUP BY team, priority`).Scan(&counts).Error; err != nil {
				t.Fatal(err)
			}
			want := map[string]int64{}
			for _, n := range counts {
				want[n.Team+"/"+n.Priority] = n.N
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("%s: counters %v, counted %v", step, got, want)
			}
			var anchors []struct {
				Team, Priority string
				AnchorAfter    int64
				N              int64
			}
			if err := s.DB.Raw(`SELECT s.team, s.priority, s.anchor_after, (SELECT COUNT(*) FROM conversations q
				WHERE q.team = s.team AND q.priority = s.priority AND COALESCE(q.assignee, '') = '' AND q.status <> 'resolved'
				AND (q.created_at > s.anchor_created_at OR q.created_at = s.anchor_created_at AND q.id > s.anchor_id)) AS n
				FROM team_queue_stats s WHERE s.anchor_id IS NOT NULL`).Scan(&anchors).Error; err != nil {
				t.Fatal(err)
			}
			for _, a := range anchors {
				if a.AnchorAfter != a.N {
					t.Fatalf("%s: %s/%s's anchor counts %d after it, counted %d", step, a.Team, a.Priority, a.AnchorAfter, a.N)
				}
			}
			for _, team := range teams {
				var queue []int64
				if err := s.DB.Raw(`SELECT id FROM conversations WHERE team = ? AND COALESCE(assignee, '') = '' AND status <> 'resolved'
					ORDER BY CASE priority WHEN 'urgent' THEN 0 WHEN 'high' THEN 1 WHEN 'normal' THEN 2 ELSE 3 END, created_at, id`, team).
					Scan(&queue).Error; err != nil {
					t.Fatal(err)
				}
				place := map[int64]int{}
				for i, id := range queue {
					place[id] = i + 1
				}
				for _, id := range convs {
					res, err := s.AssignQueue(ctx, team, nil, func(string) int { return 10 }, id)
					if err != nil || res.Position != place[id] {
						t.Fatalf("%s: conversation %d in %s's queue at %d (%v), want %d; queue %v", step, id, team, res.Position, err, place[id], queue)
					}
				}
			}
		}
		rnd := rand.New(rand.NewPCG(3, 4))
		for i := range 100 {
			id := convs[rnd.IntN(len(convs))]
			var fields map[string]any
			switch rnd.IntN(6) {
			case 0, 1:
				fields = map[string]any{"team": teams[rnd.IntN(len(teams))]}
			case 2:
				fields = map[string]any{"priority": priorities[rnd.IntN(len(priorities))]}
			case 3:
				fields = map[string]any{"assignee": []any{"ana", nil}[rnd.IntN(2)]}
			case 4:
				fields = map[string]any{"status": []string{models.StatusResolved, models.StatusOpen, models.StatusPending}[rnd.IntN(3)]}
			case 5:
				fields = map[string]any{"team": nil}
			}
			if _, err := s.UpdateConversation(ctx, id, fields, "ana"); err != nil {
				t.Fatalf("step %d %v of %d: %v", i, fields, id, err)
			}
			check(fmt.Sprintf("step %d %v of %d", i, fields, id))
		}
	})
}
