package inbox

import (
	"strings"

	"github.com/tongdao/hub/inbox/store"
	"github.com/tongdao/hub/models"
)

// Customer actions the bot understands, whatever the channel offers them as
// (a Telegram or Discord button, a WeChat menu key or numbered option).
const (
	ActionHuman = "human"
)

// respond is the bot's immediate answer to an inbound, decided inside the
// ingest transaction. It answers events and actions; ordinary messages wait
// for an agent.
func (s *Service) respond(in *models.Inbound, st store.IngestState) *store.BotReply {
	if f := linkFollowup(in); f != "" {
		return &store.BotReply{Followup: f}
	}
	zh := strings.HasPrefix(in.From.Language, "zh") || in.Channel == models.ChannelWeChat
	pick := func(en, cn string) string {
		if zh {
			return cn + "\n" + en
		}
		return en
	}
	switch {
	case in.Kind == models.KindEvent && in.Event == models.EventSubscribe,
		in.Command == "start" && (st.NewContact || st.NewConversation) && in.Payload == "":
		return &store.BotReply{Text: pick(
			"Welcome! Write your question here at any time: we answer 24/7, and a human agent is one tap away.",
			"欢迎！随时在这里留言，我们 7×24 小时为您服务，一键即可转人工。"),
			Buttons: s.welcomeButtons(in.Connector, pick)}
	case in.Kind == models.KindAction && isHumanAction(in.Action):
		return &store.BotReply{Text: pick(
			"You're in the queue for a human agent, who will answer right here. Add any details meanwhile.",
			"已为您转接人工客服，客服将在这里回复您，您可以继续补充问题。")}
	case in.Kind == models.KindAction:
		return &store.BotReply{Text: pick("Got it.", "收到。")}
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
