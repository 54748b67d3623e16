package inbox

import (
	"context"

	"github.com/tongdao/hub/models"
)

// MarkRead records that the caller has conversation id open now (the
// console's unread state) and returns the mark.
func (s *Service) MarkRead(ctx context.Context, id int64, by models.Actor) (models.ReadMarkView, error) {
	return s.store.MarkRead(ctx, by.Name, id, s.now())
}

// ReadMarks lists the caller's newest read marks.
func (s *Service) ReadMarks(ctx context.Context, by models.Actor) ([]models.ReadMarkView, error) {
	return s.store.ReadMarks(ctx, by.Name, models.MaxReadMarks)
}
