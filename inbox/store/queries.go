package store

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/tongdao/hub/models"
)

func notFound(what string, id int64) error {
	return models.Errorf(models.ENOTFOUND, "%s %d not found", what, id)
}

func (s *Store) window(connector string) time.Duration {
	if s.ReplyWindow == nil {
		return 0
	}
	return s.ReplyWindow(connector)
}

// cursor encodes a keyset position (a time and an id).
func encodeCursor(t time.Time, id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(t.UnixNano(), 10) + ":" + strconv.FormatInt(id, 10)))
}

func decodeCursor(c string) (time.Time, int64, error) {
	bad := models.Errorf(models.EINVALID, "invalid cursor: pass next_cursor from a previous page unchanged")
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return time.Time{}, 0, bad
	}
	ts, ids, ok := strings.Cut(string(b), ":")
	if !ok {
		return time.Time{}, 0, bad
	}
	n, err1 := strconv.ParseInt(ts, 10, 64)
	id, err2 := strconv.ParseInt(ids, 10, 64)
	if err1 != nil || err2 != nil {
		return time.Time{}, 0, bad
	}
	return time.Unix(0, n).UTC(), id, nil
}

// ListConversations returns conversations by newest activity first.
func (s *Store) ListConversations(ctx context.Context, f models.ConversationFilter) ([]models.ConversationView, string, error) {
	limit := f.Limit
	if limit <= 0 || limit > 100 {
		limit = 25
	}
	// Text from the API is cleaned like stored text (a NUL would make
	// PostgreSQL refuse the query).
	f.Status, f.Assignee, f.Team = models.CleanText(f.Status), models.CleanText(f.Assignee), models.CleanText(f.Team)
	f.Channel, f.Query = models.CleanText(f.Channel), models.CleanText(f.Query)
	q := s.Read.WithContext(ctx).Model(&models.Conversation{})
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	switch f.Assignee {
	case "":
	case "none":
		q = q.Where("assignee = ''")
	default:
		q = q.Where("assignee = ?", f.Assignee)
	}
	if f.Team != "" {
		q = q.Where("team = ?", f.Team)
	}
	if f.Priority != "" {
		q = q.Where("priority = ?", models.CleanText(f.Priority))
	}
	if f.View != "" {
		cond, args, err := viewCondition(f.View, models.CleanText(f.Me))
		if err != nil {
			return nil, "", err
		}
		q = q.Where(cond, args...)
	}
	if f.Label != "" {
		var err error
		if q, err = s.whereLabel(ctx, q, models.CleanText(f.Label)); err != nil {
			return nil, "", err
		}
	}
	if f.Channel != "" {
		q = q.Where("EXISTS (SELECT 1 FROM identities i WHERE i.contact_id = conversations.contact_id AND i.channel = ?)", f.Channel)
	}
	if f.Cursor != "" {
		t, id, err := decodeCursor(f.Cursor)
		if err != nil {
			return nil, "", err
		}
		// The first condition is the index range; the second, the exact
		// position within it.
		q = q.Where("last_message_at <= ? AND (last_message_at < ? OR id < ?)", t, t, id)
	}
	if f.Query != "" {
		hits, err := s.findInIndex(ctx, f.Query)
		if err != nil {
			return nil, "", err
		}
		if hits == nil {
			convs, next, err := s.searchScanPage(ctx, q, f.Query, limit)
			if err != nil {
				return nil, "", err
			}
			return s.page(ctx, convs, next, limit)
		}
		q = s.whereSearchIndexed(q, f.Query, hits)
	}
	var convs []models.Conversation
	if err := q.Order("last_message_at DESC, id DESC").Limit(limit + 1).Find(&convs).Error; err != nil {
		return nil, "", err
	}
	return s.page(ctx, convs, "", limit)
}

