package inbox

import (
	"context"
	"encoding/json"
	"time"

	"github.com/tongdao/hub/inbox/react"
	"github.com/tongdao/hub/inbox/sla"
	"github.com/tongdao/hub/inbox/store"
	"github.com/tongdao/hub/models"
)

// slaReaction keeps each conversation's service-level clocks: it starts the
// first response and resolution clocks when a conversation opens (or
// reopens), a next response clock when a customer writes after an agent
// answered, stops them when an agent replies or the conversation is
// resolved, and moves them when the priority changes. On a schedule it
// raises sla.warning at 80% of a clock's business time and sla.breached at
// its end, once each: the breach raises the priority one step and
// reassigns the conversation to the policy's escalate_to. A bot message or
// a private note is never a response. Clocks are rows, so they survive
// restarts, and the reaction's lease makes one replica fire them.
type slaReaction struct {
	s *Service
	// awaiting is what Prefetch read for a run's customer messages: whether
	// each one's conversation waits for a next response.
	awaiting map[int64]bool
}

var (
	_ react.Ticker     = (*slaReaction)(nil)
	_ react.Prefetcher = (*slaReaction)(nil)
)

func (slaReaction) Name() string { return "sla" }

func (r slaReaction) Types() []string {
	if r.s.sla == nil {
		return []string{} // no policies: no events to follow
	}
	return []string{models.EventTypeMessageCreated, models.EventTypeConversationUpdated}
}

func (slaReaction) InBatch(*models.Event) bool { return true }

func (r slaReaction) Every() time.Duration { return r.s.slaEvery }

// Prefetch reads, in one query, whether the conversations of a run's
// customer messages wait for a next response (most do not: nothing to do).
func (r *slaReaction) Prefetch(ctx context.Context, evs []models.Event) {
	r.awaiting = nil
	if r.s.sla == nil {
		return
	}
	var ids []int64
	for i := range evs {
		if f, ok := slaInbound(&evs[i]); ok && evs[i].ConversationID != 0 && f.Inbound.Kind == models.KindMessage && !f.NewConversation {
			ids = append(ids, evs[i].ConversationID)
		}
	}
	if len(ids) < 2 {
		return
	}
	clocks, err := r.s.store.ClockStates(ctx, ids, sla.FirstResponse, sla.NextResponse)
	if err != nil {
		r.s.log.Warn("sla: read the clocks of a run's conversations; reading them one at a time", "err", err)
		return
	}
	r.awaiting = make(map[int64]bool, len(ids))
	for _, id := range ids {
		r.awaiting[id] = awaitsNextResponse(clocks[id])
	}
}

func (r *slaReaction) Handle(ctx context.Context, ev *models.Event, commit react.Commit) error {
	conv := ev.ConversationID
	if r.s.sla == nil || conv == 0 {
		return nil
	}
	switch ev.Type {
	case models.EventTypeMessageCreated:
		if f, ok := slaInbound(ev); ok {
			if f.Inbound.Kind != models.KindMessage {
				return nil
			}
			if f.NewConversation {
				return r.s.startClocksSeen(ctx, conv, ev.CreatedAt, commit, sla.FirstResponse, sla.Resolution)
			}
			// A customer waits for an agent again once the first response
			// was given: decide outside the transaction (most messages
			// change nothing), check again inside.
			need, ok := r.awaiting[conv]
			if ok {
				delete(r.awaiting, conv) // once: a later message of the run reads anew
			} else {
				var err error
				if need, err = r.s.needsNextResponse(ctx, r.s.store, conv); err != nil {
					return err
				}
			}
			if !need {
				return nil
			}
			return commit(func(tx *store.Store) error {
				if need, err := r.s.needsNextResponse(ctx, tx, conv); err != nil || !need {
					return err
				}
				return r.s.startClocks(ctx, tx, conv, ev.CreatedAt, sla.NextResponse)
			})
		}
		var m struct {
			Direction string            `json:"direction"`
			Sender    models.SenderView `json:"sender"`
			Private   bool              `json:"private"`
		}
		if json.Unmarshal([]byte(ev.Data), &m) != nil || m.Direction != models.DirectionOut ||
			m.Sender.Type != models.SenderAgent || m.Private {
			return nil // a bot message or a note is not a response
		}
		return commit(func(tx *store.Store) error {
			_, err := tx.StopClocks(ctx, conv, ev.CreatedAt, sla.FirstResponse, sla.NextResponse)
			return err
		})
	case models.EventTypeConversationUpdated:
		var ch models.ConversationChange
		if json.Unmarshal([]byte(ev.Detail), &ch) != nil {
			return nil // an event from before changes had their detail
		}
		before, after := ch.Before, ch.After
		switch {
		case after.Status == models.StatusResolved && before.Status != models.StatusResolved:
			return commit(func(tx *store.Store) error {
				_, err := tx.StopClocks(ctx, conv, ev.CreatedAt, sla.Kinds...)
				return err
			})
		case before.Status == models.StatusResolved && after.Status != models.StatusResolved:
			return commit(func(tx *store.Store) error {
				return r.s.startClocks(ctx, tx, conv, ev.CreatedAt, sla.FirstResponse, sla.Resolution)
			})
		case after.Priority != before.Priority:
			return commit(func(tx *store.Store) error { return r.s.repriceClocks(ctx, tx, conv) })
		}
	}
	return nil
}

