package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/tongdao/hub/models"
)

// Redemption outcomes.
const (
	// RedeemLinked: the identity's contact was merged into the code's.
	RedeemLinked = "linked"
	// RedeemAlready: the identity already belongs to the code's contact.
	RedeemAlready = "already_linked"
	// RedeemInvalid: no unused, unexpired code matches (counted as a failure).
	RedeemInvalid = "invalid"
	// RedeemLimited: too many failures recently; the code was not checked.
	RedeemLimited = "limited"
	// RedeemPaused: too many failures recently across all identities;
	// redemptions are paused for everyone and the code was not checked.
	RedeemPaused = "paused"
)

// mergeSnapshot is what a merge changed, as it was before: enough to undo it
// exactly.
type mergeSnapshot struct {
	Identities    []int64        `json:"identities"`
	Conversations []convSnapshot `json:"conversations"`
	// Messages moved from MovedFrom (the source's active conversation) into
	// the target's active conversation.
	MovedFrom int64   `json:"moved_from,omitempty"`
	Messages  []int64 `json:"messages,omitempty"`
	// Target is the target's active conversation before the merge.
	Target *convSnapshot `json:"target,omitempty"`
	// SystemMessage is the timeline entry the merge wrote.
	SystemMessage int64 `json:"system_message,omitempty"`
	// LastMessageID is the newest message id at merge time: messages of the
	// moved identities after it were written after the merge.
	LastMessageID int64 `json:"last_message_id"`
}

