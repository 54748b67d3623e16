package store

import (
	"context"
	"encoding/json"
	"time"

	"gorm.io/gorm"

	"github.com/tongdao/hub/models"
)

// Media (migration 00016): a row per file the hub keeps. Every change of a
// row rewrites the message's attachments JSON with what the API shows of
// it (models.StoredAttachment), with a message.updated event, so a message
// and its files read in one row and the console follows on the stream.

// AddAttachments records files of message msgID for the hub to keep (rows
// without ID; Position says which of the message's attachments each is),
// and announces them.
func (s *Store) AddAttachments(ctx context.Context, msgID int64, rows []models.AttachmentRow) error {
	now := s.Now().UTC()
	return s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		for i := range rows {
			rows[i].MessageID, rows[i].CreatedAt = msgID, now
			if err := tx.Create(&rows[i]).Error; err != nil {
				return err
			}
		}
		return s.syncMessage(tx, msgID, now, models.EventTypeMessageUpdated)
	})
}

// InboundMessageID is the id of the customer's message externalID of
// connector (the reactions' events carry the inbound, not its row).
func (s *Store) InboundMessageID(ctx context.Context, connector, externalID string) (int64, error) {
	var ids []int64
	if err := s.DB.WithContext(ctx).Model(&models.Message{}).Where("connector = ? AND external_id = ?", connector, externalID).
		Limit(1).Pluck("id", &ids).Error; err != nil {
		return 0, err
	}
	if len(ids) == 0 {
		return 0, models.Errorf(models.ENOTFOUND, "no message %s of connector %s", externalID, connector)
	}
	return ids[0], nil
}

// AddMessageWithFiles stores an agent's message with its uploaded files
// (rows stored already, their bytes in the media store), its event, and
// bumps the conversation's activity, in one transaction.
func (s *Store) AddMessageWithFiles(ctx context.Context, m *models.Message, rows []models.AttachmentRow) error {
	now := s.Now().UTC()
	m.CreatedAt = now
	m.Text, m.SenderName, m.SenderID = models.CleanText(m.Text), models.CleanText(m.SenderName), models.CleanText(m.SenderID)
	return s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(m).Error; err != nil {
			return err
		}
		for i := range rows {
			rows[i].MessageID, rows[i].CreatedAt = m.ID, now
			if err := tx.Create(&rows[i]).Error; err != nil {
				return err
			}
		}
		if err := tx.Model(&models.Conversation{}).Where("id = ?", m.ConversationID).
			Updates(map[string]any{"last_message_at": now, "updated_at": now}).Error; err != nil {
			return err
		}
		if err := s.syncMessage(tx, m.ID, now, models.EventTypeMessageCreated); err != nil {
			return err
		}
		return tx.Take(m, m.ID).Error
	})
}

// syncMessage rewrites message msgID's attachments JSON from its rows and
// logs an event of type typ with the message's view, in tx.
func (s *Store) syncMessage(tx *gorm.DB, msgID int64, now time.Time, typ string) error {
	var m models.Message
	if err := tx.Take(&m, msgID).Error; err != nil {
		return err
	}
	var rows []models.AttachmentRow
	if err := tx.Where("message_id = ?", msgID).Order("position").Find(&rows).Error; err != nil {
		return err
	}
	var atts []models.StoredAttachment
	if m.Attachments != "" {
		_ = json.Unmarshal([]byte(m.Attachments), &atts)
	}
	for i := range rows {
		r := &rows[i]
		for len(atts) <= r.Position {
			atts = append(atts, models.StoredAttachment{})
		}
		a := &atts[r.Position]
		if a.Type == "" {
			a.Type = r.Type
		}
		a.ID, a.State, a.Error, a.ContentType = r.ID, r.State, r.Error, r.ContentType
		a.Thumbnail = r.ThumbnailKey != ""
		a.Transcript = r.Transcript
		if r.Name != "" {
			a.Name = r.Name
		}
		if r.Size > 0 {
			a.Size = r.Size
		}
		// The platform's address of the file stays in the row's source:
		// it may embed a bot token, and agents read the hub's copy.
		a.URL, a.FileID = "", ""
	}
	m.Attachments = mustJSON(atts)
	if err := tx.Model(&models.Message{}).Where("id = ?", msgID).Update("attachments", m.Attachments).Error; err != nil {
		return err
	}
	return tx.Create(&models.Event{Type: typ, ConversationID: m.ConversationID,
		Data: mustJSON(m.View()), CreatedAt: now}).Error
}

