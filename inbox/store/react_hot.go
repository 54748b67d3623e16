package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tongdao/hub/models"
)

// The reactions that follow every new conversation (routing, the SLA
// clocks, assignment) share SQLite's single writer with ingest. Each reads
// what it needs outside the writer's transaction (ConversationState on the
// read pool) and writes, inside it, with guarded statements that check what
// was read: prepared once, like ingest's (hot.go), so that a new
// conversation costs a few statements and no gorm reflection.
const (
	// sqlConvState is what routing and the SLA clocks read before their
	// commit.
	sqlConvState = `SELECT status, COALESCE(assignee, ''), COALESCE(team, ''), priority FROM conversations WHERE id = ?`
	// sqlRouteSeen writes a routing decision when the conversation is still
	// in the state read before the commit (no row: it changed meanwhile).
	// Arguments: the new team and priority, updated_at, the id, then the
	// state seen (status, assignee, team, priority).
	sqlRouteSeen = `UPDATE conversations SET team = ?, priority = ?, updated_at = ?
WHERE id = ? AND status = ? AND COALESCE(assignee, '') = ? AND COALESCE(team, '') = ? AND priority = ?`
	// sqlOnlineMembers are the online agents among a team's members (a JSON
	// array: one statement whatever their number).
	sqlOnlineMembers   = `SELECT agent, last_assigned_at FROM agent_presence WHERE presence = 'online' AND agent IN (SELECT value FROM json_each(?))`
	sqlOnlineMembersPG = `SELECT agent, last_assigned_at FROM agent_presence WHERE presence = 'online' AND agent IN (SELECT json_array_elements_text(?::json))`
)

// sqlStartClocksSeen starts n SLA clocks of a conversation as StartClock
// does, only while the conversation has the priority read before the commit
// and is not resolved. Arguments: the conversation, then kind, started,
// warn and due of each clock, then the conversation and its priority.
func sqlStartClocksSeen(driver string, n int) string {
	conv, row := "?", "(?, ?, ?, ?)"
	if driver == DriverPostgres { // it cannot infer the types of bare SELECT parameters
		conv, row = "?::bigint", "(?::text, ?::timestamptz, ?::timestamptz, ?::timestamptz)"
	}
	return `INSERT INTO sla_clocks (conversation_id, kind, started_at, warn_at, due_at, warned, breached_at, breaches, stopped_at)
SELECT ` + conv + `, v.column1, v.column2, v.column3, v.column4, false, NULL, 0, NULL FROM (VALUES ` + row + strings.Repeat(", "+row, n-1) + `) AS v
WHERE EXISTS (SELECT 1 FROM conversations WHERE id = ? AND priority = ? AND status <> 'resolved')
ON CONFLICT (conversation_id, kind) DO UPDATE SET started_at = excluded.started_at, warn_at = excluded.warn_at,
due_at = excluded.due_at, warned = false, breached_at = NULL, stopped_at = NULL WHERE sla_clocks.stopped_at IS NOT NULL`
}

// maxClocksPerStmt is how many clocks one statement starts: every kind.
const maxClocksPerStmt = 3

// reactStmts are the reactions' prepared statements (see above).
type reactStmts struct {
	convState, readConvState, routeSeen, onlineMembers *sql.Stmt
	queuePlace, queueAnchor                            *sql.Stmt
	// startClocks[n] starts n clocks.
	startClocks [maxClocksPerStmt + 1]*sql.Stmt
}

func (r *reactStmts) all() []**sql.Stmt {
	all := []**sql.Stmt{&r.convState, &r.readConvState, &r.routeSeen, &r.onlineMembers, &r.queuePlace, &r.queueAnchor}
	for n := 1; n <= maxClocksPerStmt; n++ {
		all = append(all, &r.startClocks[n])
	}
	return all
}

// prepareReact prepares the reactions' statements on the writer (db) and
// the read pool (read).
func (s *Store) prepareReact(ctx context.Context, db, read *sql.DB) error {
	r := &s.hot.react
	online := sqlOnlineMembers
	if s.Driver == DriverPostgres {
		online = sqlOnlineMembersPG
	}
	type prep struct {
		dst **sql.Stmt
		on  *sql.DB
		q   string
	}
	preps := []prep{{&r.convState, db, sqlConvState}, {&r.readConvState, read, sqlConvState}, {&r.routeSeen, db, sqlRouteSeen},
		{&r.onlineMembers, db, online}, {&r.queuePlace, db, sqlTeamQueuePosition}, {&r.queueAnchor, db, sqlTeamQueueAnchor}}
	for n := 1; n <= maxClocksPerStmt; n++ {
		preps = append(preps, prep{&r.startClocks[n], db, sqlStartClocksSeen(s.Driver, n)})
	}
	for _, p := range preps {
		st, err := p.on.PrepareContext(ctx, rebind(s.Driver, p.q))
		if err != nil {
			return fmt.Errorf("prepare %q: %w", p.q, err)
		}
		*p.dst = st
	}
	return nil
}

