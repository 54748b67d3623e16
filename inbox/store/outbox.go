package store

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/tongdao/hub/models"
)

// Delivery is a queued outbound message with the identity it goes to.
type Delivery struct {
	Message  models.Message
	Identity models.Identity
}

// DueDeliveries returns queued outbound messages whose time has come, at most
// one per identity: the oldest queued, so that a chat's messages go out in
// order and one in backoff holds back those after it.
func (s *Store) DueDeliveries(ctx context.Context, now time.Time, limit int) ([]Delivery, error) {
	var msgs []models.Message
	err := s.DB.WithContext(ctx).
		// 'queued' is a literal so the planners can use the partial indexes.
		Where("delivery_status = 'queued'").
		Where("(next_attempt_at IS NULL OR next_attempt_at <= ?)", now.UTC()).
		Where(`NOT EXISTS (SELECT 1 FROM messages e WHERE e.identity_id = messages.identity_id
			AND e.delivery_status = 'queued' AND e.id < messages.id)`).
		Order("id").Limit(limit).Find(&msgs).Error
	if err != nil || len(msgs) == 0 {
		return nil, err
	}
	ids := make([]int64, 0, len(msgs))
	for _, m := range msgs {
		if m.IdentityID != nil {
			ids = append(ids, *m.IdentityID)
		}
	}
	var idents []models.Identity
	if err := s.DB.WithContext(ctx).Where("id IN ?", ids).Find(&idents).Error; err != nil {
		return nil, err
	}
	byID := make(map[int64]models.Identity, len(idents))
	for _, i := range idents {
		byID[i.ID] = i
	}
	out := make([]Delivery, 0, len(msgs))
	for _, m := range msgs {
		if m.IdentityID == nil {
			continue
		}
		out = append(out, Delivery{Message: m, Identity: byID[*m.IdentityID]})
	}
	return out, nil
}

// NextDue returns when the earliest queued delivery becomes due (ok=false
// when nothing is queued).
func (s *Store) NextDue(ctx context.Context) (time.Time, bool, error) {
	var m models.Message
	err := s.DB.WithContext(ctx).Select("id, next_attempt_at").
		Where("delivery_status = 'queued'").
		Order(clause.OrderByColumn{Column: clause.Column{Name: "next_attempt_at"}}).Take(&m).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, err
	}
	if m.NextAttemptAt == nil {
		return time.Time{}, true, nil
	}
	return *m.NextAttemptAt, true, nil
}

// Lease marks a delivery attempt as started: attempts+1, and not due again
// before until (so a crash mid-send retries after the lease, not at once).
// attempts is the count the caller read: when another worker (another
// replica) leased the message first, Lease returns false and the caller
// must not send it.
func (s *Store) Lease(ctx context.Context, id int64, attempts int, until time.Time) (bool, error) {
	res := s.DB.WithContext(ctx).Model(&models.Message{}).
		Where("id = ? AND delivery_status = ? AND attempts = ?", id, models.DeliveryQueued, attempts).
		Updates(map[string]any{"attempts": attempts + 1, "next_attempt_at": until.UTC()})
	return res.RowsAffected == 1, res.Error
}

// RenewLease extends the lease of a delivery attempt still in flight (the
// attempts count its Lease set); false when the message is no longer that
// attempt's (finished, or taken over).
func (s *Store) RenewLease(ctx context.Context, id int64, attempts int, until time.Time) (bool, error) {
	res := s.DB.WithContext(ctx).Model(&models.Message{}).
		Where("id = ? AND delivery_status = ? AND attempts = ?", id, models.DeliveryQueued, attempts).
		Update("next_attempt_at", until.UTC())
	return res.RowsAffected == 1, res.Error
}

// DeliveryOutcome is the result of one delivery attempt.
type DeliveryOutcome struct {
	Status      string // sent, failed, or queued (retry at NextAttempt)
	Error       string
	PlatformID  string
	NextAttempt time.Time
	// ReplyTo, when set, is stored on the identity (a DM channel opened).
	ReplyTo string
	// Unreachable, when set, marks the identity unreachable with this reason.
	Unreachable string
}

// FinishDelivery records an attempt's outcome and its event.
func (s *Store) FinishDelivery(ctx context.Context, msgID, identityID int64, o DeliveryOutcome) error {
	now := s.Now().UTC()
	if o.Unreachable != "" {
		// The hot path caches reachability.
		defer s.Invalidate()
	}
	return s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		upd := map[string]any{"delivery_status": o.Status, "delivery_error": o.Error}
		switch o.Status {
		case models.DeliverySent:
			upd["platform_id"] = o.PlatformID
			upd["sent_at"] = now
			upd["next_attempt_at"] = nil
		case models.DeliveryFailed:
			upd["next_attempt_at"] = nil
		default:
			upd["next_attempt_at"] = o.NextAttempt.UTC()
		}
		if err := tx.Model(&models.Message{}).Where("id = ?", msgID).Updates(upd).Error; err != nil {
			return err
		}
		iupd := map[string]any{}
		if o.ReplyTo != "" {
			iupd["reply_to"] = o.ReplyTo
		}
		if o.Unreachable != "" {
			iupd["unreachable_reason"] = o.Unreachable
		}
		if len(iupd) > 0 {
			iupd["updated_at"] = now
			if err := tx.Model(&models.Identity{}).Where("id = ?", identityID).Updates(iupd).Error; err != nil {
				return err
			}
		}
		var m models.Message
		if err := tx.Take(&m, msgID).Error; err != nil {
			return err
		}
		if err := tx.Create(&models.Event{Type: models.EventTypeMessageUpdated, ConversationID: m.ConversationID,
			Data: mustJSON(m.View()), CreatedAt: now}).Error; err != nil {
			return err
		}
		if o.Unreachable == "" {
			return nil
		}
		// Agents see at once that this channel no longer reaches the customer.
		var ident models.Identity
		if err := tx.Take(&ident, identityID).Error; err != nil {
			return err
		}
		return tx.Create(&models.Event{Type: models.EventTypeContactUpdated, ConversationID: m.ConversationID,
			Data: mustJSON(map[string]any{"contact_id": models.ID(ident.ContactID),
				"identity": ident.View(s.window(ident.Connector))}), CreatedAt: now}).Error
	})
}
