package models

import "testing"

func TestCleanText(t *testing.T) {
	for in, want := range map[string]string{
		"":              "",
		"plain 中文":      "plain 中文",
		"a\x00b":        "ab",
		"\x00\x00":      "",
		"bad \xff byte": "bad \uFFFD byte",
		"\xffa\x00":     "\uFFFDa",
	} {
		if got := CleanText(in); got != want {
			t.Errorf("CleanText(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestInboundCleanReachesEveryTextField(t *testing.T) {
	in := Inbound{Text: "t\x00", From: Sender{DisplayName: "n\x00", Username: "u\x00"}, Payload: "p\x00",
		Attachments: []Attachment{{Name: "f\x00.pdf"}}, Location: &Location{Label: "l\x00"},
		SharedContact: &SharedContact{Phone: "1\x00", FirstName: "f\x00"}}
	in.Clean()
	if in.Text != "t" || in.From.DisplayName != "n" || in.From.Username != "u" || in.Payload != "p" ||
		in.Attachments[0].Name != "f.pdf" || in.Location.Label != "l" || in.SharedContact.Phone != "1" || in.SharedContact.FirstName != "f" {
		t.Fatalf("not cleaned: %+v", in)
	}
}
