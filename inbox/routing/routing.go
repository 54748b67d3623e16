// Package routing decides where a new conversation goes: the rules of the
// configuration's routing section, evaluated in order on the conversation's
// opening message; the first rule whose every given condition matches sets
// the team, the priority and labels. Without a match the conversation goes
// to the default team (when one is configured) with priority normal.
//
// The package is pure: no I/O, no clock. The inbox's routing reaction
// gathers what a rule may look at (the message, its connector and channel,
// the customer's language, the contact's labels) and writes the decision.
package routing

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Priorities, lowest first.
const (
	PriorityLow    = "low"
	PriorityNormal = "normal"
	PriorityHigh   = "high"
	PriorityUrgent = "urgent"
)

// Priorities lists the priorities, lowest first.
var Priorities = []string{PriorityLow, PriorityNormal, PriorityHigh, PriorityUrgent}

// Rule is one routing rule as configured.
type Rule struct {
	// Name identifies the rule: unique, and named in the conversation's
	// update event ("by": "routing:<name>").
	Name string `yaml:"name"`
	// When is what the opening message must match: every condition given.
	When When `yaml:"when"`
	// Then is what a match sets.
	Then Then `yaml:"then"`
}

// When lists a rule's conditions; each one given must match.
type When struct {
	// Connector is a connector's configured name.
	Connector string `yaml:"connector"`
	// Channel is a platform: telegram, wechat, discord.
	Channel string `yaml:"channel"`
	// Language is the customer's language ("zh" matches "zh-hans").
	Language string `yaml:"language"`
	// Keywords match when any of them is in the message: whole words,
	// ignoring case and accents; a keyword in Chinese (or another script
	// written without spaces) matches anywhere in the text.
	Keywords []string `yaml:"keywords"`
	// Regex is a Go regular expression (RE2 syntax) that must match
	// somewhere in the message; "(?i)" makes it ignore case.
	Regex string `yaml:"regex"`
	// ContactLabels match when the contact carries any of them (a label on
	// any of the contact's conversations).
	ContactLabels []string `yaml:"contact_labels"`
}

// Then is what a matching rule sets.
type Then struct {
	// Team takes the conversation (default: default_team).
	Team string `yaml:"team"`
	// Priority is low, normal, high or urgent (default normal).
	Priority string `yaml:"priority"`
	// Labels are added to the conversation.
	Labels []string `yaml:"labels"`
}

// empty reports whether a When has no condition.
func (w *When) empty() bool {
	return w.Connector == "" && w.Channel == "" && w.Language == "" && len(w.Keywords) == 0 &&
		w.Regex == "" && len(w.ContactLabels) == 0
}

// Message is what the rules look at.
type Message struct {
	Connector string
	Channel   string
	// Language is the customer's language code (a platform's, such as
	// "en-US", or the one the hub detected, such as "zh").
	Language string
	// Text is the opening message.
	Text string
	// ContactLabels are the labels the contact already carries.
	ContactLabels []string
}

// Decision is where a conversation goes.
type Decision struct {
	// Rule is the matching rule's name ("" without a match).
	Rule     string
	Team     string
	Priority string
	Labels   []string
}

// By names the decision's author in events: "routing:<rule>", or
// "routing" for the default.
func (d Decision) By() string {
	if d.Rule == "" {
		return "routing"
	}
	return "routing:" + d.Rule
}

// Table is a compiled list of rules.
type Table struct {
	rules       []compiled
	defaultTeam string
	labels      bool
}

type compiled struct {
	Rule
	words  [][]string // keywords matched as runs of whole words
	substr []string   // keywords matched anywhere (Chinese)
	re     *regexp.Regexp
	lang   string
	labels []string
}

