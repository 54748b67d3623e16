package texts

import (
	"strings"
	"testing"
)

func TestLanguage(t *testing.T) {
	c, err := New("en", map[string]map[string]string{"fr": {Welcome: "Bienvenue !"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		code, text string
		want       string
		ok         bool
	}{
		{"zh-hans", "hello", "zh", true},
		{"zh_CN", "", "zh", true},
		{"it-IT", "ciao", "it", true},
		{"EN", "", "en", true},
		{"fr", "", "fr", true},        // a language with overrides only
		{"de", "我的订单没有到", "zh", true}, // unknown code: the script decides
		{"", "我的订单没有到", "zh", true},
		{"", "my order", "", false},
		{"", "", "", false},
		{"pt-BR", "obrigado", "", false},
		{"", "注文が届きません", "zh", true}, // kanji are Han too: better than nothing
	} {
		got, ok := c.Language(tc.code, tc.text)
		if got != tc.want || ok != tc.ok {
			t.Errorf("Language(%q, %q) = %q, %v; want %q, %v", tc.code, tc.text, got, ok, tc.want, tc.ok)
		}
	}
}

func TestEveryKeyInEveryBuiltinLanguageWithItsPlaceholders(t *testing.T) {
	for lang, m := range builtin {
		for _, key := range Keys() {
			text, ok := m[key]
			if !ok || strings.TrimSpace(text) == "" {
				t.Errorf("%s: %s missing", lang, key)
				continue
			}
			for _, p := range placeholder.FindAllString(text, -1) {
				found := false
				for _, a := range Placeholders[key] {
					found = found || "{"+a+"}" == p
				}
				if !found {
					t.Errorf("%s.%s uses %s, not a placeholder of that key", lang, key, p)
				}
			}
		}
		for key := range m {
			if _, ok := Placeholders[key]; !ok {
				t.Errorf("%s.%s is not a key", lang, key)
			}
		}
	}
}

func TestTextFillsPlaceholdersAndFallsBack(t *testing.T) {
	c, err := New("it", map[string]map[string]string{"fr": {GotIt: "Reçu."}, "en": {WhoAgent: "{agent} has it"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		lang, key string
		args      []any
		want      string
	}{
		{"en", WhoAgent, []any{"agent", "Ana"}, "Ana has it"},
		{"zh", WhoAgent, []any{"agent", "Ana"}, "由 Ana 负责"},
		{"fr", GotIt, nil, "Reçu."},
		{"fr", WhoNobody, nil, "attende il primo operatore libero"}, // missing in fr: the default (it)
		{"xx", StatusDone, nil, "risolto"},
		{"en", LinkOffer, []any{"code", "K7P3XQ2M", "minutes", 15}, "To continue this conversation on another app, send this code there: K7P3XQ2M\nIt works once, for 15 minutes. Never share it: it opens this conversation."},
	} {
		if got := c.Text(tc.lang, tc.key, tc.args...); got != tc.want {
			t.Errorf("Text(%s, %s) = %q, want %q", tc.lang, tc.key, got, tc.want)
		}
	}
	if got := c.Say([]string{"zh", "en"}, GotIt); got != "收到。\n\nGot it." {
		t.Errorf("Say(zh, en) = %q", got)
	}
	if got := c.Label([]string{"zh", "en"}, ButtonHuman); got != "转人工 / Talk to a human" {
		t.Errorf("Label(zh, en) = %q", got)
	}
	if got := c.Say(nil, GotIt); got != "Ricevuto." {
		t.Errorf("Say(nil) = %q, want the default language's", got)
	}
}

func TestCheckListsEveryProblem(t *testing.T) {
	ps := Check("de", map[string]map[string]string{
		"EN":  {Welcome: "hi"},
		"en":  {"greting": "hi", LinkOffer: "code {code} {secret}", GotIt: " "},
		"de":  {Welcome: "Willkommen"},
		"zh":  {WhoAgent: "{agent}"},
		"it2": {},
	})
	want := []string{
		`texts.EN: "EN" is not a language code`,
		"texts.en.got_it: is empty",
		"texts.en.greting: unknown text",
		"texts.en.link_offer: unknown placeholder {secret} (this text may use: {code}, {minutes})",
		`texts.it2: "it2" is not a language code`,
		`default_language: "de" has no built-in texts, so texts.de must give every text; missing: button_human`,
	}
	if len(ps) != len(want) {
		t.Fatalf("%d problems, want %d:\n%s", len(ps), len(want), strings.Join(ps, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(ps[i], want[i]) {
			t.Errorf("problem %d = %q, want prefix %q", i, ps[i], want[i])
		}
	}
	if _, err := New("de", nil); err == nil {
		t.Fatal("New accepted a default language without texts")
	}
	if ps := Check("zh", map[string]map[string]string{"it": {Welcome: "Ciao!"}}); len(ps) != 0 {
		t.Fatalf("valid overrides refused: %v", ps)
	}
}
