package telegram

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/tongdao/hub/connectors"
	"github.com/tongdao/hub/models"
)

func TestNormalizeTestdata(t *testing.T) {
	ana := models.Sender{ExternalID: "1001", DisplayName: "Ana Li", Username: "ana", Language: "en"}
	at := func(sec int64) time.Time { return time.Unix(sec, 0).UTC() }
	msg := func(id, kind string, sent int64) models.Inbound {
		return models.Inbound{Connector: "tg-main", Channel: "telegram", ExternalID: id, Kind: kind, From: ana, ReplyTo: "1001", SentAt: at(sent)}
	}
	with := func(in models.Inbound, f func(*models.Inbound)) *models.Inbound { f(&in); return &in }

	tests := []struct {
		file string
		want *models.Inbound // nil: ignored
	}{
		{"text.json", with(msg("1001:17", "message", 1767225600), func(in *models.Inbound) {
			in.Text = "Hello, my order #123 has not arrived"
		})},
		{"start_payload.json", with(msg("1001:1", "message", 1767225600), func(in *models.Inbound) {
			in.Text, in.Command, in.Payload = "/start ord-42_x", "start", "ord-42_x"
		})},
		{"command_at_bot.json", with(msg("1001:18", "message", 1767225601), func(in *models.Inbound) {
			in.Text, in.Command = "/link@TongdaoBot", "link"
		})},
		{"command_other_bot.json", with(msg("1001:19", "message", 1767225602), func(in *models.Inbound) {
			in.Text = "/link@SomeOtherBot" // addressed to another bot: plain text
		})},
		{"edited.json", with(msg("1001:17:e1767225660", "edit", 1767225660), func(in *models.Inbound) {
			in.Text, in.EditOf = "Hello, my order #124 has not arrived", "1001:17"
		})},
		{"callback.json", with(msg("cb:4382bfdwdsb323b2d9", "action", 0), func(in *models.Inbound) {
			in.Action, in.Text, in.SentAt = "csat:yes", "Yes", testNow
		})},
		{"photo.json", with(msg("1001:21", "message", 1767225710), func(in *models.Inbound) {
			in.Text = "The box arrived broken"
			in.Attachments = []models.Attachment{{Type: "image", FileID: "AgACAgIAAxkBAAIBZ2c-large", Size: 97212}}
		})},
		{"document.json", with(msg("1001:22", "message", 1767225720), func(in *models.Inbound) {
			in.Attachments = []models.Attachment{{Type: "document", FileID: "BQACAgIAAxkBAAIBaGc-doc", Name: "invoice-2026-01.pdf", MIMEType: "application/pdf", Size: 48213}}
		})},
		{"voice.json", with(msg("1001:23", "message", 1767225730), func(in *models.Inbound) {
			in.Attachments = []models.Attachment{{Type: "voice", FileID: "AwACAgIAAxkBAAIBaWc-voice", MIMEType: "audio/ogg", Size: 12034, Duration: 4}}
		})},
		{"audio.json", with(msg("1001:24", "message", 1767225740), func(in *models.Inbound) {
			in.Attachments = []models.Attachment{{Type: "audio", FileID: "CQACAgIAAxkBAAIBamc-audio", Name: "song.mp3", MIMEType: "audio/mpeg", Size: 4394112, Duration: 183, Title: "Band - Song"}}
		})},
		{"video.json", with(msg("1001:25", "message", 1767225750), func(in *models.Inbound) {
			in.Text = "see the damage"
			in.Attachments = []models.Attachment{{Type: "video", FileID: "BAACAgIAAxkBAAIBa2c-video", Name: "unboxing.mp4", MIMEType: "video/mp4", Size: 2203412, Duration: 12}}
		})},
		{"video_note.json", with(msg("1001:26", "message", 1767225760), func(in *models.Inbound) {
			in.Attachments = []models.Attachment{{Type: "video", FileID: "DQACAgIAAxkBAAIBbGc-note", Size: 402113, Duration: 7}}
		})},
		{"sticker.json", with(msg("1001:27", "message", 1767225770), func(in *models.Inbound) {
			in.Text = "👍"
			in.Attachments = []models.Attachment{{Type: "sticker", FileID: "CAACAgIAAxkBAAIBbWc-sticker", Size: 28101}}
		})},
		{"location.json", with(msg("1001:28", "message", 1767225780), func(in *models.Inbound) {
			in.Location = &models.Location{Latitude: 31.230416, Longitude: 121.473701}
		})},
		{"venue.json", with(msg("1001:29", "message", 1767225790), func(in *models.Inbound) {
			in.Location = &models.Location{Latitude: 48.858844, Longitude: 2.294351, Label: "Eiffel Tower, Champ de Mars, 5 Av. Anatole France, Paris"}
		})},
		{"contact_own.json", with(msg("1001:30", "message", 1767225800), func(in *models.Inbound) {
			in.SharedContact = &models.SharedContact{Phone: "+8613800138000", FirstName: "Ana", LastName: "Li", Verified: true}
		})},
		{"contact_other.json", with(msg("1001:31", "message", 1767225810), func(in *models.Inbound) {
			in.SharedContact = &models.SharedContact{Phone: "+4915112345678", FirstName: "Max"}
		})},
		{"group.json", nil},
		{"from_bot.json", nil},
		{"channel_post.json", nil},
		{"my_chat_member.json", nil},
	}
	c := newConnector(t, map[string]any{"token": testToken, "webhook_secret": testSecret, "bot_username": "TongdaoBot"}, connectors.Deps{})
	covered := map[string]bool{"photo_empty_sizes.json": true}
	for _, tt := range tests {
		covered[tt.file] = true
		t.Run(tt.file, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			u, err := decodeUpdate(raw)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			got, ok := c.normalize(&u)
			if tt.want == nil {
				if ok {
					t.Fatalf("want ignored, got %+v", got)
				}
				return
			}
			if !ok {
				t.Fatal("update was ignored")
			}
			if !reflect.DeepEqual(got, *tt.want) {
				t.Errorf("normalize:\n got %+v\nwant %+v", got, *tt.want)
			}
		})
	}
	files, _ := filepath.Glob("testdata/*.json")
	for _, f := range files {
		if !covered[filepath.Base(f)] {
			t.Errorf("testdata/%s has no expectation", filepath.Base(f))
		}
	}
}