// page makes the views of a page of conversations, read with limit+1 rows
// to tell whether more follow; next is the cursor when the rows do not
// tell (a search's window ended first).
func (s *Store) page(ctx context.Context, convs []models.Conversation, next string, limit int) ([]models.ConversationView, string, error) {
	if len(convs) > limit {
		convs = convs[:limit]
		last := convs[limit-1]
		next = encodeCursor(last.LastMessageAt, last.ID)
	}
	views, err := s.conversationViews(ctx, s.Read, convs)
	return views, next, err
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// GetConversation returns one conversation.
func (s *Store) GetConversation(ctx context.Context, id int64) (models.ConversationView, error) {
	return s.conversationView(ctx, s.Read, id)
}

func (s *Store) conversationView(ctx context.Context, db *gorm.DB, id int64) (models.ConversationView, error) {
	c, err := takeByID[models.Conversation](ctx, db, "conversation", id)
	if err != nil {
		return models.ConversationView{}, err
	}
	views, err := s.conversationViews(ctx, db, []models.Conversation{c})
	if err != nil {
		return models.ConversationView{}, err
	}
	return views[0], nil
}

func (s *Store) conversationViews(ctx context.Context, db *gorm.DB, convs []models.Conversation) ([]models.ConversationView, error) {
	out := make([]models.ConversationView, 0, len(convs))
	if len(convs) == 0 {
		return out, nil
	}
	ids := make([]int64, 0, len(convs))
	for _, c := range convs {
		ids = append(ids, c.ContactID)
	}
	contacts, err := s.contactViews(ctx, db, ids)
	if err != nil {
		return nil, err
	}
	positions, err := s.queuePositions(ctx, convs)
	if err != nil {
		return nil, err
	}
	convIDs := make([]int64, 0, len(convs))
	var vague []int64
	for _, c := range convs {
		convIDs = append(convIDs, c.ID)
		if models.IsOpeningNoise(c.Subject) {
			vague = append(vague, c.ID)
		}
	}
	lasts, err := lastMessages(ctx, db, convIDs)
	if err != nil {
		return nil, err
	}
	waits, err := waitingSince(ctx, db, convIDs)
	if err != nil {
		return nil, err
	}
	subjects := map[int64]string{}
	if len(vague) > 0 {
		if subjects, err = openingSubjects(ctx, db, vague); err != nil {
			return nil, err
		}
	}
	labels, err := labelsByConversation(ctx, db, convIDs)
	if err != nil {
		return nil, err
	}
	clocks, err := slaViews(ctx, db, convIDs)
	if err != nil {
		return nil, err
	}
	for _, c := range convs {
		v := models.ConversationView{ID: models.ID(c.ID), Status: c.Status, Priority: c.Priority,
			Subject: c.Subject, Contact: contacts[c.ContactID], LastMessageAt: c.LastMessageAt.UTC(),
			CreatedAt: c.CreatedAt.UTC(), UpdatedAt: c.UpdatedAt.UTC()}
		if c.Assignee != "" {
			a := c.Assignee
			v.Assignee = &a
		}
		if c.Team != "" {
			t := c.Team
			v.Team = &t
		}
		if c.ResolvedAt != nil {
			r := c.ResolvedAt.UTC()
			v.ResolvedAt = &r
		}
		v.HandoffAt, v.Deflected = utcPtr(c.HandoffAt), c.Deflected
		v.CSAT = csatView(&c)
		v.LastMessage = lasts[c.ID]
		if w, ok := waits[c.ID]; ok {
			v.WaitingSince = &w
		}
		if models.IsOpeningNoise(c.Subject) {
			// The customer's first meaningful words, "" until they write some.
			v.Subject = subjects[c.ID]
		}
		v.Labels = labels[c.ID]
		if v.Labels == nil {
			v.Labels = []string{}
		}
		v.SLABreaches = []string{}
		for _, k := range clocks[c.ID] {
			if k.StoppedAt == nil {
				due := k.DueAt.UTC()
				switch k.Kind {
				case "first_response":
					v.FirstResponseDue = &due
				case "next_response":
					v.NextResponseDue = &due
				case "resolution":
					v.ResolutionDue = &due
				}
			}
			if k.Breaches > 0 {
				v.SLABreaches = append(v.SLABreaches, k.Kind)
			}
		}
		if p, ok := positions[c.ID]; ok && c.HandoffAt != nil && c.Assignee == "" && c.Status != models.StatusResolved {
			v.QueuePosition = &p
		}
		out = append(out, v)
	}
	return out, nil
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func (s *Store) contactViews(ctx context.Context, db *gorm.DB, ids []int64) (map[int64]models.ContactView, error) {
	var contacts []models.Contact
	if err := db.WithContext(ctx).Where("id IN ?", ids).Find(&contacts).Error; err != nil {
		return nil, err
	}
	var idents []models.Identity
	if err := db.WithContext(ctx).Where("contact_id IN ?", ids).Order("id").Find(&idents).Error; err != nil {
		return nil, err
	}
	out := make(map[int64]models.ContactView, len(contacts))
	for _, c := range contacts {
		out[c.ID] = models.ContactView{ID: models.ID(c.ID), Name: c.Name, CreatedAt: c.CreatedAt.UTC(),
			Identities: []models.IdentityView{}}
	}
	for i := range idents {
		v := out[idents[i].ContactID]
		v.Identities = append(v.Identities, idents[i].View(s.window(idents[i].Connector)))
		out[idents[i].ContactID] = v
	}
	return out, nil
}

// GetContact returns a contact with its identities.
func (s *Store) GetContact(ctx context.Context, id int64) (models.ContactView, error) {
	m, err := s.contactViews(ctx, s.Read, []int64{id})
	if err != nil {
		return models.ContactView{}, err
	}
	v, ok := m[id]
	if !ok {
		return models.ContactView{}, notFound("contact", id)
	}
	return v, nil
}

// ListMessages returns a conversation's timeline, oldest first.
func (s *Store) ListMessages(ctx context.Context, convID int64, cursor string, limit int) ([]models.MessageView, string, error) {
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	var n int64
	if err := s.Read.WithContext(ctx).Model(&models.Conversation{}).Where("id = ?", convID).Count(&n).Error; err != nil {
		return nil, "", err
	}
	if n == 0 {
		return nil, "", notFound("conversation", convID)
	}
	q := s.Read.WithContext(ctx).Where("conversation_id = ?", convID)
	if cursor != "" {
		_, id, err := decodeCursor(cursor)
		if err != nil {
			return nil, "", err
		}
		q = q.Where("id > ?", id)
	}
	var msgs []models.Message
	if err := q.Order("id").Limit(limit + 1).Find(&msgs).Error; err != nil {
		return nil, "", err
	}
	next := ""
	if len(msgs) > limit {
		msgs = msgs[:limit]
		next = encodeCursor(time.Time{}, msgs[limit-1].ID)
	}
	out := make([]models.MessageView, len(msgs))
	for i := range msgs {
		out[i] = msgs[i].View()
	}
	return out, next, nil
}

// Identities returns a contact's identities.
func (s *Store) Identities(ctx context.Context, contactID int64) ([]models.Identity, error) {
	var idents []models.Identity
	err := s.DB.WithContext(ctx).Where("contact_id = ?", contactID).Order("id").Find(&idents).Error
	return idents, err
}

// Conversation returns a conversation row.
func (s *Store) Conversation(ctx context.Context, id int64) (models.Conversation, error) {
	return takeByID[models.Conversation](ctx, s.DB, "conversation", id)
}

// takeByID loads one row by id; a missing row is a not_found error.
func takeByID[T any](ctx context.Context, db *gorm.DB, what string, id int64) (T, error) {
	var row T
	err := db.WithContext(ctx).Take(&row, id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return row, notFound(what, id)
	}
	return row, err
}

// AddMessage stores an outbound message (an agent reply, a note, a system
// entry) with its event, and bumps the conversation's activity.
func (s *Store) AddMessage(ctx context.Context, m *models.Message) error {
	now := s.Now().UTC()
	m.CreatedAt = now
	m.Text, m.SenderName, m.SenderID = models.CleanText(m.Text), models.CleanText(m.SenderName), models.CleanText(m.SenderID)
	m.Attachments, m.Buttons = models.CleanText(m.Attachments), models.CleanText(m.Buttons)
	if h, ok := s.hotTx(ctx); ok {
		// In a transaction already (a reaction's): the prepared statements
		// of the hot path, no savepoint.
		if err := h.insertMessage(m); err != nil {
			return err
		}
		if _, err := h.stmt(&h.h.touchAny).ExecContext(ctx, now, now, m.ConversationID); err != nil {
			return err
		}
		return h.insertEvent(&models.Event{Type: models.EventTypeMessageCreated, ConversationID: m.ConversationID,
			Data: mustJSON(m.View()), CreatedAt: now})
	}
	return s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(m).Error; err != nil {
			return err
		}
		if err := tx.Model(&models.Conversation{}).Where("id = ?", m.ConversationID).
			Updates(map[string]any{"last_message_at": now, "updated_at": now}).Error; err != nil {
			return err
		}
		return tx.Create(&models.Event{Type: models.EventTypeMessageCreated, ConversationID: m.ConversationID,
			Data: mustJSON(m.View()), CreatedAt: now}).Error
	})
}

