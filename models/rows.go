package models

import "time"

// Conversation statuses.
const (
	StatusOpen     = "open"
	StatusPending  = "pending"
	StatusSnoozed  = "snoozed"
	StatusResolved = "resolved"
)

// Message directions, sender types and delivery statuses.
const (
	DirectionIn  = "in"
	DirectionOut = "out"

	SenderCustomer = "customer"
	SenderAgent    = "agent"
	SenderBot      = "bot"
	SenderSystem   = "system"

	DeliveryReceived = "received"
	DeliveryQueued   = "queued"
	DeliverySent     = "sent"
	DeliveryFailed   = "failed"
)

// Token roles.
const (
	RoleAdmin = "admin"
	RoleAgent = "agent"
)

// Contact is a customer, whatever channels they use.
type Contact struct {
	ID        int64  `gorm:"primaryKey"`
	Name      string `gorm:"size:200"`
	Phone     string `gorm:"size:40;index"`
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Identity is a contact's account on one connector.
type Identity struct {
	ID        int64  `gorm:"primaryKey"`
	ContactID int64  `gorm:"not null;index"`
	Channel   string `gorm:"size:20;not null"`
	Connector string `gorm:"size:100;not null;uniqueIndex:idx_identity_external,priority:1"`
	// ExternalID is the platform's user id (Telegram user id, OpenID, Discord user id).
	ExternalID string `gorm:"size:200;not null;uniqueIndex:idx_identity_external,priority:2"`
	// ReplyTo is where replies go (chat or DM channel); empty means ExternalID.
	ReplyTo     string `gorm:"size:200"`
	DisplayName string `gorm:"size:200"`
	Username    string `gorm:"size:200"`
	Language    string `gorm:"size:20"`
	UnionID     string `gorm:"size:200;index"`
	Phone       string `gorm:"size:40"`
	// LastInboundAt is the time of the customer's newest message on this identity.
	LastInboundAt *time.Time
	// UnreachableReason is set when the platform says the customer cannot be
	// reached (unsubscribed, DMs closed); cleared by the next inbound.
	UnreachableReason string `gorm:"size:300"`
	CreatedAt         time.Time
	UpdatedAt         time.Time
}

// Conversation is a customer's case. A contact has at most one conversation
// that is not resolved (a partial unique index enforces it).
type Conversation struct {
	ID        int64  `gorm:"primaryKey"`
	ContactID int64  `gorm:"not null;index"`
	Status    string `gorm:"size:20;not null;index"`
	Priority  string `gorm:"size:20;not null;default:normal"`
	Assignee  string `gorm:"size:200;index"`
	Team      string `gorm:"size:200;index"`
	Subject   string `gorm:"size:500"`
	// LastMessageAt orders the inbox (newest activity first, id breaks ties).
	LastMessageAt time.Time `gorm:"index"`
	CreatedAt     time.Time
	UpdatedAt     time.Time
	ResolvedAt    *time.Time
	// HandoffAt is when the conversation entered the human queue (a human
	// was asked for, or the bot could not answer); nil while the bot copes.
	HandoffAt *time.Time `gorm:"index"`
	// Deflected is true when the customer said the bot's answer solved it.
	Deflected bool `gorm:"not null;default:false"`
	// LastFAQ is the id of the FAQ entry the bot answered last, so that it
	// never gives the same answer twice in a row.
	LastFAQ string `gorm:"size:100"`
	// The customer's rating of an agent's help (see inbox/csat.go): the
	// score 1–5, the optional comment and when it was given (nil until
	// rated); CSATStage is what the customer was last asked ("asked": the
	// score, "comment": anything to add, "": nothing) and CSATUntil until
	// when their answer counts.
	CSATScore   *int       `gorm:"column:csat_score"`
	CSATComment *string    `gorm:"column:csat_comment"`
	CSATAt      *time.Time `gorm:"column:csat_at"`
	CSATStage   string     `gorm:"column:csat_stage;size:10;not null;default:''"`
	CSATUntil   *time.Time `gorm:"column:csat_until"`
}

// Message is one entry of a conversation's timeline.
type Message struct {
	ID             int64 `gorm:"primaryKey"`
	ConversationID int64 `gorm:"not null;index"`
	// Partial indexes (queued rows only) keep the inbound hot path cheap.
	IdentityID *int64 `gorm:"index:idx_msg_queued_identity,where:delivery_status = 'queued'"`
	Channel    string `gorm:"size:20"`
	Connector  string `gorm:"size:100;uniqueIndex:idx_msg_external,priority:1"`
	// ExternalID is the platform's message id, unique per connector (NULL for
	// agent, bot and system entries until delivered).
	ExternalID *string `gorm:"size:200;uniqueIndex:idx_msg_external,priority:2"`
	Direction  string  `gorm:"size:3;not null"`
	Kind       string  `gorm:"size:20;not null;default:message"`
	SenderType string  `gorm:"size:20;not null"`
	SenderID   string  `gorm:"size:200"`
	SenderName string  `gorm:"size:200"`
	Text       string
	Private    bool
	// Attachments is a JSON array of Attachment.
	Attachments string
	// Buttons is a JSON array of Button offered with an outbound message.
	Buttons string
	// Delivery state: received for inbound; queued/sent/failed for outbound.
	DeliveryStatus string `gorm:"size:20;not null;index:idx_msg_queued,where:delivery_status = 'queued'"`
	DeliveryError  string `gorm:"size:500"`
	Attempts       int
	NextAttemptAt  *time.Time
	// PlatformID is the platform's id of a delivered outbound message.
	PlatformID string `gorm:"size:200"`
	CreatedAt  time.Time
	SentAt     *time.Time
}

// Event is one entry of the append-only realtime log.
type Event struct {
	ID             int64  `gorm:"primaryKey"`
	Type           string `gorm:"size:50;not null"`
	ConversationID int64
	// Data is the event's JSON payload, served to API clients.
	Data string
	// Detail is what the reactions need beyond Data (an inbound's normalized
	// form: InboundFacts); it is never served.
	Detail    string
	CreatedAt time.Time
}

// ReactionCursor is a reaction's position in the event log and its lease:
// one replica at a time runs each reaction, and it moves Position in the
// same transaction as the reaction's own writes.
type ReactionCursor struct {
	Name       string `gorm:"primaryKey;size:100"`
	Position   int64  `gorm:"not null"`
	Owner      string `gorm:"size:100;not null;default:''"`
	LeaseUntil time.Time
	UpdatedAt  time.Time
}

// APIToken is an agent's or admin's bearer token; only its SHA-256 is stored.
type APIToken struct {
	ID         int64  `gorm:"primaryKey"`
	Name       string `gorm:"size:200;not null"`
	Role       string `gorm:"size:20;not null"`
	Hash       string `gorm:"size:64;not null;uniqueIndex"`
	CreatedAt  time.Time
	LastUsedAt *time.Time
}

// KV is a small shared key/value entry with an expiry, used for state that
// replicas must share (a WeChat access token).
type KV struct {
	Key       string `gorm:"primaryKey;size:200"`
	Value     string
	ExpiresAt time.Time
}

// TableName keeps the table name short and explicit.
func (KV) TableName() string { return "kv" }

// SkippedInbound is an inbound that could not be stored for a reason in its
// data (the database refused the row); its connector acknowledged it.
type SkippedInbound struct {
	ID         int64  `gorm:"primaryKey"`
	Connector  string `gorm:"not null"`
	ExternalID string `gorm:"not null"`
	Reason     string `gorm:"not null"`
	CreatedAt  time.Time
}

// SLAClock is one service-level clock of a conversation (a row, not a
// goroutine: it survives restarts and fires once with several replicas).
// Kind is first_response, next_response or resolution; a clock runs from
// StartedAt until StoppedAt (met, or no longer needed), warns at WarnAt and
// breaches at DueAt. Breaches counts every breach of this kind, also of
// earlier runs (a next response clock restarts after each customer message).
type SLAClock struct {
	ConversationID int64  `gorm:"primaryKey;autoIncrement:false"`
	Kind           string `gorm:"primaryKey;size:20"`
	StartedAt      time.Time
	WarnAt         time.Time
	DueAt          time.Time
	Warned         bool
	BreachedAt     *time.Time
	Breaches       int
	StoppedAt      *time.Time
}
