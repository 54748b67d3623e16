package models

import (
	"context"
	"io"
	"time"
)

// Channel names, as they appear in the API.
const (
	ChannelTelegram = "telegram"
	ChannelWeChat   = "wechat"
	ChannelDiscord  = "discord"
)

// Inbound kinds.
const (
	// KindMessage is a customer's message (text and/or attachments).
	KindMessage = "message"
	// KindEdit is an edit of an earlier customer message.
	KindEdit = "edit"
	// KindAction is a customer action: a button click or a menu key.
	KindAction = "action"
	// KindEvent is a platform event: follow, unfollow, scan, start.
	KindEvent = "event"
)

// Event names carried by Inbound.Event when Kind is KindEvent.
const (
	EventSubscribe   = "subscribe"
	EventUnsubscribe = "unsubscribe"
	EventScan        = "scan"
)

// Inbound is a platform message normalized by a connector. The inbox treats
// every channel alike; nothing platform-specific is needed beyond this.
type Inbound struct {
	// Connector is the connector's configured name; Channel its platform.
	Connector string `json:"connector"`
	Channel   string `json:"channel"`
	// ExternalID identifies this message or event on the platform, unique per
	// connector: the idempotency key that drops platform retries.
	ExternalID string `json:"external_id"`
	// Kind is one of KindMessage, KindEdit, KindAction, KindEvent.
	Kind string `json:"kind"`
	// From is the customer.
	From Sender `json:"from"`
	// ReplyTo is where replies to this customer go on the platform (a chat id,
	// a DM or thread channel id, an OpenID). Empty means From.ExternalID.
	ReplyTo string `json:"reply_to,omitempty"`
	// Text is the message text or caption.
	Text        string       `json:"text,omitempty"`
	Attachments []Attachment `json:"attachments,omitempty"`
	Location    *Location    `json:"location,omitempty"`
	// SharedContact is a contact card the customer sent (e.g. Telegram contact).
	SharedContact *SharedContact `json:"shared_contact,omitempty"`
	// Command is a bot command without its slash ("start", "link"), and
	// Payload its argument, a deep-link payload or a QR scene.
	Command string `json:"command,omitempty"`
	Payload string `json:"payload,omitempty"`
	// Action is the button or menu key a customer chose (KindAction).
	Action string `json:"action,omitempty"`
	// Event is one of the Event* names (KindEvent).
	Event string `json:"event,omitempty"`
	// EditOf is the ExternalID of the edited message (KindEdit).
	EditOf string `json:"edit_of,omitempty"`
	// SentAt is the platform's timestamp.
	SentAt time.Time `json:"sent_at"`
	// InlineReply is true when the connector can answer this inbound in its
	// response (a WeChat passive reply). The bot then answers inline instead of
	// through the outbox.
	InlineReply bool `json:"-"`
	// Sealed is true when the platform authenticated this inbound end to
	// end, body included: a WeChat push verified by its msg_signature over
	// the encrypted body. An inline reply goes to whoever made the request,
	// so the inbox puts no secret (a link code) in the inline reply of an
	// unsealed inbound and sends it through the outbox to the customer
	// instead. Only InlineReply inbounds need it; others leave it false.
	Sealed bool `json:"-"`
}

// InboundFacts is what ingest knew of a stored inbound, recorded with its
// message.created event (Event.Detail) so that reactions see exactly what
// ingest saw, long after the request that carried it.
type InboundFacts struct {
	Inbound    Inbound `json:"inbound"`
	IdentityID int64   `json:"identity_id"`
	ContactID  int64   `json:"contact_id"`
	// NewContact and NewConversation tell whether this inbound created them.
	NewContact      bool `json:"new_contact,omitempty"`
	NewConversation bool `json:"new_conversation,omitempty"`
	// Reopened is true when this inbound reopened a conversation the
	// customer had rated: the bot answers it as a first message.
	Reopened bool `json:"reopened,omitempty"`
	// Inline is true when the connector answered the inbound in its own
	// response (Inbound.InlineReply): the inbox replied at once, and reactions
	// must not answer it again.
	Inline bool `json:"inline,omitempty"`
}

// Sender is a customer as a platform knows them.
type Sender struct {
	ExternalID  string `json:"external_id"`
	DisplayName string `json:"display_name,omitempty"`
	Username    string `json:"username,omitempty"`
	Language    string `json:"language,omitempty"`
	// UnionID is WeChat's cross-app user id, when known.
	UnionID string `json:"union_id,omitempty"`
	IsBot   bool   `json:"is_bot,omitempty"`
}

// Attachment is metadata of a file; the file stays on the platform.
type Attachment struct {
	// Type is image, audio, voice, video, document, sticker or link.
	Type     string `json:"type"`
	URL      string `json:"url,omitempty"`
	FileID   string `json:"file_id,omitempty"`
	Name     string `json:"name,omitempty"`
	MIMEType string `json:"mime_type,omitempty"`
	Size     int64  `json:"size,omitempty"`
	// Duration in seconds for audio and video.
	Duration int `json:"duration,omitempty"`
	// Title and Description for links.
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
	// Transcript is the platform's own recognition of a voice note (WeChat's
	// Recognition), kept with the attachment.
	Transcript string `json:"transcript,omitempty"`
}

// Location is a shared position.
type Location struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
	Label     string  `json:"label,omitempty"`
}

// SharedContact is a contact card; Verified is true when the platform proves
// it is the sender's own (Telegram: contact.user_id equals the sender).
type SharedContact struct {
	Phone     string `json:"phone"`
	FirstName string `json:"first_name,omitempty"`
	LastName  string `json:"last_name,omitempty"`
	Verified  bool   `json:"verified"`
}

// IngestResult is what the inbox tells a connector after an Inbound commits.
type IngestResult struct {
	// MessageID is the stored message's id (empty for events that store none).
	MessageID string
	// Duplicate is true when the Inbound was stored before (a platform retry).
	Duplicate bool
	// InlineReply is the text to answer in the platform response, when the
	// Inbound allowed it and the bot has something to say; InlineButtons are
	// the choices offered with it.
	InlineReply   string
	InlineButtons []Button
}

// Button is a choice offered to a customer. Platforms render it natively
// (Telegram inline keyboard, Discord button) or as numbered text options.
type Button struct {
	// ID comes back as Inbound.Action when the customer chooses it.
	ID    string `json:"id"`
	Label string `json:"label"`
}

// Outbound is a message for a connector to deliver.
type Outbound struct {
	// MessageID is our message id, stable across retries.
	MessageID string
	Connector string
	// To is the recipient identity's external id; ReplyTo the place to write
	// (chat, DM or thread channel) when different.
	To      string
	ReplyTo string
	Text    string
	// Attachments to send (an agent's image); URL points at the file.
	Attachments []Attachment
	// Files are an agent's uploaded files, delivered by connectors that
	// implement connectors.FileUploader, before the text.
	Files   []OutboundFile
	Buttons []Button
}

// OutboundFile is an agent's file to deliver, read from the hub's media
// store. Open may be called again for each attempt (a retry re-reads the
// stored bytes; nothing is fetched from an outside URL).
type OutboundFile struct {
	// Type is image, audio, video or file: a connector sends an image as a
	// photo where the platform has one.
	Type        string
	Name        string
	ContentType string
	Size        int64
	Open        func(ctx context.Context) (io.ReadCloser, error)
}

// SendResult reports a delivered message.
type SendResult struct {
	// ExternalID is the platform's id of the delivered message (the last one
	// when the text was split).
	ExternalID string
	// ReplyTo, when set, is a new reply address learned while sending (a DM
	// channel opened for the user).
	ReplyTo string
}
