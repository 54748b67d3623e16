package store

import (
	"context"

	"gorm.io/gorm"

	"github.com/tongdao/hub/models"
)

// AddEvent appends one event that belongs to no conversation, with data (a
// JSON document) as its payload.
func (s *Store) AddEvent(ctx context.Context, typ, data string) error {
	e := &models.Event{Type: typ, Data: data, CreatedAt: s.Now().UTC()}
	return s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := s.lockEvents(tx); err != nil {
			return err
		}
		return tx.Create(e).Error
	})
}
