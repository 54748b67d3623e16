package models

import "time"

// The API resource shapes of the contract (docs/contract.md). Fields may be
// added, never renamed; ids are strings; times are RFC 3339 UTC.

// ConversationView is the API's Conversation.
type ConversationView struct {
	ID            string      `json:"id"`
	Status        string      `json:"status"`
	Priority      string      `json:"priority"`
	Assignee      *string     `json:"assignee"`
	Team          *string     `json:"team"`
	Subject       string      `json:"subject"`
	Contact       ContactView `json:"contact"`
	LastMessageAt time.Time   `json:"last_message_at"`
	CreatedAt     time.Time   `json:"created_at"`
	UpdatedAt     time.Time   `json:"updated_at"`
	ResolvedAt    *time.Time  `json:"resolved_at"`
	// SLA due times of the running clocks (null when none runs), and the
	// clocks that ever breached.
	FirstResponseDue *time.Time `json:"first_response_due"`
	NextResponseDue  *time.Time `json:"next_response_due"`
	ResolutionDue    *time.Time `json:"resolution_due"`
	SLABreaches      []string   `json:"sla_breaches"`
	// HandoffAt is when a human was asked for or the bot gave up; null
	// while the bot copes.
	HandoffAt *time.Time `json:"handoff_at"`
	// QueuePosition is the place in the human queue (1 is next); null when
	// assigned or not waiting for a human.
	QueuePosition *int `json:"queue_position"`
	// Deflected is true when the bot's answer solved it.
	Deflected bool `json:"deflected"`
	// LastMessage is the newest message of the timeline (notes and system
	// entries included); null when the conversation has none.
	LastMessage *MessagePreview `json:"last_message"`
	// WaitingSince is when the customer started waiting for an answer: their
	// first message after the last answer (an agent's message, or the bot's
	// before a human was asked for); null when nothing waits for one.
	WaitingSince *time.Time `json:"waiting_since"`
	// Labels are the conversation's labels, sorted; [] when none.
	Labels []string `json:"labels"`
	// CSAT is the customer's rating of an agent's help; null until rated.
	CSAT *CSATView `json:"csat"`
}

// CSATView is a customer's rating: a score 1–5, an optional comment.
type CSATView struct {
	Score   int       `json:"score"`
	Comment *string   `json:"comment"`
	At      time.Time `json:"at"`
}

// ContactView is the API's Contact.
type ContactView struct {
	ID         string         `json:"id"`
	Name       string         `json:"name"`
	Identities []IdentityView `json:"identities"`
	CreatedAt  time.Time      `json:"created_at"`
}

// IdentityView is a contact's channel identity with its reachability.
type IdentityView struct {
	ID          string `json:"id"`
	Channel     string `json:"channel"`
	Connector   string `json:"connector"`
	ExternalID  string `json:"external_id"`
	DisplayName string `json:"display_name"`
	Username    string `json:"username,omitempty"`
	Language    string `json:"language,omitempty"`
	// ReplyUntil is when the platform's reply window closes (null: no window).
	ReplyUntil    *time.Time `json:"reply_until"`
	Reachable     bool       `json:"reachable"`
	Unreachable   string     `json:"unreachable_reason,omitempty"`
	LastInboundAt *time.Time `json:"last_inbound_at"`
}

// MessageView is the API's Message.
type MessageView struct {
	ID             string           `json:"id"`
	ConversationID string           `json:"conversation_id"`
	Direction      string           `json:"direction"`
	Kind           string           `json:"kind"`
	Channel        string           `json:"channel"`
	Connector      string           `json:"connector"`
	IdentityID     *string          `json:"identity_id"`
	Sender         SenderView       `json:"sender"`
	Text           string           `json:"text"`
	Private        bool             `json:"private"`
	Attachments    []AttachmentView `json:"attachments"`
	Buttons        []Button         `json:"buttons,omitempty"`
	Delivery       DeliveryView     `json:"delivery"`
	CreatedAt      time.Time        `json:"created_at"`
}

// SenderView names who wrote a message.
type SenderView struct {
	Type string `json:"type"`
	ID   string `json:"id"`
	Name string `json:"name"`
}

// DeliveryView is a message's delivery state.
type DeliveryView struct {
	Status     string     `json:"status"`
	Error      *string    `json:"error"`
	Attempts   int        `json:"attempts"`
	PlatformID string     `json:"platform_id,omitempty"`
	SentAt     *time.Time `json:"sent_at"`
}

// EventView is one entry of the realtime log as sent over SSE.
type EventView struct {
	ID             string    `json:"id"`
	Type           string    `json:"type"`
	ConversationID string    `json:"conversation_id,omitempty"`
	Data           any       `json:"data"`
	CreatedAt      time.Time `json:"created_at"`
}

