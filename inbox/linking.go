package inbox

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tongdao/hub/inbox/store"
	"github.com/tongdao/hub/models"
)

// Linking parameters.
const (
	// LinkCodeLength is the length of a link code.
	LinkCodeLength = 8
	// LinkCodeAlphabet has upper-case letters and digits without look-alikes
	// (no 0, O, 1, I, L).
	LinkCodeAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
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
	case in.Kind == models.KindMessage && in.Command == "" && looksLikeCode(in.Text):
		return followRedeemCode
	}
	return ""
}

// looksLikeCode reports whether s, trimmed and upper-cased, has a link
// code's exact length and alphabet and mixes letters and digits (as every
// code does), so that ordinary words do not count as attempts.
func looksLikeCode(s string) bool {
	s = strings.TrimSpace(s)
	if len(s) != LinkCodeLength {
		return false
	}
	letter, digit := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		if strings.IndexByte(LinkCodeAlphabet, c) < 0 {
			return false
		}
		if c >= '2' && c <= '9' {
			digit = true
		} else {
			letter = true
		}
	}
	return letter && digit
}

func normalizeCode(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }

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
		if ok && looksLikeCode(string(out)) {
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

// followUp finishes what the bot decided inside the ingest transaction.
func (s *Service) followUp(ctx context.Context, it *store.IngestItem) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), followupTimeout)
	defer cancel()
	var err error
	switch it.Followup {
	case followLinkOffer:
		var text string
		text, err = s.sendOffer(ctx, offerTarget{identity: it.IdentityID, contact: it.ContactID, conversation: it.ConversationID,
			connector: it.In.Connector, zh: chinese(&it.In), inline: it.In.InlineReply}, "", "")
		if err == nil && it.In.InlineReply {
			it.Result.InlineReply = text
		}
	case followRedeemCode, followRedeemToken:
		err = s.redeem(ctx, it)
	}
	if err != nil {
		s.log.Error("link follow-up failed", "connector", it.In.Connector, "followup", it.Followup, "err", err)
	}
}

func chinese(in *models.Inbound) bool {
	return strings.HasPrefix(in.From.Language, "zh") || in.Channel == models.ChannelWeChat
}

func pickLang(zh bool, en, cn string) string {
	if zh {
		return cn + "\n\n" + en
	}
	return en
}

// title is a connector's platform name for customers ("WeChat").
func (s *Service) title(connector, channel string) string {
	if t := s.titles[connector]; t != "" {
		return t
	}
	return channel
}

// otherTargets are the handoff targets except connector.
func (s *Service) otherTargets(connector string) []HandoffTarget {
	out := make([]HandoffTarget, 0, len(s.handoffs))
	for _, h := range s.handoffs {
		if h.Connector != connector {
			out = append(out, h)
		}
	}
	return out
}

type offerTarget struct {
	identity, contact, conversation int64
	connector                       string
	zh, inline                      bool
}

// sendOffer creates a link code and token, gathers every other connector's
// handoff (platform I/O, outside any transaction) and stores the offer as a
// bot message: queued for the outbox, or as sent when it is answered inline.
// It returns the offer's text.
func (s *Service) sendOffer(ctx context.Context, t offerTarget, introEN, introCN string) (string, error) {
	code, err := newLinkCode()
	if err != nil {
		return "", err
	}
	token, err := newLinkToken()
	if err != nil {
		return "", err
	}
	lc := &models.LinkCode{IdentityID: t.identity, ContactID: t.contact, CodeHash: store.HashToken(code),
		TokenHash: store.HashToken(token), ExpiresAt: s.now().UTC().Add(LinkCodeTTL)}
	if err := s.store.CreateLinkCode(ctx, lc, t.conversation); err != nil {
		return "", err
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
		if line := renderHandoff(t.zh, s.title(target.Connector, ""), h); line != "" {
			lines = append(lines, line)
		}
	}
	en := fmt.Sprintf("To continue this conversation on another app, send this code there: %s\n"+
		"It works once, for 15 minutes. Never share it: it opens this conversation.", code)
	cn := fmt.Sprintf("要在其他应用继续本对话，请在那里发送验证码：%s\n验证码 15 分钟内有效，仅可使用一次。请勿分享给他人。", code)
	if introEN != "" {
		en, cn = introEN+"\n"+en, introCN+"\n"+cn
	}
	text := pickLang(t.zh, en, cn)
	if len(lines) > 0 {
		text += "\n\n" + strings.Join(lines, "\n")
	}
	if t.conversation != 0 {
		m := &models.Message{ConversationID: t.conversation, IdentityID: &t.identity, Connector: t.connector,
			Channel: s.channelOf(ctx, t.identity), Direction: models.DirectionOut, Kind: models.KindLinkOffer,
			SenderType: models.SenderBot, SenderName: "Bot", Text: text, DeliveryStatus: models.DeliveryQueued}
		if t.inline {
			now := s.now().UTC()
			m.Text, m.DeliveryStatus, m.SentAt = maskOffer(text), models.DeliverySent, &now
		}
		if err := s.store.AddMessage(ctx, m); err != nil {
			return "", err
		}
		s.notify()
		if !t.inline {
			s.wakeOutbox()
		}
	}
	return text, nil
}

