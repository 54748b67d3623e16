package models

import (
	"strings"
	"unicode/utf8"
)

// CleanText makes s storable on every database: NUL characters removed
// (PostgreSQL refuses them in text) and invalid UTF-8 replaced by U+FFFD.
func CleanText(s string) string {
	if strings.IndexByte(s, 0) < 0 && utf8.ValidString(s) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
}

// Clean applies CleanText to every text field of the inbound.
func (in *Inbound) Clean() {
	for _, p := range []*string{&in.Connector, &in.Channel, &in.ExternalID, &in.Kind, &in.From.ExternalID,
		&in.From.DisplayName, &in.From.Username, &in.From.Language, &in.From.UnionID, &in.ReplyTo, &in.Text,
		&in.Command, &in.Payload, &in.Action, &in.Event, &in.EditOf} {
		*p = CleanText(*p)
	}
	for i := range in.Attachments {
		a := &in.Attachments[i]
		for _, p := range []*string{&a.Type, &a.URL, &a.FileID, &a.Name, &a.MIMEType, &a.Title, &a.Description} {
			*p = CleanText(*p)
		}
	}
	if in.Location != nil {
		in.Location.Label = CleanText(in.Location.Label)
	}
	if c := in.SharedContact; c != nil {
		c.Phone, c.FirstName, c.LastName = CleanText(c.Phone), CleanText(c.FirstName), CleanText(c.LastName)
	}
}
