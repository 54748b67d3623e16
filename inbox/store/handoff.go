package store

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/tongdao/hub/models"
)

// Handoff puts a conversation in the human queue: it sets handoff_at and
// appends conversation.handoff, once (changed is false when it was queued
// already).
func (s *Store) Handoff(ctx context.Context, convID int64, reason string) (changed bool, err error) {
	now := s.Now().UTC()
	ev := func() *models.Event {
		return &models.Event{Type: models.EventTypeConversationHandoff, ConversationID: convID,
			Data: mustJSON(map[string]any{"id": models.ID(convID), "handoff_at": now, "reason": reason}), CreatedAt: now}
	}
	if h, ok := s.hotTx(ctx); ok {
		// In a reaction's transaction: prepared statements, no savepoint.
		res, err := h.stmt(&h.h.handoff).ExecContext(ctx, now, now, convID)
		if err != nil {
			return false, err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return false, err
		}
		return true, h.insertEvent(ev())
	}
	err = s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&models.Conversation{}).Where("id = ? AND handoff_at IS NULL", convID).
			Updates(map[string]any{"handoff_at": now, "updated_at": now})
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error
		}
		changed = true
		return tx.Create(ev()).Error
	})
	return changed, err
}

// BotState is what the bot needs to know of a conversation before it
// answers a customer's message.
type BotState struct {
	Status string
	// HandedOff: the conversation is in (or went through) the human queue.
	HandedOff bool
	// LastFAQ is the FAQ entry the bot answered last.
	LastFAQ string
	// HumanReplied: an agent has answered the customer (a private note is
	// not an answer).
	HumanReplied bool
	// CSATStage is the rating question a resolved conversation awaits an
	// answer to while its window is open ("asked", "comment"), else "".
	CSATStage string
}

// BotState reads a conversation's BotState in one query: the bot asks it for
// every customer message, so it costs one indexed lookup (with a statement
// prepared once, inside a reaction's transaction), not a row load and a
// count.
func (s *Store) BotState(ctx context.Context, convID int64) (BotState, error) {
	row := s.queryRow(ctx, s.hot.botState, s.hot.readBotState, sqlBotState, s.Now().UTC(), convID)
	var b BotState
	if err := row.Scan(&b.Status, &b.HandedOff, &b.LastFAQ, &b.CSATStage, &b.HumanReplied); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return b, notFound("conversation", convID)
		}
		return b, err
	}
	return b, nil
}

// BotStates is BotState for several conversations in one query, read
// outside any transaction (for a decision that the transaction checks
// again); a conversation that does not exist is left out.
func (s *Store) BotStates(ctx context.Context, convIDs []int64) (map[int64]BotState, error) {
	q := strings.Replace(sqlBotState, "SELECT c.status,", "SELECT c.id, c.status,", 1)
	q = strings.Replace(q, "WHERE c.id = ?", "WHERE c.id IN ?", 1)
	rows, err := s.Read.WithContext(ctx).Raw(q, s.Now().UTC(), convIDs).Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make(map[int64]BotState, len(convIDs))
	for rows.Next() {
		var id int64
		var b BotState
		if err := rows.Scan(&id, &b.Status, &b.HandedOff, &b.LastFAQ, &b.CSATStage, &b.HumanReplied); err != nil {
			return nil, err
		}
		out[id] = b
	}
	return out, rows.Err()
}

// SetLastFAQ records the FAQ entry the bot answered last in a conversation.
func (s *Store) SetLastFAQ(ctx context.Context, convID int64, entry string) error {
	return s.DB.WithContext(ctx).Model(&models.Conversation{}).Where("id = ?", convID).
		Update("last_faq", entry).Error
}

// queueOrder is the human queue: active conversations waiting for a human
// (handoff_at set, no assignee), oldest handoff first.
const queueWaiting = "status <> 'resolved' AND handoff_at IS NOT NULL AND COALESCE(assignee, '') = ''"

// QueuePosition is a conversation's place in the human queue (1 is next),
// or 0 when it is not waiting for a human (no handoff, assigned, resolved).
func (s *Store) QueuePosition(ctx context.Context, convID int64) (int, error) {
	var pos int
	if err := s.queryRow(ctx, s.hot.queuePos, s.hot.readQueuePos, sqlQueuePosition, convID).Scan(&pos); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return 0, notFound("conversation", convID)
		}
		return 0, err
	}
	return pos, nil
}

// queuePositions gives the queue position of each conversation of convs
// that waits for a human.
func (s *Store) queuePositions(ctx context.Context, convs []models.Conversation) (map[int64]int, error) {
	out := map[int64]int{}
	waiting := false
	for i := range convs {
		if c := &convs[i]; c.HandoffAt != nil && c.Assignee == "" && c.Status != models.StatusResolved {
			waiting = true
		}
	}
	if !waiting {
		return out, nil
	}
	var queue []struct {
		ID        int64
		HandoffAt time.Time
	}
	if err := s.Read.WithContext(ctx).Model(&models.Conversation{}).Select("id, handoff_at").Where(queueWaiting).
		Order("handoff_at, id").Scan(&queue).Error; err != nil {
		return nil, err
	}
	for i, q := range queue {
		out[q.ID] = i + 1
	}
	return out, nil
}

// FirstResponses are the times from handoff to the first human answer (an
// agent message that is not private) of the most recent limit conversations
// that had both, newest first.
func (s *Store) FirstResponses(ctx context.Context, limit int) ([]time.Duration, error) {
	var convs []models.Conversation
	err := s.Read.WithContext(ctx).Select("id, handoff_at").
		Where("handoff_at IS NOT NULL AND EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = conversations.id AND " + agentReply + " AND m.created_at >= conversations.handoff_at)").
		Order("handoff_at DESC, id DESC").Limit(limit).Find(&convs).Error
	if err != nil || len(convs) == 0 {
		return nil, err
	}
	ids := make([]int64, len(convs))
	for i, c := range convs {
		ids[i] = c.ID
	}
	var msgs []models.Message
	if err := s.Read.WithContext(ctx).Select("conversation_id, created_at").
		Where("conversation_id IN ? AND "+agentReplyUnaliased, ids).
		Order("created_at, id").Find(&msgs).Error; err != nil {
		return nil, err
	}
	out := make([]time.Duration, 0, len(convs))
	for _, c := range convs {
		for _, m := range msgs {
			if m.ConversationID == c.ID && !m.CreatedAt.Before(*c.HandoffAt) {
				out = append(out, m.CreatedAt.Sub(*c.HandoffAt))
				break
			}
		}
	}
	return out, nil
}

// MedianFirstResponse is the median of FirstResponses over the last limit
// conversations; ok is false when there is no history yet.
func (s *Store) MedianFirstResponse(ctx context.Context, limit int) (d time.Duration, ok bool, err error) {
	ds, err := s.FirstResponses(ctx, limit)
	if err != nil || len(ds) == 0 {
		return 0, false, err
	}
	slices.Sort(ds)
	n := len(ds)
	if n%2 == 1 {
		return ds[n/2], true, nil
	}
	return (ds[n/2-1] + ds[n/2]) / 2, true, nil
}