// UpdateConversation applies fields to a conversation and logs the change.
// Resolving sets resolved_at; reopening a resolved conversation fails with
// conflict when the contact already has another active one.
func (s *Store) UpdateConversation(ctx context.Context, id int64, fields map[string]any, actor string) (models.ConversationView, error) {
	return s.updateConversation(ctx, id, fields, actor, "")
}

// UpdateConversationByAgent is UpdateConversation for a change an agent or
// admin makes (through the API): its event says so, for the reactions that
// tell the customer (progress pushes).
func (s *Store) UpdateConversationByAgent(ctx context.Context, id int64, fields map[string]any, agent string) (models.ConversationView, error) {
	return s.updateConversation(ctx, id, fields, agent, models.SenderAgent)
}

func (s *Store) updateConversation(ctx context.Context, id int64, fields map[string]any, actor, byType string) (models.ConversationView, error) {
	var changed map[string]any
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		changed, err = s.changeConversation(ctx, tx, id, fields, actor, byType)
		return err
	})
	if err != nil {
		return models.ConversationView{}, err
	}
	if _, ok := changed["status"]; ok {
		s.Invalidate()
	}
	return s.GetConversationTx(ctx, id)
}

// changeConversation applies fields to a conversation in tx and logs the
// change; it returns the fields as logged.
func (s *Store) changeConversation(ctx context.Context, tx *gorm.DB, id int64, fields map[string]any, actor, byType string) (map[string]any, error) {
	now := s.Now().UTC()
	for k, v := range fields {
		if str, ok := v.(string); ok {
			fields[k] = models.CleanText(str)
		}
	}
	actor = models.CleanText(actor)
	fields["updated_at"] = now
	if st, ok := fields["status"]; ok {
		if st == models.StatusResolved {
			fields["resolved_at"] = now
		} else {
			fields["resolved_at"] = nil
		}
	}
	// Changes of one conversation run in parallel with each other, but not
	// with a pass that checks many (assignment, merges: lockChanges).
	if err := s.lockChanges(tx, false); err != nil {
		return nil, err
	}
	// The values before the change go into the event's detail (the row is
	// locked, so they are the ones this change replaces).
	var before models.ConversationState
	if err := s.forUpdate(tx.WithContext(ctx)).Model(&models.Conversation{}).Select("status", "assignee", "team", "priority").Where("id = ?", id).Take(&before).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil, notFound("conversation", id)
		}
		return nil, err
	}
	res := tx.Model(&models.Conversation{}).Where("id = ?", id).Updates(fields)
	if res.Error != nil {
		if errors.Is(res.Error, gorm.ErrDuplicatedKey) {
			return nil, models.Errorf(models.ECONFLICT, "the contact already has an active conversation; resolve it first")
		}
		return nil, res.Error
	}
	if res.RowsAffected == 0 {
		return nil, notFound("conversation", id)
	}
	change := models.ConversationChange{By: actor, ByType: byType, Before: before}
	if err := tx.Model(&models.Conversation{}).Select("status", "assignee", "team", "priority").Where("id = ?", id).Take(&change.After).Error; err != nil {
		return nil, err
	}
	delete(fields, "updated_at")
	delete(fields, "resolved_at")
	return fields, tx.Create(&models.Event{Type: models.EventTypeConversationUpdated, ConversationID: id,
		Data:   mustJSON(map[string]any{"id": models.ID(id), "changes": fields, "by": actor}),
		Detail: mustJSON(change), CreatedAt: now}).Error
}

