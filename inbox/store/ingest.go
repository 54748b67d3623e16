package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"gorm.io/gorm"

	"github.com/tongdao/hub/models"
)

// Event types written to the log.
const (
	EventMessageCreated      = "message.created"
	EventMessageUpdated      = "message.updated"
	EventConversationCreated = "conversation.created"
	EventConversationUpdated = "conversation.updated"
	EventContactUpdated      = "contact.updated"
)

// BotReply is what the bot answers to an inbound, decided inside the ingest
// transaction so that the answer commits with the message.
type BotReply struct {
	Text    string
	Buttons []models.Button
}

// IngestState tells the bot what the ingest found.
type IngestState struct {
	NewContact      bool
	NewConversation bool
	// HasConversation is false for events that opened no conversation.
	HasConversation bool
}

// Responder decides the bot's immediate answer (nil for none).
type Responder func(in *models.Inbound, st IngestState) *BotReply

// IngestItem is one inbound in a batch, with its outcome.
type IngestItem struct {
	In     models.Inbound
	Result models.IngestResult
	// ConversationID is the conversation the message landed in (0 if none).
	ConversationID int64
	// Queued is true when the ingest queued an outbound (bot) message.
	Queued bool
	Err    error
}

type identityRef struct{ id, contactID int64 }

// cache remembers identity and active-conversation ids so that the hot path
// needs no lookups. Entries are added only after a commit; anything that
// resolves or moves conversations calls Invalidate.
type cache struct {
	mu         sync.RWMutex
	identities map[string]identityRef
	active     map[int64]int64 // contact id -> active conversation id
}

func identityKey(connector, externalID string) string { return connector + "\x00" + externalID }

func (c *cache) identity(k string) (identityRef, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	r, ok := c.identities[k]
	return r, ok
}

func (c *cache) conversation(contactID int64) (int64, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	id, ok := c.active[contactID]
	return id, ok
}

func (c *cache) put(ids map[string]identityRef, convs map[int64]int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.identities == nil || len(c.identities) > 200_000 {
		c.identities = map[string]identityRef{}
		c.active = map[int64]int64{}
	}
	for k, v := range ids {
		c.identities[k] = v
	}
	for k, v := range convs {
		c.active[k] = v
	}
}

// Invalidate forgets everything cached; call it after resolving, merging or
// linking.
func (s *Store) Invalidate() {
	s.cache.mu.Lock()
	s.cache.identities = nil
	s.cache.active = nil
	s.cache.mu.Unlock()
}

var errStale = errors.New("store: cached conversation is no longer active")

// IngestBatch commits a batch of inbounds in one transaction (group commit).
// Duplicates (same connector and external id, stored before or earlier in
// the batch) are flagged and store nothing. When the batch as a whole fails,
// the caller retries items one by one to isolate the bad one.
func (s *Store) IngestBatch(ctx context.Context, items []*IngestItem, respond Responder) error {
	var err error
	for attempt := 0; attempt < 2; attempt++ {
		var newIDs map[string]identityRef
		var newConvs map[int64]int64
		err = s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			var e error
			newIDs, newConvs, e = s.ingestTx(tx, items, respond)
			return e
		})
		if err == nil {
			s.cache.put(newIDs, newConvs)
			return nil
		}
		for _, it := range items {
			it.Result, it.ConversationID, it.Queued = models.IngestResult{}, 0, false
		}
		if !errors.Is(err, errStale) && !IsUniqueViolation(err) {
			return err
		}
		s.Invalidate()
	}
	return err
}

