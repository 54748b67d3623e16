package inbox

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/tongdao/hub/inbox/react"
	"github.com/tongdao/hub/inbox/store"
	"github.com/tongdao/hub/inbox/texts"
	"github.com/tongdao/hub/models"
)

// Visible progress: a customer asks where their ticket stands (/status, or
// a status word) and hears the ticket number, its status and who has it or
// their place in the queue; and when an agent takes the conversation or
// waits for the customer's answer, the customer is told on the channel they
// use, by a reaction on the event log. (The resolve is told with the rating
// prompt, by the rating's reaction.)

// ActionStatus asks where the ticket stands (a button or a menu key).
const ActionStatus = "status"

// statusWords, as a whole message (any case, trimmed), ask where the ticket
// stands; the value is the word's language ("" when it tells none).
var statusWords = map[string]string{"status": "", "/status": "", "进度": "zh", "stato": "it"}

// isStatusRequest reports whether an inbound asks where the ticket stands:
// the command /status (Telegram, Discord), the text "/status" (WeChat has
// no commands), a status word, or the action status.
func isStatusRequest(in *models.Inbound) bool {
	switch in.Kind {
	case models.KindMessage:
		if in.Command != "" {
			return strings.EqualFold(in.Command, "status")
		}
		_, ok := statusWords[strings.ToLower(strings.TrimSpace(in.Text))]
		return ok
	case models.KindAction:
		return strings.EqualFold(in.Action, ActionStatus)
	}
	return false
}

// statusLangs are the languages to answer a status request in: the
// customer's when the platform or the script tells it, else the status
// word's ("stato": Italian), else the usual fallbacks.
func (s *Service) statusLangs(in *models.Inbound) []string {
	if _, ok := s.texts.Language(in.From.Language, in.Text); !ok {
		if l := statusWords[strings.ToLower(strings.TrimSpace(in.Text))]; l != "" && s.texts.Has(l) {
			return []string{l}
		}
	}
	return s.langs(in.Connector, in.From.Language, in.Text)
}

