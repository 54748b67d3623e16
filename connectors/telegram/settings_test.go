package telegram

import (
	"strings"
	"testing"

	"github.com/tongdao/hub/connectors"
)

func TestNewValidatesSettings(t *testing.T) {
	tests := []struct {
		name     string
		settings map[string]any
		errs     []string // every message must appear
	}{
		{"empty", map[string]any{}, []string{"token: required", "webhook_secret: required in webhook mode"}},
		{"all wrong at once", map[string]any{
			"token": "secret-value-not-a-token", "mode": "push", "webhook_secret": "has space",
			"api_url": "https://api.example.com/v1?x=1", "bot_username": "@x",
		}, []string{"token: must look like", `mode: must be "webhook" or "polling", got "push"`,
			"webhook_secret: must be 1-256", "api_url: must be a base URL, scheme (http or https) and host only", "bot_username:"}},
		{"api_url scheme", map[string]any{"token": testToken, "webhook_secret": testSecret, "api_url": "ftp://x"}, []string{"api_url: must be a base URL, scheme (http or https) and host only"}},
		{"secret too long", map[string]any{"token": testToken, "webhook_secret": strings.Repeat("a", 257)}, []string{"webhook_secret: must be 1-256"}},
		{"unknown key", map[string]any{"token": testToken, "webhook_secret": testSecret, "webhook_url": "x"}, []string{"webhook_url"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(connectors.Config{Name: "tg", Decode: decoder(tt.settings)})
			if err == nil {
				t.Fatal("New succeeded")
			}
			for _, want := range tt.errs {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
			if strings.Contains(err.Error(), "secret-value-not-a-token") {
				t.Errorf("error leaks the token: %v", err)
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	conn, err := New(connectors.Config{Name: "tg", Decode: decoder(map[string]any{"token": testToken, "mode": "polling", "api_url": "http://127.0.0.1:8081/"})})
	if err != nil {
		t.Fatal(err)
	}
	c := conn.(*Connector)
	if c.settings.APIURL != "http://127.0.0.1:8081" || c.settings.Mode != ModePolling || c.Name() != "tg" {
		t.Errorf("settings = %+v", c.settings)
	}
	if c.BotUsername() != "" || c.DeepLink("x") != "" {
		t.Error("username known before getMe")
	}

	conn, err = New(connectors.Config{Name: "tg", Decode: decoder(map[string]any{"token": testToken, "webhook_secret": testSecret, "bot_username": "@TongdaoBot"})})
	if err != nil {
		t.Fatal(err)
	}
	c = conn.(*Connector)
	if c.settings.APIURL != DefaultAPIURL || c.settings.Mode != ModeWebhook || c.BotUsername() != "TongdaoBot" {
		t.Errorf("settings = %+v", c.settings)
	}
	for payload, want := range map[string]string{
		"abc_1-2": "https://t.me/TongdaoBot?start=abc_1-2", "": "", "has space": "", strings.Repeat("a", 65): "",
	} {
		if got := c.DeepLink(payload); got != want {
			t.Errorf("DeepLink(%q) = %q, want %q", payload, got, want)
		}
	}
}

func TestRegistered(t *testing.T) {
	if _, ok := connectors.Lookup("telegram"); !ok {
		t.Fatal(`type "telegram" not registered`)
	}
}
