package discord

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/tongdao/hub/connectors"
	"github.com/tongdao/hub/models"
)

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

// snowTime decodes a snowflake's timestamp independently of the code under test.
func snowTime(id string) time.Time {
	n, _ := strconv.ParseUint(id, 10, 64)
	return time.UnixMilli(int64(n>>22) + 1420070400000).UTC()
}

func TestNormalizeGatewayPayloads(t *testing.T) {
	cn, err := New(connectors.Config{Name: "dc-main", Decode: strictDecoder(`
token: abc.def.ghi
support_channels: ["1300000000000000010"]
support_reply: dm
`)})
	if err != nil {
		t.Fatal(err)
	}
	c := cn.(*Connector)
	c.setSelf("1300000000000000100")
	// Known channels, so that no REST lookup is needed: the support thread
	// and the general channel.
	c.rememberChannel("1441246001112223334", true)
	c.rememberChannel("1300000000000000011", false)

	mei := models.Sender{ExternalID: "402145678901234567", DisplayName: "Mei Lin", Username: "mei.lin"}
	kofi := models.Sender{ExternalID: "511223344556677889", DisplayName: "kofi_b", Username: "kofi_b"}
	tests := []struct {
		file string
		want *models.Inbound // nil: ignored
	}{
		{"message_create_dm.json", &models.Inbound{
			Connector: "dc-main", Channel: "discord", ExternalID: "1441234568012345678", Kind: "message",
			From: mei, ReplyTo: "1309876543210987654", Text: "/link", Command: "link",
			SentAt: ts("2026-11-20T08:15:42.123Z"),
		}},
		{"message_create_guild_support.json", &models.Inbound{
			Connector: "dc-main", Channel: "discord", ExternalID: "1441246001112223334", Kind: "message",
			From: kofi, Text: "Hi, my refund for order 8812 never arrived",
			SentAt: ts("2026-11-20T09:01:05.48Z"),
		}},
		{"message_create_thread.json", &models.Inbound{
			Connector: "dc-main", Channel: "discord", ExternalID: "1441246702223334445", Kind: "message",
			From: kofi, ReplyTo: "1441246001112223334", Text: "It was paid by card ending 4242",
			SentAt: ts("2026-11-20T09:03:44.002Z"),
		}},
		{"message_create_attachments.json", &models.Inbound{
			Connector: "dc-main", Channel: "discord", ExternalID: "1441234685000000001", Kind: "message",
			From: mei, ReplyTo: "1309876543210987654", Text: "here is the screenshot and the invoice",
			SentAt: ts("2026-11-20T08:16:10.9Z"),
			Attachments: []models.Attachment{
				{Type: "image", FileID: "1441234684900000001", Name: "IMG_2041.png", MIMEType: "image/png", Size: 482113,
					URL: "https://cdn.discordapp.com/attachments/1309876543210987654/1441234684900000001/IMG_2041.png?ex=673f0a1b&is=673db89b&hm=9f1c"},
				{Type: "document", FileID: "1441234684900000002", Name: "invoice-8812.pdf", MIMEType: "application/pdf", Size: 90211,
					URL: "https://cdn.discordapp.com/attachments/1309876543210987654/1441234684900000002/invoice-8812.pdf?ex=673f0a1b&is=673db89b&hm=77aa"},
				{Type: "video", FileID: "1441234684900000003", Name: "clip.mp4", MIMEType: "video/mp4", Size: 2048000,
					URL: "https://cdn.discordapp.com/attachments/1309876543210987654/1441234684900000003/clip.mp4"},
			},
		}},
		{"message_create_bot.json", nil},
		{"message_create_own.json", nil},
		{"message_create_other_channel.json", nil},
		{"interaction_create_component.json", &models.Inbound{
			Connector: "dc-main", Channel: "discord", ExternalID: "ix:1441235000000000001", Kind: "action",
			From:    models.Sender{ExternalID: "402145678901234567", DisplayName: "Mei Lin", Username: "mei.lin", Language: "zh-CN"},
			ReplyTo: "1309876543210987654", Action: "csat:5", Text: "😀 Great",
			SentAt: snowTime("1441235000000000001"),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			var ev discordgo.Event
			if err := json.Unmarshal(raw, &ev); err != nil {
				t.Fatal(err)
			}
			var got models.Inbound
			var ok bool
			switch ev.Type {
			case "MESSAGE_CREATE":
				var m discordgo.MessageCreate
				if err := json.Unmarshal(ev.RawData, &m); err != nil {
					t.Fatal(err)
				}
				got, ok = c.inboundForMessage(context.Background(), m.Message)
			case "INTERACTION_CREATE":
				var ix discordgo.InteractionCreate
				if err := json.Unmarshal(ev.RawData, &ix); err != nil {
					t.Fatal(err)
				}
				got, ok = normalizeInteraction("dc-main", ix.Interaction)
			default:
				t.Fatalf("unexpected event %s", ev.Type)
			}
			if tt.want == nil {
				if ok {
					t.Fatalf("should be ignored, got %+v", got)
				}
				return
			}
			if !ok {
				t.Fatal("ignored")
			}
			if !reflect.DeepEqual(got, *tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, *tt.want)
			}
		})
	}
}

