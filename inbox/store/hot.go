package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/tongdao/hub/models"
)

// The ingest hot path runs a handful of fixed statements per message. They
// are prepared once and reused inside each group-commit transaction: parsing
// SQL was a large share of the cost per message.
const (
	sqlDupCheck  = `SELECT 1 FROM messages WHERE connector = ? AND external_id = ?`
	sqlInsertMsg = `INSERT INTO messages (conversation_id, identity_id, channel, connector, external_id, direction, kind, sender_type, sender_id, sender_name, text, private, attachments, buttons, delivery_status, delivery_error, attempts, platform_id, created_at, sent_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', 0, '', ?, ?)`
	// sqlInsertIn inserts a customer message only while its conversation is
	// active and belongs to the identity's contact, and only once per
	// (connector, external id): no row means a duplicate, or a cached
	// conversation that another writer (another replica) resolved, merged
	// away or moved with an undo meanwhile.
	sqlInsertIn = `INSERT INTO messages (conversation_id, identity_id, channel, connector, external_id, direction, kind, sender_type, sender_id, sender_name, text, private, attachments, buttons, delivery_status, delivery_error, attempts, platform_id, created_at, sent_at) SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', 0, '', ?, ? WHERE EXISTS (SELECT 1 FROM conversations c JOIN identities i ON i.contact_id = c.contact_id WHERE c.id = ? AND c.status <> 'resolved' AND i.id = ?) ON CONFLICT DO NOTHING`
	// PostgreSQL cannot infer the types of bare SELECT parameters.
	sqlInsertInPG = `INSERT INTO messages (conversation_id, identity_id, channel, connector, external_id, direction, kind, sender_type, sender_id, sender_name, text, private, attachments, buttons, delivery_status, delivery_error, attempts, platform_id, created_at, sent_at) SELECT ?::bigint, ?::bigint, ?::text, ?::text, ?::text, ?::text, ?::text, ?::text, ?::text, ?::text, ?::text, ?::boolean, ?::text, ?::text, ?::text, '', 0, '', ?::timestamptz, ?::timestamptz WHERE EXISTS (SELECT 1 FROM conversations c JOIN identities i ON i.contact_id = c.contact_id WHERE c.id = ? AND c.status <> 'resolved' AND i.id = ?) ON CONFLICT DO NOTHING RETURNING id`
	// A new customer: lookups and inserts of the identity, contact and
	// conversation (LastInsertId on SQLite, RETURNING id on PostgreSQL).
	sqlFindIdentity  = `SELECT id, contact_id, unreachable_reason, last_inbound_at FROM identities WHERE connector = ? AND external_id = ?`
	sqlActiveConv    = `SELECT id FROM conversations WHERE contact_id = ? AND status <> 'resolved'`
	sqlInsertContact = `INSERT INTO contacts (name, phone, created_at, updated_at) VALUES (?, '', ?, ?)`
	sqlInsertIdent   = `INSERT INTO identities (contact_id, channel, connector, external_id, reply_to, display_name, username, language, union_id, phone, last_inbound_at, unreachable_reason, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, '', ?, '', ?, ?)`
	sqlInsertConv    = `INSERT INTO conversations (contact_id, status, priority, assignee, team, subject, last_message_at, created_at, updated_at) VALUES (?, 'open', 'normal', '', '', ?, ?, ?, ?)`
	sqlInsertEvt     = `INSERT INTO events (type, conversation_id, data, detail, created_at) VALUES (?, ?, ?, ?, ?)`
	sqlTouchConv     = `UPDATE conversations SET last_message_at = ?, updated_at = ? WHERE id = ? AND status <> 'resolved'`
	sqlReopenConv    = `UPDATE conversations SET status = 'open' WHERE id = ? AND status = 'snoozed'`
	sqlTouchIdent    = `UPDATE identities SET last_inbound_at = ?, updated_at = ? WHERE id = ?`
	// sqlReachable clears an unreachable mark that a delivery failure (on
	// any replica, so never cached) left: a customer who writes is reachable.
	sqlReachable = `UPDATE identities SET unreachable_reason = '', last_inbound_at = ?, updated_at = ? WHERE id = ? AND unreachable_reason <> ''`
	// sqlBotState is what the bot reads before answering each customer
	// message (BotState): in a reaction's transaction, prepared like ingest's.
	sqlBotState = `SELECT c.status, c.handoff_at IS NOT NULL, COALESCE(c.last_faq, ''),
	CASE WHEN c.status = 'resolved' AND c.csat_until > ? THEN c.csat_stage ELSE '' END,
	EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id AND ` + agentReply + `)
FROM conversations c WHERE c.id = ?`
	// sqlQueuePosition is a conversation's place in the human queue (0 when
	// it does not wait for a human): the queue's length (queue_stats, kept
	// by triggers: migration 00020_queue_count) less those after it, two
	// counts over the queue's partial index (idx_conversations_queue):
	// handed over later, and at the same instant after this one (an OR of
	// both would not use it). For a conversation just handed over both are
	// empty, so its place costs no count of the whole queue.
	sqlQueuePosition = `SELECT CASE WHEN c.handoff_at IS NULL OR COALESCE(c.assignee, '') <> '' OR c.status = 'resolved' THEN 0 ELSE
	(SELECT waiting FROM queue_stats WHERE id = 1) -
	(SELECT COUNT(*) FROM conversations q WHERE ` + queueWaitingQ + ` AND q.handoff_at > c.handoff_at) -
	(SELECT COUNT(*) FROM conversations q WHERE ` + queueWaitingQ + ` AND q.handoff_at = c.handoff_at AND q.id > c.id) END
FROM conversations c WHERE c.id = ?`
	queueWaitingQ = `q.status <> 'resolved' AND q.handoff_at IS NOT NULL AND COALESCE(q.assignee, '') = ''`
	// sqlTouchAny bumps a conversation's activity whatever its status (an
	// outbound message: AddMessage).
	sqlTouchAny = `UPDATE conversations SET last_message_at = ?, updated_at = ? WHERE id = ?`
	// sqlHandoff puts a conversation in the human queue, once (Handoff).
	sqlHandoff = `UPDATE conversations SET handoff_at = ?, updated_at = ? WHERE id = ? AND handoff_at IS NULL`
	// agentReply is an agent's reply (not a note) in messages m, spelled as
	// the partial index idx_messages_agent_replies is (migration 00010_reaction_indexes), so
	// that SQLite uses it.
	agentReply          = `m.sender_type = 'agent' AND m.private = false`
	agentReplyUnaliased = `sender_type = 'agent' AND private = false`
)

