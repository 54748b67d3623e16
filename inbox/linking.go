package inbox

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tongdao/hub/inbox/react"
	"github.com/tongdao/hub/inbox/store"
	"github.com/tongdao/hub/inbox/texts"
	"github.com/tongdao/hub/models"
)

// Linking parameters.
const (
	// LinkCodeLength and LinkCodeAlphabet: see models.
	LinkCodeLength   = models.LinkCodeLength
	LinkCodeAlphabet = models.LinkCodeAlphabet
	// LinkCodeTTL is how long a link code and its handoffs are valid.
	LinkCodeTTL = 15 * time.Minute
	// MaxLinkFailures failed redemptions per identity are allowed within
	// LinkFailureWindow; further attempts are refused unchecked.
	MaxLinkFailures   = 5
	LinkFailureWindow = time.Hour
	// MaxGlobalLinkFailures failed redemptions of all identities together
	// within GlobalLinkFailureWindow pause every redemption until the
	// oldest ages out: guessing from many accounts is bounded too.
	MaxGlobalLinkFailures   = 100
	GlobalLinkFailureWindow = 10 * time.Minute
	// linkTokenPrefix starts every deep-link payload and QR scene we issue,
	// so other payloads never reach the database.
	linkTokenPrefix = "link_"
	// ActionLink is the button id (and menu key) that asks for a link.
	ActionLink = "link"

	handoffTimeout  = 5 * time.Second
	followupTimeout = 15 * time.Second
)

// Post-commit work the bot asks for (store.BotReply.Followup).
const (
	followLinkOffer   = "link_offer"
	followRedeemCode  = "redeem_code"
	followRedeemToken = "redeem_token"
)

// Handoff kinds: how a customer continues on another connector in one step.
const (
	// HandoffURL is a link that opens the chat and redeems the token (a
	// Telegram deep link).
	HandoffURL = "url"
	// HandoffQR is a QR code image to scan (a WeChat temporary QR code).
	HandoffQR = "qr"
	// HandoffCode means: send the code to Name by direct message (Discord).
	HandoffCode = "code"
)

// Handoff is one connector's one-tap way in.
type Handoff struct {
	Kind string
	// URL is the link or the QR image (HandoffURL, HandoffQR).
	URL string
	// Name is the bot or account to write to (HandoffCode), e.g. "@support".
	Name string
}

// HandoffTarget is a connector a customer can continue on. cmd/hub builds
// one per connector that offers a handoff capability.
type HandoffTarget struct {
	Connector string
	// Offer returns the handoff carrying token, valid for ttl. It may do
	// platform I/O (a QR code); it never runs inside a transaction.
	Offer func(ctx context.Context, token string, ttl time.Duration) (Handoff, error)
}

var linkWords = map[string]bool{"link": true, "绑定": true, "collega": true}

// linkFollowup is the hot-path detection: it looks at the inbound only, and
// only code-shaped texts and our own payloads lead to a database lookup.
func linkFollowup(in *models.Inbound) string {
	switch {
	case in.Command == "link",
		in.Kind == models.KindAction && strings.EqualFold(in.Action, ActionLink),
		in.Kind == models.KindMessage && in.Command == "" && len(in.Text) <= 16 && linkWords[strings.ToLower(strings.TrimSpace(in.Text))]:
		return followLinkOffer
	case strings.HasPrefix(in.Payload, linkTokenPrefix) && (in.Command == "start" || in.Kind == models.KindEvent):
		return followRedeemToken
	case in.Kind == models.KindMessage && in.Command == "" && models.LooksLikeLinkCode(in.Text):
		return followRedeemCode
	}
	return ""
}

func normalizeCode(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }

// meantAsCode reports whether a code-shaped message is meant as a link
// code: it is when its sender is not linked yet (their contact has this one
// identity) or asked for a code that is still open. A customer linked
// already who did not ask is sending an order number or the like: never a
// redemption, so never a failure counted against them.
func (s *Service) meantAsCode(ctx context.Context, st *store.Store, f *models.InboundFacts) (bool, error) {
	ident, err := st.Identity(ctx, f.IdentityID)
	if err != nil {
		return false, err
	}
	idents, err := st.Identities(ctx, ident.ContactID)
	if err != nil {
		return false, err
	}
	if len(idents) <= 1 {
		return true, nil // not linked yet
	}
	return st.LinkCodeAsked(ctx, ident.ContactID, s.now())
}

// newLinkCode returns a random code from LinkCodeAlphabet with at least one
// letter and one digit.
func newLinkCode() (string, error) {
	buf := make([]byte, LinkCodeLength)
	for range 64 {
		if _, err := rand.Read(buf); err != nil {
			return "", err
		}
		out := make([]byte, LinkCodeLength)
		ok := true
		for i, b := range buf {
			// 248 = 8 × 31: reject the tail to keep the choice uniform.
			if b >= 248 {
				ok = false
				break
			}
			out[i] = LinkCodeAlphabet[int(b)%len(LinkCodeAlphabet)]
		}
		if ok && models.LooksLikeLinkCode(string(out)) {
			return string(out), nil
		}
	}
	return "", fmt.Errorf("link code: no usable randomness")
}

// newLinkToken returns a deep-link payload / QR scene: the prefix and 144
// random bits, 29 characters of [A-Za-z0-9_-].
func newLinkToken() (string, error) {
	var b [18]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return linkTokenPrefix + base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// linkFollowUp does what linkFollowup decided for the inbound f: the
// platform I/O first, then the writes through commit. It returns the text
// it answered ("" when the inbound was none of linking's business).
func (s *Service) linkFollowUp(ctx context.Context, f *models.InboundFacts, conv int64, commit react.Commit) (string, error) {
	in := &f.Inbound
	switch kind := linkFollowup(in); kind {
	case followLinkOffer:
		// The code goes inline only to a sealed request: otherwise the
		// requester may not be the customer, so it goes through the outbox
		// to the customer's own chat, and the inline answer says so.
		t := offerTarget{identity: f.IdentityID, contact: f.ContactID, conversation: conv,
			connector: in.Connector, channel: in.Channel, langs: s.langs(in.Connector, in.From.Language, in.Text),
			inline: f.Inline && in.Sealed}
		o, err := s.prepareOffer(ctx, t, nil)
		if err != nil {
			return "", err
		}
		if err := commit(func(tx *store.Store) error { return s.storeOffer(ctx, tx, t, o) }); err != nil {
			return "", err
		}
		if f.Inline && !t.inline {
			return s.texts.Say(t.langs, texts.LinkSentApart), nil
		}
		return o.text, nil
	case followRedeemCode, followRedeemToken:
		var text string
		err := commit(func(tx *store.Store) error {
			if kind == followRedeemCode {
				meant, err := s.meantAsCode(ctx, tx, f)
				if err != nil {
					return err
				}
				if !meant {
					// An order number or the like: a message like any
					// other, answered as such; nothing counted.
					a, err := s.botAnswer(ctx, tx, f, conv, true)
					if err != nil || a == nil {
						return err
					}
					text = a.Text
					return s.botSay(ctx, tx, f, conv, a, f.Inline)
				}
			}
			var conv2 int64
			var err error
			if text, conv2, err = s.redeem(ctx, tx, f, conv, kind == followRedeemToken); err != nil {
				return err
			}
			return s.botSay(ctx, tx, f, conv2, &answer{Text: text}, f.Inline)
		})
		return text, err
	}
	return "", nil
}

// answerInline answers an inbound that the connector answers in its own
// response (a WeChat passive reply, due within 5 seconds), right after its
// commit. A platform retry is answered as the original was, storing nothing.
func (s *Service) answerInline(ctx context.Context, it *store.IngestItem) {
	f := &models.InboundFacts{Inbound: it.In, IdentityID: it.IdentityID, ContactID: it.ContactID,
		NewContact: it.NewContact, NewConversation: it.NewConversation, Inline: true}
	if it.Result.Duplicate {
		if linkFollowup(&it.In) == "" {
			conv := it.ConversationID
			if conv == 0 && it.ContactID != 0 {
				// A retry lands in no conversation: answer as about the
				// one the first delivery landed in.
				if c, err := s.store.ActiveConversation(ctx, it.ContactID); err == nil && c != nil {
					conv = c.ID
				}
			}
			if a, err := s.botAnswer(ctx, s.store, f, conv, false); err == nil && a != nil {
				it.Result.InlineReply, it.Result.InlineButtons = a.Text, a.Buttons
			}
		}
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), followupTimeout)
	defer cancel()
	commit := func(fn func(tx *store.Store) error) error { return s.store.Tx(ctx, fn) }
	text, err := s.linkFollowUp(ctx, f, it.ConversationID, commit)
	if err == nil && text == "" && linkFollowup(&it.In) == "" {
		err = commit(func(tx *store.Store) error {
			a, err := s.botAnswer(ctx, tx, f, it.ConversationID, true)
			if err != nil || a == nil {
				return err
			}
			text, it.Result.InlineButtons = a.Text, a.Buttons
			return s.botSay(ctx, tx, f, it.ConversationID, a, true)
		})
	}
	if err != nil {
		s.log.Error("inline answer failed", "connector", it.In.Connector, "err", err)
		return
	}
	it.Result.InlineReply = text
	s.notify()
	s.wakeOutbox()
}