// status answers a status request in conversation conv. A request that
// opened a new conversation (or landed in none) finds no open ticket: it
// says so, with the customer's last ticket if they had one. It writes
// nothing: a status request is never a question for the FAQ or a handoff.
func (s *Service) status(ctx context.Context, st *store.Store, f *models.InboundFacts, conv int64) (*answer, error) {
	langs := s.statusLangs(&f.Inbound)
	var c *models.Conversation
	if conv != 0 && !f.NewConversation {
		got, err := st.Conversation(ctx, conv)
		if err != nil {
			return nil, err
		}
		c = &got
	}
	if c == nil || c.Status == models.StatusResolved {
		last := c
		if last == nil && f.ContactID != 0 {
			var err error
			if last, err = st.LastConversation(ctx, f.ContactID, conv); err != nil {
				return nil, err
			}
		}
		text := s.compose(langs, func(l string) string {
			var parts []string
			if last != nil {
				parts = append(parts, s.texts.Text(l, texts.StatusLast, "ticket", last.ID, "status", s.texts.Text(l, "status_"+last.Status)))
			}
			return joinSentences(append(parts, s.texts.Text(l, texts.StatusNone)))
		})
		return &answer{Text: text, Buttons: s.humanButton(langs)}, nil
	}
	b, err := st.BotState(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	replied := b.HumanReplied
	var w waitInfo
	queued := c.HandoffAt != nil && c.Assignee == "" && !replied
	if queued {
		if w, err = s.queueWait(ctx, st, c.ID); err != nil {
			return nil, err
		}
	}
	text := s.compose(langs, func(l string) string {
		parts := []string{s.texts.Text(l, texts.StatusReport, "ticket", c.ID,
			"status", s.texts.Text(l, "status_"+c.Status), "who", s.whoHandles(l, c, replied))}
		if queued {
			parts = append(parts, s.waitSentences(l, w)...)
		}
		return joinSentences(parts)
	})
	a := &answer{Text: text}
	if c.Assignee == "" && !replied {
		a.Buttons = s.humanButton(langs) // no human has it yet: one tap away
	}
	return a, nil
}

// whoHandles says in lang who handles an open conversation: its agent
// and/or team, else an agent who answered, else the queue, else the bot.
func (s *Service) whoHandles(lang string, c *models.Conversation, replied bool) string {
	switch {
	case c.Assignee != "" && c.Team != "":
		return s.texts.Text(lang, texts.WhoAgentTeam, "agent", c.Assignee, "team", c.Team)
	case c.Assignee != "":
		return s.texts.Text(lang, texts.WhoAgent, "agent", c.Assignee)
	case c.Team != "":
		return s.texts.Text(lang, texts.WhoTeam, "team", c.Team)
	case replied:
		return s.texts.Text(lang, texts.WhoReplied)
	case c.HandoffAt != nil:
		return s.texts.Text(lang, texts.WhoNobody)
	}
	return s.texts.Text(lang, texts.WhoBot)
}

// progressReaction tells customers when an agent takes their conversation
// ("Ana is on it") or sets it pending (waiting for their answer). It sends
// on the channel an agent's reply would take, in the reaction's commit: one
// push per change, whatever restarts.
type progressReaction struct{ s *Service }

var _ react.Reaction = progressReaction{}

func (progressReaction) Name() string    { return "progress" }
func (progressReaction) Types() []string { return []string{models.EventTypeConversationUpdated} }

func (p progressReaction) Handle(ctx context.Context, ev *models.Event, commit react.Commit) error {
	var ch models.ConversationChange
	if ev.Detail == "" || json.Unmarshal([]byte(ev.Detail), &ch) != nil {
		return nil // written before changes carried their detail
	}
	push := progressPush(&ch)
	if push == progressNone {
		return nil
	}
	s := p.s
	c, err := s.store.Conversation(ctx, ev.ConversationID)
	if err != nil {
		if models.ErrorCode(err) == models.ENOTFOUND {
			return nil
		}
		return err
	}
	ident, err := s.route(ctx, c.ContactID, 0)
	if err == nil {
		if _, ok := s.senders(ident.Connector); !ok {
			err = models.Errorf(models.EINVALID, "connector %q is not configured", ident.Connector)
		}
	}
	if err != nil {
		if models.ErrorCode(err) == models.EINVALID {
			s.log.Debug("progress not pushed: no channel reaches the customer now", "conversation", c.ID, "reason", err.Error())
			return nil
		}
		return err
	}
	langs := s.langs(ident.Connector, ident.Language, c.Subject)
	text := s.compose(langs, func(l string) string { return s.progressText(l, c.ID, push, ch.After.Assignee) })
	f := &models.InboundFacts{Inbound: models.Inbound{Channel: ident.Channel, Connector: ident.Connector}, IdentityID: ident.ID, ContactID: c.ContactID}
	return commit(func(tx *store.Store) error {
		return s.botSay(ctx, tx, f, c.ID, &answer{Text: text}, false)
	})
}

// What a change tells the customer (a set: a change can assign and set
// pending at once).
const (
	progressNone     = 0
	progressAssigned = 1 << iota
	progressPending
)

// progressPush decides what a conversation change tells the customer:
// only an agent's changes count; an assignee set or changed (not cleared,
// not on a resolved conversation), and the status becoming pending.
func progressPush(ch *models.ConversationChange) int {
	if ch.ByType != models.SenderAgent {
		return progressNone
	}
	push := progressNone
	if a := ch.After.Assignee; a != "" && a != ch.Before.Assignee && ch.After.Status != models.StatusResolved {
		push |= progressAssigned
	}
	if ch.After.Status == models.StatusPending && ch.Before.Status != models.StatusPending {
		push |= progressPending
	}
	return push
}

// progressText renders a push in lang for ticket conv, whose assignee is
// agent ("" when none).
func (s *Service) progressText(lang string, conv int64, push int, agent string) string {
	var parts []string
	if push&progressAssigned != 0 {
		parts = append(parts, s.texts.Text(lang, texts.PushAssigned, "agent", agent, "ticket", conv))
	}
	if push&progressPending != 0 {
		if agent != "" {
			parts = append(parts, s.texts.Text(lang, texts.PushPending, "agent", agent, "ticket", conv))
		} else {
			parts = append(parts, s.texts.Text(lang, texts.PushPendingAnon, "ticket", conv))
		}
	}
	return joinSentences(parts)
}
