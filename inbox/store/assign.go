package store

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"sort"
	"time"

	"gorm.io/gorm"

	"github.com/tongdao/hub/models"
)

// Automatic assignment (the inbox's assign reaction): a conversation with a
// team and no assignee waits in its team's queue, ordered by priority
// (urgent first) then age, and goes to the online member of the team with
// the fewest open assigned conversations and free capacity; among equals,
// the one given a conversation least recently.

// AssignedBy is the actor of the hub's own assignments.
const AssignedBy = "assign"

// priorityRank orders a queue: urgent first, then high, normal, low.
const priorityRank = "CASE priority" + rankCases

const rankCases = " WHEN 'urgent' THEN 0 WHEN 'high' THEN 1 WHEN 'normal' THEN 2 ELSE 3 END"

// sqlTeamQueuePosition is what a waiting conversation's place in its
// team's queue is computed from (no row: it is not waiting in that team):
// the conversations of its team waiting at a higher or its own priority
// (team_queue_stats, kept by triggers: migration 00021_team_queue), less
// those of its priority after it in the queue's order (created_at, id). Those
// are counted from its priority's anchor (migration 00022_team_queue_anchor),
// whose count of the waiting conversations after it the triggers keep: the
// rows between the anchor and the subject (mode 1: the subject is at or
// after the anchor; 2: before it), or, with no anchor yet (mode 0), all
// those after the subject. Arguments: the subject's id and team. Columns:
// its priority, the waiting up to its priority, the mode, the anchor's
// count, the count of rows, and whether any agent is online (if none,
// nobody can take it: the pass needs nothing more).
var sqlTeamQueuePosition = `WITH x AS (SELECT c.id, c.team, c.priority, c.created_at, s.waiting, s.anchor_created_at, s.anchor_id, s.anchor_after
	FROM conversations c JOIN team_queue_stats s ON s.team = c.team AND s.priority = c.priority
	WHERE c.id = ? AND c.team = ? AND COALESCE(c.assignee, '') = '' AND c.status <> 'resolved')
SELECT x.priority,
	x.waiting + (SELECT COALESCE(SUM(b.waiting), 0) FROM team_queue_stats b WHERE b.team = x.team AND ` + bRank + ` < ` + xRank + `),
	CASE WHEN x.anchor_id IS NULL THEN 0 WHEN (x.created_at, x.id) >= (x.anchor_created_at, x.anchor_id) THEN 1 ELSE 2 END,
	x.anchor_after,
	CASE WHEN x.anchor_id IS NULL THEN ` + teamQueueCount(`q.created_at = x.created_at AND q.id > x.id`) + ` + ` + teamQueueCount(`q.created_at > x.created_at`) + `
	WHEN (x.created_at, x.id) >= (x.anchor_created_at, x.anchor_id) THEN ` + teamQueueBetween("x.anchor_created_at", "x.anchor_id", "x.created_at", "x.id") + `
	ELSE ` + teamQueueBetween("x.created_at", "x.id", "x.anchor_created_at", "x.anchor_id") + ` END,
	EXISTS (SELECT 1 FROM agent_presence WHERE presence = 'online')
FROM x`

// teamQueueCount counts the waiting conversations q of the subject x's team
// and priority that match cond, read from the queue's partial index
// (idx_conversations_team_queue; its predicate spelled the same way, for
// SQLite to use it). cond seeks on created_at, and on id within one
// instant: one range of the index each (a row value or an OR of two ranges
// would make SQLite read every row of the instants at both ends).
func teamQueueCount(cond string) string {
	return `(SELECT COUNT(*) FROM conversations q WHERE ` + teamWaitingQ + ` AND q.team = x.team AND q.priority = x.priority AND ` + cond + `)`
}

// teamQueueBetween counts the waiting conversations after (lc, li) and up to
// (hc, hi) in the queue's order.
func teamQueueBetween(lc, li, hc, hi string) string {
	return `CASE WHEN ` + lc + ` = ` + hc + ` THEN ` + teamQueueCount(`q.created_at = `+hc+` AND q.id > `+li+` AND q.id <= `+hi) + `
	ELSE ` + teamQueueCount(`q.created_at = `+lc+` AND q.id > `+li) + ` + ` + teamQueueCount(`q.created_at > `+lc+` AND q.created_at < `+hc) +
		` + ` + teamQueueCount(`q.created_at = `+hc+` AND q.id <= `+hi) + ` END`
}

// sqlTeamQueueAnchor moves a queue's anchor to a conversation, with the
// count of the waiting conversations after it. Arguments: the conversation
// (twice), the count, its team and priority.
const sqlTeamQueueAnchor = `UPDATE team_queue_stats SET anchor_created_at = (SELECT created_at FROM conversations WHERE id = ?),
	anchor_id = ?, anchor_after = ? WHERE team = ? AND priority = ?`

// teamQueueAnchorSlack is how many rows a place may count before the
// anchor moves to it (a write; a variable for the tests).
var teamQueueAnchorSlack int64 = 16

