package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"

	"github.com/tongdao/hub/internal/dberr"
	"github.com/tongdao/hub/models"
)

// Event types written to the log.
const (
	EventMessageCreated      = "message.created"
	EventMessageUpdated      = "message.updated"
	EventConversationCreated = "conversation.created"
	EventConversationUpdated = "conversation.updated"
	EventContactUpdated      = "contact.updated"
	// EventInboundSkipped announces an inbound that could not be stored.
	EventInboundSkipped = "inbound.skipped"
)

// IngestItem is one inbound in a batch, with its outcome.
type IngestItem struct {
	In     models.Inbound
	Result models.IngestResult
	// ConversationID is the conversation the message landed in (0 if none);
	// IdentityID and ContactID say whose inbound it was.
	ConversationID int64
	IdentityID     int64
	ContactID      int64
	// NewContact and NewConversation tell what the inbound created.
	NewContact      bool
	NewConversation bool
	Err             error
}

// identityRef is what the hot path needs of an identity: its ids, and a
// hash of the profile fields last written, so an unchanged profile costs no
// per-row UPDATE.
type identityRef struct {
	id, contactID int64
	profile       uint64
	unreachable   bool
	// inboundAt is the last_inbound_at last written.
	inboundAt time.Time
}

// Writes that only move a timestamp are thinned out on the hot path: an
// identity's last_inbound_at at most once a minute (so a reply window may
// show up to a minute early: the safe side), a conversation's
// last_message_at at most once a second.
const (
	identityTouchEvery     = time.Minute
	conversationTouchEvery = time.Second
)

// profileHash hashes the identity fields an inbound may update.
func profileHash(in *models.Inbound) uint64 {
	h := fnv.New64a()
	for _, f := range []string{in.From.DisplayName, in.From.Username, in.From.Language, in.From.UnionID, in.ReplyTo} {
		h.Write([]byte(f))
		h.Write([]byte{0})
	}
	return h.Sum64()
}

// cache remembers identity and active-conversation ids so that the hot path
// needs no lookups. Entries are added only after a commit; anything that
// resolves or moves conversations calls Invalidate. Other replicas cannot
// invalidate it, so nothing they may change is trusted from it: the message
// insert checks that the cached conversation is still active and still the
// identity's contact's (else the batch retries uncached), and reachability
// is cleared by a statement that reads it.
type cache struct {
	mu         sync.RWMutex
	identities map[string]identityRef
	active     map[int64]int64 // contact id -> active conversation id
	touched    map[int64]time.Time
	// gen counts invalidations: a batch that read the database before the
	// latest one must not put what it saw.
	gen uint64
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

// touchedAt returns when a conversation's activity time was last written.
func (c *cache) touchedAt(convID int64) time.Time {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.touched[convID]
}

func (c *cache) setTouched(gen uint64, m map[int64]time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if c.touched == nil || len(c.touched) > 200_000 {
		c.touched = map[int64]time.Time{}
	}
	for k, v := range m {
		c.touched[k] = v
	}
}

func (c *cache) generation() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.gen
}

func (c *cache) put(gen uint64, ids map[string]identityRef, convs map[int64]int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
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
	if s.invalidated != nil {
		*s.invalidated = true
	}
	s.cache.mu.Lock()
	s.cache.identities = nil
	s.cache.active = nil
	s.cache.touched = nil
	s.cache.gen++
	s.cache.mu.Unlock()
}

var errStale = errors.New("store: cached conversation is no longer active")

// IngestBatch commits a batch of inbounds in one transaction (group commit).
// Duplicates (same connector and external id, stored before or earlier in
// the batch) are flagged and store nothing. When the batch as a whole fails,
// the caller retries items one by one to isolate the bad one.
//
// Text is cleaned first (see models.CleanText). An inbound that the database
// refuses for its data (dberr.Data), alone in its batch, is recorded as
// skipped with an inbound.skipped event, and the error is EINVALID: the
// connector acknowledges it and moves on. Only other errors are worth a retry.
func (s *Store) IngestBatch(ctx context.Context, items []*IngestItem) error {
	for _, it := range items {
		it.In.Clean()
	}
	err := s.ingestBatch(ctx, items)
	if len(items) != 1 || !dberr.Data(err) {
		return err
	}
	if serr := s.skipInbound(ctx, &items[0].In, err); serr != nil {
		return errors.Join(err, serr)
	}
	return models.Errorf(models.EINVALID, "the inbound cannot be stored and was skipped: %s", skipReason(err))
}

func skipReason(err error) string {
	return truncateRunes(models.CleanText(err.Error()), 500)
}

