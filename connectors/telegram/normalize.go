package telegram

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	tele "gopkg.in/telebot.v3"

	"github.com/tongdao/hub/models"
)

// update is a decoded tele.Update plus the shared position at full
// precision: telebot decodes coordinates as float32 (about 1 m off).
type update struct {
	tele.Update
	position *models.Location
}

// decodeUpdate decodes one Update. telebot's Photo.UnmarshalJSON indexes the
// size list without a length check and panics on `"photo": []`; a hostile or
// broken payload must be a decode error, not a crash.
func decodeUpdate(raw []byte) (u update, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("malformed update: %v", r)
		}
	}()
	if err := json.Unmarshal(raw, &u.Update); err != nil {
		return update{}, err
	}
	if u.ID <= 0 {
		return update{}, fmt.Errorf("update without update_id")
	}
	if m := u.Message; m != nil && (m.Location != nil || m.Venue != nil) {
		u.position = precisePosition(raw, "message")
	} else if m := u.EditedMessage; m != nil && (m.Location != nil || m.Venue != nil) {
		u.position = precisePosition(raw, "edited_message")
	}
	return u, nil
}

// precisePosition decodes the message's location again as float64; it is
// rare enough that a second decode costs nothing on the hot path.
func precisePosition(raw []byte, field string) *models.Location {
	type loc struct {
		Latitude  float64 `json:"latitude"`
		Longitude float64 `json:"longitude"`
	}
	type msg struct {
		Location *loc `json:"location"`
		Venue    *struct {
			Location loc `json:"location"`
		} `json:"venue"`
	}
	var u struct {
		Message       *msg `json:"message"`
		EditedMessage *msg `json:"edited_message"`
	}
	if json.Unmarshal(raw, &u) != nil {
		return nil
	}
	m := u.Message
	if field == "edited_message" {
		m = u.EditedMessage
	}
	switch {
	case m == nil:
		return nil
	case m.Venue != nil:
		return &models.Location{Latitude: m.Venue.Location.Latitude, Longitude: m.Venue.Location.Longitude}
	case m.Location != nil:
		return &models.Location{Latitude: m.Location.Latitude, Longitude: m.Location.Longitude}
	}
	return nil
}

// normalize turns an update into an Inbound. ok is false for updates the hub
// does not handle: group and channel chats, bots, and other update kinds.
func (c *Connector) normalize(u *update) (in models.Inbound, ok bool) {
	switch {
	case u.Message != nil:
		return c.normalizeMessage(u.Message, false, u.position)
	case u.EditedMessage != nil:
		return c.normalizeMessage(u.EditedMessage, true, u.position)
	case u.Callback != nil:
		return c.normalizeCallback(u.Callback)
	}
	return models.Inbound{}, false
}

func (c *Connector) base(kind string, from *tele.User, chatID int64) models.Inbound {
	return models.Inbound{
		Connector: c.name,
		Channel:   models.ChannelTelegram,
		Kind:      kind,
		From:      sender(from),
		ReplyTo:   strconv.FormatInt(chatID, 10),
	}
}

func sender(u *tele.User) models.Sender {
	name := strings.TrimSpace(u.FirstName + " " + u.LastName)
	return models.Sender{
		ExternalID:  strconv.FormatInt(u.ID, 10),
		DisplayName: name,
		Username:    u.Username,
		Language:    u.LanguageCode,
		IsBot:       u.IsBot,
	}
}

// messageKey is "<chat_id>:<message_id>": Telegram numbers messages per chat.
func messageKey(chatID int64, messageID int) string {
	return strconv.FormatInt(chatID, 10) + ":" + strconv.Itoa(messageID)
}

func privateFromHuman(m *tele.Message) bool {
	return m.Chat != nil && m.Chat.Type == tele.ChatPrivate && m.Sender != nil && !m.Sender.IsBot
}

