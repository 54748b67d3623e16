package configs

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/tongdao/hub/inbox/faq"
	"github.com/tongdao/hub/inbox/hours"
)

// FAQPath is bot.faq_file resolved against the configuration file's
// directory ("" when not set).
func (c *Config) FAQPath() string {
	p := c.Bot.FAQFile
	if p == "" || filepath.IsAbs(p) || c.file == "" {
		return p
	}
	return filepath.Join(filepath.Dir(c.file), p)
}

// FAQ builds the knowledge base of bot.faq and bot.faq_file with the
// threshold of bot.faq_threshold: nil when there are no entries.
func (c *Config) FAQ() (*faq.Index, error) {
	ix, ps := c.buildFAQ()
	if len(ps) > 0 {
		return nil, ps
	}
	return ix, nil
}

func (c *Config) buildFAQ() (*faq.Index, Problems) {
	var ps Problems
	add := func(path, format string, args ...any) {
		ps = append(ps, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
	}
	if t := c.Bot.Threshold(); t < 0 || t > 1 {
		add("bot.faq_threshold", "%g is out of range: a confidence from 0 to 1 (default %g)", t, DefaultFAQThreshold)
	}
	entries := append([]faq.Entry(nil), c.Bot.FAQ...)
	paths := make([]string, len(entries))
	for i := range entries {
		paths[i] = fmt.Sprintf("bot.faq[%d]", i)
	}
	if path := c.FAQPath(); path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			add("bot.faq_file", "cannot read %q: %s", c.Bot.FAQFile, fsReason(err))
		} else {
			more, err := faq.Load(bytes.NewReader(data))
			if err != nil {
				add("bot.faq_file", "%q: %v", c.Bot.FAQFile, err)
			}
			for i := range more {
				paths = append(paths, fmt.Sprintf("bot.faq_file[%d]", i))
			}
			entries = append(entries, more...)
		}
	}
	if len(entries) == 0 {
		return nil, ps
	}
	def := c.Bot.DefaultLanguage
	if def == "" {
		def = "en"
	}
	for i, e := range entries {
		if strings.TrimSpace(e.Answer[def]) == "" {
			add(paths[i]+".answer."+def, "missing: every entry answers in the default language (bot.default_language %s)", def)
		}
	}
	ix, err := faq.New(entries)
	if err != nil {
		for _, e := range unjoin(err) {
			var p *faq.Problem
			if errors.As(e, &p) {
				// p.Path is "[i].rest": name the list the entry came from.
				idx, rest := 0, p.Path
				if _, err := fmt.Sscanf(p.Path, "[%d]", &idx); err == nil && idx >= 0 && idx < len(paths) {
					rest = paths[idx] + p.Path[strings.IndexByte(p.Path, ']')+1:]
				} else {
					rest = "bot.faq" + p.Path
				}
				add(rest, "%s", p.Message)
			} else {
				add("bot.faq", "%v", e)
			}
		}
		return nil, ps
	}
	ix.Threshold = c.Bot.Threshold()
	return ix, ps
}

// Hours builds the calendar of business_hours: nil (always open) when it
// is not set.
func (c *Config) Hours() (*hours.Calendar, error) {
	cal, ps := c.buildHours()
	if len(ps) > 0 {
		return nil, ps
	}
	return cal, nil
}

func (c *Config) buildHours() (*hours.Calendar, Problems) {
	if c.BusinessHours == nil {
		return nil, nil
	}
	return buildCalendar(*c.BusinessHours, "business_hours")
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
