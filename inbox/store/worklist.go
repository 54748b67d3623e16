package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/tongdao/hub/models"
)

// Work queues of the agent console (models.Views), as SQL over the
// conversations table.

// sqlShown leaves out conversations emptied by linking: merging moves every
// message of the source's active conversation into the target's.
const sqlShown = "EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = conversations.id)"

// sqlReply is true when message o answers the customer: an agent's
// message, or the bot's before a human was asked for (after that, the bot's
// acknowledgements answer nothing). Private notes and system entries never
// do. Its one argument is false (the private flag).
func sqlReply(o string) string {
	return fmt.Sprintf(`(%[1]s.direction = '%[2]s' AND %[1]s.private = ? AND (%[1]s.sender_type = '%[3]s' OR (%[1]s.sender_type = '%[4]s'
	AND (conversations.handoff_at IS NULL OR %[1]s.created_at < conversations.handoff_at))))`,
		o, models.DirectionOut, models.SenderAgent, models.SenderBot)
}

// sqlCustomerWrote is true when message m is the customer's (events such as
// following the account are not).
func sqlCustomerWrote(m string) string {
	return fmt.Sprintf("(%[1]s.direction = '%[2]s' AND %[1]s.kind <> '%[3]s')", m, models.DirectionIn, models.KindEvent)
}

// sqlWaiting is true when the customer wrote last: of the customer's
// messages and the answers, the newest is the customer's. It reads the
// conversation's messages from the newest and stops at the first that
// counts. Its one argument is false.
var sqlWaiting = "(SELECT m.direction FROM messages m WHERE m.conversation_id = conversations.id AND (" + sqlCustomerWrote("m") +
	" OR " + sqlReply("m") + ") ORDER BY m.id DESC LIMIT 1) = '" + models.DirectionIn + "'"

const sqlActive = "conversations.status <> '" + models.StatusResolved + "'"

// viewCondition is the WHERE condition of a work queue and its arguments.
func viewCondition(view, me string) (string, []any, error) {
	switch view {
	case models.ViewMine:
		return sqlShown + " AND " + sqlActive + " AND conversations.assignee = ?", []any{me}, nil
	case models.ViewUnassigned:
		return sqlShown + " AND " + sqlActive + " AND conversations.assignee = ''", nil, nil
	case models.ViewHuman:
		return sqlShown + " AND " + sqlActive + " AND conversations.assignee = '' AND conversations.handoff_at IS NOT NULL", nil, nil
	case models.ViewWaiting:
		return sqlShown + " AND " + sqlActive + " AND " + sqlWaiting, []any{false}, nil
	case models.ViewAll:
		return sqlShown, nil, nil
	}
	return "", nil, models.Errorf(models.EINVALID, "unknown view %q", view)
}

// CountViews counts the conversations of every work queue in one pass;
// me is the caller's name (ViewMine).
func (s *Store) CountViews(ctx context.Context, me string) (models.ViewsView, error) {
	var row struct {
		Mine, Unassigned, Human, Waiting, Total int
	}
	q := fmt.Sprintf(`SELECT
	COALESCE(SUM(CASE WHEN %[1]s AND conversations.assignee = ? THEN 1 ELSE 0 END), 0) AS mine,
	COALESCE(SUM(CASE WHEN %[1]s AND conversations.assignee = '' THEN 1 ELSE 0 END), 0) AS unassigned,
	COALESCE(SUM(CASE WHEN %[1]s AND conversations.assignee = '' AND conversations.handoff_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS human,
	COALESCE(SUM(CASE WHEN %[1]s AND %[2]s THEN 1 ELSE 0 END), 0) AS waiting,
	COUNT(*) AS total
FROM conversations WHERE %[3]s`, sqlActive, sqlWaiting, sqlShown)
	if err := s.Read.WithContext(ctx).Raw(q, models.CleanText(me), false).Scan(&row).Error; err != nil {
		return models.ViewsView{}, err
	}
	return models.ViewsView{Me: me, Views: []models.ViewCount{
		{ID: models.ViewMine, Count: row.Mine},
		{ID: models.ViewUnassigned, Count: row.Unassigned},
		{ID: models.ViewHuman, Count: row.Human},
		{ID: models.ViewWaiting, Count: row.Waiting},
		{ID: models.ViewAll, Count: row.Total},
	}}, nil
}

