package store

import (
	"context"
	"time"

	"github.com/tongdao/hub/models"
)

// LinkCodeAsked reports whether an identity of the contact asked for a link
// code that is still open at now (not used, not expired): only then is a
// code-shaped message from an identity already linked meant as a code.
func (s *Store) LinkCodeAsked(ctx context.Context, contactID int64, now time.Time) (bool, error) {
	var n int64
	err := s.Read.WithContext(ctx).Model(&models.LinkCode{}).
		Where("identity_id IN (?) AND used_at IS NULL AND expires_at > ?",
			s.Read.Model(&models.Identity{}).Select("id").Where("contact_id = ?", contactID), now.UTC()).
		Limit(1).Count(&n).Error
	return n > 0, err
}

// LastReplier is the name of the agent who last answered the customer in a
// conversation (a message that is not private), "" when none has.
func (s *Store) LastReplier(ctx context.Context, convID int64) (string, error) {
	var names []string
	err := s.Read.WithContext(ctx).Model(&models.Message{}).
		Where("conversation_id = ? AND sender_type = ? AND private = ?", convID, models.SenderAgent, false).
		Order("id DESC").Limit(1).Pluck("sender_name", &names).Error
	if err != nil || len(names) == 0 {
		return "", err
	}
	return names[0], nil
}