// DueAttachments returns up to limit pending files whose next try is due
// at now, the longest waiting first.
func (s *Store) DueAttachments(ctx context.Context, now time.Time, limit int) ([]models.AttachmentRow, error) {
	var rows []models.AttachmentRow
	err := s.DB.WithContext(ctx).Where("state = 'pending' AND next_try <= ?", now.UTC()).
		Order("next_try, id").Limit(limit).Find(&rows).Error
	return rows, err
}

// ClaimAttachment takes a due pending file for one attempt: its next try
// moves to until (when the attempt would be retried if this replica died
// in it) and its attempts count one more. It reports false when the file is
// no longer due (another attempt took it).
func (s *Store) ClaimAttachment(ctx context.Context, id int64, now, until time.Time) (bool, error) {
	res := s.DB.WithContext(ctx).Model(&models.AttachmentRow{}).
		Where("id = ? AND state = 'pending' AND next_try <= ?", id, now.UTC()).
		Updates(map[string]any{"next_try": until.UTC(), "attempts": gorm.Expr("attempts + 1")})
	return res.RowsAffected == 1, res.Error
}

// SaveAttachment writes a file's new state (stored, failed, or pending
// with its next try), rewrites its message and announces it.
func (s *Store) SaveAttachment(ctx context.Context, r *models.AttachmentRow) error {
	now := s.Now().UTC()
	return s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Model(&models.AttachmentRow{}).Where("id = ?", r.ID).Updates(map[string]any{
			"name": r.Name, "content_type": r.ContentType, "size": r.Size, "state": r.State, "error": r.Error,
			"blob_key": r.BlobKey, "thumbnail_key": r.ThumbnailKey, "transcript": r.Transcript,
			"next_try": r.NextTry, "stored_at": r.StoredAt,
		}).Error; err != nil {
			return err
		}
		return s.syncMessage(tx, r.MessageID, now, models.EventTypeMessageUpdated)
	})
}

// Attachment returns a file's row (not_found when there is none).
func (s *Store) Attachment(ctx context.Context, id int64) (models.AttachmentRow, error) {
	return takeByID[models.AttachmentRow](ctx, s.Read, "attachment", id)
}

// MessageAttachments returns the files of a message, in order.
func (s *Store) MessageAttachments(ctx context.Context, msgID int64) ([]models.AttachmentRow, error) {
	var rows []models.AttachmentRow
	err := s.DB.WithContext(ctx).Where("message_id = ?", msgID).Order("position").Find(&rows).Error
	return rows, err
}

// ExpiredAttachments returns up to limit stored files stored before
// before (the retention's end) with ids above after, by id.
func (s *Store) ExpiredAttachments(ctx context.Context, before time.Time, after int64, limit int) ([]models.AttachmentRow, error) {
	var rows []models.AttachmentRow
	err := s.DB.WithContext(ctx).Where("state = 'stored' AND stored_at < ? AND id > ?", before.UTC(), after).
		Order("id").Limit(limit).Find(&rows).Error
	return rows, err
}

// MediaUsage is the number and total size of the files in the media store.
func (s *Store) MediaUsage(ctx context.Context) (files, bytes int64, err error) {
	var u struct{ N, B int64 }
	err = s.Read.WithContext(ctx).Model(&models.AttachmentRow{}).Where("state = 'stored'").
		Select("COUNT(*) AS n, COALESCE(SUM(size), 0) AS b").Scan(&u).Error
	return u.N, u.B, err
}
