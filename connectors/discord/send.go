package discord

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"

	"github.com/tongdao/hub/connectors/kit"
	"github.com/tongdao/hub/models"
)

// Discord's message limits.
const (
	maxContent     = 2000
	maxButtons     = 25
	maxRowButtons  = 5
	maxCustomID    = 100
	maxButtonLabel = 80
	maxEmbeds      = 10
)

// outgoingMessage is the body of POST /channels/{id}/messages. It adds
// nonce and enforce_nonce, which discordgo's MessageSend lacks: with them a
// retried part within a few minutes returns the message already created
// instead of posting it twice.
type outgoingMessage struct {
	Content         string                            `json:"content,omitempty"`
	Embeds          []*discordgo.MessageEmbed         `json:"embeds,omitempty"`
	Components      []discordgo.MessageComponent      `json:"components,omitempty"`
	AllowedMentions *discordgo.MessageAllowedMentions `json:"allowed_mentions,omitempty"`
	Nonce           string                            `json:"nonce,omitempty"`
	EnforceNonce    bool                              `json:"enforce_nonce,omitempty"`
}

// Send delivers one outbound message: to out.ReplyTo (a DM or thread
// channel) when set, else to a DM opened with out.To. The agent's files go
// first, uploaded as attachments (ten and 10 MiB per message); long text
// is split in order; buttons and image embeds ride on the last part.
func (c *Connector) Send(ctx context.Context, out models.Outbound) (models.SendResult, error) {
	groups, err := fileGroups(out.Files)
	if err != nil {
		return models.SendResult{}, err
	}
	textParts, err := buildParts(out)
	if err != nil {
		return models.SendResult{}, err
	}
	parts := make([]*outgoingMessage, 0, len(groups)+len(textParts))
	for range groups {
		parts = append(parts, &outgoingMessage{AllowedMentions: userMentions()})
	}
	parts = append(parts, textParts...)
	var res models.SendResult
	channelID := out.ReplyTo
	if channelID == "" {
		if !isSnowflake(out.To) {
			return res, &models.DeliveryError{Permanent: true, Unreachable: true, Reason: fmt.Sprintf("no Discord user id to write to (got %q)", out.To)}
		}
		ch, err := c.rest.UserChannelCreate(out.To, discordgo.WithContext(ctx))
		if err != nil {
			return res, deliveryError(err)
		}
		channelID = ch.ID
		res.ReplyTo = ch.ID
	}
	endpoint := discordgo.EndpointChannelMessages(channelID)
	for i, p := range parts {
		if out.MessageID != "" {
			p.Nonce = partNonce(out.MessageID, i)
			p.EnforceNonce = true
		}
		// discordgo's rate limiter waits on buckets and honours 429 retry_after.
		var body []byte
		if i < len(groups) {
			body, err = c.postFiles(ctx, endpoint, p, groups[i])
		} else {
			body, err = c.rest.RequestWithBucketID(http.MethodPost, endpoint, p, endpoint, discordgo.WithContext(ctx))
		}
		if err != nil {
			if i > 0 {
				c.log.Warn("discord: message partly delivered", "message_id", out.MessageID, "parts_sent", i, "parts", len(parts))
			}
			return res, deliveryError(err)
		}
		var m discordgo.Message
		if err := json.Unmarshal(body, &m); err != nil {
			return res, &models.DeliveryError{Reason: "unreadable answer from Discord: " + err.Error()}
		}
		res.ExternalID = m.ID
	}
	return res, nil
}

// partNonce derives a nonce (at most 25 characters) from our message id and
// the part index, stable across retries.
func partNonce(messageID string, part int) string {
	sum := sha256.Sum256([]byte(messageID + ":" + strconv.Itoa(part)))
	return "td" + hex.EncodeToString(sum[:])[:22]
}

// buildParts validates out and lays it out as Discord messages.
func buildParts(out models.Outbound) ([]*outgoingMessage, error) {
	components, err := buttonRows(out.Buttons)
	if err != nil {
		return nil, err
	}
	text := out.Text
	var embeds []*discordgo.MessageEmbed
	var links []string
	for i, a := range out.Attachments {
		if a.URL == "" {
			return nil, &models.DeliveryError{Permanent: true, Reason: fmt.Sprintf("attachment %d has no URL", i+1)}
		}
		isImage := a.Type == "image" || strings.HasPrefix(strings.ToLower(a.MIMEType), "image/")
		if isImage && len(embeds) < maxEmbeds {
			embeds = append(embeds, &discordgo.MessageEmbed{Type: discordgo.EmbedTypeRich, Image: &discordgo.MessageEmbedImage{URL: a.URL}})
			continue
		}
		if a.Name != "" {
			links = append(links, a.Name+": "+a.URL)
		} else {
			links = append(links, a.URL)
		}
	}
	if len(links) > 0 {
		if text != "" {
			text += "\n"
		}
		text += strings.Join(links, "\n")
	}
	chunks := kit.Split(text, maxContent, kit.UTF16Len)
	if len(chunks) == 0 && len(embeds) == 0 && len(components) == 0 {
		if len(out.Files) > 0 {
			return nil, nil // the files are the message
		}
		return nil, &models.DeliveryError{Permanent: true, Reason: "empty message: no text, attachment or button"}
	}
	if len(chunks) == 0 {
		chunks = []string{""}
	}
	parts := make([]*outgoingMessage, len(chunks))
	for i, ch := range chunks {
		parts[i] = &outgoingMessage{Content: ch, AllowedMentions: userMentions()}
	}
	last := parts[len(parts)-1]
	last.Embeds = embeds
	last.Components = components
	return parts, nil
}