type hotStmts struct {
	// returning is true where RETURNING gives the new id (PostgreSQL).
	returning                                                   bool
	dup, msg, in, evt, touchConv, reopen, touchIdent, reachable *sql.Stmt
	// evts[n] inserts n events in one statement (n ≥ 2).
	evts                                                 [maxEventsPerStmt + 1]*sql.Stmt
	findIdent, activeConv, newContact, newIdent, newConv *sql.Stmt
	// Reactions' questions, prepared for a transaction (the writer's
	// connection) and for the read pool.
	botState, readBotState, queuePos, readQueuePos *sql.Stmt
	touchAny, handoff                              *sql.Stmt
	// many are the group commit's set-based statements (PostgreSQL).
	many manyStmts
	// react are the statements of the reactions that follow each new
	// conversation (react_hot.go).
	react reactStmts
}

// rebind turns ? placeholders into PostgreSQL's $n.
func rebind(driver, q string) string {
	if driver != DriverPostgres {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// prepareHot prepares the statements at Open, before any transaction holds
// SQLite's single writer connection.
func (s *Store) prepareHot(ctx context.Context) error {
	db, err := s.DB.DB()
	if err != nil {
		return err
	}
	insertMsg, insertIn := sqlInsertMsg, sqlInsertIn
	newContact, newIdent, newConv := sqlInsertContact, sqlInsertIdent, sqlInsertConv
	if s.hot.returning = s.Driver == DriverPostgres; s.hot.returning {
		insertMsg, insertIn = insertMsg+" RETURNING id", sqlInsertInPG
		newContact, newIdent, newConv = newContact+" RETURNING id", newIdent+" RETURNING id", newConv+" RETURNING id"
	}
	for n := 2; n <= maxEventsPerStmt; n++ {
		q := "INSERT INTO events (type, conversation_id, data, detail, created_at) VALUES " +
			strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?), ", n), ", ")
		if s.hot.evts[n], err = db.PrepareContext(ctx, rebind(s.Driver, q)); err != nil {
			return fmt.Errorf("prepare the %d-event insert: %w", n, err)
		}
	}
	for _, p := range []struct {
		dst **sql.Stmt
		q   string
	}{{&s.hot.dup, sqlDupCheck}, {&s.hot.msg, insertMsg}, {&s.hot.in, insertIn},
		{&s.hot.findIdent, sqlFindIdentity}, {&s.hot.activeConv, sqlActiveConv}, {&s.hot.newContact, newContact},
		{&s.hot.newIdent, newIdent}, {&s.hot.newConv, newConv}, {&s.hot.evt, sqlInsertEvt},
		{&s.hot.touchConv, sqlTouchConv}, {&s.hot.reopen, sqlReopenConv}, {&s.hot.touchIdent, sqlTouchIdent},
		{&s.hot.reachable, sqlReachable}, {&s.hot.botState, sqlBotState}, {&s.hot.queuePos, sqlQueuePosition},
		{&s.hot.touchAny, sqlTouchAny}, {&s.hot.handoff, sqlHandoff}} {
		if *p.dst, err = db.PrepareContext(ctx, rebind(s.Driver, p.q)); err != nil {
			return fmt.Errorf("prepare %q: %w", p.q, err)
		}
	}
	if s.Driver == DriverPostgres {
		if err := s.prepareMany(func(q string) (*sql.Stmt, error) { return db.PrepareContext(ctx, q) }); err != nil {
			return err
		}
	}
	read, err := s.Read.DB()
	if err != nil {
		return err
	}
	for _, p := range []struct {
		dst **sql.Stmt
		q   string
	}{{&s.hot.readBotState, sqlBotState}, {&s.hot.readQueuePos, sqlQueuePosition}} {
		if *p.dst, err = read.PrepareContext(ctx, rebind(s.Driver, p.q)); err != nil {
			return fmt.Errorf("prepare %q: %w", p.q, err)
		}
	}
	return s.prepareReact(ctx, db, read)
}

// hotTx binds the prepared statements to one transaction, each once.
type hotTx struct {
	ctx   context.Context
	tx    *sql.Tx
	h     *hotStmts
	bound map[**sql.Stmt]*sql.Stmt
	// sent counts the statements run (each call of stmt runs one).
	sent int64
}

func (t *hotTx) stmt(p **sql.Stmt) *sql.Stmt {
	t.sent++
	if st, ok := t.bound[p]; ok {
		return st
	}
	st := t.tx.StmtContext(t.ctx, *p)
	t.bound[p] = st
	return st
}

func (s *Store) bindHot(ctx context.Context, tx *gorm.DB) (*hotTx, error) {
	if s.hot.msg == nil {
		return nil, fmt.Errorf("store: hot statements not prepared")
	}
	sqlTx, ok := tx.Statement.ConnPool.(*sql.Tx)
	if !ok {
		return nil, fmt.Errorf("store: transaction is %T, not *sql.Tx", tx.Statement.ConnPool)
	}
	return &hotTx{ctx: ctx, tx: sqlTx, h: &s.hot, bound: make(map[**sql.Stmt]*sql.Stmt, 8)}, nil
}

func (t *hotTx) exists(connector, externalID string) (bool, error) {
	var one int
	err := t.stmt(&t.h.dup).QueryRowContext(t.ctx, connector, externalID).Scan(&one)
	if err == sql.ErrNoRows {
		return false, nil
	}
	return err == nil, err
}

// insertID runs an insert and returns the new row's id.
func (t *hotTx) insertID(p **sql.Stmt, args ...any) (int64, error) {
	if t.h.returning {
		var id int64
		err := t.stmt(p).QueryRowContext(t.ctx, args...).Scan(&id)
		return id, err
	}
	res, err := t.stmt(p).ExecContext(t.ctx, args...)
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

// findIdentity looks an identity up by its platform id (ok=false: none).
func (t *hotTx) findIdentity(connector, externalID string) (ref identityRef, ok bool, err error) {
	var reason string
	var inbound sql.NullTime
	err = t.stmt(&t.h.findIdent).QueryRowContext(t.ctx, connector, externalID).Scan(&ref.id, &ref.contactID, &reason, &inbound)
	if err == sql.ErrNoRows {
		return ref, false, nil
	}
	ref.unreachable, ref.inboundAt = reason != "", inbound.Time
	return ref, err == nil, err
}

// activeConversation returns a contact's active conversation (0: none).
func (t *hotTx) activeConversation(contactID int64) (int64, error) {
	var id int64
	err := t.stmt(&t.h.activeConv).QueryRowContext(t.ctx, contactID).Scan(&id)
	if err == sql.ErrNoRows {
		return 0, nil
	}
	return id, err
}

// newCustomer creates a contact and its first identity from an inbound.
func (t *hotTx) newCustomer(in *models.Inbound, now time.Time) (identityRef, error) {
	name := in.From.DisplayName
	if name == "" {
		name = in.From.Username
	}
	contactID, err := t.insertID(&t.h.newContact, name, now, now)
	if err != nil {
		return identityRef{}, err
	}
	id, err := t.insertID(&t.h.newIdent, contactID, in.Channel, in.Connector, in.From.ExternalID, in.ReplyTo,
		in.From.DisplayName, in.From.Username, in.From.Language, in.From.UnionID, now, now, now)
	return identityRef{id: id, contactID: contactID, profile: profileHash(in), inboundAt: now}, err
}

// newConversation opens a conversation for a contact.
func (t *hotTx) newConversation(contactID int64, subject string, now time.Time) (int64, error) {
	return t.insertID(&t.h.newConv, contactID, subject, now, now, now)
}

// queryRow runs one of the reactions' prepared questions: in s's
// transaction when s is one, else on the read pool; q is the SQL to run
// when the statements are not prepared.
func (s *Store) queryRow(ctx context.Context, inTx, onRead *sql.Stmt, q string, args ...any) *sql.Row {
	switch tx, ok := s.DB.Statement.ConnPool.(*sql.Tx); {
	case ok && inTx != nil:
		return tx.StmtContext(ctx, inTx).QueryRowContext(ctx, args...)
	case !ok && onRead != nil:
		return onRead.QueryRowContext(ctx, args...)
	}
	return s.Read.WithContext(ctx).Raw(q, args...).Row()
}

// hotTx returns the prepared statements bound to s's transaction, if s is
// one and they are prepared.
func (s *Store) hotTx(ctx context.Context) (*hotTx, bool) {
	tx, ok := s.DB.Statement.ConnPool.(*sql.Tx)
	if !ok || s.hot.msg == nil {
		return nil, false
	}
	return &hotTx{ctx: ctx, tx: tx, h: &s.hot, bound: make(map[**sql.Stmt]*sql.Stmt, 4)}, true
}

func (t *hotTx) insertMessage(m *models.Message) error {
	args := []any{m.ConversationID, m.IdentityID, m.Channel, m.Connector, m.ExternalID, m.Direction, m.Kind,
		m.SenderType, m.SenderID, m.SenderName, m.Text, m.Private, m.Attachments, m.Buttons, m.DeliveryStatus,
		m.CreatedAt, m.SentAt}
	if !t.h.returning {
		// SQLite: Exec with the last rowid is cheaper than a query.
		res, err := t.stmt(&t.h.msg).ExecContext(t.ctx, args...)
		if err != nil {
			return err
		}
		m.ID, err = res.LastInsertId()
		return err
	}
	return t.stmt(&t.h.msg).QueryRowContext(t.ctx, args...).Scan(&m.ID)
}

// insertInbound inserts a customer message (see sqlInsertIn); false means
// nothing was inserted.
func (t *hotTx) insertInbound(m *models.Message) (bool, error) {
	args := []any{m.ConversationID, m.IdentityID, m.Channel, m.Connector, m.ExternalID, m.Direction, m.Kind,
		m.SenderType, m.SenderID, m.SenderName, m.Text, m.Private, m.Attachments, m.Buttons, m.DeliveryStatus,
		m.CreatedAt, m.SentAt, m.ConversationID, m.IdentityID}
	st := t.stmt(&t.h.in)
	if t.h.returning {
		err := st.QueryRowContext(t.ctx, args...).Scan(&m.ID)
		if err == sql.ErrNoRows {
			return false, nil
		}
		return err == nil, err
	}
	res, err := st.ExecContext(t.ctx, args...)
	if err != nil {
		return false, err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return false, err
	}
	m.ID, err = res.LastInsertId()
	return err == nil, err
}

// maxEventsPerStmt bounds one multi-row event insert.
const maxEventsPerStmt = 32

// insertEvents appends events to the log, in order, many per statement.
func (t *hotTx) insertEvents(events []*models.Event) error {
	for len(events) > 0 {
		n := min(len(events), maxEventsPerStmt)
		if n == 1 {
			return t.insertEvent(events[0])
		}
		args := make([]any, 0, 5*n)
		for _, e := range events[:n] {
			args = append(args, e.Type, e.ConversationID, e.Data, e.Detail, e.CreatedAt)
		}
		if _, err := t.stmt(&t.h.evts[n]).ExecContext(t.ctx, args...); err != nil {
			return err
		}
		events = events[n:]
	}
	return nil
}

func (t *hotTx) insertEvent(e *models.Event) error {
	_, err := t.stmt(&t.h.evt).ExecContext(t.ctx, e.Type, e.ConversationID, e.Data, e.Detail, e.CreatedAt)
	return err
}

// touchConversation bumps an active conversation's activity (reopening a
// snoozed one); false means it is no longer active.
func (t *hotTx) touchConversation(id int64, now time.Time) (bool, error) {
	res, err := t.stmt(&t.h.touchConv).ExecContext(t.ctx, now, now, id)
	if err != nil {
		return false, err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return false, err
	}
	_, err = t.stmt(&t.h.reopen).ExecContext(t.ctx, id)
	return true, err
}

func (t *hotTx) touchIdentity(id int64, now time.Time) error {
	_, err := t.stmt(&t.h.touchIdent).ExecContext(t.ctx, now, now, id)
	return err
}

// clearUnreachable makes an identity reachable again if it was marked
// otherwise; false means it was reachable (nothing written).
func (t *hotTx) clearUnreachable(id int64, now time.Time) (bool, error) {
	res, err := t.stmt(&t.h.reachable).ExecContext(t.ctx, now, now, id)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

func (h *hotStmts) close() {
	h.react.close()
	for _, st := range h.evts {
		if st != nil {
			st.Close()
		}
	}
	for _, p := range h.many.all() {
		if *p != nil {
			(*p).Close()
		}
	}
	for _, st := range []*sql.Stmt{h.dup, h.msg, h.in, h.evt, h.touchConv, h.reopen, h.touchIdent, h.reachable,
		h.findIdent, h.activeConv, h.newContact, h.newIdent, h.newConv, h.botState, h.readBotState, h.queuePos, h.readQueuePos, h.touchAny, h.handoff} {
		if st != nil {
			st.Close()
		}
	}
}