func (r *reactStmts) close() {
	for _, p := range r.all() {
		if *p != nil {
			(*p).Close()
		}
	}
}

// ConversationState reads a conversation's status, assignee, team and
// priority; ok is false when it is gone (merged away). Outside a
// transaction it reads from the read pool: what a reaction decides on
// before its commit, which checks it again.
func (s *Store) ConversationState(ctx context.Context, id int64) (st models.ConversationState, ok bool, err error) {
	err = s.queryRow(ctx, s.hot.react.convState, s.hot.react.readConvState, sqlConvState, id).
		Scan(&st.Status, &st.Assignee, &st.Team, &st.Priority)
	if errors.Is(err, sql.ErrNoRows) {
		return st, false, nil
	}
	return st, err == nil, err
}

// RouteSeen is Route without labels for a conversation read in state seen
// before the commit (ConversationState): while it is still in that state,
// one guarded update and the event, nothing read; when it changed
// meanwhile, Route. It reports whether anything changed.
func (s *Store) RouteSeen(ctx context.Context, id int64, seen models.ConversationState, team, priority, by string) (bool, error) {
	h, ok := s.hotTx(ctx)
	if !ok || s.hot.react.routeSeen == nil || seen.Status == models.StatusResolved {
		return s.Route(ctx, id, team, priority, nil, by)
	}
	if s.Driver == DriverPostgres { // as Route (SQLite has one writer)
		if err := s.lockChanges(s.DB.WithContext(ctx), true); err != nil {
			return false, err
		}
	}
	changes := map[string]any{}
	after := seen
	if team = models.CleanText(team); team != "" && seen.Team == "" {
		after.Team, changes["team"] = team, team
	}
	if priority != "" && priority != seen.Priority {
		after.Priority, changes["priority"] = priority, priority
	}
	if len(changes) == 0 {
		return false, nil
	}
	now := s.Now().UTC()
	res, err := h.stmt(&h.h.react.routeSeen).ExecContext(ctx, after.Team, after.Priority, now,
		id, seen.Status, seen.Assignee, seen.Team, seen.Priority)
	if err != nil {
		return false, err
	}
	if n, err := res.RowsAffected(); err != nil {
		return false, err
	} else if n == 0 {
		return s.Route(ctx, id, team, priority, nil, by) // it changed since it was read
	}
	return true, h.insertEvent(routedEvent(id, seen, changes, by, now))
}

// routedEvent is the conversation.updated event of a routing decision: its
// changes, and before and after in the detail for the reactions (the SLA
// clocks follow the priority); the hub's own change has no by_type.
func routedEvent(id int64, before models.ConversationState, changes map[string]any, by string, now time.Time) *models.Event {
	by = models.CleanText(by)
	change := models.ConversationChange{By: by, Before: before, After: before}
	if t, ok := changes["team"].(string); ok {
		change.After.Team = t
	}
	if p, ok := changes["priority"].(string); ok {
		change.After.Priority = p
	}
	return &models.Event{Type: models.EventTypeConversationUpdated, ConversationID: id,
		Data:   mustJSON(map[string]any{"id": models.ID(id), "changes": changes, "by": by}),
		Detail: mustJSON(change), CreatedAt: now}
}

// ClockDue is an SLA clock to start: its kind, warning and due time.
type ClockDue struct {
	Kind      string
	Warn, Due time.Time
}

// StartClocksSeen starts clocks as StartClock does, in one statement, only
// while the conversation has priority (read before the commit) and is not
// resolved. started is false when not all of them started: the priority
// changed, the conversation was resolved, or a clock of a kind runs
// already; the caller then decides again inside the transaction. Outside a
// transaction it starts none (false).
func (s *Store) StartClocksSeen(ctx context.Context, conv int64, priority string, start time.Time, clocks []ClockDue) (started bool, err error) {
	h, ok := s.hotTx(ctx)
	if !ok || s.hot.react.startClocks[1] == nil {
		return false, nil
	}
	for len(clocks) > 0 {
		n := min(len(clocks), maxClocksPerStmt)
		args := make([]any, 0, 3+4*n)
		args = append(args, conv)
		for _, c := range clocks[:n] {
			args = append(args, c.Kind, start.UTC(), c.Warn.UTC(), c.Due.UTC())
		}
		res, err := h.stmt(&h.h.react.startClocks[n]).ExecContext(ctx, append(args, conv, priority)...)
		if err != nil {
			return false, err
		}
		if rows, err := res.RowsAffected(); err != nil || rows < int64(n) {
			return false, err
		}
		clocks = clocks[n:]
	}
	return true, nil
}
