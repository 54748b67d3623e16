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
	"sync/atomic"
	"time"

	"gorm.io/gorm"

	"github.com/tongdao/hub/internal/dberr"
	"github.com/tongdao/hub/models"
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
	// Reopened tells that the inbound reopened the conversation it rated.
	Reopened bool
	// UnreachableReason, set by the caller, makes the customer unreachable
	// on this identity for that reason (an unfollow); otherwise an inbound
	// makes them reachable again.
	UnreachableReason string
	// Feedback, set by the caller, lists the rating stages this inbound may
	// answer (CSATAsked: a score; CSATComment: anything to add). With no
	// active conversation, such an inbound lands in the contact's resolved
	// conversation that awaits it, instead of opening a new one.
	Feedback []string
	// Rating is true when the inbound landed in a resolved conversation
	// as the answer to its rating prompt.
	Rating bool
	Err    error
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
	// unindexed counts the inbounds since the search index last took the
	// rows noted for it (SQLite: see indexPending).
	unindexed atomic.Int64
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
		if err := tx.Create(row).Error; err != nil {
			return err
		}
		return tx.Create(&models.Event{Type: models.EventTypeInboundSkipped, Data: mustJSON(map[string]any{
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
		t0 := time.Now()
		err = s.turn(ctx, true, func() error {
			return s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
				var e error
				newIDs, newConvs, e = s.ingestTx(tx, items, touched)
				return e
			})
		})
		s.stats.nanos.Add(int64(time.Since(t0)))
		if err == nil {
			s.cache.put(gen, newIDs, newConvs)
			s.cache.setTouched(gen, touched)
			return nil
		}
		for _, it := range items {
			*it = IngestItem{In: it.In, UnreachableReason: it.UnreachableReason, Feedback: it.Feedback}
		}
		if !errors.Is(err, errStale) && !IsUniqueViolation(err) {
			return err
		}
		s.Invalidate()
	}
	return err
}

// ingestRun is one group commit's work, in named steps: each item finds its
// identity, its conversation and stores its message; then the batch
// touches conversations and identities once each and appends the events.
type ingestRun struct {
	s   *Store
	tx  *gorm.DB
	hot *hotTx
	now time.Time
	// Events are written last, so that their ids follow every change the
	// batch made (see horizon.go).
	events []*models.Event
	seen   map[string]*IngestItem // the first item of each message id
	// ids and convs are what this batch learned, for the cache.
	ids   map[string]identityRef
	convs map[int64]int64
	// touchedConvs had a message; lastForIdentity is each identity's last
	// inbound; touched records the activity times written.
	touchedConvs    map[int64]bool
	lastForIdentity map[int64]*IngestItem
	touched         map[int64]time.Time
	// many: the batch is written set by set (PostgreSQL, ingest_pg.go);
	// pending are its customer messages waiting for their one insert.
	many    bool
	pending []pendingMsg
	// created are the identities newSenders created (their first item is
	// a new contact); newConvs their first conversations, by contact.
	created  map[string]bool
	newConvs map[int64]int64
}

func (s *Store) ingestTx(tx *gorm.DB, items []*IngestItem, touched map[int64]time.Time) (map[string]identityRef, map[int64]int64, error) {
	hot, err := s.bindHot(tx.Statement.Context, tx)
	if err != nil {
		return nil, nil, err
	}
	r := &ingestRun{s: s, tx: tx, hot: hot, now: s.Now().UTC(), seen: make(map[string]*IngestItem, len(items)),
		ids: map[string]identityRef{}, convs: map[int64]int64{}, touchedConvs: map[int64]bool{},
		lastForIdentity: map[int64]*IngestItem{}, touched: touched, many: s.hot.many.in != nil,
		created: map[string]bool{}, newConvs: map[int64]int64{}}
	defer func() {
		s.stats.batches.Add(1)
		s.stats.statements.Add(hot.sent)
	}()
	if r.many {
		if err := r.newSenders(items); err != nil {
			return nil, nil, err
		}
	}
	for _, it := range items {
		if err := r.item(it); err != nil {
			return nil, nil, err
		}
	}
	if err := r.insertMessages(items); err != nil {
		return nil, nil, err
	}
	touch, idents := r.touchConversations, func() error { return r.updateIdentities(r.lastForIdentity) }
	if r.many {
		touch, idents = r.touchConversationsMany, func() error {
			rest, err := r.identitiesMany()
			if err != nil {
				return err
			}
			return r.updateIdentities(rest)
		}
	}
	if err := touch(); err != nil {
		return nil, nil, err
	}
	if err := idents(); err != nil {
		return nil, nil, err
	}
	if err := r.appendEvents(); err != nil {
		return nil, nil, err
	}
	// Last: a statement after it would write the search index's new
	// entries out once more.
	if s.cache.unindexed.Add(int64(len(items))) >= searchIndexEvery {
		if err := s.indexPending(tx); err != nil {
			return nil, nil, err
		}
		s.cache.unindexed.Store(0)
	}
	return r.ids, r.convs, nil
}