type convSnapshot struct {
	ID            int64      `json:"id"`
	ContactID     int64      `json:"contact_id"`
	Status        string     `json:"status"`
	ResolvedAt    *time.Time `json:"resolved_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
	LastMessageAt time.Time  `json:"last_message_at"`
}

func snapConv(c *models.Conversation) convSnapshot {
	return convSnapshot{ID: c.ID, ContactID: c.ContactID, Status: c.Status, ResolvedAt: c.ResolvedAt,
		UpdatedAt: c.UpdatedAt, LastMessageAt: c.LastMessageAt}
}

// CreateLinkCode stores a link offer (hashes only) and logs it.
func (s *Store) CreateLinkCode(ctx context.Context, c *models.LinkCode, conversationID int64) error {
	now := s.Now().UTC()
	c.CreatedAt = now
	return s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(c).Error; err != nil {
			return err
		}
		return tx.Create(&models.Event{Type: models.EventTypeLinkOffered, ConversationID: conversationID, CreatedAt: now,
			Data: mustJSON(map[string]any{"contact_id": models.ID(c.ContactID), "identity_id": models.ID(c.IdentityID),
				"expires_at": c.ExpiresAt.UTC()})}).Error
	})
}

// RedeemRequest is a customer's attempt to link an identity with a code or
// token.
type RedeemRequest struct {
	// IdentityID is the identity that sent the code.
	IdentityID int64
	// Hash is HashToken of the normalized code or token; Token tells which.
	Hash  string
	Token bool
	// Method is the merge method recorded (code, qr_scan, deep_link).
	Method string
	// MaxFailures within Window are allowed; after that nothing is checked.
	MaxFailures int
	Window      time.Duration
	// MaxGlobalFailures failures of all identities together within
	// GlobalWindow pause every redemption until the oldest of them ages out
	// (0: no global limit): guessing from many accounts is bounded too.
	MaxGlobalFailures int
	GlobalWindow      time.Duration
	// SystemText is the timeline entry written into the conversation.
	SystemText string
}

// RedeemResult is the outcome of a redemption.
type RedeemResult struct {
	Outcome string
	Merge   *models.Merge
	// ContactID is the contact the identity belongs to afterwards, and
	// ConversationID its active conversation (0: none).
	ContactID      int64
	ConversationID int64
	// Failures is the number of failures in the window, this one included.
	Failures int64
}

// Redeem checks a link code or token and, when it is valid, merges the
// redeeming identity's contact into the contact of the identity that asked
// for it, in one transaction: the code is used once, whatever races.
func (s *Store) Redeem(ctx context.Context, r RedeemRequest) (RedeemResult, error) {
	now := s.Now().UTC()
	var res RedeemResult
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res = RedeemResult{}
		if err := s.lockChanges(tx, true); err != nil {
			return err
		}
		var ident models.Identity
		if err := tx.Take(&ident, r.IdentityID).Error; err != nil {
			return err
		}
		res.ContactID = ident.ContactID
		if err := tx.Model(&models.LinkFailure{}).Where("identity_id = ? AND created_at > ?", ident.ID, now.Add(-r.Window)).
			Count(&res.Failures).Error; err != nil {
			return err
		}
		if res.Failures >= int64(r.MaxFailures) {
			res.Outcome = RedeemLimited
			return nil
		}
		if r.MaxGlobalFailures > 0 {
			// The MaxGlobalFailures-th newest failure, through the primary
			// key: cheap however long the table is.
			var nth []models.LinkFailure
			if err := tx.Order("id DESC").Offset(r.MaxGlobalFailures - 1).Limit(1).Find(&nth).Error; err != nil {
				return err
			}
			if len(nth) == 1 && nth[0].CreatedAt.After(now.Add(-r.GlobalWindow)) {
				res.Outcome = RedeemPaused
				return nil
			}
		}
		col := "code_hash"
		if r.Token {
			col = "token_hash"
		}
		var code models.LinkCode
		err := tx.Where(col+" = ? AND used_at IS NULL AND expires_at > ?", r.Hash, now).Take(&code).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			res.Outcome, res.Failures = RedeemInvalid, res.Failures+1
			if err := tx.Create(&models.LinkFailure{IdentityID: ident.ID, CreatedAt: now}).Error; err != nil {
				return err
			}
			return tx.Create(&models.Event{Type: models.EventTypeLinkFailed, CreatedAt: now, Data: mustJSON(map[string]any{
				"identity_id": models.ID(ident.ID), "contact_id": models.ID(ident.ContactID), "method": r.Method,
				"failures": res.Failures})}).Error
		}
		if err != nil {
			return err
		}
		// Single use: only the first redemption flips used_at.
		upd := tx.Model(&models.LinkCode{}).Where("id = ? AND used_at IS NULL", code.ID).
			Updates(map[string]any{"used_at": now, "used_by": ident.ID})
		if upd.Error != nil {
			return upd.Error
		}
		if upd.RowsAffected != 1 {
			return models.Errorf(models.ECONFLICT, "the code was used meanwhile")
		}
		// The code links to the contact of the identity that asked for it.
		var asker models.Identity
		if err := tx.Take(&asker, code.IdentityID).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				res.Outcome = RedeemInvalid
				return nil
			}
			return err
		}
		if asker.ContactID == ident.ContactID {
			res.Outcome = RedeemAlready
			conv, err := activeConversation(tx, ident.ContactID)
			if err != nil {
				return err
			}
			if conv != nil {
				res.ConversationID = conv.ID
			}
			return nil
		}
		m := &models.Merge{Method: r.Method, Actor: "customer", IdentityID: ident.ID}
		conv, err := s.mergeTx(tx, asker.ContactID, ident.ContactID, m, r.SystemText, &ident)
		if err != nil {
			return err
		}
		res.Outcome, res.Merge, res.ContactID, res.ConversationID = RedeemLinked, m, asker.ContactID, conv
		return nil
	})
	if err != nil {
		return RedeemResult{}, err
	}
	if res.Outcome == RedeemLinked {
		s.Invalidate()
	}
	return res, nil
}

func activeConversation(tx *gorm.DB, contactID int64) (*models.Conversation, error) {
	var c models.Conversation
	err := tx.Where("contact_id = ? AND status <> ?", contactID, models.StatusResolved).Take(&c).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// MergeContacts merges contact from into contact into, as an agent asked.
func (s *Store) MergeContacts(ctx context.Context, into, from int64, actor, systemText string) (models.Merge, error) {
	if into == from {
		return models.Merge{}, models.Errorf(models.EINVALID, "a contact cannot be merged into itself")
	}
	m := &models.Merge{Method: models.MergeByAgent, Actor: actor}
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := s.lockChanges(tx, true); err != nil {
			return err
		}
		for _, id := range []int64{into, from} {
			var n int64
			if err := tx.Model(&models.Contact{}).Where("id = ?", id).Count(&n).Error; err != nil {
				return err
			}
			if n == 0 {
				return notFound("contact", id)
			}
		}
		// A contact emptied by an earlier merge has nothing left to move.
		var idents int64
		if err := tx.Model(&models.Identity{}).Where("contact_id = ?", from).Count(&idents).Error; err != nil {
			return err
		}
		if idents == 0 {
			return models.Errorf(models.ECONFLICT, "contact %d has no identities left (merged into another already?): nothing to merge", from)
		}
		_, err := s.mergeTx(tx, into, from, m, systemText, nil)
		return err
	})
	if err != nil {
		return models.Merge{}, err
	}
	s.Invalidate()
	return *m, nil
}

// mergeTx moves everything of contact source into contact target: its
// identities and conversations; when both have an active conversation, the
// source's messages move into the target's and the emptied one is resolved.
// It writes the system entry, the merge record m and the event, and returns
// the target's active conversation afterwards (0: none).
func (s *Store) mergeTx(tx *gorm.DB, target, source int64, m *models.Merge, systemText string, via *models.Identity) (int64, error) {
	now := s.Now().UTC()
	var snap mergeSnapshot
	if err := tx.Model(&models.Message{}).Select("COALESCE(MAX(id), 0)").Scan(&snap.LastMessageID).Error; err != nil {
		return 0, err
	}
	if err := tx.Model(&models.Identity{}).Where("contact_id = ?", source).Order("id").Pluck("id", &snap.Identities).Error; err != nil {
		return 0, err
	}
	var srcConvs []models.Conversation
	if err := s.forUpdate(tx).Where("contact_id = ?", source).Order("id").Find(&srcConvs).Error; err != nil {
		return 0, err
	}
	tgtActive, err := activeConversation(tx, target)
	if err != nil {
		return 0, err
	}
	var srcActive *models.Conversation
	for i := range srcConvs {
		snap.Conversations = append(snap.Conversations, snapConv(&srcConvs[i]))
		if srcConvs[i].Status != models.StatusResolved {
			srcActive = &srcConvs[i]
		}
	}
	active := int64(0)
	switch {
	case tgtActive != nil && srcActive != nil:
		t := snapConv(tgtActive)
		snap.Target = &t
		snap.MovedFrom = srcActive.ID
		if err := tx.Model(&models.Message{}).Where("conversation_id = ?", srcActive.ID).Order("id").Pluck("id", &snap.Messages).Error; err != nil {
			return 0, err
		}
		if err := tx.Model(&models.Message{}).Where("conversation_id = ?", srcActive.ID).Update("conversation_id", tgtActive.ID).Error; err != nil {
			return 0, err
		}
		if err := tx.Model(&models.Conversation{}).Where("id = ?", srcActive.ID).
			Updates(map[string]any{"status": models.StatusResolved, "resolved_at": now, "updated_at": now}).Error; err != nil {
			return 0, err
		}
		last := tgtActive.LastMessageAt
		if srcActive.LastMessageAt.After(last) {
			last = srcActive.LastMessageAt
		}
		if err := tx.Model(&models.Conversation{}).Where("id = ?", tgtActive.ID).
			Updates(map[string]any{"last_message_at": last, "updated_at": now}).Error; err != nil {
			return 0, err
		}
		active = tgtActive.ID
	case tgtActive != nil:
		t := snapConv(tgtActive)
		snap.Target = &t
		active = tgtActive.ID
	case srcActive != nil:
		active = srcActive.ID
	}
	if err := tx.Model(&models.Conversation{}).Where("contact_id = ?", source).Update("contact_id", target).Error; err != nil {
		return 0, err
	}
	if err := tx.Model(&models.Identity{}).Where("contact_id = ?", source).
		Updates(map[string]any{"contact_id": target, "updated_at": now}).Error; err != nil {
		return 0, err
	}
	if active != 0 && systemText != "" {
		sys := &models.Message{ConversationID: active, Direction: models.DirectionOut, Kind: models.KindSystem,
			SenderType: models.SenderSystem, SenderName: "System", Text: systemText, Private: true,
			DeliveryStatus: models.DeliverySent, CreatedAt: now, SentAt: &now}
		if via != nil {
			sys.IdentityID, sys.Channel, sys.Connector = &via.ID, via.Channel, via.Connector
		}
		if err := tx.Create(sys).Error; err != nil {
			return 0, err
		}
		snap.SystemMessage = sys.ID
		if err := tx.Create(&models.Event{Type: models.EventTypeMessageCreated, ConversationID: active,
			Data: mustJSON(sys.View()), CreatedAt: now}).Error; err != nil {
			return 0, err
		}
	}
	m.TargetContactID, m.SourceContactID, m.Snapshot, m.CreatedAt = target, source, mustJSON(snap), now
	if err := tx.Create(m).Error; err != nil {
		return 0, err
	}
	return active, tx.Create(&models.Event{Type: models.EventTypeContactMerged, ConversationID: active, CreatedAt: now,
		Data: mustJSON(map[string]any{"merge_id": models.ID(m.ID), "contact_id": models.ID(target),
			"from_contact_id": models.ID(source), "method": m.Method, "by": m.Actor,
			"identity_ids": idStrings(snap.Identities), "moved_messages": len(snap.Messages)})}).Error
}

// forUpdate locks the selected rows on PostgreSQL (SQLite has one writer).
func (s *Store) forUpdate(tx *gorm.DB) *gorm.DB {
	if s.Driver == DriverPostgres {
		return tx.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	return tx
}

func idStrings(ids []int64) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = models.ID(id)
	}
	return out
}

// UndoMerge restores exactly what merge id changed: identities, conversation
// owners, statuses and times, and each moved message's conversation; the
// merge's timeline entry is removed. Messages the moved identities wrote
// after the merge go back with them, into their contact's active
// conversation (a new one when it had none).
func (s *Store) UndoMerge(ctx context.Context, id int64, actor string) (models.Merge, error) {
	now := s.Now().UTC()
	var m models.Merge
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := s.lockChanges(tx, true); err != nil {
			return err
		}
		if err := s.forUpdate(tx).Take(&m, id).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return notFound("merge", id)
			}
			return err
		}
		if m.UndoneAt != nil {
			return models.Errorf(models.ECONFLICT, "merge %d was already undone", id)
		}
		var snap mergeSnapshot
		if err := json.Unmarshal([]byte(m.Snapshot), &snap); err != nil {
			return fmt.Errorf("merge %d snapshot: %w", id, err)
		}
		if len(snap.Identities) > 0 {
			var n int64
			if err := tx.Model(&models.Identity{}).Where("id IN ? AND contact_id = ?", snap.Identities, m.TargetContactID).Count(&n).Error; err != nil {
				return err
			}
			if n != int64(len(snap.Identities)) {
				return models.Errorf(models.ECONFLICT, "an identity of this merge was unlinked or merged elsewhere since; it cannot be undone exactly")
			}
		}
		var later []int64
		if len(snap.Identities) > 0 {
			if err := tx.Model(&models.Message{}).Where("id > ? AND identity_id IN ? AND id <> ?", snap.LastMessageID, snap.Identities, snap.SystemMessage).
				Order("id").Pluck("id", &later).Error; err != nil {
				return err
			}
		}
		// The target's active conversation may take its moved messages back
		// only after the source's is restored; restore conversations first.
		if snap.Target != nil {
			if err := tx.Model(&models.Conversation{}).Where("id = ?", snap.Target.ID).
				Updates(map[string]any{"last_message_at": snap.Target.LastMessageAt, "updated_at": snap.Target.UpdatedAt}).Error; err != nil {
				return err
			}
		}
		restoredActive := int64(0)
		for _, c := range snap.Conversations {
			if c.Status != models.StatusResolved {
				restoredActive = c.ID
			}
			res := tx.Model(&models.Conversation{}).Where("id = ?", c.ID).Updates(map[string]any{
				"contact_id": c.ContactID, "status": c.Status, "resolved_at": c.ResolvedAt,
				"updated_at": c.UpdatedAt, "last_message_at": c.LastMessageAt})
			if res.Error != nil {
				if errors.Is(res.Error, gorm.ErrDuplicatedKey) {
					return models.Errorf(models.ECONFLICT, "conversation %d cannot be reopened: its contact has another active conversation", c.ID)
				}
				return res.Error
			}
		}
		if len(snap.Messages) > 0 {
			if err := tx.Model(&models.Message{}).Where("id IN ?", snap.Messages).Update("conversation_id", snap.MovedFrom).Error; err != nil {
				return err
			}
		}
		if len(snap.Identities) > 0 {
			if err := tx.Model(&models.Identity{}).Where("id IN ?", snap.Identities).
				Updates(map[string]any{"contact_id": m.SourceContactID, "updated_at": now}).Error; err != nil {
				return err
			}
		}
		if len(later) > 0 {
			if restoredActive == 0 {
				var first models.Message
				if err := tx.Take(&first, later[0]).Error; err != nil {
					return err
				}
				conv := models.Conversation{ContactID: m.SourceContactID, Status: models.StatusOpen, Priority: "normal",
					Subject: truncateRunes(first.Text, 140), LastMessageAt: now}
				if err := tx.Create(&conv).Error; err != nil {
					return err
				}
				restoredActive = conv.ID
				if err := tx.Create(&models.Event{Type: models.EventTypeConversationCreated, ConversationID: conv.ID, CreatedAt: now,
					Data: mustJSON(map[string]any{"id": models.ID(conv.ID), "contact_id": models.ID(m.SourceContactID)})}).Error; err != nil {
					return err
				}
			}
			if err := tx.Model(&models.Message{}).Where("id IN ?", later).Update("conversation_id", restoredActive).Error; err != nil {
				return err
			}
		}
		if snap.SystemMessage != 0 {
			if err := tx.Delete(&models.Message{}, snap.SystemMessage).Error; err != nil {
				return err
			}
		}
		m.UndoneAt, m.UndoneBy = &now, actor
		if err := tx.Model(&models.Merge{}).Where("id = ?", m.ID).
			Updates(map[string]any{"undone_at": now, "undone_by": actor}).Error; err != nil {
			return err
		}
		evConv := restoredActive
		if snap.Target != nil {
			evConv = snap.Target.ID
		}
		return tx.Create(&models.Event{Type: models.EventTypeMergeUndone, ConversationID: evConv, CreatedAt: now,
			Data: mustJSON(map[string]any{"merge_id": models.ID(m.ID), "contact_id": models.ID(m.TargetContactID),
				"from_contact_id": models.ID(m.SourceContactID), "by": actor, "identity_ids": idStrings(snap.Identities),
				"removed_message_id": models.ID(snap.SystemMessage), "returned_messages": len(snap.Messages) + len(later)})}).Error
	})
	if err != nil {
		return models.Merge{}, err
	}
	s.Invalidate()
	return m, nil
}

// MergeView returns the API shape of a merge, read through the writer so a
// caller sees its own change.
func (s *Store) MergeView(ctx context.Context, m models.Merge) (models.MergeView, error) {
	var snap mergeSnapshot
	_ = json.Unmarshal([]byte(m.Snapshot), &snap)
	v := models.MergeView{ID: models.ID(m.ID), ContactID: models.ID(m.TargetContactID), FromContactID: models.ID(m.SourceContactID),
		Method: m.Method, By: m.Actor, IdentityIDs: idStrings(snap.Identities), ConversationIDs: []string{},
		MovedMessages: len(snap.Messages), CreatedAt: m.CreatedAt.UTC()}
	for _, c := range snap.Conversations {
		v.ConversationIDs = append(v.ConversationIDs, models.ID(c.ID))
	}
	if m.UndoneAt != nil {
		u, by := m.UndoneAt.UTC(), m.UndoneBy
		v.UndoneAt, v.UndoneBy = &u, &by
	}
	contacts, err := s.contactViews(ctx, s.DB, []int64{m.TargetContactID})
	if err != nil {
		return v, err
	}
	v.Contact = contacts[m.TargetContactID]
	return v, nil
}

// UnlinkIdentity makes an identity its own contact again. The history stays
// with the contact it leaves; its next message opens a new conversation.
func (s *Store) UnlinkIdentity(ctx context.Context, id int64, actor, systemText string) (models.ContactView, error) {
	now := s.Now().UTC()
	var contact models.Contact
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := s.lockChanges(tx, true); err != nil {
			return err
		}
		var ident models.Identity
		if err := tx.Take(&ident, id).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return notFound("identity", id)
			}
			return err
		}
		var n int64
		if err := tx.Model(&models.Identity{}).Where("contact_id = ?", ident.ContactID).Count(&n).Error; err != nil {
			return err
		}
		if n < 2 {
			return models.Errorf(models.ECONFLICT, "identity %d is its contact's only identity: there is nothing to unlink it from", id)
		}
		contact = models.Contact{Name: ident.DisplayName, Phone: ident.Phone}
		if contact.Name == "" {
			contact.Name = ident.Username
		}
		if err := tx.Create(&contact).Error; err != nil {
			return err
		}
		if err := tx.Model(&models.Identity{}).Where("id = ?", id).
			Updates(map[string]any{"contact_id": contact.ID, "updated_at": now}).Error; err != nil {
			return err
		}
		active, err := activeConversation(tx, ident.ContactID)
		if err != nil {
			return err
		}
		convID := int64(0)
		if active != nil {
			convID = active.ID
			sys := &models.Message{ConversationID: active.ID, IdentityID: &ident.ID, Channel: ident.Channel, Connector: ident.Connector,
				Direction: models.DirectionOut, Kind: models.KindSystem, SenderType: models.SenderSystem, SenderName: "System",
				Text: systemText, Private: true, DeliveryStatus: models.DeliverySent, CreatedAt: now, SentAt: &now}
			if err := tx.Create(sys).Error; err != nil {
				return err
			}
			if err := tx.Create(&models.Event{Type: models.EventTypeMessageCreated, ConversationID: active.ID,
				Data: mustJSON(sys.View()), CreatedAt: now}).Error; err != nil {
				return err
			}
		}
		return tx.Create(&models.Event{Type: models.EventTypeIdentityUnlinked, ConversationID: convID, CreatedAt: now,
			Data: mustJSON(map[string]any{"identity_id": models.ID(id), "from_contact_id": models.ID(ident.ContactID),
				"contact_id": models.ID(contact.ID), "by": actor})}).Error
	})
	if err != nil {
		return models.ContactView{}, err
	}
	s.Invalidate()
	views, err := s.contactViews(ctx, s.DB, []int64{contact.ID})
	if err != nil {
		return models.ContactView{}, err
	}
	return views[contact.ID], nil
}

// Suggestions lists other contacts that share a verified phone number or a
// WeChat UnionID with one of contact id's identities.
func (s *Store) Suggestions(ctx context.Context, id int64) ([]models.SuggestionView, error) {
	db := s.Read.WithContext(ctx)
	var n int64
	if err := db.Model(&models.Contact{}).Where("id = ?", id).Count(&n).Error; err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, notFound("contact", id)
	}
	var mine []models.Identity
	if err := db.Where("contact_id = ?", id).Find(&mine).Error; err != nil {
		return nil, err
	}
	var phones, unions []string
	for _, i := range mine {
		if i.Phone != "" {
			phones = append(phones, i.Phone)
		}
		if i.UnionID != "" {
			unions = append(unions, i.UnionID)
		}
	}
	reasons := map[int64]map[string]bool{}
	add := func(col, reason string, vals []string) error {
		if len(vals) == 0 {
			return nil
		}
		var others []models.Identity
		if err := db.Where(col+" IN ? AND contact_id <> ?", vals, id).Find(&others).Error; err != nil {
			return err
		}
		for _, o := range others {
			if reasons[o.ContactID] == nil {
				reasons[o.ContactID] = map[string]bool{}
			}
			reasons[o.ContactID][reason] = true
		}
		return nil
	}
	if err := add("phone", "verified_phone", phones); err != nil {
		return nil, err
	}
	if err := add("union_id", "wechat_unionid", unions); err != nil {
		return nil, err
	}
	out := []models.SuggestionView{}
	if len(reasons) == 0 {
		return out, nil
	}
	ids := make([]int64, 0, len(reasons))
	for cid := range reasons {
		ids = append(ids, cid)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	views, err := s.contactViews(ctx, s.Read, ids)
	if err != nil {
		return nil, err
	}
	for _, cid := range ids {
		v := models.SuggestionView{Contact: views[cid], Reasons: []string{}}
		for _, r := range []string{"verified_phone", "wechat_unionid"} {
			if reasons[cid][r] {
				v.Reasons = append(v.Reasons, r)
			}
		}
		out = append(out, v)
	}
	return out, nil
}

// Merge returns a merge record.
func (s *Store) Merge(ctx context.Context, id int64) (models.Merge, error) {
	return takeByID[models.Merge](ctx, s.DB, "merge", id)
}

// Identity returns an identity row.
func (s *Store) Identity(ctx context.Context, id int64) (models.Identity, error) {
	return takeByID[models.Identity](ctx, s.DB, "identity", id)
}

// ActiveConversation returns a contact's active conversation (nil: none).
func (s *Store) ActiveConversation(ctx context.Context, contactID int64) (*models.Conversation, error) {
	return activeConversation(s.DB.WithContext(ctx), contactID)
}

// OpeningMessages returns the texts of a conversation's first customer
// messages, oldest first (at most limit rows read).
func (s *Store) OpeningMessages(ctx context.Context, convID int64, limit int) ([]string, error) {
	var texts []string
	err := s.DB.WithContext(ctx).Model(&models.Message{}).
		Where("conversation_id = ? AND direction = ? AND sender_type = ? AND kind = ?", convID, models.DirectionIn, models.SenderCustomer, models.KindMessage).
		Order("id").Limit(limit).Pluck("text", &texts).Error
	return texts, err
}

// ClosingIdentities returns identities of connector whose newest inbound
// was in (from, to] and which are reachable and have an active conversation.
func (s *Store) ClosingIdentities(ctx context.Context, connector string, from, to time.Time) ([]models.Identity, error) {
	var out []models.Identity
	err := s.DB.WithContext(ctx).Where("connector = ? AND last_inbound_at > ? AND last_inbound_at <= ? AND unreachable_reason = ''", connector, from.UTC(), to.UTC()).
		Where("EXISTS (SELECT 1 FROM conversations c WHERE c.contact_id = identities.contact_id AND c.status <> ?)", models.StatusResolved).
		Order("id").Limit(1000).Find(&out).Error
	return out, err
}

// MaskMessage replaces a stored message's text (a delivered link offer's
// secrets are masked) and logs the update.
func (s *Store) MaskMessage(ctx context.Context, id int64, text string) error {
	now := s.Now().UTC()
	return s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Model(&models.Message{}).Where("id = ?", id).Update("text", text).Error; err != nil {
			return err
		}
		var m models.Message
		if err := tx.Take(&m, id).Error; err != nil {
			return err
		}
		return tx.Create(&models.Event{Type: models.EventTypeMessageUpdated, ConversationID: m.ConversationID,
			Data: mustJSON(m.View()), CreatedAt: now}).Error
	})
}
