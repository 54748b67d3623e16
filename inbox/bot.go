package inbox

import (
	"cmp"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/tongdao/hub/inbox/react"
	"github.com/tongdao/hub/inbox/store"
	"github.com/tongdao/hub/inbox/texts"
	"github.com/tongdao/hub/models"
)

// Customer actions the bot understands, whatever the channel offers them as
// (a Telegram or Discord button, a WeChat menu key or numbered option).
const (
	ActionHuman  = "human"
	ActionSolved = "solved"
)

// recentResponses is how many recent conversations the wait estimate
// takes the median first human response of.
const recentResponses = 50

// answer is what the bot says to a customer.
type answer struct {
	Text    string
	Buttons []models.Button
}

// botAnswer decides the bot's answer to an inbound in conversation conv
// (nil: none) and makes the changes it announces (a handoff, a resolve)
// through st, unless write is false (a retry answered again). It welcomes
// new customers, answers questions from the FAQ, hands over to a human
// when it cannot answer or is asked to, and acknowledges actions; link
// words and codes are the linking reaction's.
func (s *Service) botAnswer(ctx context.Context, st *store.Store, f *models.InboundFacts, conv int64, write bool) (*answer, error) {
	return s.botAnswerKnowing(ctx, st, f, conv, write, nil)
}

// botAnswerKnowing is botAnswer with the conversation's bot state already
// read (nil: read it when needed).
func (s *Service) botAnswerKnowing(ctx context.Context, st *store.Store, f *models.InboundFacts, conv int64, write bool, known *store.BotState) (*answer, error) {
	in := &f.Inbound
	langs := s.langs(in.Connector, in.From.Language, in.Text)
	// What the bot knows of the conversation, read once (it is asked for
	// every customer message).
	state := func() (store.BotState, error) {
		if known == nil {
			b, err := st.BotState(ctx, conv)
			if err != nil {
				return b, err
			}
			known = &b
		}
		return *known, nil
	}
	if conv != 0 {
		// The answers to a rating prompt (see csat.go).
		if a, ok, err := s.csatAnswer(ctx, st, f, conv, langs, write, state); ok || err != nil {
			return a, err
		}
	}
	switch {
	case in.Kind == models.KindEvent && in.Event == models.EventSubscribe,
		in.Command == "start" && (f.NewContact || f.NewConversation) && in.Payload == "":
		return &answer{Text: s.texts.Say(langs, texts.Welcome), Buttons: s.welcomeButtons(in.Connector, langs)}, nil
	case isStatusRequest(in):
		return s.status(ctx, st, f, conv) // never a question for the FAQ or a handoff
	case conv == 0:
		return nil, nil
	case in.Kind == models.KindAction && isHumanAction(in.Action):
		return s.handoff(ctx, st, conv, langs, "asked", write)
	case in.Kind == models.KindAction && strings.EqualFold(in.Action, ActionSolved):
		return s.solved(ctx, st, conv, langs, write)
	case in.Kind == models.KindAction:
		return &answer{Text: s.texts.Say(langs, texts.GotIt), Buttons: s.humanButton(langs)}, nil
	case in.Kind != models.KindMessage:
		return nil, nil
	case in.Command != "" || isHelpWord(in.Text):
		return s.help(ctx, st, in, conv, langs)
	case isHumanWord(in.Text):
		return s.handoff(ctx, st, conv, langs, "asked", write)
	}
	c, err := state()
	if err != nil || c.Status == models.StatusResolved || (c.HumanReplied && !f.Reopened) {
		return nil, err // an agent has it: the bot keeps out of the way
	}
	if s.faq != nil {
		lang, _ := s.texts.Language(in.From.Language, in.Text)
		if m, ok := s.faq.MatchExcept(in.Text, lang, c.LastFAQ); ok {
			if write {
				if err := st.SetLastFAQ(ctx, conv, m.Entry.ID); err != nil {
					return nil, err
				}
			}
			ls := []string{m.Lang}
			return &answer{Text: m.Entry.Answer[m.Lang], Buttons: []models.Button{
				{ID: ActionSolved, Label: s.texts.Label(ls, texts.ButtonSolved)},
				{ID: ActionHuman, Label: s.texts.Label(ls, texts.ButtonHuman)},
			}}, nil
		}
	}
	if !c.HandedOff {
		return s.handoff(ctx, st, conv, langs, "no answer", write) // never silence
	}
	return nil, nil // already waiting for a human, who will read it
}

