package tgfake

import "encoding/json"

// User is a Telegram user, as in the Bot API's User object.
type User struct {
	ID           int64  `json:"id"`
	IsBot        bool   `json:"is_bot"`
	FirstName    string `json:"first_name"`
	LastName     string `json:"last_name,omitempty"`
	Username     string `json:"username,omitempty"`
	LanguageCode string `json:"language_code,omitempty"`
	// The following are set on the bot's own user (getMe) only.
	CanJoinGroups           bool `json:"can_join_groups,omitempty"`
	CanReadAllGroupMessages bool `json:"can_read_all_group_messages,omitempty"`
	SupportsInlineQueries   bool `json:"supports_inline_queries,omitempty"`
}

// Chat is a Telegram chat; the stand-in has private chats only.
type Chat struct {
	ID        int64  `json:"id"`
	Type      string `json:"type"`
	FirstName string `json:"first_name,omitempty"`
	LastName  string `json:"last_name,omitempty"`
	Username  string `json:"username,omitempty"`
}

// PhotoSize is one size of a photo.
type PhotoSize struct {
	FileID       string `json:"file_id"`
	FileUniqueID string `json:"file_unique_id"`
	Width        int    `json:"width"`
	Height       int    `json:"height"`
	FileSize     int64  `json:"file_size,omitempty"`
}

// Document is a general file.
type Document struct {
	FileID       string `json:"file_id"`
	FileUniqueID string `json:"file_unique_id"`
	FileName     string `json:"file_name,omitempty"`
	MimeType     string `json:"mime_type,omitempty"`
	FileSize     int64  `json:"file_size,omitempty"`
}

// Voice is a voice note (Ogg Opus).
type Voice struct {
	FileID       string `json:"file_id"`
	FileUniqueID string `json:"file_unique_id"`
	Duration     int    `json:"duration"`
	MimeType     string `json:"mime_type,omitempty"`
	FileSize     int64  `json:"file_size,omitempty"`
}

// Audio is a music file.
type Audio struct {
	FileID       string `json:"file_id"`
	FileUniqueID string `json:"file_unique_id"`
	Duration     int    `json:"duration"`
	FileName     string `json:"file_name,omitempty"`
	MimeType     string `json:"mime_type,omitempty"`
	FileSize     int64  `json:"file_size,omitempty"`
}

// Video is a video file.
type Video struct {
	FileID       string `json:"file_id"`
	FileUniqueID string `json:"file_unique_id"`
	Width        int    `json:"width"`
	Height       int    `json:"height"`
	Duration     int    `json:"duration"`
	FileName     string `json:"file_name,omitempty"`
	MimeType     string `json:"mime_type,omitempty"`
	FileSize     int64  `json:"file_size,omitempty"`
}

// File is getFile's result: file_path is valid for an hour under
// {URL}/file/bot<token>/<file_path>.
type File struct {
	FileID       string `json:"file_id"`
	FileUniqueID string `json:"file_unique_id"`
	FileSize     int64  `json:"file_size,omitempty"`
	FilePath     string `json:"file_path,omitempty"`
}

// Location is a point on the map.
type Location struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
}

// Contact is a shared phone contact.
type Contact struct {
	PhoneNumber string `json:"phone_number"`
	FirstName   string `json:"first_name"`
	LastName    string `json:"last_name,omitempty"`
	UserID      int64  `json:"user_id,omitempty"`
}

// InlineKeyboardButton is one button of an inline keyboard.
type InlineKeyboardButton struct {
	Text         string `json:"text"`
	CallbackData string `json:"callback_data,omitempty"`
	URL          string `json:"url,omitempty"`
}

// InlineKeyboardMarkup is an inline keyboard attached to a message.
type InlineKeyboardMarkup struct {
	InlineKeyboard [][]InlineKeyboardButton `json:"inline_keyboard"`
}

// MessageEntity marks a command, link or formatting in a text.
type MessageEntity struct {
	Type   string `json:"type"`
	Offset int    `json:"offset"`
	Length int    `json:"length"`
}

