package models

import (
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// The agent console's work queues (GET /api/v1/conversations?view=, GET
// /api/v1/views). Every view leaves out conversations emptied by linking
// (their messages merged into another conversation).
const (
	// ViewMine: not resolved, assigned to the caller (the token's name).
	ViewMine = "mine"
	// ViewUnassigned: not resolved, nobody assigned.
	ViewUnassigned = "unassigned"
	// ViewHuman: not resolved, nobody assigned, and the customer asked for
	// a human (or the bot gave up): handoff_at is set.
	ViewHuman = "human"
	// ViewWaiting: not resolved, and the customer wrote last: nothing
	// answered their newest message (an answer is an agent's message, or
	// the bot's before a human was asked for; never a private note).
	ViewWaiting = "waiting"
	// ViewAll: every conversation, resolved ones included.
	ViewAll = "all"
)

// Views lists the work queues in the order the console shows them.
var Views = []string{ViewMine, ViewUnassigned, ViewHuman, ViewWaiting, ViewAll}

// ViewCount is how many conversations one work queue holds.
type ViewCount struct {
	ID    string `json:"id"`
	Count int    `json:"count"`
}

// ViewsView is the answer of GET /api/v1/views: the caller's name (what
// "mine" and "assign to me" use) and the size of each work queue.
type ViewsView struct {
	Me    string      `json:"me"`
	Views []ViewCount `json:"views"`
}

// MessagePreview is a conversation's newest message, for the inbox list.
type MessagePreview struct {
	ID         string    `json:"id"`
	Direction  string    `json:"direction"`
	SenderType string    `json:"sender_type"`
	Kind       string    `json:"kind"`
	Text       string    `json:"text"`
	Private    bool      `json:"private"`
	CreatedAt  time.Time `json:"created_at"`
}

// PreviewLength is how many characters of a message a preview keeps.
const PreviewLength = 140

// LinkWords are the words a customer sends to ask for a link code.
var LinkWords = map[string]bool{"link": true, "绑定": true, "collega": true}

// IsOpeningNoise reports whether a customer's text says nothing of their
// problem: empty, a command (/start, /start link_…), a timeline marker
// ("[followed the account]"), a word asking for a link code, a link code,
// or a bare option number (a WeChat customer's "1" choosing a button).
func IsOpeningNoise(text string) bool {
	t := strings.TrimSpace(text)
	return t == "" || strings.HasPrefix(t, "/") || strings.HasPrefix(t, "[") ||
		LinkWords[strings.ToLower(t)] || LooksLikeLinkCode(t) || optionNumber.MatchString(t)
}

// optionNumber is an answer to numbered options: "1", "2.", full-width "２".
var optionNumber = regexp.MustCompile(`^[0-9０-９]{1,2}[.。、]?$`)

// Preview shortens text to at most n characters on one line.
func Preview(text string, n int) string {
	t := strings.Join(strings.Fields(text), " ")
	if utf8.RuneCountInString(t) <= n {
		return t
	}
	r := []rune(t)
	return string(r[:n-1]) + "…"
}
