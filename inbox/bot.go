package inbox

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/tongdao/hub/inbox/react"
	"github.com/tongdao/hub/inbox/store"
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
	zh := chinese(in)
	pick := func(en, cn string) string {
		if zh {
			return cn + "\n" + en
		}
		return en
	}
	switch {
	case in.Kind == models.KindEvent && in.Event == models.EventSubscribe,
		in.Command == "start" && (f.NewContact || f.NewConversation) && in.Payload == "":
		return &answer{Text: pick(
			"Welcome! Write your question here at any time: we answer 24/7, and a human agent is one tap away.",
			"欢迎！随时在这里留言，我们 7×24 小时为您服务，一键即可转人工。"),
			Buttons: s.welcomeButtons(in.Connector, pick)}
	case in.Kind == models.KindAction && isHumanAction(in.Action):
		return &answer{Text: pick(
			"You're in the queue for a human agent, who will answer right here. Add any details meanwhile.",
			"已为您转接人工客服，客服将在这里回复您，您可以继续补充问题。")}
	case in.Kind == models.KindAction:
		return &answer{Text: pick("Got it.", "收到。")}
	}
	return nil
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
func (s *Service) welcomeButtons(connector string, pick func(en, cn string) string) []models.Button {
	b := []models.Button{{ID: ActionHuman, Label: pick("Talk to a human", "转人工")}}
	if len(s.otherTargets(connector)) > 0 {
		b = append(b, models.Button{ID: ActionLink, Label: pick("Continue on another app", "在其他应用继续")})
	}
	return b
}

// botReaction is the bot's half of every conversation: it answers inbound
// messages after they are committed, through the outbox.
type botReaction struct{ s *Service }

var _ react.Reaction = botReaction{}

func (botReaction) Name() string    { return "bot" }
func (botReaction) Types() []string { return []string{store.EventMessageCreated} }

func (b botReaction) Handle(ctx context.Context, ev *models.Event, commit react.Commit) error {
	f, ok := inboundFacts(ev)
	if !ok || f.Inline || linkFollowup(&f.Inbound) != "" {
		return nil
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
	if ev.Type != store.EventMessageCreated || ev.Detail == "" {
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
