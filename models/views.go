package models

import (
	"encoding/json"
	"strconv"
	"time"
)

// ID formats a row id as the API's string id.
func ID(id int64) string { return strconv.FormatInt(id, 10) }

// ParseID parses an API string id; it returns EINVALID for anything else.
func ParseID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, Errorf(EINVALID, "invalid id %q: ids are positive decimal strings", s)
	}
	return id, nil
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// View returns the API shape of a message.
func (m *Message) View() MessageView {
	v := MessageView{
		ID:             ID(m.ID),
		ConversationID: ID(m.ConversationID),
		Direction:      m.Direction,
		Kind:           m.Kind,
		Channel:        m.Channel,
		Connector:      m.Connector,
		Sender:         SenderView{Type: m.SenderType, ID: m.SenderID, Name: m.SenderName},
		Text:           m.Text,
		Private:        m.Private,
		Attachments:    []AttachmentView{},
		Delivery: DeliveryView{
			Status:     m.DeliveryStatus,
			Attempts:   m.Attempts,
			PlatformID: m.PlatformID,
			SentAt:     utc(m.SentAt),
		},
		CreatedAt: m.CreatedAt.UTC(),
	}
	if m.Kind == KindLinkOffer {
		// Its secrets are for the customer's eyes only: never in the API
		// nor in the event log, even before delivery.
		v.Text = MaskLinkOffer(m.Text)
	}
	if m.IdentityID != nil {
		s := ID(*m.IdentityID)
		v.IdentityID = &s
	}
	if m.DeliveryError != "" {
		e := m.DeliveryError
		v.Delivery.Error = &e
	}
	if m.Attachments != "" {
		var atts []StoredAttachment
		_ = json.Unmarshal([]byte(m.Attachments), &atts)
		for i := range atts {
			if m.Direction == DirectionIn && atts[i].ID == 0 && IsMedia(&atts[i].Attachment) {
				// A customer's file the hub has not taken in hand yet: the
				// platform's address (which can carry a token) is never
				// shown; the hub's copy follows.
				atts[i].URL = ""
			}
			v.Attachments = append(v.Attachments, atts[i].View())
		}
	}
	if m.Buttons != "" {
		_ = json.Unmarshal([]byte(m.Buttons), &v.Buttons)
	}
	return v
}

// View returns the API shape of an identity; window is the connector's reply
// window (0: none) and now the current time.
func (i *Identity) View(window time.Duration) IdentityView {
	v := IdentityView{
		ID:            ID(i.ID),
		Channel:       i.Channel,
		Connector:     i.Connector,
		ExternalID:    i.ExternalID,
		DisplayName:   i.DisplayName,
		Username:      i.Username,
		Language:      i.Language,
		LastInboundAt: utc(i.LastInboundAt),
		Unreachable:   i.UnreachableReason,
		Reachable:     i.UnreachableReason == "",
	}
	if until := i.ReplyUntil(window); until != nil {
		v.ReplyUntil = until
	}
	return v
}

// ReplyUntil is when the reply window closes for a connector whose window is
// window (nil when there is no window).
func (i *Identity) ReplyUntil(window time.Duration) *time.Time {
	if window <= 0 {
		return nil
	}
	var t time.Time
	if i.LastInboundAt != nil {
		t = i.LastInboundAt.UTC().Add(window)
	}
	return &t
}

// CanReply reports whether a message can reach the identity at now.
func (i *Identity) CanReply(window time.Duration, now time.Time) bool {
	if i.UnreachableReason != "" {
		return false
	}
	if until := i.ReplyUntil(window); until != nil && !now.Before(*until) {
		return false
	}
	return true
}

// View returns the API shape of an event.
func (e *Event) View() EventView {
	v := EventView{ID: ID(e.ID), Type: e.Type, CreatedAt: e.CreatedAt.UTC()}
	if e.ConversationID != 0 {
		v.ConversationID = ID(e.ConversationID)
	}
	if e.Data != "" {
		v.Data = json.RawMessage(e.Data)
	} else {
		v.Data = struct{}{}
	}
	return v
}