// userMentions lets a message mention users only (never @everyone or roles).
func userMentions() *discordgo.MessageAllowedMentions {
	return &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{discordgo.AllowedMentionTypeUsers}}
}

// buttonRows lays buttons out five per row, after checking Discord's limits.
func buttonRows(buttons []models.Button) ([]discordgo.MessageComponent, error) {
	if len(buttons) == 0 {
		return nil, nil
	}
	if len(buttons) > maxButtons {
		return nil, &models.DeliveryError{Permanent: true, Reason: fmt.Sprintf("too many buttons: %d (Discord allows %d)", len(buttons), maxButtons)}
	}
	seen := map[string]bool{}
	var rows []discordgo.MessageComponent
	var row *discordgo.ActionsRow
	for i, b := range buttons {
		switch n := utf8.RuneCountInString(b.ID); {
		case n == 0 || n > maxCustomID:
			return nil, &models.DeliveryError{Permanent: true, Reason: fmt.Sprintf("button %d: id must be 1 to %d characters", i+1, maxCustomID)}
		case seen[b.ID]:
			return nil, &models.DeliveryError{Permanent: true, Reason: fmt.Sprintf("button %d: id %q is used twice", i+1, b.ID)}
		}
		if n := utf8.RuneCountInString(b.Label); n == 0 || n > maxButtonLabel {
			return nil, &models.DeliveryError{Permanent: true, Reason: fmt.Sprintf("button %d: label must be 1 to %d characters", i+1, maxButtonLabel)}
		}
		seen[b.ID] = true
		if row == nil || len(row.Components) == maxRowButtons {
			row = &discordgo.ActionsRow{}
			rows = append(rows, row)
		}
		row.Components = append(row.Components, discordgo.Button{Label: b.Label, CustomID: b.ID, Style: discordgo.PrimaryButton})
	}
	return rows, nil
}

// Reasons shown to agents for Discord's refusals.
const (
	reasonDMsClosed     = "cannot send messages to this user (DMs closed or no shared server)"
	reasonDMsTooFast    = "opening direct messages too fast"
	reasonUnknownTarget = "the DM or thread no longer exists (unknown channel)"
)

// deliveryError maps discordgo's errors to *models.DeliveryError.
func deliveryError(err error) error {
	var rl *discordgo.RateLimitError
	if errors.As(err, &rl) {
		return &models.DeliveryError{Reason: "rate limited by Discord", RetryAfter: rl.RetryAfter}
	}
	var re *discordgo.RESTError
	if !errors.As(err, &re) || re.Response == nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return &models.DeliveryError{Reason: "delivery interrupted: " + err.Error()}
		}
		return &models.DeliveryError{Reason: "Discord unreachable: " + err.Error()}
	}
	status := re.Response.StatusCode
	code, msg := 0, ""
	if re.Message != nil {
		code, msg = re.Message.Code, re.Message.Message
	}
	d := &models.DeliveryError{Permanent: true}
	if code != 0 {
		d.Code = strconv.Itoa(code)
	}
	switch code {
	case 50007:
		d.Unreachable = true
		d.Reason = reasonDMsClosed
		return d
	case 40003:
		d.Reason = reasonDMsTooFast
		return d
	case 10003:
		d.Reason = reasonUnknownTarget
		return d
	case 10013:
		d.Unreachable = true
		d.Reason = "unknown Discord user"
		return d
	case 50001, 50013:
		d.Reason = "the bot lacks permission to write there (" + msg + ")"
		return d
	case 50083:
		d.Reason = "the thread is archived"
		return d
	}
	switch {
	case status == http.StatusTooManyRequests:
		d.Permanent = false
		d.Reason = "rate limited by Discord"
		if s, err := strconv.ParseFloat(re.Response.Header.Get("Retry-After"), 64); err == nil {
			d.RetryAfter = time.Duration(s * float64(time.Second))
		}
	case status == http.StatusUnauthorized:
		// Retrying succeeds once an admin fixes the token.
		d.Permanent = false
		d.Reason = "Discord rejected the bot token (HTTP 401)"
	case status >= 500:
		d.Permanent = false
		d.Reason = fmt.Sprintf("Discord server error (HTTP %d)", status)
	default:
		if msg == "" {
			msg = http.StatusText(status)
		}
		d.Reason = fmt.Sprintf("Discord refused the message: %s (HTTP %d)", msg, status)
	}
	return d
}
