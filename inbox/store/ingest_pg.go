package store

import (
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"sync/atomic"
	"time"

	"github.com/tongdao/hub/models"
)

// On PostgreSQL every statement is a round trip to the server, and across
// machines a round trip costs more than the statement. The group commit's
// common case (known customers writing in their conversations) therefore
// writes the whole batch set by set: one statement for every message, one
// for the conversations' activity, one or two for the identities, one for
// every event, whatever the batch's size. Each takes its rows as arrays
// (unnest) and answers with what it did (RETURNING). SQLite, in process,
// keeps its statement per row.
const (
	// sqlInsertInMany is sqlInsertIn for many rows: a message is inserted
	// only while its conversation is active and belongs to its identity's
	// contact, and only once per (connector, external id). The rows that
	// come back say which were.
	sqlInsertInMany = `INSERT INTO messages (conversation_id, identity_id, channel, connector, external_id, direction, kind, sender_type, sender_id, sender_name, text, private, attachments, buttons, delivery_status, delivery_error, attempts, platform_id, created_at, sent_at)
SELECT u.conv, u.ident, u.channel, u.connector, u.ext, u.direction, u.kind, u.sender_type, u.sender_id, u.sender_name, u.text, false, u.attachments, '', u.delivery_status, '', 0, '', $14, NULL
FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[])
    WITH ORDINALITY AS u(conv, ident, channel, connector, ext, direction, kind, sender_type, sender_id, sender_name, text, attachments, delivery_status, ord)
WHERE EXISTS (SELECT 1 FROM conversations c JOIN identities i ON i.contact_id = c.contact_id WHERE c.id = u.conv AND c.status <> 'resolved' AND i.id = u.ident)
ORDER BY u.ord
ON CONFLICT DO NOTHING
RETURNING id, external_id`
	// sqlTouchConvMany bumps active conversations' activity, reopening the
	// snoozed ones, locking them in id order (parallel batches cannot
	// deadlock); the ids that come back are still active.
	sqlTouchConvMany = `UPDATE conversations c SET last_message_at = $1, updated_at = $1,
    status = CASE WHEN c.status = 'snoozed' THEN 'open' ELSE c.status END
FROM (SELECT id FROM conversations WHERE id = ANY($2::bigint[]) AND status <> 'resolved' ORDER BY id FOR NO KEY UPDATE) l
WHERE c.id = l.id RETURNING c.id`
	// sqlReachableMany is sqlReachable for many identities: the ids that come
	// back were unreachable.
	sqlReachableMany = `UPDATE identities i SET unreachable_reason = '', last_inbound_at = $1, updated_at = $1
FROM (SELECT id FROM identities WHERE id = ANY($2::bigint[]) AND unreachable_reason <> '' ORDER BY id FOR NO KEY UPDATE) l
WHERE i.id = l.id RETURNING i.id`
	sqlTouchIdentMany = `UPDATE identities i SET last_inbound_at = $1, updated_at = $1
FROM (SELECT id FROM identities WHERE id = ANY($2::bigint[]) ORDER BY id FOR NO KEY UPDATE) l
WHERE i.id = l.id`
	// sqlInsertEvtMany appends events in order, however many.
	sqlInsertEvtMany = `INSERT INTO events (type, conversation_id, data, detail, created_at)
SELECT u.type, u.conv, u.data, u.detail, u.created_at
FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::timestamptz[]) WITH ORDINALITY AS u(type, conv, data, detail, created_at, ord)
ORDER BY u.ord`
)

// manyStmts are the set-based statements (PostgreSQL only).
type manyStmts struct {
	in, touchConv, reachable, touchIdent, evts *sql.Stmt
}

func (m *manyStmts) all() []**sql.Stmt {
	return []**sql.Stmt{&m.in, &m.touchConv, &m.reachable, &m.touchIdent, &m.evts}
}

// ingestStats counts group commits and the statements they sent, for the
// benchmarks.
type ingestStats struct {
	batches, statements, nanos atomic.Int64
}