// skipInbound records an inbound that cannot be stored, with its event.
func (s *Store) skipInbound(ctx context.Context, in *models.Inbound, cause error) error {
	now := s.Now().UTC()
	row := &models.SkippedInbound{Connector: in.Connector, ExternalID: in.ExternalID, Reason: skipReason(cause), CreatedAt: now}
	return s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := s.lockEvents(tx); err != nil {
			return err
		}
		if err := tx.Create(row).Error; err != nil {
			return err
		}
		return tx.Create(&models.Event{Type: EventInboundSkipped, Data: mustJSON(map[string]any{
			"id": models.ID(row.ID), "connector": row.Connector, "external_id": row.ExternalID, "reason": row.Reason}),
			CreatedAt: now}).Error
	})
}

func (s *Store) ingestBatch(ctx context.Context, items []*IngestItem) error {
	var err error
	for attempt := 0; attempt < 2; attempt++ {
		var newIDs map[string]identityRef
		var newConvs map[int64]int64
		gen := s.cache.generation()
		touched := map[int64]time.Time{}
		err = s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			var e error
			newIDs, newConvs, e = s.ingestTx(tx, items, touched)
			return e
		})
		if err == nil {
			s.cache.put(gen, newIDs, newConvs)
			s.cache.setTouched(gen, touched)
			return nil
		}
		for _, it := range items {
			*it = IngestItem{In: it.In}
		}
		if !errors.Is(err, errStale) && !IsUniqueViolation(err) {
			return err
		}
		s.Invalidate()
	}
	return err
}