// The priority ranks of team_queue_stats b and the subject x.
const (
	bRank = "CASE b.priority" + rankCases
	xRank = "CASE x.priority" + rankCases
)

// teamWaitingQ is teamWaiting for conversations q.
const teamWaitingQ = `COALESCE(q.team, '') <> '' AND COALESCE(q.assignee, '') = '' AND q.status <> 'resolved'`

// teamWaiting is the predicate of the teams' queues, as the partial index
// idx_conversations_team_queue spells it.
const teamWaiting = `COALESCE(team, '') <> '' AND COALESCE(assignee, '') = '' AND status <> 'resolved'`

// Assignment is one conversation given to an agent.
type Assignment struct {
	ConversationID int64
	Agent          string
}

// QueueResult is what one pass over a team's queue did.
type QueueResult struct {
	Assigned []Assignment
	// Queued are the conversations still waiting, in queue order (when
	// someone could take one).
	Queued []int64
	// Position is the subject's place in the queue (1 is next; 0: it is
	// not waiting).
	Position int
}

// AssignQueue makes one pass over team's queue in one transaction: it
// takes lockChanges first, exclusively (an agent's or a reaction's change
// of a conversation takes it shared), so the loads it counts are the ones
// its assignments add to, and no
// agent goes above capacity(agent) even with changes arriving at once on
// several replicas. members are the team's agents; an agent is a candidate
// while their announced presence is online.
func (s *Store) AssignQueue(ctx context.Context, team string, members []string, capacity func(agent string) int, subject int64) (QueueResult, error) {
	var res QueueResult
	body := func(tx *gorm.DB) error {
		res = QueueResult{}
		if err := s.lockChanges(tx, true); err != nil {
			return err
		}
		h, err := s.bindHot(ctx, tx)
		if err != nil {
			return err
		}
		type candidate struct {
			agent    string
			load     int
			capacity int
			last     time.Time
		}
		// The subject's place first: with nobody online (at night, in a
		// flood nobody answers) it is all the pass needs.
		place := 0
		if subject != 0 {
			var anyOnline bool
			if place, anyOnline, err = s.teamQueuePlace(h, team, subject); err != nil {
				return err
			}
			if !anyOnline || len(members) == 0 {
				res.Position = place
				return nil
			}
		}
		online, err := h.onlineMembers(members)
		if err != nil {
			return err
		}
		var cands []*candidate
		if len(online) > 0 {
			names := make([]string, 0, len(online))
			for _, p := range online {
				names = append(names, p.Agent)
			}
			var loads []struct {
				Assignee string
				N        int
			}
			if err := tx.Model(&models.Conversation{}).Select("assignee, count(*) AS n").
				Where("status <> ? AND assignee IN ?", models.StatusResolved, names).
				Group("assignee").Scan(&loads).Error; err != nil {
				return err
			}
			for _, p := range online {
				c := &candidate{agent: p.Agent, capacity: capacity(p.Agent)}
				if p.LastAssignedAt != nil {
					c.last = *p.LastAssignedAt
				}
				for _, l := range loads {
					if l.Assignee == p.Agent {
						c.load = l.N
					}
				}
				cands = append(cands, c)
			}
		}
		free := 0
		for _, c := range cands {
			if c.load < c.capacity {
				free++
			}
		}
		if free == 0 {
			// Nobody can take one: only the subject's place is needed, a
			// count rather than the whole queue.
			if subject == 0 {
				return nil
			}
			res.Position = place // read above in this pass: nothing changed since
			return nil
		}
		var queue []int64
		if err := tx.Model(&models.Conversation{}).Where(teamWaiting+" AND team = ?", team).
			Order(priorityRank+", created_at, id").Pluck("id", &queue).Error; err != nil {
			return err
		}
		defer func() {
			if i := slices.Index(res.Queued, subject); subject != 0 && i >= 0 {
				res.Position = i + 1
			}
		}()
		now := s.Now().UTC()
		for i, id := range queue {
			var free []*candidate
			for _, c := range cands {
				if c.load < c.capacity {
					free = append(free, c)
				}
			}
			if len(free) == 0 {
				res.Queued = queue[i:]
				return nil
			}
			sort.SliceStable(free, func(a, b int) bool {
				x, y := free[a], free[b]
				if x.load != y.load {
					return x.load < y.load
				}
				if !x.last.Equal(y.last) {
					return x.last.Before(y.last)
				}
				return x.agent < y.agent
			})
			c := free[0]
			if _, err := s.changeConversation(ctx, tx, id, map[string]any{"assignee": c.agent}, AssignedBy, ""); err != nil {
				return err
			}
			if err := tx.Create(&models.Event{Type: models.EventTypeConversationAssigned, ConversationID: id,
				Data:      mustJSON(models.AssignedView{ID: models.ID(id), Assignee: c.agent, Team: team, By: AssignedBy}),
				CreatedAt: now}).Error; err != nil {
				return err
			}
			if err := tx.Model(&models.AgentPresence{}).Where("agent = ?", c.agent).
				Update("last_assigned_at", now).Error; err != nil {
				return err
			}
			c.load++
			c.last = now
			res.Assigned = append(res.Assigned, Assignment{ConversationID: id, Agent: c.agent})
		}
		return nil
	}
	var err error
	if _, ok := s.DB.Statement.ConnPool.(*sql.Tx); ok {
		err = body(s.DB.WithContext(ctx)) // in a reaction's transaction: no savepoint
	} else {
		err = s.DB.WithContext(ctx).Transaction(body)
	}
	return res, err
}