// title is a connector's platform name for customers ("WeChat").
func (s *Service) title(connector, channel string) string {
	if t := s.info().Titles[connector]; t != "" {
		return t
	}
	return channel
}

// otherTargets are the handoff targets except connector.
func (s *Service) otherTargets(connector string) []HandoffTarget {
	all := s.info().Handoffs
	out := make([]HandoffTarget, 0, len(all))
	for _, h := range all {
		if h.Connector != connector {
			out = append(out, h)
		}
	}
	return out
}

type offerTarget struct {
	identity, contact, conversation int64
	connector, channel              string
	langs                           []string
	inline                          bool
}

// offer is a link offer ready to store: its secrets and its text.
type offer struct{ code, token, text string }

// prepareOffer creates a link code and token and gathers every other
// connector's handoff (platform I/O: call it outside any transaction).
func (s *Service) prepareOffer(ctx context.Context, t offerTarget, intro func(lang string) string) (offer, error) {
	code, err := newLinkCode()
	if err != nil {
		return offer{}, err
	}
	token, err := newLinkToken()
	if err != nil {
		return offer{}, err
	}
	var lines []string
	for _, target := range s.otherTargets(t.connector) {
		hctx, cancel := context.WithTimeout(ctx, handoffTimeout)
		h, err := target.Offer(hctx, token, LinkCodeTTL)
		cancel()
		if err != nil {
			s.log.Warn("link handoff unavailable", "connector", target.Connector, "err", err)
			continue
		}
		if line := s.renderHandoff(t.langs[0], s.title(target.Connector, ""), h); line != "" {
			lines = append(lines, line)
		}
	}
	parts := make([]string, len(t.langs))
	for i, l := range t.langs {
		parts[i] = s.texts.Text(l, texts.LinkOffer, "code", code, "minutes", int(LinkCodeTTL/time.Minute))
		if intro != nil {
			parts[i] = intro(l) + "\n" + parts[i]
		}
	}
	text := strings.Join(parts, "\n\n")
	if len(lines) > 0 {
		text += "\n\n" + strings.Join(lines, "\n")
	}
	return offer{code: code, token: token, text: text}, nil
}