func (c *Connector) normalizeMessage(m *tele.Message, edited bool, position *models.Location) (models.Inbound, bool) {
	if !privateFromHuman(m) {
		return models.Inbound{}, false
	}
	in := c.base(models.KindMessage, m.Sender, m.Chat.ID)
	in.ExternalID = messageKey(m.Chat.ID, m.ID)
	in.SentAt = unixUTC(m.Unixtime)
	if edited {
		in.Kind = models.KindEdit
		in.EditOf = in.ExternalID
		in.ExternalID += ":e" + strconv.FormatInt(m.LastEdit, 10)
		if m.LastEdit > 0 {
			in.SentAt = unixUTC(m.LastEdit)
		}
	}

	in.Text = m.Text
	if in.Text == "" {
		in.Text = m.Caption
	}
	if m.Text != "" {
		in.Command, in.Payload = parseCommand(m.Text, c.BotUsername())
	}
	if a, ok := attachment(m); ok {
		in.Attachments = []models.Attachment{a}
	}
	if m.Sticker != nil && in.Text == "" {
		in.Text = m.Sticker.Emoji
	}
	switch {
	case m.Venue != nil:
		in.Location = &models.Location{Latitude: float64(m.Venue.Location.Lat), Longitude: float64(m.Venue.Location.Lng)}
	case m.Location != nil:
		in.Location = &models.Location{Latitude: float64(m.Location.Lat), Longitude: float64(m.Location.Lng)}
	}
	if in.Location != nil && position != nil {
		in.Location.Latitude, in.Location.Longitude = position.Latitude, position.Longitude
	}
	if m.Venue != nil {
		in.Location.Label = strings.Trim(m.Venue.Title+", "+m.Venue.Address, ", ")
	}
	if ct := m.Contact; ct != nil {
		in.SharedContact = &models.SharedContact{
			Phone: ct.PhoneNumber, FirstName: ct.FirstName, LastName: ct.LastName,
			Verified: ct.UserID != 0 && ct.UserID == m.Sender.ID,
		}
	}
	if in.Text == "" && len(in.Attachments) == 0 && in.Location == nil && in.SharedContact == nil {
		return models.Inbound{}, false // service messages, polls, dice, games...
	}
	return in, true
}

func attachment(m *tele.Message) (models.Attachment, bool) {
	switch {
	case m.Photo != nil:
		return models.Attachment{Type: "image", FileID: m.Photo.FileID, Size: m.Photo.FileSize}, true
	case m.Document != nil:
		d := m.Document
		return models.Attachment{Type: "document", FileID: d.FileID, Name: d.FileName, MIMEType: d.MIME, Size: d.FileSize}, true
	case m.Voice != nil:
		v := m.Voice
		return models.Attachment{Type: "voice", FileID: v.FileID, MIMEType: v.MIME, Size: v.FileSize, Duration: v.Duration}, true
	case m.Audio != nil:
		a := m.Audio
		return models.Attachment{Type: "audio", FileID: a.FileID, Name: a.FileName, MIMEType: a.MIME, Size: a.FileSize,
			Duration: a.Duration, Title: strings.Trim(a.Performer+" - "+a.Title, " -")}, true
	case m.Video != nil:
		v := m.Video
		return models.Attachment{Type: "video", FileID: v.FileID, Name: v.FileName, MIMEType: v.MIME, Size: v.FileSize, Duration: v.Duration}, true
	case m.VideoNote != nil:
		v := m.VideoNote
		return models.Attachment{Type: "video", FileID: v.FileID, Size: v.FileSize, Duration: v.Duration}, true
	case m.Sticker != nil:
		s := m.Sticker
		return models.Attachment{Type: "sticker", FileID: s.FileID, Size: s.FileSize}, true
	}
	return models.Attachment{}, false
}

func (c *Connector) normalizeCallback(cb *tele.Callback) (models.Inbound, bool) {
	if cb.Sender == nil || cb.Sender.IsBot || cb.Data == "" {
		return models.Inbound{}, false
	}
	chatID := cb.Sender.ID // a private chat's id is the user's id
	if cb.Message != nil {
		if cb.Message.Chat == nil || cb.Message.Chat.Type != tele.ChatPrivate {
			return models.Inbound{}, false
		}
		chatID = cb.Message.Chat.ID
	}
	in := c.base(models.KindAction, cb.Sender, chatID)
	in.ExternalID = "cb:" + cb.ID
	in.Action = cb.Data
	in.Text = buttonLabel(cb.Message, cb.Data)
	in.SentAt = c.now().UTC() // callback queries carry no date
	return in, true
}

// buttonLabel finds the label of the clicked button, so the timeline can
// show what the customer chose.
func buttonLabel(m *tele.Message, data string) string {
	if m == nil || m.ReplyMarkup == nil {
		return ""
	}
	for _, row := range m.ReplyMarkup.InlineKeyboard {
		for _, b := range row {
			if b.Data == data {
				return b.Text
			}
		}
	}
	return ""
}

// parseCommand recognizes "/name", "/name payload" and "/name@bot payload".
// A command addressed to another bot is not ours. Names are lower-cased.
func parseCommand(text, bot string) (command, payload string) {
	if len(text) < 2 || text[0] != '/' {
		return "", ""
	}
	end := strings.IndexAny(text, " \t\n")
	if end < 0 {
		end = len(text)
	}
	name, target, addressed := strings.Cut(text[1:end], "@")
	if !validCommand(name) {
		return "", ""
	}
	if addressed && (target == "" || (bot != "" && !strings.EqualFold(target, bot))) {
		return "", ""
	}
	return strings.ToLower(name), strings.TrimSpace(text[end:])
}

func validCommand(name string) bool {
	if len(name) == 0 || len(name) > 32 {
		return false
	}
	for i := 0; i < len(name); i++ {
		ch := name[i]
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '_') {
			return false
		}
	}
	return true
}

func unixUTC(sec int64) time.Time { return time.Unix(sec, 0).UTC() }
