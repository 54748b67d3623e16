package discord

import (
	"context"
	"errors"
	"math"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"

	"github.com/tongdao/hub/connectors"
	"github.com/tongdao/hub/models"
)

// interactionPrefix marks ExternalIDs of interactions; message snowflakes
// never collide with it.
const interactionPrefix = "ix:"

// Discord error code for a second thread on one message.
const codeThreadAlreadyCreated = 160004

// onMessage normalizes a MESSAGE_CREATE and hands it to the sink.
func (c *Connector) onMessage(ctx context.Context, sink connectors.Sink, m *discordgo.Message) {
	in, ok := c.inboundForMessage(ctx, m)
	if !ok {
		return
	}
	_, _ = c.ingest(ctx, sink, in, c.ingestTries)
}

// inboundForMessage decides whether m is a customer message for us and
// normalizes it. For a support-channel message in thread mode it opens the
// reply thread first, so that the Inbound carries its id.
func (c *Connector) inboundForMessage(ctx context.Context, m *discordgo.Message) (models.Inbound, bool) {
	if m == nil || m.Author == nil || m.Author.Bot || m.Author.System || m.WebhookID != "" || m.Author.ID == c.self() {
		return models.Inbound{}, false
	}
	if m.Type != discordgo.MessageTypeDefault && m.Type != discordgo.MessageTypeReply {
		return models.Inbound{}, false // joins, pins, thread notices and other system messages
	}
	var replyTo string
	switch {
	case m.GuildID == "":
		replyTo = m.ChannelID
	case c.support[m.ChannelID]:
		if c.settings.SupportReply == ReplyThread {
			replyTo = c.openThread(ctx, m)
		}
	case c.isSupportThread(ctx, m.ChannelID):
		replyTo = m.ChannelID
	default:
		return models.Inbound{}, false
	}
	in := normalizeMessage(c.name, m)
	in.ReplyTo = replyTo
	return in, true
}

// normalizeMessage turns a customer message into an Inbound (ReplyTo unset).
func normalizeMessage(connector string, m *discordgo.Message) models.Inbound {
	in := models.Inbound{
		Connector:  connector,
		Channel:    models.ChannelDiscord,
		ExternalID: m.ID,
		Kind:       models.KindMessage,
		From:       sender(m.Author),
		Text:       m.Content,
		SentAt:     m.Timestamp.UTC(),
	}
	in.Command, in.Payload = parseCommand(m.Content)
	voice := m.Flags&discordgo.MessageFlagsIsVoiceMessage != 0
	for _, a := range m.Attachments {
		if a == nil {
			continue
		}
		in.Attachments = append(in.Attachments, models.Attachment{
			Type:     attachmentType(a.ContentType, voice),
			URL:      a.URL,
			FileID:   a.ID,
			Name:     a.Filename,
			MIMEType: a.ContentType,
			Size:     int64(a.Size),
			Duration: int(math.Round(a.DurationSecs)),
		})
	}
	for _, st := range m.StickerItems {
		if st == nil {
			continue
		}
		in.Attachments = append(in.Attachments, models.Attachment{Type: "sticker", FileID: st.ID, Name: st.Name})
	}
	if in.SentAt.IsZero() {
		in.SentAt = snowflakeTime(m.ID)
	}
	return in
}

func sender(u *discordgo.User) models.Sender {
	if u == nil {
		return models.Sender{}
	}
	name := u.GlobalName
	if name == "" {
		name = u.Username
	}
	return models.Sender{ExternalID: u.ID, DisplayName: name, Username: u.Username, Language: u.Locale, IsBot: u.Bot}
}

// attachmentType maps a MIME type to an Attachment type.
func attachmentType(contentType string, voice bool) string {
	mt, _, _ := strings.Cut(strings.ToLower(contentType), ";")
	switch {
	case voice && strings.HasPrefix(mt, "audio/"):
		return "voice"
	case strings.HasPrefix(mt, "image/"):
		return "image"
	case strings.HasPrefix(mt, "video/"):
		return "video"
	case strings.HasPrefix(mt, "audio/"):
		return "audio"
	default:
		return "document"
	}
}

// parseCommand splits "/start abc" into ("start", "abc"). A command word is
// 1-32 characters of letters, digits, '_' and '-'; anything else (such as a
// path like /etc/hosts) is plain text.
func parseCommand(text string) (cmd, payload string) {
	t := strings.TrimSpace(text)
	if !strings.HasPrefix(t, "/") {
		return "", ""
	}
	t = t[1:]
	word, rest := t, ""
	if i := strings.IndexFunc(t, unicode.IsSpace); i >= 0 {
		word, rest = t[:i], t[i:]
	}
	if word == "" || utf8.RuneCountInString(word) > 32 {
		return "", ""
	}
	for _, r := range word {
		if r != '_' && r != '-' && !(r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r))) {
			return "", ""
		}
	}
	return strings.ToLower(word), strings.TrimSpace(rest)
}

