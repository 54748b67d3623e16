package store

import (
	"context"
	"time"

	"github.com/tongdao/hub/models"
)

// Read marks of the agent console (migration 00019): when each agent last
// had each conversation open.

// readRow is one row of conversation_reads.
type readRow struct {
	ConversationID int64
	ReadAt         time.Time
}

// MarkRead records that agent had conversation conv open at at, and
// returns the mark: a mark never moves back (an older at leaves it).
func (s *Store) MarkRead(ctx context.Context, agent string, conv int64, at time.Time) (models.ReadMarkView, error) {
	db := s.DB.WithContext(ctx)
	var n int64
	if err := db.Raw(`SELECT COUNT(*) FROM conversations WHERE id = ?`, conv).Scan(&n).Error; err != nil {
		return models.ReadMarkView{}, err
	}
	if n == 0 {
		return models.ReadMarkView{}, notFound("conversation", conv)
	}
	if err := db.Exec(`INSERT INTO conversation_reads (agent, conversation_id, read_at) VALUES (?, ?, ?)
		ON CONFLICT (agent, conversation_id) DO UPDATE SET read_at = CASE WHEN excluded.read_at > conversation_reads.read_at
		THEN excluded.read_at ELSE conversation_reads.read_at END`, agent, conv, at.UTC()).Error; err != nil {
		return models.ReadMarkView{}, err
	}
	var rows []readRow
	if err := db.Raw(`SELECT conversation_id, read_at FROM conversation_reads WHERE agent = ? AND conversation_id = ?`, agent, conv).
		Scan(&rows).Error; err != nil || len(rows) == 0 {
		return models.ReadMarkView{}, err
	}
	return models.ReadMarkView{ConversationID: models.ID(conv), ReadAt: rows[0].ReadAt.UTC()}, nil
}

// ReadMarks lists agent's newest read marks, at most limit, newest first.
func (s *Store) ReadMarks(ctx context.Context, agent string, limit int) ([]models.ReadMarkView, error) {
	var rows []readRow
	if err := s.DB.WithContext(ctx).Raw(`SELECT conversation_id, read_at FROM conversation_reads WHERE agent = ?
		ORDER BY read_at DESC, conversation_id DESC LIMIT ?`, agent, limit).Scan(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]models.ReadMarkView, 0, len(rows))
	for _, r := range rows {
		out = append(out, models.ReadMarkView{ConversationID: models.ID(r.ConversationID), ReadAt: r.ReadAt.UTC()})
	}
	return out, nil
}