// IngestStats returns how many group commits this store made and how many
// statements they sent in all, begin and commit not counted. On PostgreSQL
// each statement is one round trip to the server (two more: begin, commit).
func (s *Store) IngestStats() (batches, statements int64) {
	return s.stats.batches.Load(), s.stats.statements.Load()
}

// pendingMsg is a customer message whose insert waits for the batch's one
// statement.
type pendingMsg struct {
	it     *IngestItem
	ref    identityRef
	m      *models.Message
	convID int64
	ev     *models.Event
}

// deferMessage queues a customer message for insertMessages, with a place
// for its event in the batch's order.
func (r *ingestRun) deferMessage(it *IngestItem, ref identityRef, m *models.Message, convID int64) {
	ev := &models.Event{Type: models.EventTypeMessageCreated, ConversationID: convID, CreatedAt: r.now}
	r.events = append(r.events, ev)
	r.pending = append(r.pending, pendingMsg{it: it, ref: ref, m: m, convID: convID, ev: ev})
}

// insertMessages inserts the queued messages in one statement. A message
// that does not come back is a duplicate (a platform retry) or was aimed
// at a conversation no longer active (errStale: the batch is retried
// without the cache). Each item's last-for-identity is set again in item
// order afterwards.
func (r *ingestRun) insertMessages(items []*IngestItem) error {
	if len(r.pending) == 0 {
		return nil
	}
	n := len(r.pending)
	conv, ident := make([]int64, n), make([]int64, n)
	cols := make([][]string, 11)
	for i := range cols {
		cols[i] = make([]string, n)
	}
	for i, p := range r.pending {
		m := p.m
		conv[i], ident[i] = m.ConversationID, *m.IdentityID
		for j, v := range []string{m.Channel, m.Connector, *m.ExternalID, m.Direction, m.Kind, m.SenderType,
			m.SenderID, m.SenderName, m.Text, m.Attachments, m.DeliveryStatus} {
			cols[j][i] = v
		}
	}
	args := []any{conv, ident}
	for _, c := range cols {
		args = append(args, c)
	}
	args = append(args, r.now)
	rows, err := r.hot.stmt(&r.hot.h.many.in).QueryContext(r.hot.ctx, args...)
	if err != nil {
		return err
	}
	ids := make(map[string]int64, n)
	for rows.Next() {
		var id int64
		var ext string
		if err := rows.Scan(&id, &ext); err != nil {
			rows.Close()
			return err
		}
		ids[ext] = id
	}
	if err := rows.Close(); err != nil {
		return err
	}
	drop := map[*models.Event]bool{}
	for _, p := range r.pending {
		id, ok := ids[*p.m.ExternalID]
		if !ok {
			dup, err := r.hot.exists(p.m.Connector, *p.m.ExternalID)
			if err != nil {
				return err
			}
			if !dup {
				return errStale
			}
			p.it.Result.Duplicate = true
			drop[p.ev] = true
			continue
		}
		p.m.ID = id
		*p.ev = *r.messageEventOf(p.it, p.ref, p.m, p.convID)
		r.touchedConvs[p.convID] = true
	}
	if len(drop) > 0 {
		r.events = slices.DeleteFunc(r.events, func(e *models.Event) bool { return drop[e] })
	}
	// The last inbound of each identity, in item order, duplicates left out.
	clear(r.lastForIdentity)
	for _, it := range items {
		if !it.Result.Duplicate && it.IdentityID != 0 {
			r.lastForIdentity[it.IdentityID] = it
		}
	}
	return nil
}

