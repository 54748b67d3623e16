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
	findIdent, newContact, newIdent, newConv   *sql.Stmt
}

func (m *manyStmts) all() []**sql.Stmt {
	return []**sql.Stmt{&m.in, &m.touchConv, &m.reachable, &m.touchIdent, &m.evts, &m.findIdent, &m.newContact, &m.newIdent, &m.newConv}
}

// ingestStats counts group commits and the statements they sent, for the
// benchmarks.
type ingestStats struct {
	batches, statements, nanos atomic.Int64
}

// IngestStats returns how many group commits this store made and how many
// statements of the hot path (the prepared ones) they sent in all; begin,
// commit and the rare paths' statements (a reopened or rated conversation,
// a changed profile) are not counted. On PostgreSQL each statement is one
// round trip to the server (two more: begin, commit).
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
		{&s.hot.many.touchIdent, sqlTouchIdentMany}, {&s.hot.many.evts, sqlInsertEvtMany},
		{&s.hot.many.findIdent, sqlFindIdentMany}, {&s.hot.many.newContact, sqlNewContactMany},
		{&s.hot.many.newIdent, sqlNewIdentMany}, {&s.hot.many.newConv, sqlNewConvMany}} {
		var err error
		if *p.dst, err = prepare(p.q); err != nil {
			return fmt.Errorf("prepare %q: %w", p.q, err)
		}
	}
	return nil
}

// IngestNanos is the time group commits took in all.
func (s *Store) IngestNanos() int64 { return s.stats.nanos.Load() }

// New customers, set by set (PostgreSQL): the batch's unknown senders are
// looked up in one statement; those not found get their contacts, their
// identities and (for a message) their first conversations in one
// statement each, before the items are stored in order.
const (
	sqlFindIdentMany = `SELECT i.id, i.contact_id, i.unreachable_reason, i.last_inbound_at, i.connector, i.external_id
FROM identities i JOIN unnest($1::text[], $2::text[]) AS u(connector, external_id)
    ON i.connector = u.connector AND i.external_id = u.external_id`
	sqlNewContactMany = `INSERT INTO contacts (name, phone, created_at, updated_at)
SELECT u.name, '', $2, $2 FROM unnest($1::text[]) WITH ORDINALITY AS u(name, ord) ORDER BY u.ord RETURNING id`
	sqlNewIdentMany = `INSERT INTO identities (contact_id, channel, connector, external_id, reply_to, display_name, username, language, union_id, phone, last_inbound_at, unreachable_reason, created_at, updated_at)
SELECT u.contact, u.channel, u.connector, u.ext, u.reply_to, u.display_name, u.username, u.language, u.union_id, '', $10, '', $10, $10
FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[])
    AS u(contact, channel, connector, ext, reply_to, display_name, username, language, union_id)
RETURNING id, contact_id`
	sqlNewConvMany = `INSERT INTO conversations (contact_id, status, priority, assignee, team, subject, last_message_at, created_at, updated_at)
SELECT u.contact, 'open', 'normal', '', '', u.subject, $3, $3, $3 FROM unnest($1::bigint[], $2::text[]) AS u(contact, subject)
RETURNING id, contact_id`
)

