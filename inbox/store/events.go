package store

import (
	"context"

	"gorm.io/gorm"

	"github.com/tongdao/hub/models"
)

// AddEvent appends one event that belongs to no conversation, with data (a
// JSON document) as its payload.
func (s *Store) AddEvent(ctx context.Context, typ, data string) error {
	return s.addEvent(ctx, &models.Event{Type: typ, Data: data, CreatedAt: s.Now().UTC()})
}

// AddConversationEvent appends an event of a conversation (the SLA's
// warnings and breaches), with data (marshalled to JSON) as its payload.
func (s *Store) AddConversationEvent(ctx context.Context, conv int64, typ string, data any) error {
	return s.addEvent(ctx, &models.Event{Type: typ, ConversationID: conv, Data: mustJSON(data), CreatedAt: s.Now().UTC()})
}

func (s *Store) addEvent(ctx context.Context, e *models.Event) error {
	if h, ok := s.hotTx(ctx); ok {
		// In a transaction already (a reaction's): the prepared insert, no
		// savepoint.
		return h.insertEvent(e)
	}
	return s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		return tx.Create(e).Error
	})
}