// slaFacts is what the clocks read of an inbound's facts
// (models.InboundFacts, the detail of its message.created): its kind, and
// whether it opened the conversation; decoding the whole inbound (text,
// sender, files) for every message cost more than the rest of the decision.
type slaFacts struct {
	Inbound struct {
		Kind string `json:"kind"`
	} `json:"inbound"`
	NewConversation bool `json:"new_conversation"`
}

// slaInbound decodes the slaFacts of an inbound's message.created event;
// ok is false for any other event, an outbound message's included (no
// facts).
func slaInbound(ev *models.Event) (f slaFacts, ok bool) {
	ok = ev.Type == models.EventTypeMessageCreated && ev.Detail != "" && json.Unmarshal([]byte(ev.Detail), &f) == nil
	return f, ok
}

// startClocks starts a conversation's clocks of the given kinds under its
// priority's policy (none that the policy lacks, none when it is resolved).
func (s *Service) startClocks(ctx context.Context, st *store.Store, conv int64, at time.Time, kinds ...string) error {
	c, err := st.Conversation(ctx, conv)
	if err != nil {
		return err
	}
	p, ok := s.sla.For(c.Priority)
	if !ok || c.Status == models.StatusResolved {
		return nil
	}
	for _, kind := range kinds {
		if p.Limit(kind) == 0 {
			continue
		}
		warn, due := sla.Deadline(s.calendar(), at, p.Limit(kind))
		if _, err := st.StartClock(ctx, conv, kind, at, warn, due); err != nil {
			return err
		}
	}
	return nil
}

// startClocksSeen is startClocks with the conversation read outside the
// transaction: the commit starts the clocks with one statement that checks
// the conversation still has the priority read and is not resolved; when
// they do not all start (the priority changed meanwhile), startClocks
// decides again inside. A conversation resolved already starts none.
func (s *Service) startClocksSeen(ctx context.Context, conv int64, at time.Time, commit react.Commit, kinds ...string) error {
	seen, ok, err := s.store.ConversationState(ctx, conv)
	if err != nil {
		return err
	}
	if !ok { // gone: startClocks says so inside
		return commit(func(tx *store.Store) error { return s.startClocks(ctx, tx, conv, at, kinds...) })
	}
	p, has := s.sla.For(seen.Priority)
	if !has || seen.Status == models.StatusResolved {
		return nil
	}
	var clocks []store.ClockDue
	for _, kind := range kinds {
		if p.Limit(kind) > 0 {
			warn, due := sla.Deadline(s.calendar(), at, p.Limit(kind))
			clocks = append(clocks, store.ClockDue{Kind: kind, Warn: warn, Due: due})
		}
	}
	if len(clocks) == 0 {
		return nil
	}
	return commit(func(tx *store.Store) error {
		started, err := tx.StartClocksSeen(ctx, conv, seen.Priority, at, clocks)
		if err != nil || started {
			return err
		}
		return s.startClocks(ctx, tx, conv, at, kinds...)
	})
}

// needsNextResponse: a customer message waits for a next response when the
// first response was given and no response clock runs.
func (s *Service) needsNextResponse(ctx context.Context, st *store.Store, conv int64) (bool, error) {
	clocks, err := st.ClockStates(ctx, []int64{conv}, sla.FirstResponse, sla.NextResponse)
	if err != nil {
		return false, err
	}
	return awaitsNextResponse(clocks[conv]), nil
}

// awaitsNextResponse decides needsNextResponse on a conversation's first
// and next response clocks.
func awaitsNextResponse(clocks []store.ClockState) bool {
	answered := false
	for _, c := range clocks {
		switch {
		case c.Running:
			return false // a response is awaited already
		case c.Kind == sla.FirstResponse:
			answered = true
		}
	}
	return answered
}