// Message is a Telegram message.
type Message struct {
	MessageID   int                   `json:"message_id"`
	From        *User                 `json:"from,omitempty"`
	Date        int64                 `json:"date"`
	Chat        Chat                  `json:"chat"`
	EditDate    int64                 `json:"edit_date,omitempty"`
	Text        string                `json:"text,omitempty"`
	Entities    []MessageEntity       `json:"entities,omitempty"`
	Caption     string                `json:"caption,omitempty"`
	Photo       []PhotoSize           `json:"photo,omitempty"`
	Document    *Document             `json:"document,omitempty"`
	Voice       *Voice                `json:"voice,omitempty"`
	Audio       *Audio                `json:"audio,omitempty"`
	Video       *Video                `json:"video,omitempty"`
	Location    *Location             `json:"location,omitempty"`
	Contact     *Contact              `json:"contact,omitempty"`
	ReplyMarkup *InlineKeyboardMarkup `json:"reply_markup,omitempty"`
}

// CallbackQuery is a click on an inline keyboard button.
type CallbackQuery struct {
	ID           string   `json:"id"`
	From         User     `json:"from"`
	Message      *Message `json:"message,omitempty"`
	ChatInstance string   `json:"chat_instance"`
	Data         string   `json:"data,omitempty"`
}

// Update is one incoming update, as Telegram delivers it.
type Update struct {
	UpdateID      int            `json:"update_id"`
	Message       *Message       `json:"message,omitempty"`
	EditedMessage *Message       `json:"edited_message,omitempty"`
	CallbackQuery *CallbackQuery `json:"callback_query,omitempty"`
}

// WebhookInfo is getWebhookInfo's result.
type WebhookInfo struct {
	URL                  string   `json:"url"`
	HasCustomCertificate bool     `json:"has_custom_certificate"`
	PendingUpdateCount   int      `json:"pending_update_count"`
	MaxConnections       int      `json:"max_connections,omitempty"`
	AllowedUpdates       []string `json:"allowed_updates,omitempty"`
	LastErrorDate        int64    `json:"last_error_date,omitempty"`
	LastErrorMessage     string   `json:"last_error_message,omitempty"`
}

// Button is a button of a message the bot sent, as the customer sees it.
type Button struct {
	Text string `json:"text"`
	Data string `json:"data,omitempty"`
	URL  string `json:"url,omitempty"`
}

// SentMessage is a message the bot sent to a customer.
type SentMessage struct {
	MessageID int    `json:"message_id"`
	ChatID    int64  `json:"chat_id"`
	Method    string `json:"method"`
	Text      string `json:"text,omitempty"`
	Caption   string `json:"caption,omitempty"`
	// Photo, Document, Voice, Audio and Video are the file as the bot gave
	// it: a URL, a file_id, or "upload" for bytes sent in a multipart body.
	Photo    string `json:"photo,omitempty"`
	Document string `json:"document,omitempty"`
	Voice    string `json:"voice,omitempty"`
	Audio    string `json:"audio,omitempty"`
	Video    string `json:"video,omitempty"`
	// Upload describes the bytes the bot uploaded (FileData has them).
	Upload    *Upload    `json:"upload,omitempty"`
	ParseMode string     `json:"parse_mode,omitempty"`
	Buttons   [][]Button `json:"buttons,omitempty"`
	Date      int64      `json:"date"`
	// Answered callback queries and edits are recorded separately; EditDate
	// is set when the bot edited this message's keyboard.
	EditDate int64 `json:"edit_date,omitempty"`
}

// Upload is a file the bot uploaded with a send method: the stand-in keeps
// it under FileID, as Telegram does.
type Upload struct {
	FileID string `json:"file_id"`
	// Name is the multipart part's file name ("" for telebot's photos).
	Name string `json:"name,omitempty"`
	// ContentType is sniffed from the bytes, as Telegram does.
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
}

// queued is an update held for delivery: its id and its exact JSON.
type queued struct {
	id  int
	raw json.RawMessage
}