// item stores one inbound. A duplicate (a platform retry, stored before or
// earlier in this batch) stores nothing: the message insert itself detects
// it (the unique key), so the common case costs no lookup.
func (r *ingestRun) item(it *IngestItem) error {
	in := &it.In
	mk := identityKey(in.Connector, in.ExternalID)
	if first := r.seen[mk]; first != nil {
		// A retry inside the batch (WeChat re-posts a slow push): whose it
		// is, as for a retry in a later batch, so that its answer is about
		// that customer.
		it.Result.Duplicate = true
		it.IdentityID, it.ContactID = first.IdentityID, first.ContactID
		return nil
	}
	r.seen[mk] = it
	ref, err := r.identity(it)
	if err != nil {
		return err
	}
	it.IdentityID, it.ContactID = ref.id, ref.contactID
	convID, dup, err := r.conversation(it, ref)
	if err != nil || dup {
		it.Result.Duplicate = dup
		return err
	}
	if convID != 0 {
		if dup, err := r.message(it, ref, convID); err != nil || dup {
			it.Result.Duplicate = dup
			return err
		}
	}
	r.lastForIdentity[ref.id] = it
	return nil
}

// identity finds the sender's identity (cached, or looked up) or creates
// the customer: contact and identity.
func (r *ingestRun) identity(it *IngestItem) (identityRef, error) {
	in := &it.In
	ik := identityKey(in.Connector, in.From.ExternalID)
	ref, ok := r.ids[ik]
	if ok && r.created[ik] {
		delete(r.created, ik)
		it.NewContact = true
	}
	if !ok {
		ref, ok = r.s.cache.identity(ik)
	}
	if !ok {
		var err error
		if ref, ok, err = r.hot.findIdentity(in.Connector, in.From.ExternalID); err != nil {
			return ref, err
		}
		if !ok {
			if ref, err = r.hot.newCustomer(in, r.now); err != nil {
				return ref, err
			}
			it.NewContact = true
		}
	}
	r.ids[ik] = ref
	return ref, nil
}

// conversation finds the contact's active conversation or opens one (0:
// none, for an event, which opens none); dup is true for a retry found on
// the way.
func (r *ingestRun) conversation(it *IngestItem, ref identityRef) (id int64, dup bool, err error) {
	in := &it.In
	if id, ok := r.convs[ref.contactID]; ok {
		return id, false, nil
	}
	if id, ok := r.s.cache.conversation(ref.contactID); ok {
		return id, false, nil
	}
	// A contact created by this batch has no conversation, and its first
	// message cannot be a retry (a retry's sender is known): no lookups.
	if !it.NewContact {
		if id, err = r.hot.activeConversation(ref.contactID); err != nil || id != 0 {
			if id != 0 {
				r.convs[ref.contactID] = id
			}
			return id, false, err
		}
	}
	if in.Kind == models.KindEvent {
		return 0, false, nil
	}
	// Rare path: do not open a conversation for a retry.
	if !it.NewContact {
		if dup, err := r.hot.exists(in.Connector, in.ExternalID); err != nil || dup {
			return 0, dup, err
		}
	}
	if !it.NewContact {
		// Make sure a link or merge did not move the identity to another
		// contact since it was cached.
		var owner int64
		if err := r.tx.Model(&models.Identity{}).Select("contact_id").Where("id = ?", ref.id).Scan(&owner).Error; err != nil {
			return 0, false, err
		}
		if owner != ref.contactID {
			return 0, false, errStale
		}
	}
	if len(it.Feedback) > 0 && !it.NewContact {
		// The answer to a rating prompt belongs to the rated conversation
		// (see inbox/csat.go); it neither reopens it nor opens a new one.
		if err := r.tx.Model(&models.Conversation{}).Select("id").
			Where("contact_id = ? AND status = ? AND csat_stage IN ? AND csat_until > ?", ref.contactID, models.StatusResolved, it.Feedback, r.now).
			Order("id DESC").Limit(1).Scan(&id).Error; err != nil || id != 0 {
			it.Rating = id != 0
			return id, false, err
		}
	}
	if !it.NewContact {
		// A customer who writes again within ReopenAfterRating of rating
		// their last conversation reopens it: the same ticket goes on.
		if id, err = r.reopenRated(ref.contactID); err != nil || id != 0 {
			it.Reopened = id != 0
			return id, false, err
		}
	}
	if id = r.newConvs[ref.contactID]; id != 0 {
		delete(r.newConvs, ref.contactID) // created by newSenders
	} else if id, err = r.hot.newConversation(ref.contactID, subjectOf(in), r.now); err != nil {
		return 0, false, err
	}
	r.convs[ref.contactID] = id
	it.NewConversation = true
	r.events = append(r.events, &models.Event{Type: models.EventTypeConversationCreated, ConversationID: id,
		Data: mustJSON(map[string]any{"id": models.ID(id), "contact_id": models.ID(ref.contactID)}), CreatedAt: r.now})
	return id, false, nil
}

