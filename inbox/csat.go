package inbox

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/tongdao/hub/inbox/react"
	"github.com/tongdao/hub/inbox/store"
	"github.com/tongdao/hub/inbox/texts"
	"github.com/tongdao/hub/models"
)

// The rating. When an agent resolves a conversation, the customer is asked
// once, on a channel that can still reach them, to rate the help from 1 to
// 5 (buttons where the channel has them; WeChat shows them as numbered
// options, so a bare digit is the rating); then for one optional comment.
//
// The answers belong to the resolved conversation: ingest puts an inbound
// that may answer the pending stage there (IngestItem.Feedback) instead of
// opening a new conversation, and the bot records it (csatAnswer). Once the
// rating is over (commented, skipped, or its window passed), a customer
// message opens a new conversation, as after any resolve.
//
// Each resolve by an agent asks again (a conversation reopened and resolved
// again is a new end of the help); a new score replaces the earlier one.

// Customer actions of the rating: "csat:1" … "csat:5" and the skip button.
const (
	ActionRatePrefix = "csat:"
	ActionSkip       = "csat:skip"
)

// How long the customer's answers count: the score for 24 hours after the
// prompt, the comment for an hour after the score.
const (
	CSATAskWindow     = 24 * time.Hour
	CSATCommentWindow = time.Hour
)

// csatReaction asks for the rating when an agent resolves a conversation.
type csatReaction struct{ s *Service }

var _ react.Reaction = csatReaction{}

func (csatReaction) Name() string    { return "csat" }
func (csatReaction) Types() []string { return []string{models.EventTypeConversationUpdated} }

func (r csatReaction) Handle(ctx context.Context, ev *models.Event, commit react.Commit) error {
	var d struct {
		Changes map[string]any `json:"changes"`
	}
	if json.Unmarshal([]byte(ev.Data), &d) != nil || d.Changes["status"] != models.StatusResolved {
		return nil
	}
	if deflected, _ := d.Changes["deflected"].(bool); deflected {
		return nil // the bot's answer solved it: no rating of an agent's help
	}
	if again, err := r.s.store.ResolvedBefore(ctx, ev.ConversationID, ev.ID); err != nil || again {
		return err // resolved twice in a row: asked already
	}
	return r.s.askCSAT(ctx, ev.ConversationID, commit)
}

// askCSAT sends the rating prompt for a conversation an agent resolved, if
// it is still resolved, its customer has no other conversation going, and a
// channel can still reach them.
func (s *Service) askCSAT(ctx context.Context, conv int64, commit react.Commit) error {
	c, err := s.store.Conversation(ctx, conv)
	if err != nil || c.Status != models.StatusResolved {
		return err
	}
	// Read before the transaction: on SQLite it holds the one connection.
	ident, err := s.route(ctx, c.ContactID, 0)
	if err != nil {
		s.log.Debug("no rating prompt: the customer cannot be reached", "conversation", conv, "reason", models.ErrorMessage(err))
		return nil
	}
	langs := s.langs(ident.Connector, ident.Language, "")
	return commit(func(tx *store.Store) error {
		if other, err := tx.ActiveConversation(ctx, c.ContactID); err != nil || other != nil {
			return err // the customer has moved on to a new conversation
		}
		if ok, err := tx.AskCSAT(ctx, conv, s.now().Add(CSATAskWindow)); err != nil || !ok {
			return err // reopened meanwhile
		}
		return s.botTo(ctx, tx, conv, &ident, &answer{Text: s.texts.Say(langs, texts.CSATAsk, "ticket", conv), Buttons: scoreButtons()})
	})
}

// scoreButtons are the five scores, labelled with their digits (WeChat
// shows them as the numbered options 1–5, so the digit is the score).
func scoreButtons() []models.Button {
	b := make([]models.Button, 5)
	for i := range b {
		b[i] = models.Button{ID: fmt.Sprintf("%s%d", ActionRatePrefix, i+1), Label: fmt.Sprint(i + 1)}
	}
	return b
}

// botTo stores a bot message to an identity, queued for the outbox.
func (s *Service) botTo(ctx context.Context, tx *store.Store, conv int64, ident *models.Identity, a *answer) error {
	id := ident.ID
	m := &models.Message{ConversationID: conv, IdentityID: &id, Channel: ident.Channel, Connector: ident.Connector,
		Direction: models.DirectionOut, Kind: models.KindMessage, SenderType: models.SenderBot, SenderName: "Bot",
		Text: a.Text, DeliveryStatus: models.DeliveryQueued}
	if len(a.Buttons) > 0 {
		b, _ := json.Marshal(a.Buttons)
		m.Buttons = string(b)
	}
	return tx.AddMessage(ctx, m)
}