func (s *Store) ingestTx(tx *gorm.DB, items []*IngestItem, touched map[int64]time.Time) (map[string]identityRef, map[int64]int64, error) {
	now := s.Now().UTC()
	// Events are written last, under the event lock (PostgreSQL), so that
	// parallel batches do all their other work concurrently.
	var events []*models.Event
	hot, err := s.bindHot(tx.Statement.Context, tx)
	if err != nil {
		return nil, nil, err
	}
	// A duplicate (a platform retry, stored before or earlier in this batch)
	// stores nothing. The message insert itself detects it (the unique key),
	// so the common case costs no lookup.
	duplicate := func(it *IngestItem) { it.Result.Duplicate = true }
	seen := make(map[string]bool, len(items))
	newIDs := map[string]identityRef{}
	newConvs := map[int64]int64{}
	touchedConvs := map[int64]bool{}
	lastForIdentity := map[int64]*IngestItem{}

items:
	for _, it := range items {
		in := &it.In
		mk := identityKey(in.Connector, in.ExternalID)
		if seen[mk] {
			duplicate(it)
			continue
		}
		seen[mk] = true

		// 2. Identity and contact.
		ik := identityKey(in.Connector, in.From.ExternalID)
		ref, ok := newIDs[ik]
		if !ok {
			ref, ok = s.cache.identity(ik)
		}
		if !ok {
			var err error
			if ref, ok, err = hot.findIdentity(in.Connector, in.From.ExternalID); err != nil {
				return nil, nil, err
			}
			if !ok {
				if ref, err = hot.newCustomer(in, now); err != nil {
					return nil, nil, err
				}
				it.NewContact = true
			}
		}
		newIDs[ik] = ref

		// 3. The active conversation; events do not open one.
		convID, ok := newConvs[ref.contactID]
		if !ok {
			convID, ok = s.cache.conversation(ref.contactID)
		}
		if !ok {
			var err error
			if convID, err = hot.activeConversation(ref.contactID); err != nil {
				return nil, nil, err
			}
			if convID != 0 {
				newConvs[ref.contactID] = convID
			} else if in.Kind != models.KindEvent { // events do not open one
				// Rare path: do not open a conversation for a retry.
				if dup, err := hot.exists(in.Connector, in.ExternalID); err != nil {
					return nil, nil, err
				} else if dup {
					duplicate(it)
					continue items
				}
				if !it.NewContact {
					// Make sure a link or merge did not move the identity to
					// another contact since it was cached.
					var owner int64
					if err := tx.Model(&models.Identity{}).Select("contact_id").Where("id = ?", ref.id).Scan(&owner).Error; err != nil {
						return nil, nil, err
					}
					if owner != ref.contactID {
						return nil, nil, errStale
					}
				}
				if convID, err = hot.newConversation(ref.contactID, subjectOf(in), now); err != nil {
					return nil, nil, err
				}
				newConvs[ref.contactID] = convID
				it.NewConversation = true
				events = append(events, &models.Event{Type: EventConversationCreated, ConversationID: convID,
					Data: mustJSON(map[string]any{"id": models.ID(convID), "contact_id": models.ID(ref.contactID)}), CreatedAt: now})
			}
		}
		identityID := ref.id
		it.IdentityID, it.ContactID = ref.id, ref.contactID
		if convID != 0 {
			// 4. The message itself, inserted only while the conversation is
			// active and only once per platform id.
			extID := in.ExternalID
			m := &models.Message{ConversationID: convID, IdentityID: &identityID, Channel: in.Channel,
				Connector: in.Connector, ExternalID: &extID, Direction: models.DirectionIn, Kind: in.Kind,
				SenderType: models.SenderCustomer, SenderID: in.From.ExternalID, SenderName: in.From.DisplayName,
				Text: timelineText(in), Attachments: attachmentsJSON(in), DeliveryStatus: models.DeliveryReceived,
				CreatedAt: now}
			inserted, err := hot.insertInbound(m)
			if err != nil {
				return nil, nil, err
			}
			if !inserted {
				dup, err := hot.exists(in.Connector, in.ExternalID)
				if err != nil {
					return nil, nil, err
				}
				if !dup {
					return nil, nil, errStale // resolved since it was cached
				}
				duplicate(it)
				continue
			}
			it.Result.MessageID = models.ID(m.ID)
			it.ConversationID = convID
			events = append(events, &models.Event{Type: EventMessageCreated, ConversationID: convID,
				Data: mustJSON(m.View()), Detail: mustJSON(models.InboundFacts{Inbound: *in,
					IdentityID: ref.id, ContactID: ref.contactID, NewContact: it.NewContact,
					NewConversation: it.NewConversation, Inline: in.InlineReply}), CreatedAt: now})
			touchedConvs[convID] = true
		}
		lastForIdentity[ref.id] = it
	}

	// 5. Conversations: the activity time, at most once a second (the
	// inserts above already checked that each is still active).
	// Rows are updated in id order so that parallel batches (PostgreSQL)
	// cannot deadlock on each other.
	for _, id := range slices.Sorted(maps.Keys(touchedConvs)) {
		if now.Sub(s.cache.touchedAt(id)) < conversationTouchEvery {
			continue
		}
		active, err := hot.touchConversation(id, now)
		if err != nil {
			return nil, nil, err
		}
		if !active {
			return nil, nil, errStale
		}
		touched[id] = now
	}

	// 7. Identities: the last inbound time; a fuller update only where the
	// profile or reachability changes.
	for _, identID := range slices.Sorted(maps.Keys(lastForIdentity)) {
		it := lastForIdentity[identID]
		in := &it.In
		ik := identityKey(in.Connector, in.From.ExternalID)
		ref := newIDs[ik]
		unsubscribe := in.Kind == models.KindEvent && in.Event == models.EventUnsubscribe
		verified := in.SharedContact != nil && in.SharedContact.Verified
		ph := profileHash(in)
		if ph == ref.profile && !ref.unreachable && !unsubscribe && !verified {
			// Reachability is not cached: another replica may have marked
			// the identity unreachable since.
			cleared, err := hot.clearUnreachable(identID, now)
			if err != nil {
				return nil, nil, err
			}
			if cleared {
				ref.inboundAt = now
				newIDs[ik] = ref
				continue
			}
			if now.Sub(ref.inboundAt) >= identityTouchEvery {
				if err := hot.touchIdentity(identID, now); err != nil {
					return nil, nil, err
				}
				ref.inboundAt = now
				newIDs[ik] = ref
			}
			continue
		}
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
		if unsubscribe {
			upd["unreachable_reason"] = "the customer unfollowed the account"
		} else {
			upd["unreachable_reason"] = ""
			upd["last_inbound_at"] = now
		}
		if verified {
			upd["phone"] = in.SharedContact.Phone
		}
		if err := tx.Model(&models.Identity{}).Where("id = ?", identID).Updates(upd).Error; err != nil {
			return nil, nil, err
		}
		ref.profile, ref.unreachable = ph, unsubscribe
		if !unsubscribe {
			ref.inboundAt = now
		}
		newIDs[ik] = ref
	}
	if len(events) > 0 {
		if err := s.lockEvents(tx); err != nil {
			return nil, nil, err
		}
		if err := hot.insertEvents(events); err != nil {
			return nil, nil, err
		}
	}
	return newIDs, newConvs, nil
}

// lockEvents serializes event-log writers on PostgreSQL so that event ids
// become visible in increasing order (SSE readers never skip an id). SQLite
// has one writer already.
// The same statement tells the other replicas, at commit, that events are
// new (see ListenEvents).
func (s *Store) lockEvents(tx *gorm.DB) error {
	if s.Driver != DriverPostgres {
		return nil
	}
	return tx.Exec("SELECT pg_advisory_xact_lock(7165), pg_notify('" + eventsChannel + "', '')").Error
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