// New compiles rules, with defaultTeam for conversations no rule sends to
// a team ("" for none). It fails on the first problem Check would report.
func New(rules []Rule, defaultTeam string) (*Table, error) {
	if ps := Check(rules, nil); len(ps) > 0 {
		return nil, ps[0]
	}
	t := &Table{defaultTeam: strings.TrimSpace(defaultTeam)}
	for _, r := range rules {
		c := compiled{Rule: r, lang: primary(r.When.Language)}
		for _, k := range r.When.Keywords {
			if unspaced(k) {
				c.substr = append(c.substr, Fold(k))
			} else {
				c.words = append(c.words, Words(k))
			}
		}
		if r.When.Regex != "" {
			c.re = regexp.MustCompile(r.When.Regex) // checked above
		}
		for _, l := range r.When.ContactLabels {
			c.labels = append(c.labels, normLabel(l))
		}
		if len(c.labels) > 0 {
			t.labels = true
		}
		t.rules = append(t.rules, c)
	}
	return t, nil
}

// Empty reports whether the table decides nothing: no rule and no default
// team (every conversation stays as it is, priority normal).
func (t *Table) Empty() bool { return t == nil || (len(t.rules) == 0 && t.defaultTeam == "") }

// NeedsContactLabels reports whether a rule looks at the contact's labels
// (so the caller reads them only then).
func (t *Table) NeedsContactLabels() bool { return t != nil && t.labels }

// Route evaluates the rules in order on m: the first match decides; without
// one, the default team and priority normal.
func (t *Table) Route(m Message) Decision {
	d := Decision{Priority: PriorityNormal}
	if t == nil {
		return d
	}
	var words []string
	folded, lang := "", primary(m.Language)
	for i := range t.rules {
		r := &t.rules[i]
		w := &r.When
		if w.Connector != "" && w.Connector != m.Connector ||
			w.Channel != "" && !strings.EqualFold(w.Channel, m.Channel) ||
			r.lang != "" && r.lang != lang {
			continue
		}
		if len(r.labels) > 0 && !slices.ContainsFunc(m.ContactLabels, func(l string) bool { return slices.Contains(r.labels, normLabel(l)) }) {
			continue
		}
		if len(r.words) > 0 || len(r.substr) > 0 {
			if words == nil {
				folded = Fold(m.Text)
				words = splitWords(folded)
			}
			if !r.keywordIn(folded, words) {
				continue
			}
		}
		if r.re != nil && !r.re.MatchString(m.Text) {
			continue
		}
		d.Rule, d.Team, d.Labels = r.Name, r.Then.Team, r.Then.Labels
		if r.Then.Priority != "" {
			d.Priority = r.Then.Priority
		}
		break
	}
	if d.Team == "" {
		d.Team = t.defaultTeam
	}
	return d
}

func (r *compiled) keywordIn(folded string, words []string) bool {
	for _, s := range r.substr {
		if strings.Contains(folded, s) {
			return true
		}
	}
	for _, k := range r.words {
		if len(k) == 0 {
			continue
		}
		for i := 0; i+len(k) <= len(words); i++ {
			if slices.Equal(words[i:i+len(k)], k) {
				return true
			}
		}
	}
	return false
}

