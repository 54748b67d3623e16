package telegram

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/tongdao/hub/connectors/kit"
)

// Modes of receiving updates.
const (
	ModeWebhook = "webhook"
	ModePolling = "polling"
)

// DefaultAPIURL is the official Bot API server.
const DefaultAPIURL = "https://api.telegram.org"

// Settings are a Telegram connector's settings, under `settings:` of a
// connector of type telegram.
type Settings struct {
	// Token is the bot token from @BotFather, "<bot id>:<secret>". Required.
	// Keep it out of the file with ${ENV} or token_file.
	Token string `yaml:"token"`
	// Mode is how updates arrive: "webhook" (default; Telegram POSTs to
	// {server.public_url}/webhooks/{name}) or "polling" (the hub long-polls
	// getUpdates; no public URL needed).
	Mode string `yaml:"mode"`
	// WebhookSecret is the secret Telegram sends in the
	// X-Telegram-Bot-Api-Secret-Token header of every webhook call; requests
	// without it are refused. Required in webhook mode: 1–256 characters of
	// A–Z, a–z, 0–9, "_" and "-".
	WebhookSecret string `yaml:"webhook_secret"`
	// APIURL is the Bot API base URL, scheme and host only (a self-hosted
	// Bot API server, a proxy or the sandbox stand-in). Default
	// https://api.telegram.org.
	APIURL string `yaml:"api_url"`
	// BotUsername is the bot's username without "@". Optional: it is learned
	// from getMe when the connector starts. It builds deep links
	// (https://t.me/<bot>?start=...) and recognizes /command@<bot>.
	BotUsername string `yaml:"bot_username"`
}

var (
	tokenRx       = regexp.MustCompile(`^\d+:[A-Za-z0-9_-]{20,}$`)
	secretRx      = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)
	botUsernameRx = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{3,31}$`)
)

// normalize fills defaults and returns every problem found, each naming its
// key. Secret values never appear in the messages.
func (s *Settings) normalize() error {
	var errs []error
	add := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}

	s.Token = strings.TrimSpace(s.Token)
	switch {
	case s.Token == "":
		add("token", "required")
	case !tokenRx.MatchString(s.Token):
		add("token", `must look like "123456789:AA..." (digits, a colon, then at least 20 of A-Z a-z 0-9 _ -)`)
	}

	s.Mode = strings.ToLower(strings.TrimSpace(s.Mode))
	if s.Mode == "" {
		s.Mode = ModeWebhook
	}
	if s.Mode != ModeWebhook && s.Mode != ModePolling {
		add("mode", `must be "webhook" or "polling", got %q`, s.Mode)
	}

	switch {
	case s.WebhookSecret == "" && s.Mode == ModeWebhook:
		add("webhook_secret", "required in webhook mode")
	case s.WebhookSecret != "" && !secretRx.MatchString(s.WebhookSecret):
		add("webhook_secret", "must be 1-256 characters of A-Z a-z 0-9 _ -")
	}

	if api, err := kit.BaseURL(s.APIURL, DefaultAPIURL); err != nil {
		add("api_url", "%v", err)
	} else {
		s.APIURL = api
	}

	s.BotUsername = strings.TrimPrefix(strings.TrimSpace(s.BotUsername), "@")
	if s.BotUsername != "" && !botUsernameRx.MatchString(s.BotUsername) {
		add("bot_username", "must be 4-32 characters of A-Z a-z 0-9 _, starting with a letter, got %q", s.BotUsername)
	}
	return errors.Join(errs...)
}
