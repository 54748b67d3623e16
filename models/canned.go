package models

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Agent helpers: canned responses (shared, written by admins) and labels on
// conversations.

// CannedResponse is a stored answer agents send by its id, with the
// placeholders {name}, {ticket} and {agent} filled when it is sent.
type CannedResponse struct {
	ID int64 `gorm:"primaryKey"`
	// Shortcut is the short name agents find it by, unique, stored
	// lowercased.
	Shortcut  string `gorm:"size:50;not null;uniqueIndex"`
	Text      string `gorm:"not null"`
	CreatedBy string `gorm:"size:200"`
	UpdatedBy string `gorm:"size:200"`
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ConversationLabel is one label on one conversation; the list filter reads
// the index on (label, conversation_id).
type ConversationLabel struct {
	ConversationID int64  `gorm:"primaryKey"`
	Label          string `gorm:"primaryKey;size:50"`
	CreatedAt      time.Time
}

// CannedView is the API's CannedResponse.
type CannedView struct {
	ID        string    `json:"id"`
	Shortcut  string    `json:"shortcut"`
	Text      string    `json:"text"`
	CreatedBy string    `json:"created_by"`
	UpdatedBy string    `json:"updated_by"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// View returns the API shape of a canned response.
func (c *CannedResponse) View() CannedView {
	return CannedView{ID: ID(c.ID), Shortcut: c.Shortcut, Text: c.Text, CreatedBy: c.CreatedBy,
		UpdatedBy: c.UpdatedBy, CreatedAt: c.CreatedAt.UTC(), UpdatedAt: c.UpdatedAt.UTC()}
}

// CannedInput is a canned response as an admin writes it.
type CannedInput struct {
	Shortcut string
	Text     string
}

// Limits of the agent helpers (the API documents them).
const (
	MaxShortcutRunes = 50
	MaxCannedRunes   = 4096
	MaxLabelRunes    = 50
	// MaxLabels bounds the labels on one conversation and the labels of
	// one add or remove list.
	MaxLabels = 20
)

// NormalizeLabel returns a label as it is stored and matched: trimmed,
// inner runs of white space made one space, lowercased; it must then be 1
// to MaxLabelRunes characters without control characters or commas.
func NormalizeLabel(s string) (string, error) {
	l := strings.ToLower(strings.Join(strings.Fields(CleanText(s)), " "))
	switch n := utf8.RuneCountInString(l); {
	case n == 0:
		return "", Errorf(EINVALID, "a label must not be empty")
	case n > MaxLabelRunes:
		return "", Errorf(EINVALID, "label %q is %d characters long; at most %d are allowed", truncateRunes(l, 20)+"…", n, MaxLabelRunes)
	case strings.ContainsRune(l, ','):
		return "", Errorf(EINVALID, "label %q must not contain a comma", l)
	case strings.IndexFunc(l, unicode.IsControl) >= 0:
		return "", Errorf(EINVALID, "a label must not contain control characters")
	}
	return l, nil
}

// NormalizeShortcut returns a canned response's shortcut as stored:
// trimmed and lowercased; it must be 1 to MaxShortcutRunes letters,
// digits, "-", "_" or "." (no spaces).
func NormalizeShortcut(s string) (string, error) {
	sc := strings.ToLower(strings.TrimSpace(CleanText(s)))
	switch n := utf8.RuneCountInString(sc); {
	case n == 0:
		return "", Errorf(EINVALID, "shortcut is required")
	case n > MaxShortcutRunes:
		return "", Errorf(EINVALID, "shortcut is %d characters long; at most %d are allowed", n, MaxShortcutRunes)
	}
	for _, r := range sc {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '-' && r != '_' && r != '.' {
			return "", Errorf(EINVALID, "shortcut %q may hold only letters, digits, \"-\", \"_\" and \".\"", truncateRunes(sc, 60))
		}
	}
	return sc, nil
}

func truncateRunes(s string, n int) string {
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}