func (s *Store) ingestTx(tx *gorm.DB, items []*IngestItem, respond Responder) (map[string]identityRef, map[int64]int64, error) {
	now := s.Now().UTC()
	if err := s.lockEvents(tx); err != nil {
		return nil, nil, err
	}
	// 1. Duplicates already stored, grouped by connector: one query each.
	byConn := map[string][]string{}
	for _, it := range items {
		byConn[it.In.Connector] = append(byConn[it.In.Connector], it.In.ExternalID)
	}
	seen := map[string]bool{}
	for conn, ids := range byConn {
		var found []string
		if err := tx.Model(&models.Message{}).Where("connector = ? AND external_id IN ?", conn, ids).
			Pluck("external_id", &found).Error; err != nil {
			return nil, nil, err
		}
		for _, id := range found {
			seen[identityKey(conn, id)] = true
		}
	}

	newIDs := map[string]identityRef{}
	newConvs := map[int64]int64{}
	touchedConvs := map[int64]bool{}
	lastForIdentity := map[int64]*IngestItem{}
	var msgs []*models.Message
	var msgItems []*IngestItem
	var events []*models.Event
	var bots []*models.Message

	for _, it := range items {
		in := &it.In
		mk := identityKey(in.Connector, in.ExternalID)
		if seen[mk] {
			it.Result.Duplicate = true
			continue
		}
		seen[mk] = true
		var st IngestState

		// 2. Identity and contact.
		ik := identityKey(in.Connector, in.From.ExternalID)
		ref, ok := newIDs[ik]
		if !ok {
			ref, ok = s.cache.identity(ik)
		}
		if !ok {
			var ident models.Identity
			err := tx.Where("connector = ? AND external_id = ?", in.Connector, in.From.ExternalID).Take(&ident).Error
			switch {
			case err == nil:
				ref = identityRef{ident.ID, ident.ContactID}
			case errors.Is(err, gorm.ErrRecordNotFound):
				contact := models.Contact{Name: in.From.DisplayName}
				if contact.Name == "" {
					contact.Name = in.From.Username
				}
				if err := tx.Create(&contact).Error; err != nil {
					return nil, nil, err
				}
				ident = models.Identity{ContactID: contact.ID, Channel: in.Channel, Connector: in.Connector,
					ExternalID: in.From.ExternalID, ReplyTo: in.ReplyTo, DisplayName: in.From.DisplayName,
					Username: in.From.Username, Language: in.From.Language, UnionID: in.From.UnionID}
				if err := tx.Create(&ident).Error; err != nil {
					return nil, nil, err
				}
				ref = identityRef{ident.ID, contact.ID}
				st.NewContact = true
			default:
				return nil, nil, err
			}
			newIDs[ik] = ref
		}
		lastForIdentity[ref.id] = it

		// 3. The active conversation; events do not open one.
		convID, ok := newConvs[ref.contactID]
		if !ok {
			convID, ok = s.cache.conversation(ref.contactID)
		}
		if !ok {
			var conv models.Conversation
			err := tx.Select("id").Where("contact_id = ? AND status <> ?", ref.contactID, models.StatusResolved).Take(&conv).Error
			switch {
			case err == nil:
				convID = conv.ID
				newConvs[ref.contactID] = convID
			case errors.Is(err, gorm.ErrRecordNotFound):
				if in.Kind == models.KindEvent {
					break
				}
				conv = models.Conversation{ContactID: ref.contactID, Status: models.StatusOpen, Priority: "normal",
					Subject: subjectOf(in), LastMessageAt: now}
				if err := tx.Create(&conv).Error; err != nil {
					return nil, nil, err
				}
				convID = conv.ID
				newConvs[ref.contactID] = convID
				st.NewConversation = true
				events = append(events, &models.Event{Type: EventConversationCreated, ConversationID: convID,
					Data: mustJSON(map[string]any{"id": models.ID(convID), "contact_id": models.ID(ref.contactID)}), CreatedAt: now})
			default:
				return nil, nil, err
			}
		}
		st.HasConversation = convID != 0
		var reply *BotReply
		if respond != nil {
			reply = respond(in, st)
		}
		if convID == 0 {
			if reply != nil && in.InlineReply {
				it.Result.InlineReply = reply.Text
			}
			continue
		}
		it.ConversationID = convID
		touchedConvs[convID] = true

		// 4. The message itself.
		extID := in.ExternalID
		identityID := ref.id
		m := &models.Message{ConversationID: convID, IdentityID: &identityID, Channel: in.Channel,
			Connector: in.Connector, ExternalID: &extID, Direction: models.DirectionIn, Kind: in.Kind,
			SenderType: models.SenderCustomer, SenderID: in.From.ExternalID, SenderName: in.From.DisplayName,
			Text: timelineText(in), Attachments: attachmentsJSON(in), DeliveryStatus: models.DeliveryReceived,
			CreatedAt: now}
		msgs = append(msgs, m)
		msgItems = append(msgItems, it)

		if reply != nil {
			b := &models.Message{ConversationID: convID, IdentityID: &identityID, Channel: in.Channel,
				Connector: in.Connector, Direction: models.DirectionOut, Kind: models.KindMessage,
				SenderType: models.SenderBot, SenderName: "Bot", Text: reply.Text,
				DeliveryStatus: models.DeliveryQueued, CreatedAt: now}
			if len(reply.Buttons) > 0 {
				b.Buttons = mustJSON(reply.Buttons)
			}
			if in.InlineReply {
				b.DeliveryStatus = models.DeliverySent
				b.SentAt = &now
				it.Result.InlineReply = reply.Text
			} else {
				it.Queued = true
			}
			bots = append(bots, b)
		}
	}

	// 5. Conversations: activity time; a snoozed one reopens. Zero rows means
	// the cached id was resolved meanwhile: retry with a fresh cache.
	for convID := range touchedConvs {
		res := tx.Model(&models.Conversation{}).Where("id = ? AND status <> ?", convID, models.StatusResolved).
			Updates(map[string]any{"last_message_at": now, "updated_at": now,
				"status": gorm.Expr("CASE WHEN status = ? THEN ? ELSE status END", models.StatusSnoozed, models.StatusOpen)})
		if res.Error != nil {
			return nil, nil, res.Error
		}
		if res.RowsAffected == 0 {
			return nil, nil, errStale
		}
	}

	// 6. Messages and bot answers, in one statement each.
	if len(msgs) > 0 {
		if err := tx.CreateInBatches(msgs, 200).Error; err != nil {
			return nil, nil, err
		}
	}
	if len(bots) > 0 {
		if err := tx.CreateInBatches(bots, 200).Error; err != nil {
			return nil, nil, err
		}
	}
	for i, m := range msgs {
		msgItems[i].Result.MessageID = models.ID(m.ID)
		events = append(events, &models.Event{Type: EventMessageCreated, ConversationID: m.ConversationID,
			Data: mustJSON(m.View()), CreatedAt: now})
	}
	for _, b := range bots {
		events = append(events, &models.Event{Type: EventMessageCreated, ConversationID: b.ConversationID,
			Data: mustJSON(b.View()), CreatedAt: now})
	}

	// 7. Identities: newest profile, last inbound time, reachability.
	for identID, it := range lastForIdentity {
		in := &it.In
		upd := map[string]any{"updated_at": now}
		if in.From.DisplayName != "" {
			upd["display_name"] = in.From.DisplayName
		}
		if in.From.Username != "" {
			upd["username"] = in.From.Username
		}
		if in.From.Language != "" {
			upd["language"] = in.From.Language
		}
		if in.From.UnionID != "" {
			upd["union_id"] = in.From.UnionID
		}
		if in.ReplyTo != "" {
			upd["reply_to"] = in.ReplyTo
		}
		if in.Kind == models.KindEvent && in.Event == models.EventUnsubscribe {
			upd["unreachable_reason"] = "the customer unfollowed the account"
		} else {
			upd["unreachable_reason"] = ""
			upd["last_inbound_at"] = now
		}
		if in.SharedContact != nil && in.SharedContact.Verified {
			upd["phone"] = in.SharedContact.Phone
		}
		if err := tx.Model(&models.Identity{}).Where("id = ?", identID).Updates(upd).Error; err != nil {
			return nil, nil, err
		}
	}

	if len(events) > 0 {
		if err := tx.CreateInBatches(events, 200).Error; err != nil {
			return nil, nil, err
		}
	}
	return newIDs, newConvs, nil
}

