package discord

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/tongdao/hub/connectors/kit"
)

// Reply modes for customers who write in a support channel.
const (
	// ReplyThread answers in a thread the bot opens on the customer's message.
	ReplyThread = "thread"
	// ReplyDM answers in a direct message.
	ReplyDM = "dm"
)

// DefaultAPIURL is Discord's own API base URL.
const DefaultAPIURL = "https://discord.com"

// Settings are a Discord connector's settings (the `settings:` block of a
// connector of type discord). Unknown keys are errors.
type Settings struct {
	// Token is the bot token from the developer portal (Applications → your
	// app → Bot → Reset Token). Required. A leading "Bot " is accepted. The
	// Message Content privileged intent must be enabled on the same page.
	Token string `yaml:"token"`
	// APIURL is the base URL of the Discord API, scheme and host only
	// (default https://discord.com): an API proxy or the sandbox stand-in.
	// REST calls go to {api_url}/api/v9/...; the gateway's websocket URL is
	// discovered through it.
	APIURL string `yaml:"api_url"`
	// SupportChannels lists guild text channel ids (snowflakes) where
	// customers may open a conversation by writing a message. Messages in
	// other guild channels are ignored; direct messages to the bot always
	// open or continue a conversation.
	SupportChannels []string `yaml:"support_channels"`
	// SupportReply is where the bot answers a customer who wrote in a support
	// channel: "thread" (default) opens a public thread on their message;
	// "dm" answers by direct message.
	SupportReply string `yaml:"support_reply"`
}

// validate normalizes s and returns every problem found, naming keys.
func (s *Settings) validate() error {
	var errs []error
	s.Token = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(s.Token), "Bot "))
	switch {
	case s.Token == "":
		errs = append(errs, errors.New("token: required (the bot token from the developer portal)"))
	case strings.ContainsAny(s.Token, " \t\r\n"):
		errs = append(errs, errors.New("token: must not contain whitespace"))
	}
	if base, err := kit.BaseURL(s.APIURL, DefaultAPIURL); err != nil {
		errs = append(errs, fmt.Errorf("api_url: %w", err))
	} else {
		s.APIURL = base
	}
	seen := map[string]bool{}
	for i, id := range s.SupportChannels {
		switch {
		case !isSnowflake(id):
			errs = append(errs, fmt.Errorf("support_channels[%d]: %q is not a channel id (a snowflake: digits only; enable Developer Mode and use Copy Channel ID)", i, id))
		case seen[id]:
			errs = append(errs, fmt.Errorf("support_channels[%d]: channel %s is listed twice", i, id))
		}
		seen[id] = true
	}
	switch s.SupportReply {
	case "":
		s.SupportReply = ReplyThread
	case ReplyThread, ReplyDM:
	default:
		errs = append(errs, fmt.Errorf("support_reply: %q is not one of thread, dm", s.SupportReply))
	}
	return errors.Join(errs...)
}

// isSnowflake reports whether id is a Discord snowflake: a non-zero unsigned
// 64-bit decimal number.
func isSnowflake(id string) bool {
	if id == "" || strings.TrimLeft(id, "0123456789") != "" {
		return false
	}
	n, err := strconv.ParseUint(id, 10, 64)
	return err == nil && n != 0
}