func (s *Service) channelOf(ctx context.Context, identity int64) string {
	i, err := s.store.Identity(ctx, identity)
	if err != nil {
		return ""
	}
	return i.Channel
}

func renderHandoff(zh bool, title string, h Handoff) string {
	switch h.Kind {
	case HandoffURL:
		if h.URL != "" {
			return pickLine(zh, fmt.Sprintf("• %s: tap %s", title, h.URL), fmt.Sprintf("• %s：点击 %s", title, h.URL))
		}
	case HandoffQR:
		if h.URL != "" {
			return pickLine(zh, fmt.Sprintf("• %s: scan the QR code %s", title, h.URL), fmt.Sprintf("• %s：扫描二维码 %s", title, h.URL))
		}
	case HandoffCode:
		if h.Name != "" {
			return pickLine(zh, fmt.Sprintf("• %s: send the code to %s in a direct message", title, h.Name),
				fmt.Sprintf("• %s：私信 %s 发送验证码", title, h.Name))
		}
	}
	return ""
}

func pickLine(zh bool, en, cn string) string {
	if zh {
		return cn
	}
	return en
}

var offerSecret = regexp.MustCompile(`link_[A-Za-z0-9_-]+|ticket=[^\s&]+|\b[A-Za-z0-9]{8}\b`)