func snowflakeTime(id string) time.Time {
	t, err := discordgo.SnowflakeTimestamp(id)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

// openThread opens the reply thread on a support-channel message and returns
// its id, or "" (reply by DM) when Discord refuses.
func (c *Connector) openThread(ctx context.Context, m *discordgo.Message) string {
	name := "Support: " + sender(m.Author).DisplayName
	if utf8.RuneCountInString(name) > 100 {
		name = string([]rune(name)[:100])
	}
	th, err := c.rest.MessageThreadStartComplex(m.ChannelID, m.ID, &discordgo.ThreadStart{
		Name:                name,
		AutoArchiveDuration: 1440,
	}, discordgo.WithContext(ctx))
	var re *discordgo.RESTError
	switch {
	case err == nil:
		c.rememberChannel(th.ID, true)
		return th.ID
	case errors.As(err, &re) && re.Message != nil && re.Message.Code == codeThreadAlreadyCreated:
		// A redelivered message: a thread started from a message has its id.
		c.rememberChannel(m.ID, true)
		return m.ID
	default:
		c.log.Warn("discord: cannot open a support thread; replying by DM instead (grant Create Public Threads and Send Messages in Threads)",
			"channel_id", m.ChannelID, "message_id", m.ID, "err", err)
		return ""
	}
}

// isSupportThread reports whether channelID is a thread the bot opened in a
// support channel, asking the API once per unknown channel.
func (c *Connector) isSupportThread(ctx context.Context, channelID string) bool {
	c.mu.Lock()
	v, known := c.supportThread[channelID]
	self := c.selfID
	c.mu.Unlock()
	if known {
		return v
	}
	ch, err := c.rest.Channel(channelID, discordgo.WithContext(ctx))
	if err != nil {
		c.log.Warn("discord: cannot look up a channel; message ignored", "channel_id", channelID, "err", err)
		return false
	}
	ok := ch.IsThread() && c.support[ch.ParentID] && (self == "" || ch.OwnerID == self)
	c.rememberChannel(channelID, ok)
	return ok
}

func (c *Connector) rememberChannel(id string, support bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.supportThread) >= maxKnownChannels {
		// Keep the threads we know; forget the ignored channels.
		for k, v := range c.supportThread {
			if !v {
				delete(c.supportThread, k)
			}
		}
		if len(c.supportThread) >= maxKnownChannels {
			c.supportThread = map[string]bool{}
		}
	}
	c.supportThread[id] = support
}

// onInteraction handles a button click: commit first, then acknowledge the
// interaction (Discord wants an answer within 3 s).
func (c *Connector) onInteraction(ctx context.Context, sink connectors.Sink, ix *discordgo.Interaction) {
	in, ok := normalizeInteraction(c.name, ix)
	if !ok {
		return
	}
	if in.From.ExternalID == c.self() {
		return
	}
	started := time.Now()
	if _, err := c.ingest(ctx, sink, in, 1); err != nil && models.ErrorCode(err) != models.EINVALID {
		return // unanswered: the customer sees "This interaction failed" and may click again
	}
	// Stored, or skipped for good (invalid): acknowledge either way.
	err := c.rest.InteractionRespond(ix, &discordgo.InteractionResponse{
		Type: discordgo.InteractionResponseDeferredMessageUpdate,
	}, discordgo.WithContext(ctx))
	if err != nil {
		c.log.Warn("discord: cannot acknowledge a button click", "interaction_id", ix.ID, "since_received", time.Since(started), "err", err)
	}
}

// normalizeInteraction turns a message-component interaction into an action
// Inbound; other interaction types are not ours.
func normalizeInteraction(connector string, ix *discordgo.Interaction) (models.Inbound, bool) {
	if ix == nil || ix.Type != discordgo.InteractionMessageComponent {
		return models.Inbound{}, false
	}
	data, ok := ix.Data.(discordgo.MessageComponentInteractionData)
	if !ok || data.CustomID == "" {
		return models.Inbound{}, false
	}
	u := ix.User
	if ix.Member != nil && ix.Member.User != nil {
		u = ix.Member.User
	}
	if u == nil || u.Bot {
		return models.Inbound{}, false
	}
	from := sender(u)
	if ix.Locale != "" {
		from.Language = string(ix.Locale)
	}
	in := models.Inbound{
		Connector:  connector,
		Channel:    models.ChannelDiscord,
		ExternalID: interactionPrefix + ix.ID,
		Kind:       models.KindAction,
		From:       from,
		ReplyTo:    ix.ChannelID,
		Action:     data.CustomID,
		Text:       buttonLabel(ix.Message, data.CustomID),
		SentAt:     snowflakeTime(ix.ID),
	}
	return in, true
}

// buttonLabel finds the label of the clicked button on the bot's message.
func buttonLabel(m *discordgo.Message, customID string) string {
	if m == nil {
		return ""
	}
	for _, comp := range m.Components {
		row, ok := comp.(*discordgo.ActionsRow)
		if !ok {
			continue
		}
		for _, inner := range row.Components {
			if b, ok := inner.(*discordgo.Button); ok && b.CustomID == customID {
				return b.Label
			}
		}
	}
	return ""
}
