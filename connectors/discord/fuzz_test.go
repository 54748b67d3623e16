package discord

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"

	"github.com/tongdao/hub/internal/seeds"
	"github.com/tongdao/hub/models"
)

// FuzzGatewayPayload decodes arbitrary gateway dispatches as discordgo does
// (the event envelope, then MESSAGE_CREATE or INTERACTION_CREATE data) and
// normalises them, seeded with the real payloads in testdata: nothing
// panics and every inbound is well formed.
func FuzzGatewayPayload(f *testing.F) {
	for _, b := range seeds.Files(f, "testdata/*.json") {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var ev discordgo.Event
		if err := json.Unmarshal(raw, &ev); err != nil {
			return
		}
		var in models.Inbound
		var ok bool
		switch ev.Type {
		case "MESSAGE_CREATE":
			var m discordgo.MessageCreate
			if err := json.Unmarshal(ev.RawData, &m); err != nil || m.Message == nil {
				return
			}
			in, ok = normalizeMessage("dc-main", m.Message), m.Author != nil
		case "INTERACTION_CREATE":
			var ix discordgo.InteractionCreate
			if err := json.Unmarshal(ev.RawData, &ix); err != nil {
				return
			}
			in, ok = normalizeInteraction("dc-main", ix.Interaction)
		default:
			return
		}
		if !ok {
			return
		}
		if in.Connector != "dc-main" || in.Channel != models.ChannelDiscord || in.ExternalID == "" && in.Kind == models.KindAction {
			t.Fatalf("malformed inbound %+v", in)
		}
		if in.Kind == models.KindAction && (in.Action == "" || !strings.HasPrefix(in.ExternalID, interactionPrefix)) {
			t.Fatalf("malformed action %+v", in)
		}
		if !utf8.ValidString(in.Text) {
			t.Fatalf("text is not UTF-8: %q", in.Text)
		}
	})
}
