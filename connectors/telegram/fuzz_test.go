package telegram

import (
	"io"
	"log/slog"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/tongdao/hub/connectors"
	"github.com/tongdao/hub/internal/seeds"
	"github.com/tongdao/hub/models"
)

// FuzzUpdate decodes and normalises arbitrary updates, seeded with the real
// payloads in testdata: decoding never panics (telebot's own decoders are
// guarded), an update decodes only with a positive update_id, and every
// inbound is well formed.
func FuzzUpdate(f *testing.F) {
	for _, b := range seeds.Files(f, "testdata/*.json") {
		f.Add(b)
	}
	cn, err := New(connectors.Config{Name: "tg-main",
		Decode: decoder(map[string]any{"token": testToken, "webhook_secret": testSecret, "bot_username": "TongdaoBot"}),
		Deps: connectors.Deps{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
			Now: func() time.Time { return testNow }}})
	if err != nil {
		f.Fatal(err)
	}
	c := cn.(*Connector)
	f.Fuzz(func(t *testing.T, raw []byte) {
		_ = probeUpdateID(raw)
		u, err := decodeUpdate(raw)
		if err != nil {
			return
		}
		if u.ID <= 0 {
			t.Fatalf("decoded an update with id %d", u.ID)
		}
		in, ok := c.normalize(&u)
		if !ok {
			return
		}
		if in.Connector != "tg-main" || in.Channel != models.ChannelTelegram || in.ExternalID == "" || in.From.ExternalID == "" {
			t.Fatalf("malformed inbound %+v", in)
		}
		if in.Text != "" && !utf8.ValidString(in.Text) {
			t.Fatalf("text is not UTF-8: %q", in.Text)
		}
		if in.Command != "" && !validCommand(in.Command) {
			t.Fatalf("invalid command %q from %q", in.Command, in.Text)
		}
	})
}