// storeOffer stores the link code and the offer as a bot message: queued
// for the outbox, or as sent (its secrets masked) when answered inline.
func (s *Service) storeOffer(ctx context.Context, st *store.Store, t offerTarget, o offer) error {
	lc := &models.LinkCode{IdentityID: t.identity, ContactID: t.contact, CodeHash: store.HashToken(o.code),
		TokenHash: store.HashToken(o.token), ExpiresAt: s.now().UTC().Add(LinkCodeTTL)}
	if err := st.CreateLinkCode(ctx, lc, t.conversation); err != nil {
		return err
	}
	if t.conversation == 0 {
		return nil
	}
	m := &models.Message{ConversationID: t.conversation, IdentityID: &t.identity, Connector: t.connector,
		Channel: t.channel, Direction: models.DirectionOut, Kind: models.KindLinkOffer,
		SenderType: models.SenderBot, SenderName: "Bot", Text: o.text, DeliveryStatus: models.DeliveryQueued}
	if t.inline {
		now := s.now().UTC()
		m.Text, m.DeliveryStatus, m.SentAt = models.MaskLinkOffer(o.text), models.DeliverySent, &now
	}
	return st.AddMessage(ctx, m)
}

func (s *Service) renderHandoff(lang, title string, h Handoff) string {
	switch {
	case h.Kind == HandoffURL && h.URL != "":
		return s.texts.Text(lang, texts.HandoffURL, "app", title, "url", h.URL)
	case h.Kind == HandoffQR && h.URL != "":
		return s.texts.Text(lang, texts.HandoffQR, "app", title, "url", h.URL)
	case h.Kind == HandoffCode && h.Name != "":
		return s.texts.Text(lang, texts.HandoffCode, "app", title, "name", h.Name)
	}
	return ""
}

func methodWords(method string) string {
	switch method {
	case models.MergeByQR:
		return "QR scan"
	case models.MergeByDeepLink:
		return "deep link"
	case models.MergeByCode:
		return "link code"
	}
	return method
}

// redeem links the inbound's identity with the code or token it carries,
// in st's transaction, and returns the answer (the greeting, or why it did
// not work) and the conversation to say it in.
func (s *Service) redeem(ctx context.Context, st *store.Store, f *models.InboundFacts, conv int64, token bool) (string, int64, error) {
	in := &f.Inbound
	req := store.RedeemRequest{IdentityID: f.IdentityID, MaxFailures: MaxLinkFailures, Window: LinkFailureWindow,
		MaxGlobalFailures: MaxGlobalLinkFailures, GlobalWindow: GlobalLinkFailureWindow}
	if token {
		req.Hash, req.Token, req.Method = store.HashToken(in.Payload), true, models.MergeByQR
		if in.Command == "start" {
			req.Method = models.MergeByDeepLink
		}
	} else {
		req.Hash, req.Method = store.HashToken(normalizeCode(in.Text)), models.MergeByCode
	}
	req.SystemText = fmt.Sprintf("Continued on %s (via %s)", s.title(in.Connector, in.Channel), methodWords(req.Method))
	res, err := st.Redeem(ctx, req)
	if err != nil {
		return "", 0, err
	}
	langs := s.langs(in.Connector, in.From.Language, in.Text)
	var text string
	switch res.Outcome {
	case store.RedeemLinked, store.RedeemAlready:
		conv = res.ConversationID
		text, err = s.greeting(ctx, st, conv, langs, res.Outcome == store.RedeemAlready)
		if err != nil {
			return "", 0, err
		}
		s.log.Info("identity linked", "connector", in.Connector, "method", req.Method, "outcome", res.Outcome, "contact", res.ContactID)
	case store.RedeemInvalid:
		left := max(MaxLinkFailures-int(res.Failures), 0)
		text = s.texts.Say(langs, texts.LinkInvalid, "left", left, "minutes", int(LinkCodeTTL/time.Minute))
	case store.RedeemLimited:
		text = s.texts.Say(langs, texts.LinkLimited)
	case store.RedeemPaused:
		text = s.texts.Say(langs, texts.LinkPaused)
	}
	return text, conv, nil
}

