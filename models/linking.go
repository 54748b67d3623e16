package models

import "time"

// Message kinds beyond the inbound ones.
const (
	// KindSystem is a timeline entry written by the hub itself ("continued
	// on WeChat (via QR scan)"); it is private and never delivered.
	KindSystem = "system"
	// KindLinkOffer is the bot's message carrying a link code and handoffs.
	// Its secrets are masked in the stored text once it is delivered, and
	// always in the API and the event log (Message.View).
	KindLinkOffer = "link_offer"
)

// Merge methods: how two contacts became one.
const (
	// MergeByAgent is an agent's merge through the API.
	MergeByAgent = "agent"
	// MergeByCode is a customer who sent a link code on another channel.
	MergeByCode = "code"
	// MergeByQR is a customer who scanned a link QR code.
	MergeByQR = "qr_scan"
	// MergeByDeepLink is a customer who opened a link deep link.
	MergeByDeepLink = "deep_link"
)

// LinkCode is a one-time offer to continue a conversation elsewhere: a short
// code to type and a longer token carried by deep links and QR scenes. Only
// their SHA-256 hashes are stored; redeeming either one uses the row up.
type LinkCode struct {
	ID int64 `gorm:"primaryKey"`
	// IdentityID is the identity that asked; the code links to whatever
	// contact that identity belongs to when it is redeemed.
	IdentityID int64  `gorm:"not null;index"`
	ContactID  int64  `gorm:"not null"`
	CodeHash   string `gorm:"size:64;not null;uniqueIndex"`
	TokenHash  string `gorm:"size:64;not null;uniqueIndex"`
	ExpiresAt  time.Time
	UsedAt     *time.Time
	// UsedBy is the identity that redeemed the code.
	UsedBy    *int64
	CreatedAt time.Time
}

// LinkFailure is one failed redemption (a wrong, used or expired code),
// counted to limit guessing per identity.
type LinkFailure struct {
	ID         int64     `gorm:"primaryKey"`
	IdentityID int64     `gorm:"not null;index:idx_link_failure,priority:1"`
	CreatedAt  time.Time `gorm:"index:idx_link_failure,priority:2"`
}

// Merge records that one contact was merged into another, with everything
// needed to undo it exactly (Snapshot, JSON).
type Merge struct {
	ID              int64  `gorm:"primaryKey"`
	TargetContactID int64  `gorm:"not null;index"`
	SourceContactID int64  `gorm:"not null;index"`
	Method          string `gorm:"size:20;not null"`
	// Actor is who merged: an agent's token name, or "customer".
	Actor string `gorm:"size:200"`
	// IdentityID is the identity that redeemed a link (0 for agent merges).
	IdentityID int64
	Snapshot   string
	CreatedAt  time.Time
	UndoneAt   *time.Time
	UndoneBy   string `gorm:"size:200"`
}

// MergeView is the API's Merge.
type MergeView struct {
	ID string `json:"id"`
	// ContactID is the contact that was kept; FromContactID the one merged
	// into it (left without identities until an undo).
	ContactID     string `json:"contact_id"`
	FromContactID string `json:"from_contact_id"`
	// Method is agent, code, qr_scan or deep_link.
	Method          string     `json:"method"`
	By              string     `json:"by"`
	IdentityIDs     []string   `json:"identity_ids"`
	ConversationIDs []string   `json:"conversation_ids"`
	MovedMessages   int        `json:"moved_messages"`
	CreatedAt       time.Time  `json:"created_at"`
	UndoneAt        *time.Time `json:"undone_at"`
	UndoneBy        *string    `json:"undone_by"`
	// Contact is the kept contact as it is now.
	Contact ContactView `json:"contact"`
}

// SuggestionView proposes merging another contact: one of its identities
// shares proof of being the same person (a verified phone number or a WeChat
// UnionID). Suggestions are never merged automatically.
type SuggestionView struct {
	Contact ContactView `json:"contact"`
	// Reasons are "verified_phone" and/or "wechat_unionid".
	Reasons []string `json:"reasons"`
}