// newSenders prepares the batch's senders that are neither cached nor
// learned: found ones go to r.ids; the others are created (contact,
// identity, and a conversation when their first inbound opens one) and
// remembered in r.created and r.newConvs, for identity and conversation.
func (r *ingestRun) newSenders(items []*IngestItem) error {
	var conns, exts []string
	firsts := map[string]*IngestItem{}
	var order []string
	for _, it := range items {
		ik := identityKey(it.In.Connector, it.In.From.ExternalID)
		if _, ok := firsts[ik]; ok {
			continue
		}
		if _, ok := r.s.cache.identity(ik); ok {
			continue
		}
		firsts[ik] = it
		order = append(order, ik)
		conns, exts = append(conns, it.In.Connector), append(exts, it.In.From.ExternalID)
	}
	if len(order) == 0 {
		return nil
	}
	rows, err := r.hot.stmt(&r.hot.h.many.findIdent).QueryContext(r.hot.ctx, conns, exts)
	if err != nil {
		return err
	}
	for rows.Next() {
		var ref identityRef
		var reason, conn, ext string
		var inbound sql.NullTime
		if err := rows.Scan(&ref.id, &ref.contactID, &reason, &inbound, &conn, &ext); err != nil {
			rows.Close()
			return err
		}
		ref.unreachable, ref.inboundAt = reason != "", inbound.Time
		r.ids[identityKey(conn, ext)] = ref
	}
	if err := rows.Close(); err != nil {
		return err
	}
	var fresh []string
	for _, ik := range order {
		if _, ok := r.ids[ik]; !ok {
			fresh = append(fresh, ik)
		}
	}
	if len(fresh) == 0 {
		return nil
	}
	names := make([]string, len(fresh))
	for i, ik := range fresh {
		in := &firsts[ik].In
		names[i] = in.From.DisplayName
		if names[i] == "" {
			names[i] = in.From.Username
		}
	}
	rows, err = r.hot.stmt(&r.hot.h.many.newContact).QueryContext(r.hot.ctx, names, r.now)
	if err != nil {
		return err
	}
	contactIDs, err := scanIDs(rows)
	if err != nil {
		return err
	}
	// One statement hands out increasing ids in the order it inserts,
	// which is the order of the rows given (ORDER BY ord).
	contacts := slices.Sorted(maps.Keys(contactIDs))
	if len(contacts) != len(fresh) {
		return fmt.Errorf("store: %d contacts created for %d new customers", len(contacts), len(fresh))
	}
	cols := make([][]string, 8)
	for i := range cols {
		cols[i] = make([]string, len(fresh))
	}
	var convContacts []int64
	var subjects []string
	for i, ik := range fresh {
		in := &firsts[ik].In
		for j, v := range []string{in.Channel, in.Connector, in.From.ExternalID, in.ReplyTo, in.From.DisplayName,
			in.From.Username, in.From.Language, in.From.UnionID} {
			cols[j][i] = v
		}
		if in.Kind != models.KindEvent {
			convContacts = append(convContacts, contacts[i])
			subjects = append(subjects, subjectOf(in))
		}
	}
	args := []any{contacts}
	for _, c := range cols {
		args = append(args, c)
	}
	rows, err = r.hot.stmt(&r.hot.h.many.newIdent).QueryContext(r.hot.ctx, append(args, r.now)...)
	if err != nil {
		return err
	}
	byContact, err := scanPairs(rows)
	if err != nil {
		return err
	}
	for i, ik := range fresh {
		id, ok := byContact[contacts[i]]
		if !ok {
			return fmt.Errorf("store: no identity created for contact %d", contacts[i])
		}
		r.ids[ik] = identityRef{id: id, contactID: contacts[i], profile: profileHash(&firsts[ik].In), inboundAt: r.now}
		r.created[ik] = true
	}
	if len(convContacts) == 0 {
		return nil
	}
	rows, err = r.hot.stmt(&r.hot.h.many.newConv).QueryContext(r.hot.ctx, convContacts, subjects, r.now)
	if err != nil {
		return err
	}
	convs, err := scanPairs(rows)
	if err != nil {
		return err
	}
	for contact, id := range convs {
		r.newConvs[contact] = id
	}
	return nil
}

// scanPairs reads (id, key) rows into key -> id.
func scanPairs(rows *sql.Rows) (map[int64]int64, error) {
	defer rows.Close()
	out := map[int64]int64{}
	for rows.Next() {
		var id, key int64
		if err := rows.Scan(&id, &key); err != nil {
			return nil, err
		}
		out[key] = id
	}
	return out, rows.Err()
}