// onlineMembers reads the online agents among members.
func (t *hotTx) onlineMembers(members []string) ([]models.AgentPresence, error) {
	if len(members) == 0 {
		return nil, nil
	}
	rows, err := t.stmt(&t.h.react.onlineMembers).QueryContext(t.ctx, mustJSON(members))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []models.AgentPresence
	for rows.Next() {
		p := models.AgentPresence{Presence: models.PresenceOnline}
		var last sql.NullTime
		if err := rows.Scan(&p.Agent, &last); err != nil {
			return nil, err
		}
		if last.Valid {
			p.LastAssignedAt = &last.Time
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// teamQueuePlace is a conversation's place in team's queue (0: it does not
// wait there), from sqlTeamQueuePosition, and whether any agent is online
// (true when it does not wait: not read). A place that counted more than
// teamQueueAnchorSlack rows at or after the anchor moves the anchor to it:
// the next conversations to arrive count from there.
func (s *Store) teamQueuePlace(h *hotTx, team string, subject int64) (n int, anyOnline bool, err error) {
	type place struct {
		priority                 string
		upto, mode, anchor, rows int64
		online                   bool
	}
	read := func() (p place, ok bool, err error) {
		var anchor sql.NullInt64
		err = h.stmt(&h.h.react.queuePlace).QueryRowContext(h.ctx, subject, team).
			Scan(&p.priority, &p.upto, &p.mode, &anchor, &p.rows, &p.online)
		if errors.Is(err, sql.ErrNoRows) {
			return p, false, nil // not waiting (assigned, resolved, or moved away)
		}
		p.anchor = anchor.Int64
		return p, err == nil, err
	}
	after := func(p place) int64 { // waiting of its priority after it
		switch p.mode {
		case 1:
			return p.anchor - p.rows
		case 2:
			return p.anchor + p.rows
		}
		return p.rows
	}
	p, ok, err := read()
	if err != nil || !ok {
		return 0, true, err // not waiting: whether anyone is online is not known
	}
	if p.mode != 2 && p.rows > teamQueueAnchorSlack {
		if s.Driver == DriverPostgres {
			// Count again under the row's lock, so that no change commits
			// between the count and the anchor's move (ingest reopens a
			// conversation without the lock of changes).
			if _, err := h.tx.ExecContext(h.ctx, rebind(s.Driver, `SELECT 1 FROM team_queue_stats WHERE team = ? AND priority = ? FOR UPDATE`),
				team, p.priority); err != nil {
				return 0, true, err
			}
			if p, ok, err = read(); err != nil || !ok {
				return 0, true, err
			}
		}
		if _, err := h.stmt(&h.h.react.queueAnchor).ExecContext(h.ctx, subject, subject, after(p), team, p.priority); err != nil {
			return 0, true, err
		}
	}
	return int(p.upto - after(p)), p.online, nil
}

// Unanswered lists the open conversations assigned to agent that no agent
// has answered yet (a private note is no answer).
func (s *Store) Unanswered(ctx context.Context, agent string) ([]int64, error) {
	var ids []int64
	err := s.DB.WithContext(ctx).Model(&models.Conversation{}).
		Where("assignee = ? AND status <> ?", agent, models.StatusResolved).
		Where("NOT EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = conversations.id AND m.direction = ? AND m.sender_type = ? AND m.private = ?)",
			models.DirectionOut, models.SenderAgent, false).
		Order("id").Pluck("id", &ids).Error
	return ids, err
}

// AwaySince lists the agents announced offline since before cutoff who
// still have open conversations assigned.
func (s *Store) AwaySince(ctx context.Context, cutoff time.Time) ([]string, error) {
	var agents []string
	err := s.DB.WithContext(ctx).Model(&models.AgentPresence{}).
		Where("presence = ? AND updated_at <= ?", models.PresenceOffline, cutoff.UTC()).
		Where("EXISTS (SELECT 1 FROM conversations c WHERE c.assignee = agent_presence.agent AND c.status <> ?)", models.StatusResolved).
		Order("agent").Pluck("agent", &agents).Error
	return agents, err
}

// QueuedTeams lists the teams that have conversations waiting.
func (s *Store) QueuedTeams(ctx context.Context) ([]string, error) {
	var teams []string
	err := s.DB.WithContext(ctx).Model(&models.Conversation{}).Distinct("team").
		Where("team <> '' AND team IS NOT NULL AND (assignee = '' OR assignee IS NULL) AND status <> ?", models.StatusResolved).
		Pluck("team", &teams).Error
	slices.Sort(teams)
	return teams, err
}