// ReopenAfterRating is how long after a rating the customer's next message
// reopens the rated conversation instead of opening a new one.
const ReopenAfterRating = 7 * 24 * time.Hour

// reopenRated reopens the contact's last conversation when it is resolved
// and was rated since, within ReopenAfterRating (0: none), with the
// conversation.updated event the reactions follow (the clocks start again).
func (r *ingestRun) reopenRated(contactID int64) (int64, error) {
	var c models.Conversation
	err := r.tx.Select("id, status, assignee, team, priority").
		Where("contact_id = ? AND status = ? AND csat_at > ? AND csat_at >= resolved_at", contactID, models.StatusResolved, r.now.Add(-ReopenAfterRating)).
		Where("NOT EXISTS (SELECT 1 FROM conversations n WHERE n.contact_id = conversations.contact_id AND n.id > conversations.id)").
		Limit(1).Find(&c).Error
	if err != nil || c.ID == 0 {
		return 0, err
	}
	res := r.tx.Model(&models.Conversation{}).Where("id = ? AND status = ?", c.ID, models.StatusResolved).
		Updates(map[string]any{"status": models.StatusOpen, "resolved_at": nil, "handoff_at": nil, "updated_at": r.now})
	if res.Error != nil || res.RowsAffected == 0 {
		return 0, res.Error
	}
	before := models.ConversationState{Status: c.Status, Assignee: c.Assignee, Team: c.Team, Priority: c.Priority}
	after := before
	after.Status = models.StatusOpen
	r.convs[contactID] = c.ID
	r.events = append(r.events, &models.Event{Type: models.EventTypeConversationUpdated, ConversationID: c.ID,
		Data:   mustJSON(map[string]any{"id": models.ID(c.ID), "changes": map[string]any{"status": models.StatusOpen}, "by": "customer"}),
		Detail: mustJSON(models.ConversationChange{By: "customer", Before: before, After: after}), CreatedAt: r.now})
	return c.ID, nil
}

// message inserts the customer's message, only while the conversation is
// active and only once per platform id, with its event and what ingest saw
// of it for the reactions.
func (r *ingestRun) message(it *IngestItem, ref identityRef, convID int64) (dup bool, err error) {
	in := &it.In
	extID, identityID := in.ExternalID, ref.id
	m := &models.Message{ConversationID: convID, IdentityID: &identityID, Channel: in.Channel,
		Connector: in.Connector, ExternalID: &extID, Direction: models.DirectionIn, Kind: in.Kind,
		SenderType: models.SenderCustomer, SenderID: in.From.ExternalID, SenderName: in.From.DisplayName,
		Text: timelineText(in), Attachments: attachmentsJSON(in), DeliveryStatus: models.DeliveryReceived,
		CreatedAt: r.now}
	if it.Rating {
		// A resolved conversation: the guarded insert would refuse it, and
		// its activity time stays (answering a rating is no new activity).
		if err := r.hot.insertMessage(m); err != nil {
			return false, err
		}
		r.messageEvent(it, ref, m, convID)
		return false, nil
	}
	if r.many {
		r.deferMessage(it, ref, m, convID)
		return false, nil
	}
	inserted, err := r.hot.insertInbound(m)
	if err != nil {
		return false, err
	}
	if !inserted {
		dup, err := r.hot.exists(in.Connector, in.ExternalID)
		if err != nil {
			return false, err
		}
		if !dup {
			// Resolved, merged or undone since it was cached (perhaps by
			// another replica): the batch is retried without the cache.
			return false, errStale
		}
		return true, nil
	}
	r.messageEvent(it, ref, m, convID)
	r.touchedConvs[convID] = true
	return false, nil
}

