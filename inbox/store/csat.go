package store

import (
	"context"
	"encoding/json"
	"time"

	"gorm.io/gorm"

	"github.com/tongdao/hub/models"
)

// The stages of a rating (Conversation.CSATStage): what the customer was
// last asked, whose answer lands in the resolved conversation (see
// IngestItem.Feedback).
const (
	CSATAsked   = "asked"
	CSATComment = "comment"
)

// AskCSAT records that the customer of a resolved conversation was asked
// for a score, answerable until until; false when the conversation is no
// longer resolved (nothing written).
func (s *Store) AskCSAT(ctx context.Context, convID int64, until time.Time) (bool, error) {
	res := s.DB.WithContext(ctx).Model(&models.Conversation{}).Where("id = ? AND status = ?", convID, models.StatusResolved).
		Updates(map[string]any{"csat_stage": CSATAsked, "csat_until": until.UTC()})
	return res.RowsAffected > 0, res.Error
}

// ResolvedBefore reports whether a conversation was already resolved just
// before the event before: its latest status change earlier in the log set
// resolved (a second "resolve" is no new end of the help).
func (s *Store) ResolvedBefore(ctx context.Context, convID, before int64) (bool, error) {
	var evs []models.Event
	err := s.DB.WithContext(ctx).Select("id, data").
		Where("conversation_id = ? AND type = ? AND id < ? AND data LIKE ?", convID, models.EventTypeConversationUpdated, before, `%"status"%`).
		Order("id DESC").Limit(20).Find(&evs).Error
	if err != nil {
		return false, err
	}
	for _, e := range evs {
		var d struct {
			Changes map[string]any `json:"changes"`
		}
		if json.Unmarshal([]byte(e.Data), &d) != nil {
			continue
		}
		if st, ok := d.Changes["status"].(string); ok {
			return st == models.StatusResolved, nil
		}
	}
	return false, nil
}

// PendingCSAT is the contact's newest resolved conversation whose rating
// stage is stage and still open (nil: none).
func (s *Store) PendingCSAT(ctx context.Context, contactID int64, stage string) (*models.Conversation, error) {
	var cs []models.Conversation
	err := s.DB.WithContext(ctx).Where("contact_id = ? AND status = ? AND csat_stage = ? AND csat_until > ?",
		contactID, models.StatusResolved, stage, s.Now().UTC()).Order("id DESC").Limit(1).Find(&cs).Error
	if err != nil || len(cs) == 0 {
		return nil, err
	}
	return &cs[0], nil
}

// RateCSAT stores a score (1–5) on a conversation awaiting one, with no
// comment yet, and asks for the comment until commentUntil; it appends
// csat.received, and csat.low for a score of 2 or less. False when the
// conversation no longer awaits a score (nothing written).
func (s *Store) RateCSAT(ctx context.Context, convID int64, score int, commentUntil time.Time) (bool, error) {
	now := s.Now().UTC()
	rated := false
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&models.Conversation{}).
			Where("id = ? AND status = ? AND csat_stage = ? AND csat_until > ?", convID, models.StatusResolved, CSATAsked, now).
			Updates(map[string]any{"csat_score": score, "csat_comment": nil, "csat_at": now,
				"csat_stage": CSATComment, "csat_until": commentUntil.UTC(), "updated_at": now})
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error
		}
		rated = true
		data := mustJSON(map[string]any{"id": models.ID(convID), "score": score, "at": now})
		evs := []*models.Event{{Type: models.EventTypeCSATReceived, ConversationID: convID, Data: data, CreatedAt: now}}
		if score <= 2 {
			evs = append(evs, &models.Event{Type: models.EventTypeCSATLow, ConversationID: convID, Data: data, CreatedAt: now})
		}
		return tx.Create(evs).Error
	})
	return rated, err
}

// CommentCSAT ends a rating: it stores the comment (nil: skipped) on a
// conversation awaiting one, and appends conversation.updated with the
// rating. False when the conversation no longer awaits a comment.
func (s *Store) CommentCSAT(ctx context.Context, convID int64, comment *string) (bool, error) {
	now := s.Now().UTC()
	done := false
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		fields := map[string]any{"csat_stage": "", "csat_until": nil, "updated_at": now}
		if comment != nil {
			c := truncateRunes(models.CleanText(*comment), 4096)
			comment = &c
			fields["csat_comment"] = c
		}
		res := tx.Model(&models.Conversation{}).
			Where("id = ? AND status = ? AND csat_stage = ? AND csat_until > ?", convID, models.StatusResolved, CSATComment, now).
			Updates(fields)
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error
		}
		done = true
		var c models.Conversation
		if err := tx.Take(&c, convID).Error; err != nil {
			return err
		}
		return tx.Create(&models.Event{Type: models.EventTypeConversationUpdated, ConversationID: convID,
			Data:      mustJSON(map[string]any{"id": models.ID(convID), "changes": map[string]any{"csat": csatView(&c)}, "by": "customer"}),
			CreatedAt: now}).Error
	})
	return done, err
}

// csatView is a conversation's rating as the API shows it (nil: none).
func csatView(c *models.Conversation) *models.CSATView {
	if c.CSATScore == nil || c.CSATAt == nil {
		return nil
	}
	return &models.CSATView{Score: *c.CSATScore, Comment: c.CSATComment, At: c.CSATAt.UTC()}
}
