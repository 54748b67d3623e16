package store

import (
	"context"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/tongdao/hub/models"
)

// StartClock starts a conversation's SLA clock of a kind, unless one runs
// already; a stopped clock of that kind starts again (its breach count
// stays). started is false when one was running.
func (s *Store) StartClock(ctx context.Context, conv int64, kind string, start, warn, due time.Time) (started bool, err error) {
	c := models.SLAClock{ConversationID: conv, Kind: kind, StartedAt: start.UTC(), WarnAt: warn.UTC(), DueAt: due.UTC()}
	res := s.DB.WithContext(ctx).Clauses(clause.OnConflict{
		Columns: []clause.Column{{Name: "conversation_id"}, {Name: "kind"}},
		DoUpdates: clause.Assignments(map[string]any{"started_at": c.StartedAt, "warn_at": c.WarnAt, "due_at": c.DueAt,
			"warned": false, "breached_at": nil, "stopped_at": nil}),
		Where: clause.Where{Exprs: []clause.Expression{clause.Expr{SQL: "sla_clocks.stopped_at IS NOT NULL"}}},
	}).Create(&c)
	return res.RowsAffected > 0, res.Error
}

// StopClocks stops the running clocks of the given kinds (met, or no
// longer needed) and returns how many it stopped.
func (s *Store) StopClocks(ctx context.Context, conv int64, at time.Time, kinds ...string) (int64, error) {
	res := s.DB.WithContext(ctx).Model(&models.SLAClock{}).
		Where("conversation_id = ? AND kind IN ? AND stopped_at IS NULL", conv, kinds).
		Update("stopped_at", at.UTC())
	return res.RowsAffected, res.Error
}

// Reschedule moves a running clock's warning and due time (its priority
// changed); a warning already given stays given unless the new one comes
// later.
func (s *Store) Reschedule(ctx context.Context, conv int64, kind string, warn, due time.Time) error {
	return s.DB.WithContext(ctx).Model(&models.SLAClock{}).
		Where("conversation_id = ? AND kind = ? AND stopped_at IS NULL AND breached_at IS NULL", conv, kind).
		Updates(map[string]any{"warn_at": warn.UTC(), "due_at": due.UTC(),
			"warned": gorm.Expr("warned AND ? <= warn_at", warn.UTC())}).Error
}

// DueClocks are running clocks that must warn or breach by now, oldest
// first, at most limit.
func (s *Store) DueClocks(ctx context.Context, now time.Time, limit int) ([]models.SLAClock, error) {
	var cs []models.SLAClock
	err := s.DB.WithContext(ctx).
		Where("stopped_at IS NULL AND warn_at <= ?", now.UTC()).
		Where("(NOT warned OR (breached_at IS NULL AND due_at <= ?))", now.UTC()).
		Order("warn_at").Limit(limit).Find(&cs).Error
	return cs, err
}

// MarkWarned records a clock's warning, once: false when it was given
// already or the clock stopped.
func (s *Store) MarkWarned(ctx context.Context, conv int64, kind string) (bool, error) {
	res := s.DB.WithContext(ctx).Model(&models.SLAClock{}).
		Where("conversation_id = ? AND kind = ? AND stopped_at IS NULL AND NOT warned", conv, kind).
		Update("warned", true)
	return res.RowsAffected == 1, res.Error
}

// MarkBreached records a clock's breach, once: false when it was recorded
// already or the clock stopped.
func (s *Store) MarkBreached(ctx context.Context, conv int64, kind string, at time.Time) (bool, error) {
	res := s.DB.WithContext(ctx).Model(&models.SLAClock{}).
		Where("conversation_id = ? AND kind = ? AND stopped_at IS NULL AND breached_at IS NULL", conv, kind).
		Updates(map[string]any{"breached_at": at.UTC(), "warned": true, "breaches": gorm.Expr("breaches + 1")})
	return res.RowsAffected == 1, res.Error
}

// slaViews reads the SLA fields of conversation views: the due times of
// running clocks and the kinds that ever breached.
func slaViews(ctx context.Context, db *gorm.DB, ids []int64) (map[int64][]models.SLAClock, error) {
	var cs []models.SLAClock
	if err := db.WithContext(ctx).Where("conversation_id IN ? AND (stopped_at IS NULL OR breaches > 0)", ids).
		Order("conversation_id, kind").Find(&cs).Error; err != nil {
		return nil, err
	}
	out := map[int64][]models.SLAClock{}
	for _, c := range cs {
		out[c.ConversationID] = append(out[c.ConversationID], c)
	}
	return out, nil
}

// Clocks are all of a conversation's clocks, running or stopped.
func (s *Store) Clocks(ctx context.Context, conv int64) ([]models.SLAClock, error) {
	var cs []models.SLAClock
	err := s.Read.WithContext(ctx).Where("conversation_id = ?", conv).Order("kind").Find(&cs).Error
	return cs, err
}

// ClockState is whether a conversation's clock of a kind runs.
type ClockState struct {
	Kind    string
	Running bool
}

// ClockStates reads the clocks of the given kinds of conversations in one
// query (outside a transaction, on the read pool).
func (s *Store) ClockStates(ctx context.Context, convs []int64, kinds ...string) (map[int64][]ClockState, error) {
	rows, err := s.Read.WithContext(ctx).Raw(`SELECT conversation_id, kind, stopped_at IS NULL FROM sla_clocks
WHERE conversation_id IN ? AND kind IN ?`, convs, kinds).Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make(map[int64][]ClockState, len(convs))
	for rows.Next() {
		var id int64
		var c ClockState
		if err := rows.Scan(&id, &c.Kind, &c.Running); err != nil {
			return nil, err
		}
		out[id] = append(out[id], c)
	}
	return out, rows.Err()
}

// TokenNameExists tells whether an API token (an agent) has this name.
func (s *Store) TokenNameExists(ctx context.Context, name string) (bool, error) {
	var n int64
	err := s.DB.WithContext(ctx).Model(&models.APIToken{}).Where("name = ?", name).Limit(1).Count(&n).Error
	return n > 0, err
}