// repriceClocks moves a conversation's running clocks to its new
// priority's policy; a clock the new policy lacks stops, and the first
// response and resolution clocks the old one lacked start from the
// conversation's opening.
func (s *Service) repriceClocks(ctx context.Context, st *store.Store, conv int64) error {
	c, err := st.Conversation(ctx, conv)
	if err != nil {
		return err
	}
	p, _ := s.sla.For(c.Priority)
	clocks, err := st.Clocks(ctx, conv)
	if err != nil {
		return err
	}
	have := map[string]bool{}
	for _, k := range clocks {
		have[k.Kind] = true
		if k.StoppedAt != nil {
			continue
		}
		if p.Limit(k.Kind) == 0 {
			if _, err := st.StopClocks(ctx, conv, s.now(), k.Kind); err != nil {
				return err
			}
			continue
		}
		warn, due := sla.Deadline(s.calendar(), k.StartedAt, p.Limit(k.Kind))
		if err := st.Reschedule(ctx, conv, k.Kind, warn, due); err != nil {
			return err
		}
	}
	if c.Status == models.StatusResolved {
		return nil
	}
	for _, kind := range []string{sla.FirstResponse, sla.Resolution} {
		if !have[kind] && p.Limit(kind) > 0 {
			if kind == sla.FirstResponse {
				if b, err := st.BotState(ctx, conv); err != nil || b.HumanReplied {
					return err
				}
			}
			warn, due := sla.Deadline(s.calendar(), c.CreatedAt, p.Limit(kind))
			if _, err := st.StartClock(ctx, conv, kind, c.CreatedAt, warn, due); err != nil {
				return err
			}
		}
	}
	return nil
}

// calendar is the business hours the clocks count in (nil: every hour).
func (s *Service) calendar() sla.Calendar {
	if s.hours == nil {
		return nil
	}
	return s.hours
}

// Tick raises the warnings and breaches that are due.
func (r *slaReaction) Tick(ctx context.Context, commit react.Commit) error {
	_, err := r.s.checkSLA(ctx, commit)
	return err
}

// CheckSLA makes one pass over the SLA clocks at once (tests, operators)
// and returns how many warnings and breaches it raised.
func (s *Service) CheckSLA(ctx context.Context) (int, error) {
	return s.checkSLA(ctx, func(fn func(tx *store.Store) error) error { return s.store.Tx(ctx, fn) })
}

func (s *Service) checkSLA(ctx context.Context, commit react.Commit) (int, error) {
	if s.sla == nil {
		return 0, nil
	}
	now := s.now()
	due, err := s.store.DueClocks(ctx, now, 100)
	if err != nil {
		return 0, err
	}
	raised := 0
	for _, k := range due {
		err := commit(func(tx *store.Store) error {
			n, err := s.fireClock(ctx, tx, k, now)
			raised += n
			return err
		})
		if err != nil {
			return raised, err
		}
	}
	return raised, nil
}

// fireClock raises what a due clock owes, once each: its warning, then its
// breach with the escalation.
func (s *Service) fireClock(ctx context.Context, tx *store.Store, k models.SLAClock, now time.Time) (int, error) {
	data := func() map[string]any {
		return map[string]any{"id": models.ID(k.ConversationID), "clock": k.Kind, "due_at": k.DueAt.UTC()}
	}
	raised := 0
	if !k.Warned && !k.WarnAt.After(now) {
		ok, err := tx.MarkWarned(ctx, k.ConversationID, k.Kind)
		if err != nil {
			return raised, err
		}
		if ok && k.DueAt.After(now) {
			if err := tx.AddConversationEvent(ctx, k.ConversationID, models.EventTypeSLAWarning, data()); err != nil {
				return raised, err
			}
			raised++
		}
	}
	if k.BreachedAt != nil || k.DueAt.After(now) {
		return raised, nil
	}
	ok, err := tx.MarkBreached(ctx, k.ConversationID, k.Kind, now)
	if err != nil || !ok {
		return raised, err
	}
	c, err := tx.Conversation(ctx, k.ConversationID)
	if err != nil {
		return raised, err
	}
	p, _ := s.sla.For(c.Priority)
	d := data()
	d["priority"] = sla.Up(c.Priority)
	changes := map[string]any{"priority": sla.Up(c.Priority)}
	if p.EscalateTo != "" {
		agent, err := tx.TokenNameExists(ctx, p.EscalateTo)
		if err != nil {
			return raised, err
		}
		if agent {
			changes["assignee"] = p.EscalateTo
			d["assignee"] = p.EscalateTo
		} else {
			changes["team"], changes["assignee"] = p.EscalateTo, ""
			d["team"] = p.EscalateTo
		}
	}
	if err := tx.AddConversationEvent(ctx, k.ConversationID, models.EventTypeSLABreached, d); err != nil {
		return raised, err
	}
	if _, err := tx.UpdateConversation(ctx, k.ConversationID, changes, "sla"); err != nil {
		return raised, err
	}
	return raised + 1, nil
}