// ConversationFilter selects conversations for the inbox list.
type ConversationFilter struct {
	Status   string // one of the statuses, or "" for all
	Assignee string // an assignee name, "none" for unassigned, "" for any
	Team     string
	Priority string // low, normal, high, urgent, or "" for any
	Channel  string // a registered channel (GET /api/v1/channels)
	Query    string // text search in messages and contact names
	Label    string // a label (normalised), or "" for any
	Cursor   string
	Limit    int
	// View is a work queue (ViewMine …), "" for none; Me is the caller's
	// name, which ViewMine selects.
	View string
	Me   string
}

// Actor is who performs an API action (from the bearer token).
type Actor struct {
	TokenID int64
	Name    string
	Role    string
}

// ReplyRequest is an agent reply or private note.
type ReplyRequest struct {
	ConversationID int64
	Text           string
	Private        bool
	// Via picks an identity id explicitly; 0 means automatic routing.
	Via         int64
	Attachments []Attachment
	Buttons     []Button
	Actor       Actor
	// CannedID sends a canned response instead of Text (exactly one of
	// the two), its placeholders filled.
	CannedID int64
}

// ChannelView is a channel as listed by GET /api/v1/channels: a channel of
// a registered connector type, its title, and the configured connectors
// that carry it (names, possibly none).
type ChannelView struct {
	Name       string   `json:"name"`
	Title      string   `json:"title"`
	Connectors []string `json:"connectors"`
}

// ConnectorState is a connector's state as shown by /readyz.
type ConnectorState struct {
	Name      string    `json:"name"`
	Type      string    `json:"type"`
	State     string    `json:"state"` // starting, running, restarting, stopped
	LastError string    `json:"last_error,omitempty"`
	Restarts  int       `json:"restarts"`
	Since     time.Time `json:"since"`
	// LastProgress is when the connector last made progress with its
	// platform (a poll answered, a gateway heartbeat acknowledged), for
	// connectors that can tell.
	LastProgress *time.Time `json:"last_progress,omitempty"`
	// Stale means LastProgress is older than the type's threshold: the
	// connector is stuck, and the hub is not ready.
	Stale bool `json:"stale,omitempty"`
}

// ReportFilter selects what a summary report counts: the time range
// [From, To) and, optionally, a team (the conversation's team now) and a
// channel (that of the conversation's first customer message).
type ReportFilter struct {
	From, To time.Time
	Team     string
	Channel  string
}

// ReportSummary is GET /api/v1/reports/summary. Medians, averages and
// rates are null when nothing was counted.
type ReportSummary struct {
	From                 time.Time      `json:"from"`
	To                   time.Time      `json:"to"`
	Conversations        int            `json:"conversations"`
	Resolved             int            `json:"resolved"`
	FirstResponseSeconds ReportDuration `json:"first_response_seconds"`
	ResolutionSeconds    ReportDuration `json:"resolution_seconds"`
	CSAT                 ReportCSAT     `json:"csat"`
	DeflectionRate       *float64       `json:"deflection_rate"`
	SLA                  ReportSLA      `json:"sla"`
	ByChannel            map[string]int `json:"by_channel"`
	// ByConnector splits the conversations by the connector of their first
	// customer message; ByTeam by their team now ("none": no team).
	ByConnector map[string]int `json:"by_connector"`
	ByTeam      map[string]int `json:"by_team"`
	Backlog     int            `json:"backlog"`

	// The series the console's charts draw (report_series.go in the store).
	ByDay                []ReportDay    `json:"by_day"`
	FirstResponseBuckets []ReportBucket `json:"first_response_buckets"`
	ResolutionBuckets    []ReportBucket `json:"resolution_buckets"`
}

// ReportDay is one UTC day of a report's range: the conversations created
// that day (within the range), by the channel of their first customer
// message.
type ReportDay struct {
	Day           string         `json:"day"` // 2026-11-30
	Conversations int            `json:"conversations"`
	ByChannel     map[string]int `json:"by_channel"`
}

// ReportBucket is one bar of a distribution of durations: the samples
// above the bucket before it and at most UpToSeconds (nil: no upper bound).
type ReportBucket struct {
	UpToSeconds *float64 `json:"up_to_seconds"`
	Count       int      `json:"count"`
}

// ReportDuration summarizes durations in seconds: the nearest-rank median
// and 90th percentile of Count samples.
type ReportDuration struct {
	Median *float64 `json:"median"`
	P90    *float64 `json:"p90"`
	Count  int      `json:"count"`
}

// ReportCSAT summarizes the ratings received.
type ReportCSAT struct {
	Average      *float64       `json:"average"`
	Count        int            `json:"count"`
	Distribution map[string]int `json:"distribution"`
}

// ReportSLA counts SLA clocks stopped in time (met) and breaches.
type ReportSLA struct {
	Met      int `json:"met"`
	Breached int `json:"breached"`
}

// ReadMarkView is an agent's read mark of a conversation (the console's
// unread state): when they last had it open. The conversation is unread
// for them when the customer wrote after ReadAt.
type ReadMarkView struct {
	ConversationID string    `json:"conversation_id"`
	ReadAt         time.Time `json:"read_at"`
}

// MaxReadMarks is how many read marks GET /api/v1/me/reads returns: the
// newest.
const MaxReadMarks = 2000
