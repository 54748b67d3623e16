package inbox

import (
	"strings"
	"testing"

	"github.com/tongdao/hub/models"
)

func TestLinkCodesAreRandomAndCodeShaped(t *testing.T) {
	seen := map[string]bool{}
	for range 500 {
		c, err := newLinkCode()
		if err != nil {
			t.Fatal(err)
		}
		if !models.LooksLikeLinkCode(c) || strings.ContainsAny(c, "0O1IL") || c != strings.ToUpper(c) {
			t.Fatalf("bad code %q", c)
		}
		if seen[c] {
			t.Fatalf("code %q repeated", c)
		}
		seen[c] = true
		tok, err := newLinkToken()
		if err != nil || !strings.HasPrefix(tok, linkTokenPrefix) || len(tok) > 64 || strings.Trim(tok,
			"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != "" {
			t.Fatalf("bad token %q %v", tok, err)
		}
	}
}

func TestLinkDetectionIsCheap(t *testing.T) {
	msg := func(text string) *models.Inbound {
		return &models.Inbound{Kind: models.KindMessage, Text: text}
	}
	for _, tc := range []struct {
		in   *models.Inbound
		want string
	}{
		{msg("link"), followLinkOffer},
		{msg("  LINK \n"), followLinkOffer},
		{msg("绑定"), followLinkOffer},
		{msg("Collega"), followLinkOffer},
		{&models.Inbound{Kind: models.KindMessage, Text: "/link", Command: "link"}, followLinkOffer},
		{&models.Inbound{Kind: models.KindAction, Action: "link"}, followLinkOffer},
		{msg("please link my accounts"), ""},
		{msg("K7P3XQ2M"), followRedeemCode},
		{msg(" k7p3xq2m "), followRedeemCode},
		{msg("PURCHASE"), ""},  // no digit
		{msg("23456789"), ""},  // no letter
		{msg("K7P3XQ2"), ""},   // too short
		{msg("K7P3XQ2M9"), ""}, // too long
		{msg("K0P3XQ2M"), ""},  // look-alike 0
		{msg("KIP3XQ2M"), ""},  // look-alike I
		{&models.Inbound{Kind: models.KindMessage, Command: "start", Payload: "link_abc"}, followRedeemToken},
		{&models.Inbound{Kind: models.KindMessage, Command: "start", Payload: "promo_abc"}, ""},
		{&models.Inbound{Kind: models.KindEvent, Event: models.EventScan, Payload: "link_abc"}, followRedeemToken},
		{&models.Inbound{Kind: models.KindEvent, Event: models.EventSubscribe, Payload: "link_abc"}, followRedeemToken},
		{&models.Inbound{Kind: models.KindEvent, Event: models.EventSubscribe}, ""},
	} {
		if got := linkFollowup(tc.in); got != tc.want {
			t.Errorf("%+v: %q, want %q", *tc.in, got, tc.want)
		}
	}
}

func TestMaskOfferHidesSecrets(t *testing.T) {
	text := "send this code there: K7P3XQ2M\n• Telegram: tap https://t.me/bot?start=link_AbC-d_9\n" +
		"• WeChat: scan the QR code http://x/cgi-bin/showqrcode?ticket=gQ%2Fdm8%3D\nWORDLIST stays"
	got := models.MaskLinkOffer(text)
	for _, secret := range []string{"K7P3XQ2M", "link_AbC-d_9", "gQ%2Fdm8%3D"} {
		if strings.Contains(got, secret) {
			t.Fatalf("%q left in %q", secret, got)
		}
	}
	if !strings.Contains(got, "WORDLIST stays") || !strings.Contains(got, "https://t.me/bot?start=link_…") {
		t.Fatalf("masked too much: %q", got)
	}
}

func TestOpeningWordsSkipCommandsAndCodes(t *testing.T) {
	got := openingWords([]string{"/start", "  My order  #42\nis late ", "link", "K7P3XQ2M", "[image]", "since Monday", "third", "fourth"}, "subject")
	if got != "My order #42 is late … since Monday … third" {
		t.Fatalf("%q", got)
	}
	if got := openingWords([]string{"/start"}, "the subject"); got != "the subject" {
		t.Fatalf("fallback: %q", got)
	}
	long := strings.Repeat("很长的问题", 100)
	if got := openingWords([]string{long}, ""); len([]rune(got)) != 200 || !strings.HasSuffix(got, "…") {
		t.Fatalf("not trimmed: %d runes", len([]rune(got)))
	}
}