// lastMessages returns the newest message of each conversation, in one
// query.
func lastMessages(ctx context.Context, db *gorm.DB, convIDs []int64) (map[int64]*models.MessagePreview, error) {
	var msgs []models.Message
	newest := db.Model(&models.Message{}).Select("MAX(id)").Where("conversation_id IN ?", convIDs).Group("conversation_id")
	err := db.WithContext(ctx).Select("id", "conversation_id", "direction", "kind", "sender_type", "text", "private", "created_at").
		Where("id IN (?)", newest).Find(&msgs).Error
	if err != nil {
		return nil, err
	}
	out := make(map[int64]*models.MessagePreview, len(msgs))
	for _, m := range msgs {
		text := m.Text
		if m.Kind == models.KindLinkOffer {
			text = models.MaskLinkOffer(text)
		}
		out[m.ConversationID] = &models.MessagePreview{ID: models.ID(m.ID), Direction: m.Direction, SenderType: m.SenderType,
			Kind: m.Kind, Text: models.Preview(text, models.PreviewLength), Private: m.Private, CreatedAt: m.CreatedAt.UTC()}
	}
	return out, nil
}

// waitingSince returns, for the conversations whose customer wrote last,
// the time of their first message after the last answer. Two queries, each
// reading a few index entries per conversation: the first customer message
// after the last answer (found from the newest message back, then used as
// the start of an index range), then those messages' times.
func waitingSince(ctx context.Context, db *gorm.DB, convIDs []int64) (map[int64]time.Time, error) {
	var firsts []struct{ First *int64 }
	err := db.WithContext(ctx).Raw(`SELECT (SELECT x.id FROM messages x WHERE x.conversation_id = conversations.id
	AND x.id > COALESCE((SELECT o.id FROM messages o WHERE o.conversation_id = conversations.id AND `+sqlReply("o")+` ORDER BY o.id DESC LIMIT 1), 0)
	AND `+sqlCustomerWrote("x")+` ORDER BY x.id LIMIT 1) AS first FROM conversations WHERE conversations.id IN ?`, false, convIDs).
		Scan(&firsts).Error
	if err != nil {
		return nil, err
	}
	ids := make([]int64, 0, len(firsts))
	for _, f := range firsts {
		if f.First != nil {
			ids = append(ids, *f.First)
		}
	}
	out := make(map[int64]time.Time, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var msgs []models.Message
	if err := db.WithContext(ctx).Select("conversation_id", "created_at").Where("id IN ?", ids).Find(&msgs).Error; err != nil {
		return nil, err
	}
	for _, m := range msgs {
		out[m.ConversationID] = m.CreatedAt.UTC()
	}
	return out, nil
}

// openingReads is how many of a conversation's first customer messages are
// read in search of its subject.
const openingReads = 10

// openingSubjects finds, for conversations whose stored subject says
// nothing (a command, a link code), the customer's first meaningful
// message, in one query; conversations without one are left out.
func openingSubjects(ctx context.Context, db *gorm.DB, convIDs []int64) (map[int64]string, error) {
	var rows []struct {
		ConversationID int64
		Text           string
	}
	err := db.WithContext(ctx).Raw(`SELECT conversation_id, text FROM (
	SELECT conversation_id, text, ROW_NUMBER() OVER (PARTITION BY conversation_id ORDER BY id) AS rn
	FROM messages WHERE conversation_id IN ? AND direction = ? AND sender_type = ? AND kind = ?
) firsts WHERE rn <= ? ORDER BY conversation_id, rn`, convIDs, models.DirectionIn, models.SenderCustomer, models.KindMessage, openingReads).
		Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	out := make(map[int64]string, len(convIDs))
	for _, r := range rows {
		if _, done := out[r.ConversationID]; done || models.IsOpeningNoise(r.Text) {
			continue
		}
		out[r.ConversationID] = models.Preview(r.Text, models.PreviewLength)
	}
	return out, nil
}