// GetConversationTx reads a conversation through the writer handle, so a
// caller sees its own write at once.
func (s *Store) GetConversationTx(ctx context.Context, id int64) (models.ConversationView, error) {
	return s.conversationView(ctx, s.DB, id)
}

// EventsAfter returns events with id > after, oldest first, up to the event
// horizon (see horizon.go): an event not returned yet will never have an id
// at or below the last one returned.
func (s *Store) EventsAfter(ctx context.Context, after int64, limit int) ([]models.EventView, error) {
	h, err := s.eventHorizon(ctx)
	if err != nil || h <= after {
		return nil, err
	}
	var evs []models.Event
	if err := s.Read.WithContext(ctx).Omit("detail").Where("id > ? AND id <= ?", after, h).Order("id").Limit(limit).Find(&evs).Error; err != nil {
		return nil, err
	}
	out := make([]models.EventView, len(evs))
	for i := range evs {
		out[i] = evs[i].View()
	}
	return out, nil
}

// LatestEventID returns the newest event id (0 when none) below the event
// horizon (see horizon.go): every event after it comes after it in the log.
func (s *Store) LatestEventID(ctx context.Context) (int64, error) {
	return s.latestEventID(ctx, s.Read)
}

// String describes the store for logs (never the DSN: it may hold a password).
func (s *Store) String() string { return fmt.Sprintf("store(%s)", s.Driver) }