// touchConversationsMany is touchConversations in one statement.
func (r *ingestRun) touchConversationsMany() error {
	var due []int64
	for _, id := range slices.Sorted(maps.Keys(r.touchedConvs)) {
		if r.now.Sub(r.s.cache.touchedAt(id)) >= conversationTouchEvery {
			due = append(due, id)
		}
	}
	if len(due) == 0 {
		return nil
	}
	rows, err := r.hot.stmt(&r.hot.h.many.touchConv).QueryContext(r.hot.ctx, r.now, due)
	if err != nil {
		return err
	}
	got, err := scanIDs(rows)
	if err != nil {
		return err
	}
	if len(got) != len(due) {
		return errStale
	}
	for _, id := range due {
		r.touched[id] = r.now
	}
	return nil
}

// identitiesMany makes every identity of the batch whose profile is
// unchanged reachable again (one statement), and bumps the last inbound
// time of those not written for a minute (one more). It returns the
// identities left for the row-by-row path (a profile or reachability to
// write).
func (r *ingestRun) identitiesMany() (map[int64]*IngestItem, error) {
	rest := map[int64]*IngestItem{}
	var plain []int64
	for identID, it := range r.lastForIdentity {
		ref := r.ids[identityKey(it.In.Connector, it.In.From.ExternalID)]
		verified := it.In.SharedContact != nil && it.In.SharedContact.Verified
		if profileHash(&it.In) == ref.profile && !ref.unreachable && it.UnreachableReason == "" && !verified {
			plain = append(plain, identID)
		} else {
			rest[identID] = it
		}
	}
	if len(plain) == 0 {
		return rest, nil
	}
	slices.Sort(plain)
	rows, err := r.hot.stmt(&r.hot.h.many.reachable).QueryContext(r.hot.ctx, r.now, plain)
	if err != nil {
		return nil, err
	}
	cleared, err := scanIDs(rows)
	if err != nil {
		return nil, err
	}
	var touch []int64
	for _, identID := range plain {
		it := r.lastForIdentity[identID]
		ik := identityKey(it.In.Connector, it.In.From.ExternalID)
		ref := r.ids[ik]
		if cleared[identID] || r.now.Sub(ref.inboundAt) >= identityTouchEvery {
			if !cleared[identID] {
				touch = append(touch, identID)
			}
			ref.inboundAt = r.now
			r.ids[ik] = ref
		}
	}
	if len(touch) > 0 {
		if _, err := r.hot.stmt(&r.hot.h.many.touchIdent).ExecContext(r.hot.ctx, r.now, touch); err != nil {
			return nil, err
		}
	}
	return rest, nil
}

// insertEventsMany appends the batch's events in one statement.
func (t *hotTx) insertEventsMany(events []*models.Event) error {
	n := len(events)
	typ, data, detail := make([]string, n), make([]string, n), make([]string, n)
	conv, at := make([]int64, n), make([]time.Time, n)
	for i, e := range events {
		typ[i], conv[i], data[i], detail[i], at[i] = e.Type, e.ConversationID, e.Data, e.Detail, e.CreatedAt
	}
	_, err := t.stmt(&t.h.many.evts).ExecContext(t.ctx, typ, conv, data, detail, at)
	return err
}

func scanIDs(rows *sql.Rows) (map[int64]bool, error) {
	defer rows.Close()
	out := map[int64]bool{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out[id] = true
	}
	return out, rows.Err()
}

// prepareMany prepares the set-based statements (PostgreSQL).
func (s *Store) prepareMany(prepare func(q string) (*sql.Stmt, error)) error {
	for _, p := range []struct {
		dst **sql.Stmt
		q   string
	}{{&s.hot.many.in, sqlInsertInMany}, {&s.hot.many.touchConv, sqlTouchConvMany}, {&s.hot.many.reachable, sqlReachableMany},
		{&s.hot.many.touchIdent, sqlTouchIdentMany}, {&s.hot.many.evts, sqlInsertEvtMany}} {
		var err error
		if *p.dst, err = prepare(p.q); err != nil {
			return fmt.Errorf("prepare %q: %w", p.q, err)
		}
	}
	return nil
}

// IngestNanos is the time group commits took in all.
func (s *Store) IngestNanos() int64 { return s.stats.nanos.Load() }
