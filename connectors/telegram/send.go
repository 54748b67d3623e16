package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	tele "gopkg.in/telebot.v3"

	"github.com/tongdao/hub/connectors/kit"
	"github.com/tongdao/hub/models"
)

// Telegram's size limits.
const (
	maxTextUnits       = 4096 // UTF-16 code units per message
	maxCallbackData    = 64   // bytes of callback_data
	maxButtonLabelRune = 200
)

// Send delivers out to the chat out.ReplyTo (or out.To): image attachments
// as photos by URL, other attachments as documents, then the agent's files
// by upload (see uploadKind), then the text, split
// into parts of at most 4096 characters, with out.Buttons as an inline
// keyboard on the last part. SendResult.ExternalID is "<chat_id>:<message_id>"
// of the last message sent.
//
// A refusal is a *models.DeliveryError; network failures and Telegram's 5xx
// are plain errors, to be retried. When a later part fails, earlier parts
// stay delivered and a retry sends them again.
func (c *Connector) Send(ctx context.Context, out models.Outbound) (models.SendResult, error) {
	chat := out.ReplyTo
	if chat == "" {
		chat = out.To
	}
	if _, err := strconv.ParseInt(chat, 10, 64); err != nil {
		return models.SendResult{}, &models.DeliveryError{Permanent: true, Reason: fmt.Sprintf("%q is not a Telegram chat id", chat)}
	}
	markup, err := inlineKeyboard(out.Buttons)
	if err != nil {
		return models.SendResult{}, &models.DeliveryError{Permanent: true, Reason: err.Error()}
	}
	parts := kit.Split(out.Text, maxTextUnits, kit.UTF16Len)

	type call struct {
		method string
		params map[string]string
		file   *models.OutboundFile // an upload, instead of method
	}
	var calls []call
	for _, a := range out.Attachments {
		ref := a.URL
		if ref == "" {
			ref = a.FileID
		}
		if ref == "" {
			return models.SendResult{}, &models.DeliveryError{Permanent: true, Reason: "an attachment has neither a URL nor a file id"}
		}
		if a.Type == "image" {
			calls = append(calls, call{method: "sendPhoto", params: map[string]string{"chat_id": chat, "photo": ref}})
		} else {
			calls = append(calls, call{method: "sendDocument", params: map[string]string{"chat_id": chat, "document": ref}})
		}
	}
	for i := range out.Files {
		calls = append(calls, call{file: &out.Files[i]})
	}
	for _, p := range parts {
		calls = append(calls, call{method: "sendMessage", params: map[string]string{"chat_id": chat, "text": p}})
	}
	if len(calls) == 0 {
		return models.SendResult{}, &models.DeliveryError{Permanent: true, Reason: "nothing to send: the message has no text and no attachments"}
	}
	if markup != "" && calls[len(calls)-1].file == nil {
		calls[len(calls)-1].params["reply_markup"] = markup
	}

	chatNum, _ := strconv.ParseInt(chat, 10, 64)
	var last tele.Message
	for i, cl := range calls {
		if err := c.sleep(ctx, c.limits.reserve(chat, c.now())); err != nil {
			return models.SendResult{}, err
		}
		last = tele.Message{}
		if cl.file != nil {
			var keyboard *tele.ReplyMarkup
			if i == len(calls)-1 {
				keyboard = teleKeyboard(out.Buttons)
			}
			if last, err = c.sendFile(ctx, chatNum, *cl.file, keyboard); err != nil {
				return models.SendResult{}, err
			}
			continue
		}
		if err := c.api.call(ctx, cl.method, cl.params, &last); err != nil {
			return models.SendResult{}, deliveryError(err)
		}
	}
	chatID := int64(0)
	if last.Chat != nil {
		chatID = last.Chat.ID
	} else {
		chatID, _ = strconv.ParseInt(chat, 10, 64)
	}
	return models.SendResult{ExternalID: messageKey(chatID, last.ID)}, nil
}

// inlineKeyboard renders buttons one per row, each answering with its ID as
// callback_data. It returns "" for no buttons.
func inlineKeyboard(buttons []models.Button) (string, error) {
	if len(buttons) == 0 {
		return "", nil
	}
	type button struct {
		Text         string `json:"text"`
		CallbackData string `json:"callback_data"`
	}
	rows := make([][]button, 0, len(buttons))
	for _, b := range buttons {
		switch {
		case b.ID == "":
			return "", errors.New("a button has no id")
		case len(b.ID) > maxCallbackData:
			return "", fmt.Errorf("button id %q is longer than Telegram's 64 bytes", b.ID)
		case strings.TrimSpace(b.Label) == "":
			return "", fmt.Errorf("button %q has no label", b.ID)
		case utf8.RuneCountInString(b.Label) > maxButtonLabelRune:
			return "", fmt.Errorf("button %q has a label longer than %d characters", b.ID, maxButtonLabelRune)
		}
		rows = append(rows, []button{{Text: b.Label, CallbackData: b.ID}})
	}
	data, err := json.Marshal(struct {
		InlineKeyboard [][]button `json:"inline_keyboard"`
	}{rows})
	return string(data), err
}

// deliveryError classifies a Bot API failure for the outbox.
func deliveryError(err error) error {
	var ae *apiError
	if !errors.As(err, &ae) {
		return err // network failure, timeout, garbled answer: transient
	}
	code := strconv.Itoa(ae.Code)
	desc := strings.ToLower(ae.Description)
	switch {
	case ae.Code == http.StatusTooManyRequests:
		wait := time.Duration(ae.RetryAfter) * time.Second
		return &models.DeliveryError{Code: code, RetryAfter: wait,
			Reason: fmt.Sprintf("Telegram's flood limit was hit; retry in %s", wait)}
	case ae.Code == http.StatusForbidden:
		reason := "Telegram does not let the bot write to this customer: " + ae.Description
		switch {
		case strings.Contains(desc, "blocked"):
			reason = "the customer blocked the bot on Telegram"
		case strings.Contains(desc, "deactivated"):
			reason = "the customer's Telegram account was deleted"
		case strings.Contains(desc, "can't initiate"):
			reason = "the customer has never started a chat with the bot"
		}
		return &models.DeliveryError{Permanent: true, Unreachable: true, Code: code, Reason: reason}
	case ae.Code == http.StatusBadRequest && strings.Contains(desc, "chat not found"):
		return &models.DeliveryError{Permanent: true, Code: code,
			Reason: "Telegram does not know this chat (the customer never wrote to this bot)"}
	case ae.Code == http.StatusBadRequest:
		return &models.DeliveryError{Permanent: true, Code: code, Reason: "Telegram refused the message: " + ae.Description}
	}
	// 401/404 (token revoked: fixable by an admin), 409, 5xx: retry later.
	return err
}
