package inbox

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tongdao/hub/models"
)

// MaxReplyRunes bounds an agent reply.
const MaxReplyRunes = 4096

// closingSoon is how early a reply moves off a channel whose window closes.
const closingSoon = 2 * time.Hour

// Reply stores an agent reply (queued for the outbox) or a private note.
// A canned response (CannedID) stands for the text, its placeholders
// filled; giving both is invalid.
func (s *Service) Reply(ctx context.Context, req models.ReplyRequest) (models.MessageView, error) {
	if req.CannedID != 0 && req.Text != "" {
		return models.MessageView{}, models.Errorf(models.EINVALID, "give text or canned_id, not both")
	}
	text := strings.TrimSpace(req.Text)
	if text == "" && req.CannedID == 0 && len(req.Attachments) == 0 {
		return models.MessageView{}, models.Errorf(models.EINVALID, "text is required")
	}
	if n := utf8.RuneCountInString(req.Text); n > MaxReplyRunes {
		return models.MessageView{}, models.Errorf(models.EINVALID, "text is %d characters long; the limit is %d", n, MaxReplyRunes)
	}
	conv, err := s.store.Conversation(ctx, req.ConversationID)
	if err != nil {
		return models.MessageView{}, err
	}
	if req.CannedID != 0 {
		if req.Text, err = s.cannedText(ctx, conv, req.CannedID, req.Actor.Name); err != nil {
			return models.MessageView{}, err
		}
		if n := utf8.RuneCountInString(req.Text); n > MaxReplyRunes {
			return models.MessageView{}, models.Errorf(models.EINVALID, "the canned response with its placeholders filled is %d characters long; the limit is %d", n, MaxReplyRunes)
		}
	}
	m := &models.Message{ConversationID: conv.ID, Direction: models.DirectionOut, Kind: models.KindMessage,
		SenderType: models.SenderAgent, SenderID: models.ID(req.Actor.TokenID), SenderName: req.Actor.Name,
		Text: req.Text, Private: req.Private}
	if len(req.Attachments) > 0 {
		b, _ := json.Marshal(req.Attachments)
		m.Attachments = string(b)
	}
	if len(req.Buttons) > 0 {
		b, _ := json.Marshal(req.Buttons)
		m.Buttons = string(b)
	}
	if req.Private {
		m.DeliveryStatus = models.DeliverySent
	} else {
		ident, err := s.route(ctx, conv.ContactID, req.Via)
		if err != nil {
			return models.MessageView{}, err
		}
		if _, ok := s.senders(ident.Connector); !ok {
			return models.MessageView{}, models.Errorf(models.EUNAVAILABLE, "connector %q is not configured, so this customer cannot be reached through it", ident.Connector)
		}
		m.IdentityID = &ident.ID
		m.Channel, m.Connector = ident.Channel, ident.Connector
		m.DeliveryStatus = models.DeliveryQueued
	}
	if err := s.store.AddMessage(ctx, m); err != nil {
		return models.MessageView{}, err
	}
	s.notify()
	if !req.Private {
		s.wakeOutbox()
	}
	return m.View(), nil
}

// route picks the identity a reply goes to: the one given by via, or the
// reachable identity the customer wrote from last, avoiding one whose reply
// window closes within two hours when another is open.
func (s *Service) route(ctx context.Context, contactID, via int64) (models.Identity, error) {
	idents, err := s.store.Identities(ctx, contactID)
	if err != nil {
		return models.Identity{}, err
	}
	now := s.now()
	if via != 0 {
		for _, id := range idents {
			if id.ID == via {
				if err := s.reachable(&id, now); err != nil {
					return models.Identity{}, err
				}
				return id, nil
			}
		}
		return models.Identity{}, models.Errorf(models.EINVALID, "via: identity %d does not belong to this conversation's contact", via)
	}
	sort.SliceStable(idents, func(i, j int) bool { return lastInbound(&idents[i]).After(lastInbound(&idents[j])) })
	for _, id := range idents {
		if id.CanReply(s.window(id.Connector), now.Add(closingSoon)) {
			return id, nil
		}
	}
	for _, id := range idents {
		if id.CanReply(s.window(id.Connector), now) {
			return id, nil
		}
	}
	if len(idents) == 0 {
		return models.Identity{}, models.Errorf(models.EINVALID, "this contact has no channel identity to reply to")
	}
	return models.Identity{}, s.reachable(&idents[0], now)
}

func lastInbound(i *models.Identity) time.Time {
	if i.LastInboundAt == nil {
		return time.Time{}
	}
	return *i.LastInboundAt
}

// reachable explains, as an invalid error, why an identity cannot be reached.
func (s *Service) reachable(i *models.Identity, now time.Time) error {
	if i.UnreachableReason != "" {
		return models.Errorf(models.EINVALID, "cannot reply on %s (%s): %s", i.Channel, i.Connector, i.UnreachableReason)
	}
	w := s.window(i.Connector)
	if until := i.ReplyUntil(w); until != nil && !now.Before(*until) {
		return models.Errorf(models.EINVALID,
			"cannot reply on %s (%s): the platform's %s reply window closed at %s; the customer must write again first",
			i.Channel, i.Connector, fmtWindow(w), until.UTC().Format(time.RFC3339))
	}
	return nil
}

func fmtWindow(d time.Duration) string {
	if d%time.Hour == 0 {
		return fmt.Sprintf("%d-hour", int(d/time.Hour))
	}
	return d.String()
}