// maskOffer hides a link offer's code, token and QR ticket in the stored
// text, so the database keeps no usable secret once the offer is delivered.
func maskOffer(text string) string {
	return offerSecret.ReplaceAllStringFunc(text, func(m string) string {
		switch {
		case strings.HasPrefix(m, linkTokenPrefix):
			return linkTokenPrefix + "…"
		case strings.HasPrefix(m, "ticket="):
			return "ticket=…"
		case looksLikeCode(m):
			return strings.Repeat("•", LinkCodeLength)
		}
		return m
	})
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

// redeem links the inbound's identity with the code or token it carries and
// answers: the greeting, or why it did not work.
func (s *Service) redeem(ctx context.Context, it *store.IngestItem) error {
	in := &it.In
	req := store.RedeemRequest{IdentityID: it.IdentityID, MaxFailures: MaxLinkFailures, Window: LinkFailureWindow,
		MaxGlobalFailures: MaxGlobalLinkFailures, GlobalWindow: GlobalLinkFailureWindow}
	if it.Followup == followRedeemToken {
		req.Hash, req.Token, req.Method = store.HashToken(in.Payload), true, models.MergeByQR
		if in.Command == "start" {
			req.Method = models.MergeByDeepLink
		}
	} else {
		req.Hash, req.Method = store.HashToken(normalizeCode(in.Text)), models.MergeByCode
	}
	req.SystemText = fmt.Sprintf("Continued on %s (via %s)", s.title(in.Connector, in.Channel), methodWords(req.Method))
	res, err := s.store.Redeem(ctx, req)
	if err != nil {
		return err
	}
	zh := chinese(in)
	var text string
	conv := it.ConversationID
	switch res.Outcome {
	case store.RedeemLinked, store.RedeemAlready:
		conv = res.ConversationID
		text, err = s.greeting(ctx, conv, zh, res.Outcome == store.RedeemAlready)
		if err != nil {
			return err
		}
		s.log.Info("identity linked", "connector", in.Connector, "method", req.Method, "outcome", res.Outcome, "contact", res.ContactID)
	case store.RedeemInvalid:
		left := max(MaxLinkFailures-int(res.Failures), 0)
		text = pickLang(zh,
			fmt.Sprintf("If that was a link code, it did not work: it may be mistyped, used already or expired (codes last 15 minutes). "+
				"Send \"link\" in the chat where you started to get a new one. Attempts left this hour: %d.", left),
			fmt.Sprintf("如果这是关联验证码，它无效：可能输错、已使用或已过期（有效期 15 分钟）。请在原对话中发送“绑定”获取新的验证码。本小时剩余尝试次数：%d。", left))
	case store.RedeemLimited:
		text = pickLang(zh,
			"Too many wrong link codes were sent from this account, so linking is paused for an hour for your safety. "+
				"You can keep writing here: an agent will read your messages.",
			"此账号发送的错误验证码过多，为保护您的安全，关联功能暂停一小时。您仍可在这里留言，客服会查看。")
	case store.RedeemPaused:
		text = pickLang(zh,
			"Linking is paused for a few minutes for everyone's safety: too many wrong codes were sent. "+
				"Please try again later. You can keep writing here: an agent will read your messages.",
			"由于近期错误验证码过多，为保护大家的安全，关联功能暂停几分钟，请稍后再试。您仍可在这里留言，客服会查看。")
	}
	return s.botSay(ctx, it, conv, text)
}

// botSay stores the bot's answer to it in conversation conv: as the inline
// reply when the inbound allows one, else queued for the outbox.
func (s *Service) botSay(ctx context.Context, it *store.IngestItem, conv int64, text string) error {
	in := &it.In
	if in.InlineReply {
		it.Result.InlineReply = text
	}
	if conv == 0 {
		if !in.InlineReply {
			s.log.Warn("bot answer dropped: no conversation to queue it in", "connector", in.Connector)
		}
		return nil
	}
	identity := it.IdentityID
	m := &models.Message{ConversationID: conv, IdentityID: &identity, Channel: in.Channel, Connector: in.Connector,
		Direction: models.DirectionOut, Kind: models.KindMessage, SenderType: models.SenderBot, SenderName: "Bot",
		Text: text, DeliveryStatus: models.DeliveryQueued}
	if in.InlineReply {
		now := s.now().UTC()
		m.DeliveryStatus, m.SentAt = models.DeliverySent, &now
	}
	if err := s.store.AddMessage(ctx, m); err != nil {
		return err
	}
	s.notify()
	if !in.InlineReply {
		s.wakeOutbox()
	}
	return nil
}

// greeting tells a customer on a newly linked channel what we already know:
// the ticket, the problem in their own opening words, its status and who
// has it.
func (s *Service) greeting(ctx context.Context, convID int64, zh, already bool) (string, error) {
	if convID == 0 {
		return pickLang(zh, "This chat is now linked to your account. Write here any time.",
			"本对话已关联到您的账号，您可以随时在这里留言。"), nil
	}
	conv, err := s.store.Conversation(ctx, convID)
	if err != nil {
		return "", err
	}
	texts, err := s.store.OpeningMessages(ctx, convID, 20)
	if err != nil {
		return "", err
	}
	problem := openingWords(texts, conv.Subject)
	who := "it is waiting for the next free agent"
	whoCN := "正在等待客服接手"
	switch {
	case conv.Assignee != "" && conv.Team != "":
		who = fmt.Sprintf("%s (%s team) is handling it", conv.Assignee, conv.Team)
		whoCN = fmt.Sprintf("由 %s（%s 团队）负责", conv.Assignee, conv.Team)
	case conv.Assignee != "":
		who = conv.Assignee + " is handling it"
		whoCN = "由 " + conv.Assignee + " 负责"
	case conv.Team != "":
		who = "the " + conv.Team + " team has it"
		whoCN = "由 " + conv.Team + " 团队负责"
	}
	lead, leadCN := "Welcome! This chat is now linked to your ticket", "欢迎！本对话已关联到您的工单"
	if already {
		lead, leadCN = "This chat is already linked to your ticket", "本对话已关联到您的工单"
	}
	en := fmt.Sprintf("%s #%d: “%s”.\nStatus: %s; %s.\nJust write here: no need to repeat anything, and our replies now come here.",
		lead, conv.ID, problem, conv.Status, who)
	cn := fmt.Sprintf("%s #%d：“%s”。\n状态：%s；%s。\n请直接在这里继续，无需重复描述问题，我们的回复也会发到这里。",
		leadCN, conv.ID, problem, statusCN(conv.Status), whoCN)
	return pickLang(zh, en, cn), nil
}

func statusCN(st string) string {
	switch st {
	case models.StatusOpen:
		return "处理中"
	case models.StatusPending:
		return "等待回复"
	case models.StatusSnoozed:
		return "稍后处理"
	case models.StatusResolved:
		return "已解决"
	}
	return st
}

// openingWords is the customer's problem in their own first words: the
// first messages that are not commands, link words or codes, trimmed.
func openingWords(texts []string, fallback string) string {
	var parts []string
	n := 0
	for _, t := range texts {
		t = strings.TrimSpace(t)
		if t == "" || strings.HasPrefix(t, "/") || strings.HasPrefix(t, "[") || linkWords[strings.ToLower(t)] || looksLikeCode(t) {
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

// RunReminders offers a link to customers whose only open channel is about
// to close, every interval, until ctx ends.
func (s *Service) RunReminders(ctx context.Context) error {
	for {
		if _, err := s.SendReminders(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("link reminders failed", "err", err)
		}
		t := time.NewTimer(s.reminderEvery)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// SendReminders makes one pass: each identity whose reply window closes
// within two hours, whose contact has an active conversation and no other
// channel open beyond that, gets one link offer per window. It returns how
// many offers it queued.
func (s *Service) SendReminders(ctx context.Context) (int, error) {
	now := s.now()
	sent := 0
	for connector, window := range s.windows {
		if window <= closingSoon || len(s.otherTargets(connector)) == 0 {
			continue
		}
		idents, err := s.store.ClosingIdentities(ctx, connector, now.Add(-window), now.Add(closingSoon-window))
		if err != nil {
			return sent, err
		}
		for i := range idents {
			ok, err := s.remind(ctx, &idents[i], window, now)
			if err != nil {
				return sent, err
			}
			if ok {
				sent++
			}
		}
	}
	return sent, nil
}

func (s *Service) remind(ctx context.Context, ident *models.Identity, window time.Duration, now time.Time) (bool, error) {
	key := fmt.Sprintf("link:reminder:%d:%d", ident.ID, ident.LastInboundAt.UnixNano())
	if _, done, err := s.store.KVGet(ctx, key); err != nil || done {
		return false, err
	}
	all, err := s.store.Identities(ctx, ident.ContactID)
	if err != nil {
		return false, err
	}
	for i := range all {
		if all[i].ID != ident.ID && all[i].CanReply(s.window(all[i].Connector), now.Add(closingSoon)) {
			return false, nil // replies move there already
		}
	}
	conv, err := s.store.ActiveConversation(ctx, ident.ContactID)
	if err != nil || conv == nil {
		return false, err
	}
	left := ident.ReplyUntil(window).Sub(now).Round(time.Minute)
	zh := strings.HasPrefix(ident.Language, "zh") || ident.Channel == models.ChannelWeChat
	introEN := fmt.Sprintf("We can answer you in this chat for about %s more (%s allows replies only for %s after your last message).",
		fmtLeft(left), s.title(ident.Connector, ident.Channel), fmtWindow(window))
	introCN := fmt.Sprintf("本对话还可回复约 %s（平台只允许在您最后一条消息后 %s 内回复）。", fmtLeft(left), fmtWindow(window))
	if _, err := s.sendOffer(ctx, offerTarget{identity: ident.ID, contact: ident.ContactID, conversation: conv.ID,
		connector: ident.Connector, zh: zh}, introEN, introCN); err != nil {
		return false, err
	}
	return true, s.store.KVSet(ctx, key, "1", window)
}

func fmtLeft(d time.Duration) string {
	if d >= time.Hour {
		return fmt.Sprintf("%dh%02dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	return fmt.Sprintf("%d minutes", int(d/time.Minute))
}
