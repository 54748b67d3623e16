package store

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/tongdao/hub/models"
)

// ErrLeaseLost is returned when a reaction's lease passed to another runner
// (another replica): the transaction that tried to move its cursor is rolled
// back, so its writes never land twice.
var ErrLeaseLost = errors.New("store: the reaction's lease is held by another runner")

// Tx runs fn with a Store whose reads and writes all go through one
// transaction; store methods called on it nest as savepoints. fn must not use
// the outer Store (on SQLite its single writer connection is taken).
func (s *Store) Tx(ctx context.Context, fn func(tx *Store) error) error {
	invalidated := false
	err := s.turn(ctx, false, func() error {
		return s.DB.WithContext(ctx).Transaction(func(db *gorm.DB) error {
			return fn(&Store{DB: db, Read: db, Driver: s.Driver, dsn: s.dsn, Now: s.Now, ReplyWindow: s.ReplyWindow,
				cache: s.cache, invalidated: &invalidated, hot: s.hot, horizon: s.horizon, stats: s.stats})
		})
	})
	if invalidated {
		// Forget once more after the commit, so that no ingest caches what
		// it read between the invalidation and the commit.
		s.Invalidate()
	}
	return err
}

// EnsureCursor creates a reaction's cursor at the newest event, when it has
// none: a reaction added to a running installation starts from now, not
// from the beginning of history.
func (s *Store) EnsureCursor(ctx context.Context, name string) error {
	latest, err := s.latestEventID(ctx, s.DB)
	if err != nil {
		return err
	}
	return s.DB.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).
		Create(&models.ReactionCursor{Name: name, Position: latest, UpdatedAt: s.Now().UTC()}).Error
}

// AcquireLease makes owner the runner of reaction name until the lease
// expires at until, when it is free, expired or owner's already. It returns
// whether owner holds it and the cursor's position.
func (s *Store) AcquireLease(ctx context.Context, name, owner string, until time.Time) (bool, int64, error) {
	now := s.Now().UTC()
	res := s.DB.WithContext(ctx).Model(&models.ReactionCursor{}).
		Where("name = ? AND (owner = ? OR owner = '' OR lease_until < ?)", name, owner, now).
		Updates(map[string]any{"owner": owner, "lease_until": until.UTC(), "updated_at": now})
	if res.Error != nil || res.RowsAffected == 0 {
		return false, 0, res.Error
	}
	var c models.ReactionCursor
	if err := s.DB.WithContext(ctx).Take(&c, "name = ?", name).Error; err != nil {
		return false, 0, err
	}
	return c.Owner == owner, c.Position, nil
}

// AdvanceCursor moves reaction name's cursor to position and extends the
// lease, only while owner holds it (ErrLeaseLost otherwise). Called on a
// Store from Tx, it commits with the reaction's own writes.
func (s *Store) AdvanceCursor(ctx context.Context, name, owner string, position int64, until time.Time) error {
	res := s.DB.WithContext(ctx).Model(&models.ReactionCursor{}).
		Where("name = ? AND owner = ?", name, owner).
		Updates(map[string]any{"position": gorm.Expr("CASE WHEN position > ? THEN position ELSE ? END", position, position),
			"lease_until": until.UTC(), "updated_at": s.Now().UTC()})
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return ErrLeaseLost
	}
	return nil
}

// ReleaseLease gives a reaction's lease up, so another runner takes over at
// once (a replica shutting down).
func (s *Store) ReleaseLease(ctx context.Context, name, owner string) error {
	return s.DB.WithContext(ctx).Model(&models.ReactionCursor{}).Where("name = ? AND owner = ?", name, owner).
		Updates(map[string]any{"owner": "", "updated_at": s.Now().UTC()}).Error
}

// ReactionEvents returns up to limit events after position and up to
// upto, with their Detail, of the given types (all types when none).
//
// A message.created event's Data is left out where its Detail is given (the
// inbound's facts: a reaction needs one or the other); every other event
// keeps its Data beside its Detail (a conversation.updated event's detail
// adds who changed it and the state before and after to its changes).
func (s *Store) ReactionEvents(ctx context.Context, after, upto int64, types []string, limit int) ([]models.Event, error) {
	q := s.Read.WithContext(ctx).Select("id, type, conversation_id, detail, created_at, "+
		"CASE WHEN type = '"+models.EventTypeMessageCreated+"' AND detail <> '' THEN '' ELSE data END AS data").
		Where("id > ? AND id <= ?", after, upto)
	if len(types) > 0 {
		q = q.Where("type IN ?", types)
	}
	var evs []models.Event
	err := q.Order("id").Limit(limit).Find(&evs).Error
	return evs, err
}

// latestEventID returns the newest event id below the event horizon (see
// horizon.go), 0 when none.
func (s *Store) latestEventID(ctx context.Context, db *gorm.DB) (int64, error) {
	h, err := s.eventHorizon(ctx)
	if err != nil {
		return 0, err
	}
	var id *int64
	if err := db.WithContext(ctx).Model(&models.Event{}).Select("MAX(id)").Where("id <= ?", h).Scan(&id).Error; err != nil {
		return 0, err
	}
	if id == nil {
		return 0, nil
	}
	return *id, nil
}
