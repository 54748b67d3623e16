package models

import (
	"regexp"
	"strings"
)

// linkOfferSecret matches what a link offer carries that opens the
// customer's conversation: a deep-link token, a QR ticket, an 8-character
// code.
var linkOfferSecret = regexp.MustCompile(`link_[A-Za-z0-9_-]+|ticket=[^\s&]+|\b[A-Za-z0-9]{8}\b`)

// linkCodeAlphabet is the link codes' alphabet (the inbox issues them).
const linkCodeAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

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
		case looksLikeLinkCode(m):
			return strings.Repeat("•", len(m))
		}
		return m
	})
}

// looksLikeLinkCode: 8 characters of the alphabet (any case), letters and
// digits mixed, as every code is.
func looksLikeLinkCode(s string) bool {
	letter, digit := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		if strings.IndexByte(linkCodeAlphabet, c) < 0 {
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
