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

// Customer actions the bot understands, whatever the channel offers them as
// (a Telegram or Discord button, a WeChat menu key or numbered option).
const (
	ActionHuman = "human"
)

// answer is what the bot says to a customer.
type answer struct {
	Text    string
	Buttons []models.Button
}

// botAnswer decides the bot's answer to an inbound (nil: none). It welcomes
// new customers and acknowledges actions; ordinary messages wait for an
// agent, and link words and codes are the linking reaction's.
func (s *Service) botAnswer(f *models.InboundFacts) *answer {
	in := &f.Inbound
	langs := s.langs(in.Connector, in.From.Language, in.Text)
	switch {
	case in.Kind == models.KindEvent && in.Event == models.EventSubscribe,
		in.Command == "start" && (f.NewContact || f.NewConversation) && in.Payload == "":
		return &answer{Text: s.texts.Say(langs, texts.Welcome), Buttons: s.welcomeButtons(in.Connector, langs)}
	case in.Kind == models.KindAction && isHumanAction(in.Action):
		return &answer{Text: s.texts.Say(langs, texts.HumanQueued)}
	case in.Kind == models.KindAction:
		return &answer{Text: s.texts.Say(langs, texts.GotIt)}
	}
	return nil
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
// and tokens (linking), then everything else the bot knows.
type botReaction struct{ s *Service }

var _ react.Reaction = botReaction{}

func (botReaction) Name() string    { return "bot" }
func (botReaction) Types() []string { return []string{models.EventTypeMessageCreated} }

func (b botReaction) Handle(ctx context.Context, ev *models.Event, commit react.Commit) error {
	f, ok := inboundFacts(ev)
	if !ok || f.Inline {
		return nil
	}
	if linkFollowup(&f.Inbound) != "" {
		_, err := b.s.linkFollowUp(ctx, f, ev.ConversationID, commit)
		return err
	}
	a := b.s.botAnswer(f)
	if a == nil {
		return nil
	}
	return commit(func(tx *store.Store) error {
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
