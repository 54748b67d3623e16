package inbox

import (
	"slices"
	"testing"

	"github.com/tongdao/hub/inbox/store"
	"github.com/tongdao/hub/models"
)

// What an inbound may answer of a rating: scores (buttons or bare numbers,
// out of range included, so the bot can ask again), the comment, the skip.
func TestFeedbackStages(t *testing.T) {
	asked, comment := store.CSATAsked, store.CSATComment
	for _, tc := range []struct {
		in   models.Inbound
		want []string
	}{
		{models.Inbound{Kind: models.KindAction, Action: "csat:3"}, []string{asked, comment}},
		{models.Inbound{Kind: models.KindAction, Action: "csat:0"}, nil},
		{models.Inbound{Kind: models.KindAction, Action: "csat:6"}, nil},
		{models.Inbound{Kind: models.KindAction, Action: "csat:55"}, nil},
		{models.Inbound{Kind: models.KindAction, Action: ActionSkip}, []string{comment}},
		{models.Inbound{Kind: models.KindAction, Action: ActionHuman}, nil},
		{models.Inbound{Kind: models.KindMessage, Text: " 4. "}, []string{asked, comment}},
		{models.Inbound{Kind: models.KindMessage, Text: "７"}, []string{asked, comment}},
		{models.Inbound{Kind: models.KindMessage, Text: "12"}, []string{asked, comment}},
		{models.Inbound{Kind: models.KindMessage, Text: "4 stars"}, []string{comment}},
		{models.Inbound{Kind: models.KindMessage, Attachments: []models.Attachment{{Type: "image"}}}, []string{comment}},
		{models.Inbound{Kind: models.KindMessage, Text: "/start", Command: "start"}, nil},
		{models.Inbound{Kind: models.KindMessage, Text: " Human "}, nil},
		{models.Inbound{Kind: models.KindMessage, Text: "帮助"}, nil},
		{models.Inbound{Kind: models.KindMessage}, nil},
		{models.Inbound{Kind: models.KindEvent, Event: models.EventSubscribe}, nil},
	} {
		if got := feedbackStages(&tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("%+v: %v, want %v", tc.in, got, tc.want)
		}
	}
	for text, want := range map[string]int{"1": 1, " 5 ": 5, "３。": 3, "0": 0, "100": 100} {
		if n, ok := bareNumber(text); !ok || n != want {
			t.Errorf("bareNumber(%q) = %d, %v; want %d", text, n, ok, want)
		}
	}
	for _, text := range []string{"", "1000", "-1", "1.5", "one"} {
		if _, ok := bareNumber(text); ok {
			t.Errorf("bareNumber(%q) read a number", text)
		}
	}
}