// messageEvent records a stored inbound's message.created, with what
// ingest saw of it for the reactions.
func (r *ingestRun) messageEvent(it *IngestItem, ref identityRef, m *models.Message, convID int64) {
	r.events = append(r.events, r.messageEventOf(it, ref, m, convID))
}

func (r *ingestRun) messageEventOf(it *IngestItem, ref identityRef, m *models.Message, convID int64) *models.Event {
	in := &it.In
	it.Result.MessageID = models.ID(m.ID)
	it.ConversationID = convID
	return &models.Event{Type: models.EventTypeMessageCreated, ConversationID: convID,
		Data: mustJSON(m.View()), Detail: mustJSON(models.InboundFacts{Inbound: *in,
			IdentityID: ref.id, ContactID: ref.contactID, NewContact: it.NewContact,
			NewConversation: it.NewConversation, Reopened: it.Reopened, Inline: in.InlineReply}), CreatedAt: r.now}
}

// touchConversations sets the activity time, at most once a second (the
// inserts already checked that each is still active), in id order so that
// parallel batches (PostgreSQL) cannot deadlock on each other.
func (r *ingestRun) touchConversations() error {
	for _, id := range slices.Sorted(maps.Keys(r.touchedConvs)) {
		if r.now.Sub(r.s.cache.touchedAt(id)) < conversationTouchEvery {
			continue
		}
		active, err := r.hot.touchConversation(id, r.now)
		if err != nil {
			return err
		}
		if !active {
			return errStale
		}
		r.touched[id] = r.now
	}
	return nil
}

// updateIdentities sets each identity's last inbound time; a fuller update
// only where the profile or reachability changes.
func (r *ingestRun) updateIdentities(last map[int64]*IngestItem) error {
	for _, identID := range slices.Sorted(maps.Keys(last)) {
		it := last[identID]
		in := &it.In
		ik := identityKey(in.Connector, in.From.ExternalID)
		ref := r.ids[ik]
		unreachable := it.UnreachableReason != ""
		verified := in.SharedContact != nil && in.SharedContact.Verified
		ph := profileHash(in)
		if ph == ref.profile && !ref.unreachable && !unreachable && !verified {
			// Reachability is not trusted from the cache where another
			// replica may have marked the identity unreachable since
			// (PostgreSQL). SQLite has one process, and every write that
			// marks an identity unreachable invalidates its cache: there the
			// statement, one per identity and batch on the single writer,
			// would only cost throughput.
			cleared := false
			if r.s.Driver == DriverPostgres {
				var err error
				if cleared, err = r.hot.clearUnreachable(identID, r.now); err != nil {
					return err
				}
			}
			if cleared || r.now.Sub(ref.inboundAt) >= identityTouchEvery {
				if !cleared {
					if err := r.hot.touchIdentity(identID, r.now); err != nil {
						return err
					}
				}
				ref.inboundAt = r.now
				r.ids[ik] = ref
			}
			continue
		}
		upd := map[string]any{"updated_at": r.now}
		for col, v := range map[string]string{"display_name": in.From.DisplayName, "username": in.From.Username,
			"language": in.From.Language, "union_id": in.From.UnionID, "reply_to": in.ReplyTo} {
			if v != "" {
				upd[col] = v
			}
		}
		upd["unreachable_reason"] = it.UnreachableReason
		if !unreachable {
			upd["last_inbound_at"] = r.now
			ref.inboundAt = r.now
		}
		if verified {
			upd["phone"] = in.SharedContact.Phone
		}
		if err := r.tx.Model(&models.Identity{}).Where("id = ?", identID).Updates(upd).Error; err != nil {
			return err
		}
		ref.profile, ref.unreachable = ph, unreachable
		r.ids[ik] = ref
	}
	return nil
}

// appendEvents writes the batch's events, last: their ids are taken after
// every row the batch changed (see horizon.go).
func (r *ingestRun) appendEvents() error {
	if len(r.events) == 0 {
		return nil
	}
	if r.many {
		return r.hot.insertEventsMany(r.events)
	}
	return r.hot.insertEvents(r.events)
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
