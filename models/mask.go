package models

import (
	"regexp"
	"strings"
)

// linkOfferSecret matches what a link offer carries that opens the
// customer's conversation: a deep-link token, a QR ticket, an 8-character
// code.
var linkOfferSecret = regexp.MustCompile(`link_[A-Za-z0-9_-]+|ticket=[^\s&]+|\b[A-Za-z0-9]{8}\b`)

// Link codes (the inbox issues them): LinkCodeLength characters of
// LinkCodeAlphabet, upper-case letters and digits without look-alikes (no
// 0, O, 1, I, L), letters and digits mixed.
const (
	LinkCodeLength   = 8
	LinkCodeAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
)

// MaskLinkOffer hides a link offer's code, token and QR ticket. The API and
// the event log show link offers only masked (the message row keeps the
// secret until the offer is delivered, and is masked then).
func MaskLinkOffer(text string) string {
	return linkOfferSecret.ReplaceAllStringFunc(text, func(m string) string {
		switch {
		case strings.HasPrefix(m, "link_"):
			return "link_…"
		case strings.HasPrefix(m, "ticket="):
			return "ticket=…"
		case LooksLikeLinkCode(m):
			return strings.Repeat("•", len(m))
		}
		return m
	})
}

// LooksLikeLinkCode reports whether s, trimmed, has a link code's exact
// length and alphabet (any case) and mixes letters and digits, as every
// code does, so that ordinary words do not count as attempts.
func LooksLikeLinkCode(s string) bool {
	s = strings.TrimSpace(s)
	if len(s) != LinkCodeLength {
		return false
	}
	letter, digit := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		if strings.IndexByte(LinkCodeAlphabet, c) < 0 {
			return false
		}
		if c >= '2' && c <= '9' {
			digit = true
		} else {
			letter = true
		}
	}
	return letter && digit
}