// lockEvents serializes event-log writers on PostgreSQL so that event ids
// become visible in increasing order (SSE readers never skip an id). SQLite
// has one writer already.
func (s *Store) lockEvents(tx *gorm.DB) error {
	if s.Driver != DriverPostgres {
		return nil
	}
	return tx.Exec("SELECT pg_advisory_xact_lock(7165)").Error
}

func subjectOf(in *models.Inbound) string {
	t := strings.TrimSpace(in.Text)
	if t == "" {
		t = timelineText(in)
	}
	return truncateRunes(t, 140)
}

func truncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// timelineText is the text shown in the timeline for an inbound.
func timelineText(in *models.Inbound) string {
	if in.Text != "" {
		return in.Text
	}
	switch in.Kind {
	case models.KindEvent:
		switch in.Event {
		case models.EventSubscribe:
			return "[followed the account]"
		case models.EventUnsubscribe:
			return "[unfollowed the account]"
		case models.EventScan:
			return "[scanned a QR code]"
		}
		return "[" + in.Event + "]"
	case models.KindAction:
		return "[chose: " + in.Action + "]"
	}
	if in.Location != nil {
		return fmt.Sprintf("[location %.5f, %.5f %s]", in.Location.Latitude, in.Location.Longitude, in.Location.Label)
	}
	if in.SharedContact != nil {
		return "[shared a contact: " + in.SharedContact.Phone + "]"
	}
	if len(in.Attachments) > 0 {
		return "[" + in.Attachments[0].Type + "]"
	}
	return ""
}

func attachmentsJSON(in *models.Inbound) string {
	if len(in.Attachments) == 0 {
		return ""
	}
	return mustJSON(in.Attachments)
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "{}"
	}
	return string(b)
}
