package store

import (
	"context"
	"errors"
	"slices"
	"strings"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/tongdao/hub/models"
)

// Agent helpers: canned responses and conversation labels. Inputs arrive
// normalised (models.NormalizeShortcut, models.NormalizeLabel); the store
// cleans text like every other write.

// ListCanned returns the canned responses by shortcut; q, when not empty,
// keeps those whose shortcut or text contains it, ignoring case (folded in
// Go, so that non-ASCII letters fold alike on SQLite and PostgreSQL).
func (s *Store) ListCanned(ctx context.Context, q string) ([]models.CannedView, error) {
	var rows []models.CannedResponse
	if err := s.Read.WithContext(ctx).Order("shortcut").Find(&rows).Error; err != nil {
		return nil, err
	}
	q = strings.ToLower(models.CleanText(q))
	out := make([]models.CannedView, 0, len(rows))
	for i := range rows {
		if q != "" && !strings.Contains(rows[i].Shortcut, q) && !strings.Contains(strings.ToLower(rows[i].Text), q) {
			continue
		}
		out = append(out, rows[i].View())
	}
	return out, nil
}

// Canned returns one canned response.
func (s *Store) Canned(ctx context.Context, id int64) (models.CannedResponse, error) {
	return takeByID[models.CannedResponse](ctx, s.DB, "canned response", id)
}

// CreateCanned stores a new canned response; a shortcut in use is a
// conflict.
func (s *Store) CreateCanned(ctx context.Context, in models.CannedInput, actor string) (models.CannedView, error) {
	now := s.Now().UTC()
	actor = models.CleanText(actor)
	row := models.CannedResponse{Shortcut: models.CleanText(in.Shortcut), Text: models.CleanText(in.Text),
		CreatedBy: actor, UpdatedBy: actor, CreatedAt: now, UpdatedAt: now}
	if err := s.DB.WithContext(ctx).Create(&row).Error; err != nil {
		return models.CannedView{}, cannedConflict(err, row.Shortcut)
	}
	return row.View(), nil
}

// UpdateCanned replaces a canned response's shortcut and text.
func (s *Store) UpdateCanned(ctx context.Context, id int64, in models.CannedInput, actor string) (models.CannedView, error) {
	now := s.Now().UTC()
	sc := models.CleanText(in.Shortcut)
	res := s.DB.WithContext(ctx).Model(&models.CannedResponse{}).Where("id = ?", id).Updates(map[string]any{
		"shortcut": sc, "text": models.CleanText(in.Text), "updated_by": models.CleanText(actor), "updated_at": now})
	if res.Error != nil {
		return models.CannedView{}, cannedConflict(res.Error, sc)
	}
	if res.RowsAffected == 0 {
		return models.CannedView{}, notFound("canned response", id)
	}
	row, err := s.Canned(ctx, id)
	return row.View(), err
}

// DeleteCanned removes a canned response.
func (s *Store) DeleteCanned(ctx context.Context, id int64) error {
	res := s.DB.WithContext(ctx).Delete(&models.CannedResponse{}, id)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return notFound("canned response", id)
	}
	return nil
}

func cannedConflict(err error, shortcut string) error {
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return models.Errorf(models.ECONFLICT, "the shortcut %q is already used by another canned response", shortcut)
	}
	return err
}

// UpdateLabels removes then adds labels on a conversation in one
// transaction and returns the conversation. When the labels change, the
// conversation's updated_at moves and a conversation.updated event carries
// the new list ({"changes": {"labels": [...]}}); a request that changes
// nothing writes nothing. More than models.MaxLabels labels in the end is
// an invalid error and changes nothing.
func (s *Store) UpdateLabels(ctx context.Context, id int64, add, remove []string, actor string) (models.ConversationView, error) {
	now := s.Now().UTC()
	actor = models.CleanText(actor)
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// Label writers are serialised by lockChanges (PostgreSQL) or the
		// one writer (SQLite), so the count below is exact.
		if err := s.lockChanges(tx, true); err != nil {
			return err
		}
		if _, err := takeByID[models.Conversation](ctx, tx, "conversation", id); err != nil {
			return err
		}
		before, err := labelsOf(tx, id)
		if err != nil {
			return err
		}
		if len(remove) > 0 {
			if err := tx.Where("conversation_id = ? AND label IN ?", id, remove).Delete(&models.ConversationLabel{}).Error; err != nil {
				return err
			}
		}
		if len(add) > 0 {
			rows := make([]models.ConversationLabel, 0, len(add))
			for _, l := range add {
				rows = append(rows, models.ConversationLabel{ConversationID: id, Label: models.CleanText(l), CreatedAt: now})
			}
			if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&rows).Error; err != nil {
				return err
			}
		}
		after, err := labelsOf(tx, id)
		if err != nil {
			return err
		}
		if len(after) > models.MaxLabels && len(after) > len(before) {
			return models.Errorf(models.EINVALID, "a conversation may have at most %d labels; this would make %d", models.MaxLabels, len(after))
		}
		if slices.Equal(before, after) {
			return nil
		}
		if err := tx.Model(&models.Conversation{}).Where("id = ?", id).Update("updated_at", now).Error; err != nil {
			return err
		}
		return tx.Create(&models.Event{Type: models.EventTypeConversationUpdated, ConversationID: id,
			Data: mustJSON(map[string]any{"id": models.ID(id), "changes": map[string]any{"labels": after}, "by": actor}), CreatedAt: now}).Error
	})
	if err != nil {
		return models.ConversationView{}, err
	}
	return s.GetConversationTx(ctx, id)
}

// labelFewRows is where the label filter changes its plan: a label on
// fewer conversations is read from the label index and its conversations
// sorted; one on more is checked while walking the inbox in its order
// (newest activity first), which stops after a page. (A variable for the
// tests of both plans.)
var labelFewRows int64 = 2000

// whereLabel restricts q to the conversations that carry label, with the
// plan that suits how many do (counted from the label index, at most
// labelFewRows of it).
func (s *Store) whereLabel(ctx context.Context, q *gorm.DB, label string) (*gorm.DB, error) {
	var n int64
	if err := s.Read.WithContext(ctx).Raw(`SELECT COUNT(*) FROM (SELECT 1 FROM conversation_labels WHERE label = ? LIMIT ?) few`,
		label, labelFewRows).Scan(&n).Error; err != nil {
		return nil, err
	}
	if n < labelFewRows {
		return q.Where("conversations.id IN (SELECT l.conversation_id FROM conversation_labels l WHERE l.label = ?)", label), nil
	}
	return q.Where("EXISTS (SELECT 1 FROM conversation_labels l WHERE l.conversation_id = conversations.id AND l.label = ?)", label), nil
}

// labelsOf returns a conversation's labels, sorted.
func labelsOf(db *gorm.DB, id int64) ([]string, error) {
	out := []string{}
	err := db.Model(&models.ConversationLabel{}).Where("conversation_id = ?", id).Order("label").Pluck("label", &out).Error
	return out, err
}

// labelsByConversation returns the labels of each conversation, sorted.
func labelsByConversation(ctx context.Context, db *gorm.DB, ids []int64) (map[int64][]string, error) {
	var rows []models.ConversationLabel
	if err := db.WithContext(ctx).Where("conversation_id IN ?", ids).Order("conversation_id, label").Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make(map[int64][]string, len(ids))
	for _, r := range rows {
		out[r.ConversationID] = append(out[r.ConversationID], r.Label)
	}
	return out, nil
}
