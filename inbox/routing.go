package inbox

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/tongdao/hub/inbox/react"
	"github.com/tongdao/hub/inbox/routing"
	"github.com/tongdao/hub/inbox/store"
	"github.com/tongdao/hub/models"
)

// routingReaction routes each new conversation: the configured rules
// (inbox/routing) on its opening message set its team, priority and
// labels, in the reaction's commit, with a conversation.updated event whose
// "by" names the rule ("routing:fraud"). A customer who writes again after
// their ticket was resolved opens a new conversation, routed again; a
// conversation an agent sets open again is routed again on its opening
// message (a team it has stays). It
// writes to the database only, so the runner takes a round of new
// conversations in one transaction.
type routingReaction struct {
	s     *Service
	table *routing.Table
}

var (
	_ react.Reaction = (*routingReaction)(nil)
	_ react.Batcher  = (*routingReaction)(nil)
)

func (*routingReaction) Name() string { return "routing" }
func (*routingReaction) Types() []string {
	return []string{models.EventTypeMessageCreated, models.EventTypeConversationUpdated}
}
func (*routingReaction) InBatch(*models.Event) bool { return true }

// newConversationMark is how the facts of an inbound that opened a
// conversation read in JSON: a cheap test before decoding (a customer's
// text cannot hold it unescaped).
const newConversationMark = `"new_conversation":true`

func (r *routingReaction) Handle(ctx context.Context, ev *models.Event, commit react.Commit) error {
	if ev.Type == models.EventTypeConversationUpdated {
		return r.reopened(ctx, ev, commit)
	}
	if ev.ConversationID == 0 || !strings.Contains(ev.Detail, newConversationMark) {
		return nil
	}
	f, ok := inboundFacts(ev)
	if !ok || !f.NewConversation {
		return nil
	}
	in := &f.Inbound
	m := routing.Message{Connector: in.Connector, Channel: in.Channel, Language: r.s.routingLanguage(in), Text: in.Text}
	if !r.table.NeedsContactLabels() {
		d := r.table.Route(m)
		if d.Team == "" && d.Priority == routing.PriorityNormal && len(d.Labels) == 0 {
			return nil // nothing to change: a new conversation is already normal, without team
		}
		if len(d.Labels) == 0 {
			return r.routeSeen(ctx, ev.ConversationID, d, commit)
		}
	}
	return commit(func(tx *store.Store) error {
		if r.table.NeedsContactLabels() {
			var err error
			if m.ContactLabels, err = tx.ContactLabels(ctx, f.ContactID); err != nil {
				return err
			}
		}
		d := r.table.Route(m)
		_, err := tx.Route(ctx, ev.ConversationID, d.Team, d.Priority, d.Labels, d.By())
		return err
	})
}

// routeSeen applies a decision without labels: the conversation is read
// outside the transaction, and the commit writes only what changes, with
// one update that checks the conversation is still as read (else it is read
// again inside: store.RouteSeen). A conversation gone, resolved, or already
// as decided writes nothing.
func (r *routingReaction) routeSeen(ctx context.Context, conv int64, d routing.Decision, commit react.Commit) error {
	seen, ok, err := r.s.store.ConversationState(ctx, conv)
	if err != nil || !ok || seen.Status == models.StatusResolved {
		return err
	}
	if (d.Team == "" || seen.Team != "") && d.Priority == seen.Priority {
		return nil // a team it has stays; the priority is the rule's already
	}
	return commit(func(tx *store.Store) error {
		_, err := tx.RouteSeen(ctx, conv, seen, d.Team, d.Priority, d.By())
		return err
	})
}

// reopenedMark is how the detail of a change of a resolved conversation
// reads in JSON (models.ConversationChange: before, then its status first):
// a cheap test before decoding every update, routing's own among them (a
// name in it cannot hold it unescaped).
const reopenedMark = `"before":{"status":"resolved"`

// reopened routes again a conversation an agent reopened (resolved, then
// open), on its opening message: a team it has stays, the rule's priority
// and labels apply. A conversation back from pending or snoozed is not
// routed again.
func (r *routingReaction) reopened(ctx context.Context, ev *models.Event, commit react.Commit) error {
	var ch models.ConversationChange
	if ev.ConversationID == 0 || !strings.Contains(ev.Detail, reopenedMark) || json.Unmarshal([]byte(ev.Detail), &ch) != nil ||
		ch.Before.Status != models.StatusResolved || ch.After.Status != models.StatusOpen {
		return nil
	}
	return commit(func(tx *store.Store) error {
		o, ok, err := tx.OpeningMessage(ctx, ev.ConversationID)
		if err != nil || !ok {
			return err
		}
		m := routing.Message{Connector: o.Connector, Channel: o.Channel, Language: o.Language, Text: o.Text}
		if m.Language == "" {
			m.Language, _ = r.s.texts.Language("", o.Text)
		}
		if r.table.NeedsContactLabels() {
			if m.ContactLabels, err = tx.ContactLabels(ctx, o.ContactID); err != nil {
				return err
			}
		}
		dec := r.table.Route(m)
		_, err = tx.Route(ctx, ev.ConversationID, dec.Team, dec.Priority, dec.Labels, dec.By())
		return err
	})
}

// routingLanguage is the customer's language as routing rules see it:
// their platform's language code when it sends one, else Chinese when they
// wrote in Chinese (and the catalog has it), else unknown.
func (s *Service) routingLanguage(in *models.Inbound) string {
	if in.From.Language != "" {
		return in.From.Language
	}
	l, _ := s.texts.Language("", in.Text)
	return l
}