func TestParseCommand(t *testing.T) {
	tests := []struct{ in, cmd, payload string }{
		{"/link", "link", ""},
		{"/start abc_123", "start", "abc_123"},
		{"  /START   hello world ", "start", "hello world"},
		{"/etc/hosts is broken", "", ""},
		{"hello /link", "", ""},
		{"/", "", ""},
		{"/链接", "", ""},
	}
	for _, tt := range tests {
		cmd, payload := parseCommand(tt.in)
		if cmd != tt.cmd || payload != tt.payload {
			t.Errorf("parseCommand(%q) = %q, %q; want %q, %q", tt.in, cmd, payload, tt.cmd, tt.payload)
		}
	}
}

func TestAttachmentType(t *testing.T) {
	tests := []struct {
		ct    string
		voice bool
		want  string
	}{
		{"image/jpeg", false, "image"}, {"video/quicktime", false, "video"}, {"audio/ogg", false, "audio"},
		{"audio/ogg", true, "voice"}, {"application/zip", false, "document"}, {"", false, "document"},
		{"IMAGE/PNG; charset=binary", false, "image"},
	}
	for _, tt := range tests {
		if got := attachmentType(tt.ct, tt.voice); got != tt.want {
			t.Errorf("attachmentType(%q, %v) = %q, want %q", tt.ct, tt.voice, got, tt.want)
		}
	}
}

func TestSettingsValidation(t *testing.T) {
	build := func(y string) error {
		_, err := New(connectors.Config{Name: "dc", Decode: strictDecoder(y)})
		return err
	}
	if err := build("token: \"Bot abc\"\n"); err != nil {
		t.Fatalf("minimal settings: %v", err)
	}
	err := build(`
token: ""
api_url: "https://proxy.example/api"
support_channels: ["123", "abc", "123"]
support_reply: email
`)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"token:", "api_url:", "support_channels[1]", "support_channels[2]", "support_reply:"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	if err := build("token: x\nmode: webhook\n"); err == nil || !strings.Contains(err.Error(), "mode") {
		t.Errorf("unknown key: %v", err)
	}
	for _, bad := range []string{"ftp://h", "http://", "http://u:p@h", "http://h/?q=1"} {
		if err := build("token: x\napi_url: " + bad + "\n"); err == nil {
			t.Errorf("api_url %q accepted", bad)
		}
	}
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

func TestButtonRowsLimits(t *testing.T) {
	var bs []models.Button
	for i := 0; i < 12; i++ {
		bs = append(bs, models.Button{ID: "b" + strconv.Itoa(i), Label: "L"})
	}
	rows, err := buttonRows(bs)
	if err != nil || len(rows) != 3 || len(rows[2].(*discordgo.ActionsRow).Components) != 2 {
		t.Fatalf("rows %v, err %v", rows, err)
	}
	bad := [][]models.Button{
		append(bs, bs...)[:26],
		{{ID: "", Label: "x"}},
		{{ID: "a", Label: strings.Repeat("l", 81)}},
		{{ID: "a", Label: "x"}, {ID: "a", Label: "y"}},
	}
	for i, b := range bad {
		var de *models.DeliveryError
		if _, err := buttonRows(b); !errors.As(err, &de) || !de.Permanent {
			t.Errorf("case %d: %v", i, err)
		}
	}
}

func TestDeliveryErrorMapping(t *testing.T) {
	rest := func(status, code int, hdr http.Header) error {
		body, _ := json.Marshal(map[string]any{"code": code, "message": "m"})
		var msg *discordgo.APIErrorMessage
		_ = json.Unmarshal(body, &msg)
		return &discordgo.RESTError{Response: &http.Response{StatusCode: status, Status: strconv.Itoa(status), Header: hdr}, ResponseBody: body, Message: msg}
	}
	tests := []struct {
		name                   string
		err                    error
		permanent, unreachable bool
		retryAfter             time.Duration
	}{
		{"50007", rest(403, 50007, nil), true, true, 0},
		{"40003", rest(403, 40003, nil), true, false, 0},
		{"10003", rest(404, 10003, nil), true, false, 0},
		{"50035", rest(400, 50035, nil), true, false, 0},
		{"503", rest(503, 0, nil), false, false, 0},
		{"429", rest(429, 0, http.Header{"Retry-After": {"2"}}), false, false, 2 * time.Second},
		{"network", errors.New("dial tcp: connection refused"), false, false, 0},
	}
	for _, tt := range tests {
		var de *models.DeliveryError
		if !errors.As(deliveryError(tt.err), &de) {
			t.Fatalf("%s: not a DeliveryError", tt.name)
		}
		if de.Permanent != tt.permanent || de.Unreachable != tt.unreachable || de.RetryAfter != tt.retryAfter || de.Reason == "" {
			t.Errorf("%s: %+v", tt.name, de)
		}
	}
}