// feedbackStages are the rating stages an inbound may answer (see
// store.IngestItem.Feedback): a score button or a bare number the score, a
// message or the skip button the comment. Commands, the words for a human
// or for help, and other actions answer none.
func feedbackStages(in *models.Inbound) []string {
	switch {
	case in.Kind == models.KindAction && in.Action == ActionSkip:
		return []string{store.CSATComment}
	case in.Kind == models.KindAction:
		if _, ok := scoreAction(in.Action); ok {
			return []string{store.CSATAsked, store.CSATComment} // a second tap: see csatAnswer
		}
	case in.Kind == models.KindMessage && in.Command == "" && (in.Text != "" || len(in.Attachments) > 0) &&
		!isHumanWord(in.Text) && !isHelpWord(in.Text):
		// ("human" and "help" are no comment: the bot answers them in a new
		// conversation, as after any resolve.)
		if _, ok := bareNumber(in.Text); ok {
			return []string{store.CSATAsked, store.CSATComment}
		}
		return []string{store.CSATComment}
	}
	return nil
}

// scoreAction reads the action "csat:N" (N from 1 to 5).
func scoreAction(action string) (int, bool) {
	n, ok := strings.CutPrefix(action, ActionRatePrefix)
	if !ok || len(n) != 1 || n[0] < '1' || n[0] > '5' {
		return 0, false
	}
	return int(n[0] - '0'), true
}

// bareNumber reads a message that is only a number ("3", " 3. ", the
// full-width "３"), of at most three digits.
func bareNumber(text string) (int, bool) {
	t := strings.TrimRight(strings.TrimSpace(text), ".。、")
	if t == "" || len([]rune(t)) > 3 {
		return 0, false
	}
	n := 0
	for _, r := range t {
		switch {
		case r >= '0' && r <= '9':
			n = n*10 + int(r-'0')
		case r >= '０' && r <= '９':
			n = n*10 + int(r-'０')
		default:
			return 0, false
		}
	}
	return n, true
}

// csatAnswer handles an inbound that answers a rating prompt: a score (a
// button, wherever it lands, or a bare number in the rated conversation),
// the comment or the skip button. ok is false for any other inbound.
func (s *Service) csatAnswer(ctx context.Context, st *store.Store, f *models.InboundFacts, conv int64, langs []string, write bool,
	state func() (store.BotState, error)) (a *answer, ok bool, err error) {
	in := &f.Inbound
	if score, isScore := scoreAction(in.Action); in.Kind == models.KindAction && isScore {
		// A score button may be tapped after the customer wrote again
		// (its message then lands in the new conversation): it rates the
		// conversation that asked.
		c, err := st.PendingCSAT(ctx, f.ContactID, store.CSATAsked)
		if err != nil {
			return nil, false, err
		}
		if c == nil {
			// Tapped again after the score: the first one stands, and
			// the comment is still welcome.
			if c, err = st.PendingCSAT(ctx, f.ContactID, store.CSATComment); err != nil || c == nil {
				return nil, false, err
			}
			return s.rate(ctx, st, c.ID, score, langs, false)
		}
		return s.rate(ctx, st, c.ID, score, langs, write)
	}
	if in.Kind == models.KindAction && in.Action == ActionSkip {
		c, err := st.PendingCSAT(ctx, f.ContactID, store.CSATComment)
		if err != nil || c == nil {
			return nil, false, err
		}
		return s.comment(ctx, st, c.ID, nil, langs, write)
	}
	if in.Kind != models.KindMessage || in.Command != "" {
		return nil, false, nil
	}
	c, err := state()
	if err != nil || c.CSATStage == "" {
		return nil, false, err
	}
	switch c.CSATStage {
	case store.CSATAsked:
		if n, isNumber := bareNumber(in.Text); isNumber && n >= 1 && n <= 5 {
			return s.rate(ctx, st, conv, n, langs, write)
		}
		// Out of range: no rating; the question stands.
		return &answer{Text: s.texts.Say(langs, texts.CSATRetry), Buttons: scoreButtons()}, true, nil
	case store.CSATComment:
		text := strings.TrimSpace(in.Text)
		if text == "" {
			text = timelineText(in)
		}
		return s.comment(ctx, st, conv, &text, langs, write)
	}
	return nil, false, nil
}

// rate stores a score and asks for the optional comment.
func (s *Service) rate(ctx context.Context, st *store.Store, conv int64, score int, langs []string, write bool) (*answer, bool, error) {
	if write {
		if _, err := st.RateCSAT(ctx, conv, score, s.now().Add(CSATCommentWindow)); err != nil {
			return nil, true, err
		}
	}
	return &answer{Text: s.texts.Say(langs, texts.CSATComment),
		Buttons: []models.Button{{ID: ActionSkip, Label: s.texts.Label(langs, texts.ButtonSkip)}}}, true, nil
}

// comment ends the rating with the comment (nil: skipped) and thanks.
func (s *Service) comment(ctx context.Context, st *store.Store, conv int64, text *string, langs []string, write bool) (*answer, bool, error) {
	if write {
		if _, err := st.CommentCSAT(ctx, conv, text); err != nil {
			return nil, true, err
		}
	}
	return &answer{Text: s.texts.Say(langs, texts.CSATThanks), Buttons: s.humanButton(langs)}, true, nil
}

// timelineText is how an inbound without text reads as a comment.
func timelineText(in *models.Inbound) string {
	if len(in.Attachments) > 0 {
		return "[" + in.Attachments[0].Type + "]"
	}
	return ""
}
