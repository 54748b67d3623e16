package store

import (
	"context"
	"database/sql"
	"errors"
	"slices"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/tongdao/hub/models"
)

// Route applies a routing decision to a new conversation: its team (only
// while it has none: an agent's choice stands), its priority, and labels
// added. What changes is written with one conversation.updated event
// ({"changes": {"team", "priority", "labels"}, "by": by}, labels as the
// whole new list); a decision that changes nothing, or a conversation
// already resolved or gone, writes nothing. It reports whether anything changed.
func (s *Store) Route(ctx context.Context, id int64, team, priority string, labels []string, by string) (bool, error) {
	now := s.Now().UTC()
	changed := false
	body := func(tx *gorm.DB) error {
		if err := s.lockChanges(tx, true); err != nil {
			return err
		}
		var c models.Conversation
		if err := tx.Take(&c, id).Error; errors.Is(err, gorm.ErrRecordNotFound) {
			return nil // gone (merged away): nothing to route
		} else if err != nil {
			return err
		}
		if c.Status == models.StatusResolved {
			return nil
		}
		changes := map[string]any{}
		fields := map[string]any{}
		if team = models.CleanText(team); team != "" && c.Team == "" {
			fields["team"], changes["team"] = team, team
		}
		if priority != "" && priority != c.Priority {
			fields["priority"], changes["priority"] = priority, priority
		}
		if len(labels) > 0 {
			before, err := labelsOf(tx, id)
			if err != nil {
				return err
			}
			rows := make([]models.ConversationLabel, 0, len(labels))
			for _, l := range labels {
				if !slices.Contains(before, l) {
					rows = append(rows, models.ConversationLabel{ConversationID: id, Label: models.CleanText(l), CreatedAt: now})
				}
			}
			if len(rows) > 0 && len(before)+len(rows) <= models.MaxLabels {
				if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&rows).Error; err != nil {
					return err
				}
				after, err := labelsOf(tx, id)
				if err != nil {
					return err
				}
				changes["labels"] = after
			}
		}
		if len(changes) == 0 {
			return nil
		}
		fields["updated_at"] = now
		if err := tx.Model(&models.Conversation{}).Where("id = ?", id).Updates(fields).Error; err != nil {
			return err
		}
		changed = true
		return tx.Create(routedEvent(id, models.ConversationState{Status: c.Status, Assignee: c.Assignee, Team: c.Team, Priority: c.Priority},
			changes, by, now)).Error
	}
	var err error
	if _, ok := s.DB.Statement.ConnPool.(*sql.Tx); ok {
		err = body(s.DB.WithContext(ctx)) // in a reaction's transaction: no savepoint
	} else {
		err = s.DB.WithContext(ctx).Transaction(body)
	}
	return changed && err == nil, err
}

// ContactLabels returns the labels on any of a contact's conversations,
// sorted and distinct: what routing's contact_labels look at.
func (s *Store) ContactLabels(ctx context.Context, contactID int64) ([]string, error) {
	out := []string{}
	err := s.DB.WithContext(ctx).Raw(`SELECT DISTINCT l.label FROM conversation_labels l JOIN conversations c ON c.id = l.conversation_id
		WHERE c.contact_id = ? ORDER BY l.label`, contactID).Scan(&out).Error
	return out, err
}

// Opening is a conversation's opening message as routing sees it: the
// customer's first message, its connector and channel, the language of the
// identity that wrote it.
type Opening struct {
	Connector, Channel, Language, Text string
	ContactID                          int64
}

// OpeningMessage returns a conversation's opening message; ok is false
// when it has no customer message.
func (s *Store) OpeningMessage(ctx context.Context, convID int64) (o Opening, ok bool, err error) {
	rows, err := s.DB.WithContext(ctx).Raw(`SELECT m.connector, m.channel, COALESCE(i.language, ''), m.text, c.contact_id
		FROM messages m JOIN conversations c ON c.id = m.conversation_id LEFT JOIN identities i ON i.id = m.identity_id
		WHERE m.conversation_id = ? AND m.direction = ? AND m.sender_type = ? ORDER BY m.id LIMIT 1`,
		convID, models.DirectionIn, models.SenderCustomer).Rows()
	if err != nil {
		return o, false, err
	}
	defer rows.Close()
	if rows.Next() {
		var conn, ch, text sql.NullString
		if err := rows.Scan(&conn, &ch, &o.Language, &text, &o.ContactID); err != nil {
			return o, false, err
		}
		o.Connector, o.Channel, o.Text, ok = conn.String, ch.String, text.String, true
	}
	return o, ok, rows.Err()
}