func TestDecodeUpdateRejects(t *testing.T) {
	empty, err := os.ReadFile("testdata/photo_empty_sizes.json")
	if err != nil {
		t.Fatal(err)
	}
	for name, raw := range map[string]string{
		"not json":          `{"update_id": 1, "message":`,
		"no update_id":      `{"message":{"message_id":1}}`,
		"array":             `[1,2]`,
		"empty photo sizes": string(empty), // telebot would panic
	} {
		if _, err := decodeUpdate([]byte(raw)); err == nil {
			t.Errorf("%s: decoded without error", name)
		}
	}
}

func TestParseCommand(t *testing.T) {
	tests := []struct{ text, bot, cmd, payload string }{
		{"/start", "", "start", ""},
		{"/start abc-1_2", "TongdaoBot", "start", "abc-1_2"},
		{"/Start@tongdaobot  x y ", "TongdaoBot", "start", "x y"},
		{"/link@Other", "TongdaoBot", "", ""},
		{"/link@Other", "", "link", ""}, // username not yet known: accept
		{"/start\npayload", "", "start", "payload"},
		{"hello /start", "", "", ""},
		{"/", "", "", ""},
		{"/bad-name", "", "", ""},
		{"/@bot", "", "", ""},
	}
	for _, tt := range tests {
		cmd, payload := parseCommand(tt.text, tt.bot)
		if cmd != tt.cmd || payload != tt.payload {
			t.Errorf("parseCommand(%q, %q) = %q, %q; want %q, %q", tt.text, tt.bot, cmd, payload, tt.cmd, tt.payload)
		}
	}
}