// handoff puts a conversation in the human queue and tells the customer the
// ticket number, what happens next and an honest wait: the queue position
// and the recent median first response, or when agents are back.
func (s *Service) handoff(ctx context.Context, st *store.Store, conv int64, langs []string, reason string, write bool) (*answer, error) {
	if write {
		changed, err := st.Handoff(ctx, conv, reason)
		if err != nil {
			return nil, err
		}
		if changed {
			// The agent sees it where they read: in the timeline.
			now := s.now().UTC()
			if err := st.AddMessage(ctx, &models.Message{ConversationID: conv, Direction: models.DirectionOut,
				Kind: models.KindSystem, SenderType: models.SenderSystem, SenderName: "System", Private: true,
				Text: "Handed over to a human: " + cmp.Or(handoffWhy[reason], reason), DeliveryStatus: models.DeliverySent, SentAt: &now}); err != nil {
				return nil, err
			}
		}
	}
	w, err := s.queueWait(ctx, st, conv)
	if err != nil {
		return nil, err
	}
	text := s.compose(langs, func(l string) string {
		return joinSentences(append([]string{s.texts.Text(l, texts.HumanQueued, "ticket", conv)}, s.waitSentences(l, w)...))
	})
	return &answer{Text: text}, nil
}

// waitInfo is what a customer in the human queue is told of the wait.
type waitInfo struct {
	position int  // in the queue (0: not waiting)
	away     bool // outside business hours: back is when agents are
	back     time.Time
	known    bool // there is a recent median first response
	median   time.Duration
}

// queueWait is the wait of conversation conv: its queue position and the
// recent median first response, or when agents are back.
func (s *Service) queueWait(ctx context.Context, st *store.Store, conv int64) (waitInfo, error) {
	var w waitInfo
	var err error
	if w.position, err = st.QueuePosition(ctx, conv); err != nil {
		return w, err
	}
	if w.median, w.known, err = s.waitEstimate(ctx, st); err != nil {
		return w, err
	}
	if now := s.now(); s.hours != nil && !s.hours.Open(now) {
		w.away, w.back = true, s.hours.NextOpen(now)
	}
	return w, nil
}

// waitSentences tells the wait w in lang: the position, then the estimate
// or when agents are back.
func (s *Service) waitSentences(lang string, w waitInfo) []string {
	var parts []string
	if w.position > 0 {
		parts = append(parts, s.texts.Text(lang, texts.QueuePosition, "position", w.position))
	}
	switch {
	case w.away:
		parts = append(parts, s.texts.Text(lang, texts.AgentsAway, "back", s.backAt(lang, w.back)))
	case w.known:
		parts = append(parts, s.texts.Text(lang, texts.WaitEstimate, "duration", s.duration(lang, w.median)))
	default:
		parts = append(parts, s.texts.Text(lang, texts.WaitUnknown))
	}
	return parts
}

// handoffWhy words a handoff's reason for the timeline.
var handoffWhy = map[string]string{"asked": "the customer asked for one", "no answer": "the bot had no answer"}

// help answers what is addressed to the bot rather than to an agent (a
// command, or "help"): never silence. A customer waiting for a human hears
// where their ticket stands; anyone else gets the welcome and its buttons.
func (s *Service) help(ctx context.Context, st *store.Store, in *models.Inbound, conv int64, langs []string) (*answer, error) {
	c, err := st.Conversation(ctx, conv)
	if err != nil {
		return nil, err
	}
	if c.HandoffAt != nil && c.Assignee == "" && c.Status != models.StatusResolved {
		b, err := st.BotState(ctx, conv)
		if err != nil {
			return nil, err
		}
		if !b.HumanReplied {
			return s.handoff(ctx, st, conv, langs, "", false)
		}
	}
	return &answer{Text: s.texts.Say(langs, texts.Welcome), Buttons: s.welcomeButtons(in.Connector, langs)}, nil
}

// joinSentences joins sentences with a space, except after a full-width
// full stop (Chinese needs none).
func joinSentences(parts []string) string {
	var b strings.Builder
	for i, p := range parts {
		if i > 0 && !strings.HasSuffix(parts[i-1], "。") && !strings.HasSuffix(parts[i-1], "！") && !strings.HasSuffix(parts[i-1], "？") {
			b.WriteString(" ")
		}
		b.WriteString(p)
	}
	return b.String()
}

// waitEstimate is the median first human response over the recent
// conversations, recomputed at most once a minute: every handoff quotes it,
// and it moves slowly.
func (s *Service) waitEstimate(ctx context.Context, st *store.Store) (time.Duration, bool, error) {
	now := s.now()
	s.estimate.mu.Lock()
	defer s.estimate.mu.Unlock()
	if !s.estimate.at.IsZero() && now.Sub(s.estimate.at) < time.Minute && now.After(s.estimate.at) {
		return s.estimate.median, s.estimate.known, nil
	}
	median, known, err := st.MedianFirstResponse(ctx, recentResponses)
	if err != nil {
		return 0, false, err
	}
	s.estimate.median, s.estimate.known, s.estimate.at = median, known, now
	return median, known, nil
}