// Fold lowercases s and strips accents (compatibility-decomposed, marks
// removed), so that "Truffà" and "truffa", "ＦＲＡＵＤ" and "fraud" fold
// alike. Chinese characters are left as they are.
func Fold(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range norm.NFKD.String(s) {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		if f, ok := special[r]; ok {
			b.WriteString(f)
			continue
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return norm.NFC.String(b.String())
}

// special folds the Latin letters that do not decompose into a base letter
// and a mark.
var special = map[rune]string{'ß': "ss", 'ẞ': "ss", 'ø': "o", 'Ø': "o", 'ł': "l", 'Ł': "l", 'đ': "d", 'Đ': "d",
	'æ': "ae", 'Æ': "ae", 'œ': "oe", 'Œ': "oe", 'ı': "i"}

// Words splits s, folded, into its words: runs of letters and digits;
// characters of scripts written without spaces (Chinese, Japanese, Thai)
// separate words, as do spaces and punctuation.
func Words(s string) []string { return splitWords(Fold(s)) }

func splitWords(folded string) []string {
	return strings.FieldsFunc(folded, func(r rune) bool {
		return !(unicode.IsLetter(r) || unicode.IsDigit(r)) || isUnspaced(r)
	})
}

// unspaced reports whether a keyword is written in a script without
// spaces between words, so that it matches as a substring.
func unspaced(k string) bool { return strings.ContainsFunc(k, isUnspaced) }

func isUnspaced(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Thai, unicode.Lao, unicode.Khmer, unicode.Myanmar)
}

// primary is a language code's primary subtag, lowercased: "zh-Hans" → "zh".
func primary(code string) string {
	code = strings.ToLower(strings.TrimSpace(code))
	if i := strings.IndexAny(code, "-_"); i >= 0 {
		code = code[:i]
	}
	return code
}

// normLabel is a label as stored and compared: trimmed, inner spaces made
// one, lowercased.
func normLabel(l string) string { return strings.ToLower(strings.Join(strings.Fields(l), " ")) }

// Problem is one thing wrong with the rules, at a key path relative to the
// routing list ("[0].when.regex").
type Problem struct {
	Path    string
	Message string
}

func (p Problem) Error() string { return "routing" + p.Path + ": " + p.Message }

// MaxLabels bounds a rule's labels (a conversation carries at most 20).
const MaxLabels = 20

// Check lists every problem of rules: a rule without a name or with a
// duplicate one, an empty when, an empty or blank keyword, a regular
// expression that does not compile (with the error), an unknown priority,
// a rule that sets nothing, a team not among teams (when teams is not nil),
// an invalid label.
func Check(rules []Rule, teams []string) []Problem {
	var ps []Problem
	add := func(i int, key, format string, args ...any) {
		ps = append(ps, Problem{Path: fmt.Sprintf("[%d]%s", i, key), Message: fmt.Sprintf(format, args...)})
	}
	seen := map[string]int{}
	for i, r := range rules {
		switch name := strings.TrimSpace(r.Name); {
		case name == "":
			add(i, ".name", "is required (it names the rule in the conversation's history)")
		case name != r.Name || strings.ContainsFunc(name, unicode.IsSpace) || len(name) > 50:
			add(i, ".name", "%q is not a valid name: use up to 50 characters without spaces", r.Name)
		default:
			if first, dup := seen[name]; dup {
				add(i, ".name", "duplicate rule name %q (also routing[%d])", name, first)
			} else {
				seen[name] = i
			}
		}
		w := &r.When
		if w.empty() {
			add(i, ".when", "is empty: give at least one of connector, channel, language, keywords, regex, contact_labels (conversations no rule matches go to default_team)")
		}
		for j, k := range w.Keywords {
			if len(Words(k)) == 0 && !unspaced(k) {
				add(i, fmt.Sprintf(".when.keywords[%d]", j), "%q has no word to match", k)
			}
		}
		if w.Regex != "" {
			if _, err := regexp.Compile(w.Regex); err != nil {
				add(i, ".when.regex", "is not a valid regular expression: %v", err)
			}
		}
		for j, l := range w.ContactLabels {
			if normLabel(l) == "" {
				add(i, fmt.Sprintf(".when.contact_labels[%d]", j), "must not be empty")
			}
		}
		t := &r.Then
		if t.Team == "" && t.Priority == "" && len(t.Labels) == 0 {
			add(i, ".then", "sets nothing: give team, priority and/or labels")
		}
		if t.Priority != "" && !slices.Contains(Priorities, t.Priority) {
			add(i, ".then.priority", "unknown priority %q (known: %s)", t.Priority, strings.Join(Priorities, ", "))
		}
		if t.Team != "" && teams != nil && !slices.Contains(teams, t.Team) {
			add(i, ".then.team", "unknown team %q (teams: %s)", t.Team, strings.Join(teams, ", "))
		}
		if len(t.Labels) > MaxLabels {
			add(i, ".then.labels", "has %d labels; at most %d are allowed", len(t.Labels), MaxLabels)
		}
		for j, l := range t.Labels {
			switch n := normLabel(l); {
			case n == "":
				add(i, fmt.Sprintf(".then.labels[%d]", j), "must not be empty")
			case n != l:
				add(i, fmt.Sprintf(".then.labels[%d]", j), "%q is not as labels are stored: write %q", l, n)
			case len([]rune(n)) > 50 || strings.ContainsRune(n, ',') || strings.ContainsFunc(n, unicode.IsControl):
				add(i, fmt.Sprintf(".then.labels[%d]", j), "%q is not a valid label: at most 50 characters, no comma", l)
			}
		}
	}
	return ps
}
