package configs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestJourneyConfig(t *testing.T) {
	dir := t.TempDir()
	faqFile := `- id: hours
  questions: {en: ["When are you open?"], zh: ["几点上班"]}
  answer: {en: "Monday to Friday, 9 to 6.", zh: "周一至周五 9 点到 18 点。"}
`
	if err := os.WriteFile(filepath.Join(dir, "faq.yaml"), []byte(faqFile), 0o600); err != nil {
		t.Fatal(err)
	}
	good := `bot:
  faq:
    - id: reset-password
      questions: {en: ["How do I reset my password?"], it: ["Come reimposto la password?"]}
      answer: {en: "Use Forgot password.", it: "Usa Password dimenticata."}
  faq_file: faq.yaml
  faq_threshold: 0.6
business_hours:
  timezone: Asia/Shanghai
  weekly: {mon: "09:00-18:00", sat: "00:00-24:00"}
  holidays: ["2026-10-01"]
`
	path := filepath.Join(dir, "hub.yaml")
	if err := os.WriteFile(path, []byte(good), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path, envMap(nil))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	ix, err := c.FAQ()
	if err != nil || ix == nil {
		t.Fatalf("FAQ: %v %v", ix, err)
	}
	if ix.Threshold != 0.6 {
		t.Errorf("threshold %v", ix.Threshold)
	}
	if m, ok := ix.Match("几点上班", "zh"); !ok || m.Entry.ID != "hours" {
		t.Errorf("faq_file entry not indexed: %+v %v", m, ok)
	}
	if cal, err := c.Hours(); err != nil || cal == nil {
		t.Errorf("Hours: %v %v", cal, err)
	}

	for name, tc := range map[string]struct{ yaml, want string }{
		"unknown key":      {"bot:\n  faq_treshold: 0.5\n", "bot.faq_treshold: unknown key"},
		"threshold":        {"bot:\n  faq_threshold: 1.5\n", "bot.faq_threshold: 1.5 is out of range"},
		"bad time":         {"business_hours:\n  timezone: Europe/Rome\n  weekly: {mon: \"09:00-25:00\"}\n", "business_hours.weekly.mon"},
		"bad zone":         {"business_hours:\n  timezone: Mars/Base\n  weekly: {mon: \"09:00-18:00\"}\n", "business_hours.timezone"},
		"unknown hour key": {"business_hours:\n  timezone: Europe/Rome\n  weekly: {mon: \"09:00-18:00\"}\n  holiday: []\n", "business_hours.holiday: unknown key"},
		"no default answer": {"bot:\n  default_language: it\n  faq:\n    - id: a\n      questions: {en: [\"reset password\"]}\n      answer: {en: \"x\"}\n",
			"bot.faq[0].answer.it: missing"},
		"faq entry problem": {"bot:\n  faq:\n    - id: a\n      questions: {en: [\"reset password\"]}\n      answer: {en: \"x\"}\n    - id: a\n      questions: {en: [\"refund\"]}\n      answer: {en: \"y\"}\n",
			"bot.faq[1].id"},
		"missing faq file": {"bot:\n  faq_file: nope.yaml\n", "bot.faq_file: cannot read"},
	} {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(dir, "bad.yaml")
			if err := os.WriteFile(p, []byte(tc.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Load(p, envMap(nil))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("want %q in:\n%v", tc.want, err)
			}
		})
	}
}