// solved resolves a conversation the bot's answer solved (deflected).
func (s *Service) solved(ctx context.Context, st *store.Store, conv int64, langs []string, write bool) (*answer, error) {
	if write {
		c, err := st.Conversation(ctx, conv)
		if err != nil {
			return nil, err
		}
		if c.Status != models.StatusResolved {
			if _, err := st.UpdateConversation(ctx, conv, map[string]any{"status": models.StatusResolved, "deflected": true}, "Bot"); err != nil {
				return nil, err
			}
		}
	}
	return &answer{Text: s.texts.Say(langs, texts.Solved, "ticket", conv), Buttons: s.humanButton(langs)}, nil
}

// compose renders a text per language, joined by a blank line.
func (s *Service) compose(langs []string, render func(lang string) string) string {
	if len(langs) == 0 {
		langs = []string{s.texts.Default}
	}
	var out []string
	for _, l := range langs {
		if t := render(l); !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return strings.Join(out, "\n\n")
}

// backAt is when agents are back, in the calendar's zone: "Monday 09:00".
func (s *Service) backAt(lang string, t time.Time) string {
	t = t.In(s.hours.Location())
	return s.texts.Text(lang, texts.Weekdays[t.Weekday()]) + " " + t.Format("15:04")
}

// duration renders a wait: whole minutes up to 90 (at least 1), else
// whole hours (both rounded to the nearest).
func (s *Service) duration(lang string, d time.Duration) string {
	if d < 90*time.Minute {
		return s.texts.Text(lang, texts.Minutes, "n", max(1, int(d.Round(time.Minute)/time.Minute)))
	}
	return s.texts.Text(lang, texts.Hours, "n", int(d.Round(time.Hour)/time.Hour))
}

// humanButton is the way to a human every bot message that is not a
// question offers.
func (s *Service) humanButton(langs []string) []models.Button {
	return []models.Button{{ID: ActionHuman, Label: s.texts.Label(langs, texts.ButtonHuman)}}
}

// humanWords, as a whole message (any case), ask for a human.
var humanWords = []string{"human", "agent", "人工", "转人工", "客服", "operatore"}

func isHumanWord(text string) bool {
	t := strings.ToLower(strings.TrimSpace(text))
	return slices.Contains(humanWords, t)
}

// helpWords, as a whole message (any case), ask the bot what it does.
var helpWords = []string{"help", "帮助", "aiuto"}

func isHelpWord(text string) bool {
	return slices.Contains(helpWords, strings.ToLower(strings.TrimSpace(text)))
}

// langs are the languages to answer a customer in: theirs when the
// platform's language code or the script of their text tells it, else the
// connector's default languages (WeChat: Chinese, then English), else the
// configured default.
func (s *Service) langs(connector, code, text string) []string {
	if l, ok := s.texts.Language(code, text); ok {
		return []string{l}
	}
	if ls := s.info().FallbackLanguages[connector]; len(ls) > 0 {
		return ls
	}
	return []string{s.texts.Default}
}

func isHumanAction(a string) bool {
	switch strings.ToLower(a) {
	case ActionHuman, "talk_to_human", "agent", "human_agent":
		return true
	}
	return false
}

// welcomeButtons offers a human and, when another connector can take over,
// continuing there.
func (s *Service) welcomeButtons(connector string, langs []string) []models.Button {
	b := []models.Button{{ID: ActionHuman, Label: s.texts.Label(langs, texts.ButtonHuman)}}
	if len(s.otherTargets(connector)) > 0 {
		b = append(b, models.Button{ID: ActionLink, Label: s.texts.Label(langs, texts.ButtonLink)})
	}
	return b
}

// botReaction is the bot's half of every conversation: it answers inbound
// messages after they are committed, through the outbox: link words, codes
// and tokens (linking), then everything else the bot knows. Everything but
// linking is database work only, so the runner answers a round's messages
// in one transaction.
type botReaction struct {
	s *Service
	// memo keeps the facts decoded for the events of the current run
	// (Prefetch, InBatch and Handle read each).
	memo map[int64]memoFacts
	// states are the conversations' bot states Prefetch read for the
	// current run, for Handle's decision outside the transaction.
	states map[int64]store.BotState
}

type memoFacts struct {
	f  *models.InboundFacts
	ok bool
}

var (
	_ react.Reaction   = (*botReaction)(nil)
	_ react.Batcher    = (*botReaction)(nil)
	_ react.Prefetcher = (*botReaction)(nil)
)

func (*botReaction) Name() string    { return "bot" }
func (*botReaction) Types() []string { return []string{models.EventTypeMessageCreated} }

func (b *botReaction) facts(ev *models.Event) (*models.InboundFacts, bool) {
	if m, ok := b.memo[ev.ID]; ok && ev.ID != 0 {
		return m.f, m.ok
	}
	if b.memo == nil || len(b.memo) >= 4*react.DefaultTurn {
		b.memo = map[int64]memoFacts{}
	}
	f, ok := inboundFacts(ev)
	b.memo[ev.ID] = memoFacts{f, ok}
	return f, ok
}

// underWay says whether an inbound is a message in a conversation under
// way, which Handle decides on outside the transaction (reading the
// conversation's bot state).
func underWay(f *models.InboundFacts, conv int64) bool {
	return !f.Inline && !f.NewConversation && !f.Reopened && conv != 0 && linkFollowup(&f.Inbound) == ""
}

// Prefetch reads the bot states of the conversations of a run's messages
// under way in one query, rather than one query each.
func (b *botReaction) Prefetch(ctx context.Context, evs []models.Event) {
	b.memo, b.states = nil, nil
	var ids []int64
	for i := range evs {
		if f, ok := b.facts(&evs[i]); ok && underWay(f, evs[i].ConversationID) {
			ids = append(ids, evs[i].ConversationID)
		}
	}
	if len(ids) < 2 {
		return
	}
	states, err := b.s.store.BotStates(ctx, ids)
	if err != nil {
		b.s.log.Warn("bot: read the states of a run's conversations; reading them one at a time", "err", err)
		return
	}
	b.states = states
}

// InBatch: linking calls platforms (a deep link, a QR code) before it
// commits; the rest of the bot only reads and writes the database, and
// decides again in the transaction.
func (b *botReaction) InBatch(ev *models.Event) bool {
	f, ok := b.facts(ev)
	return !ok || f.Inline || linkFollowup(&f.Inbound) == ""
}

func (b *botReaction) Handle(ctx context.Context, ev *models.Event, commit react.Commit) error {
	f, ok := b.facts(ev)
	if !ok || f.Inline {
		return nil
	}
	if linkFollowup(&f.Inbound) != "" {
		_, err := b.s.linkFollowUp(ctx, f, ev.ConversationID, commit)
		return err
	}
	// Decide outside the transaction first: most customer messages in a
	// conversation under way need no answer (an agent has them), and the
	// writer is shared with ingest. (A new conversation is always answered.)
	// The transaction decides again, on what it reads.
	if !f.NewConversation && !f.Reopened {
		var known *store.BotState
		if st, ok := b.states[ev.ConversationID]; ok {
			known = &st
			delete(b.states, ev.ConversationID) // once: a later message of the run reads it anew
		}
		if a, err := b.s.botAnswerKnowing(ctx, b.s.store, f, ev.ConversationID, false, known); err != nil || a == nil {
			return err
		}
	}
	return commit(func(tx *store.Store) error {
		a, err := b.s.botAnswer(ctx, tx, f, ev.ConversationID, true)
		if err != nil || a == nil {
			return err
		}
		return b.s.botSay(ctx, tx, f, ev.ConversationID, a, false)
	})
}

// inboundFacts reads what ingest recorded of an inbound with its
// message.created event; ok is false for any other event.
func inboundFacts(ev *models.Event) (*models.InboundFacts, bool) {
	if ev.Type != models.EventTypeMessageCreated || ev.Detail == "" {
		return nil, false
	}
	var f models.InboundFacts
	if err := json.Unmarshal([]byte(ev.Detail), &f); err != nil {
		return nil, false
	}
	return &f, true
}

// botSay stores the bot's answer to the inbound f in conversation conv:
// queued for the outbox, or as already sent when it was answered inline.
func (s *Service) botSay(ctx context.Context, st *store.Store, f *models.InboundFacts, conv int64, a *answer, inline bool) error {
	if conv == 0 {
		if !inline {
			s.log.Warn("bot answer dropped: no conversation to queue it in", "connector", f.Inbound.Connector)
		}
		return nil
	}
	identity := f.IdentityID
	m := &models.Message{ConversationID: conv, IdentityID: &identity, Channel: f.Inbound.Channel, Connector: f.Inbound.Connector,
		Direction: models.DirectionOut, Kind: models.KindMessage, SenderType: models.SenderBot, SenderName: "Bot",
		Text: a.Text, DeliveryStatus: models.DeliveryQueued}
	if len(a.Buttons) > 0 {
		b, _ := json.Marshal(a.Buttons)
		m.Buttons = string(b)
	}
	if inline {
		now := s.now().UTC()
		m.DeliveryStatus, m.SentAt = models.DeliverySent, &now
	}
	return st.AddMessage(ctx, m)
}