// greeting tells a customer on a newly linked channel what we already know:
// the ticket, the problem in their own opening words, its status and who
// has it.
func (s *Service) greeting(ctx context.Context, st *store.Store, convID int64, langs []string, already bool) (string, error) {
	if convID == 0 {
		return s.texts.Say(langs, texts.LinkedNoCase), nil
	}
	conv, err := st.Conversation(ctx, convID)
	if err != nil {
		return "", err
	}
	opening, err := st.OpeningMessages(ctx, convID, 20)
	if err != nil {
		return "", err
	}
	problem := openingWords(opening, conv.Subject)
	key := texts.Linked
	if already {
		key = texts.LinkedAgain
	}
	// Who has it: the assignee, else the agent who answered last (never
	// "waiting for the next free agent" after an agent has answered).
	agent := conv.Assignee
	if agent == "" {
		if agent, err = st.LastReplier(ctx, convID); err != nil {
			return "", err
		}
	}
	parts := make([]string, len(langs))
	for i, l := range langs {
		var who string
		switch {
		case agent != "" && conv.Team != "":
			who = s.texts.Text(l, texts.WhoAgentTeam, "agent", agent, "team", conv.Team)
		case agent != "":
			who = s.texts.Text(l, texts.WhoAgent, "agent", agent)
		case conv.Team != "":
			who = s.texts.Text(l, texts.WhoTeam, "team", conv.Team)
		default:
			who = s.texts.Text(l, texts.WhoNobody)
		}
		parts[i] = s.texts.Text(l, key, "ticket", conv.ID, "problem", problem, "status", s.texts.Text(l, "status_"+conv.Status), "who", who)
	}
	return strings.Join(parts, "\n\n"), nil
}

// openingWords is the customer's problem in their own first words: the
// first messages that are not commands, link words or codes, trimmed.
func openingWords(texts []string, fallback string) string {
	var parts []string
	n := 0
	for _, t := range texts {
		t = strings.TrimSpace(t)
		if t == "" || strings.HasPrefix(t, "/") || strings.HasPrefix(t, "[") || linkWords[strings.ToLower(t)] || models.LooksLikeLinkCode(t) {
			continue
		}
		parts = append(parts, t)
		n += utf8.RuneCountInString(t)
		if len(parts) == 3 || n >= 120 {
			break
		}
	}
	out := strings.Join(parts, " … ")
	if out == "" {
		out = strings.TrimSpace(fallback)
	}
	out = strings.Join(strings.Fields(out), " ")
	if r := []rune(out); len(r) > 200 {
		out = string(r[:199]) + "…"
	}
	return out
}

// MergeContacts merges contact from into contact into (agents).
func (s *Service) MergeContacts(ctx context.Context, into, from int64, by models.Actor) (models.MergeView, error) {
	m, err := s.store.MergeContacts(ctx, into, from, by.Name,
		fmt.Sprintf("Contact #%d merged into this one by %s", from, by.Name))
	if err != nil {
		return models.MergeView{}, err
	}
	s.notify()
	return s.store.MergeView(ctx, m)
}

// UndoMerge restores the state before merge id.
func (s *Service) UndoMerge(ctx context.Context, id int64, by models.Actor) (models.MergeView, error) {
	m, err := s.store.UndoMerge(ctx, id, by.Name)
	if err != nil {
		return models.MergeView{}, err
	}
	s.notify()
	return s.store.MergeView(ctx, m)
}

// UnlinkIdentity makes an identity its own contact again and returns it.
func (s *Service) UnlinkIdentity(ctx context.Context, id int64, by models.Actor) (models.ContactView, error) {
	ident, err := s.store.Identity(ctx, id)
	if err != nil {
		return models.ContactView{}, err
	}
	name := ident.DisplayName
	if name == "" {
		name = ident.ExternalID
	}
	v, err := s.store.UnlinkIdentity(ctx, id, by.Name, fmt.Sprintf("%s account %q unlinked by %s; its next message opens its own conversation",
		s.title(ident.Connector, ident.Channel), name, by.Name))
	if err != nil {
		return models.ContactView{}, err
	}
	s.notify()
	return v, nil
}

// Suggestions lists contacts that may be the same person (never merged
// automatically).
func (s *Service) Suggestions(ctx context.Context, contactID int64) ([]models.SuggestionView, error) {
	return s.store.Suggestions(ctx, contactID)
}
