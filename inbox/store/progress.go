package store

import (
	"context"

	"github.com/tongdao/hub/models"
)

// LastConversation is a contact's newest conversation other than except
// (nil when it has none): what a customer asking where their ticket stands
// is told about when the question itself opened a new conversation.
func (s *Store) LastConversation(ctx context.Context, contactID, except int64) (*models.Conversation, error) {
	var cs []models.Conversation
	if err := s.Read.WithContext(ctx).Where("contact_id = ? AND id <> ?", contactID, except).
		Order("id DESC").Limit(1).Find(&cs).Error; err != nil {
		return nil, err
	}
	if len(cs) == 0 {
		return nil, nil
	}
	return &cs[0], nil
}
