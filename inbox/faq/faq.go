package faq

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"regexp"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// DefaultThreshold is the confidence below which Match gives no answer.
const DefaultThreshold = 0.5

// BM25 parameters. b is low on purpose: an entry is all its questions
// together, and an entry with more paraphrases is not less about its topic.
const (
	k1 = 1.2
	b  = 0.3
)

// Weights of the kinds of query terms (scoring and evidence) and the share
// of a unit they cover.
const (
	wTypo          = 0.8 // a word corrected at edit distance 1
	wUnigram       = 0.3 // a single Han character inside a longer run
	creditUnigram  = 0.5 // a Han character matched alone, not in a bigram
	minTypoLength  = 4   // words shorter than this are never corrected
	maxTypoPerWord = 8   // corrections kept per word
)

// Entry is one answer of the knowledge base with the questions it answers.
// Questions, Keywords and Answer are keyed by language code (zh, en, it or
// any other); keywords are extra terms that count like question words.
type Entry struct {
	ID        string              `yaml:"id" json:"id"`
	Questions map[string][]string `yaml:"questions" json:"questions"`
	Keywords  map[string][]string `yaml:"keywords,omitempty" json:"keywords,omitempty"`
	Answer    map[string]string   `yaml:"answer" json:"answer"`
}

// Match is a ranked entry. Score is the confidence in [0, 1] (see the
// package comment); BM25 is the ranking score, for debugging. Lang is the
// language of the answer to give: Entry.Answer[Lang] is never empty.
type Match struct {
	Entry *Entry
	Score float64
	BM25  float64
	Lang  string
}

// Index ranks the entries of a knowledge base. It is immutable after New
// except for Threshold, which must be set before the Index is shared.
type Index struct {
	// Threshold is the confidence below which Match answers nothing;
	// New sets DefaultThreshold.
	Threshold float64

	entries  []Entry
	docs     []doc
	postings map[string][]posting
	avgLen   float64
	idf1     float64             // the idf of a term found in exactly one entry
	deletes  map[string][]string // a word, or it less one letter → words of the vocabulary
}

type doc struct {
	length int
	byLang map[string]map[string]bool // language → terms of its questions and keywords
}

type posting struct {
	doc int
	tf  int
}

// Problem is one problem of the entries: its path relative to the list
// ([2].id, [0].questions.en[1]) and what is wrong. New joins them with
// errors.Join; errors.As gives them back, to prefix the list's own path.
type Problem struct{ Path, Message string }

func (p *Problem) Error() string { return p.Path + ": " + p.Message }

var langCode = regexp.MustCompile(`^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})?$`)

// New checks the entries and indexes them. Every problem is reported with
// its path: a missing or repeated id, an entry without a question or an
// answer, an empty answer, a bad language code, a question or keyword with
// nothing to match (only stopwords or punctuation).
func New(entries []Entry) (*Index, error) {
	var errs []error
	add := func(path, format string, args ...any) {
		errs = append(errs, &Problem{Path: path, Message: fmt.Sprintf(format, args...)})
	}
	x := &Index{
		Threshold: DefaultThreshold,
		entries:   make([]Entry, len(entries)),
		postings:  map[string][]posting{},
		deletes:   map[string][]string{},
	}
	for i, e := range entries { // a deep copy: the caller may reuse its maps
		x.entries[i] = Entry{ID: e.ID, Questions: cloneLists(e.Questions), Keywords: cloneLists(e.Keywords), Answer: maps.Clone(e.Answer)}
	}
	seen := map[string]int{}
	total := 0
	for i := range x.entries {
		e := &x.entries[i]
		p := fmt.Sprintf("[%d]", i)
		e.ID = strings.TrimSpace(e.ID)
		switch j, dup := seen[e.ID]; {
		case e.ID == "":
			add(p+".id", "missing")
		case dup:
			add(p+".id", "%q is already the id of [%d]", e.ID, j)
		default:
			seen[e.ID] = i
		}
		d := doc{byLang: map[string]map[string]bool{}}
		tf := map[string]int{}
		questions := 0
		for _, field := range []struct {
			name string
			m    map[string][]string
		}{{"questions", e.Questions}, {"keywords", e.Keywords}} {
			for _, lang := range sortedKeys(field.m) {
				lp := p + "." + field.name + "." + lang
				if !langCode.MatchString(lang) {
					add(p+"."+field.name, "%q is not a language code (such as zh, en, it)", lang)
					continue
				}
				for k, text := range field.m[lang] {
					if field.name == "questions" {
						questions++
					}
					terms := docTerms(text, lang)
					if len(terms) == 0 {
						add(fmt.Sprintf("%s[%d]", lp, k), "%q has nothing to match (only stopwords or punctuation)", text)
						continue
					}
					l := baseLang(lang)
					if d.byLang[l] == nil {
						d.byLang[l] = map[string]bool{}
					}
					for _, t := range terms {
						tf[t]++
						d.byLang[l][t] = true
					}
					d.length += len(terms)
				}
			}
		}
		if questions == 0 {
			add(p+".questions", "none (an entry needs at least one question)")
		}
		answers := 0
		for _, lang := range sortedKeys(e.Answer) {
			switch {
			case !langCode.MatchString(lang):
				add(p+".answer", "%q is not a language code (such as zh, en, it)", lang)
			case strings.TrimSpace(e.Answer[lang]) == "":
				add(p+".answer."+lang, "empty")
			default:
				answers++
			}
		}
		if len(e.Answer) == 0 {
			add(p+".answer", "none (an entry needs an answer in at least one language)")
		}
		for t, n := range tf {
			x.postings[t] = append(x.postings[t], posting{i, n})
		}
		total += d.length
		x.docs = append(x.docs, d)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(x.docs) > 0 {
		x.avgLen = float64(total) / float64(len(x.docs))
	}
	x.idf1 = x.idf(1)
	for t := range x.postings {
		if !typoable(t) {
			continue
		}
		x.deletes[t] = append(x.deletes[t], t)
		for _, v := range deletions(t) {
			x.deletes[v] = append(x.deletes[v], t)
		}
	}
	return x, nil
}

func cloneLists(m map[string][]string) map[string][]string {
	if m == nil {
		return nil
	}
	out := make(map[string][]string, len(m))
	for k, v := range m {
		out[k] = slices.Clone(v)
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// idf is BM25's inverse document frequency (the always positive variant).
func (x *Index) idf(df int) float64 {
	n := float64(len(x.docs))
	return math.Log(1 + (n-float64(df)+0.5)/(float64(df)+0.5))
}

// typoable: words of a spaced script long enough to correct, without digits.
func typoable(t string) bool {
	if utf8.RuneCountInString(t) < minTypoLength {
		return false
	}
	for _, r := range t {
		if isHan(r) || (r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// deletions are w less one letter, each position.
func deletions(w string) []string {
	rs := []rune(w)
	out := make([]string, 0, len(rs))
	for i := range rs {
		out = append(out, string(rs[:i])+string(rs[i+1:]))
	}
	return out
}

// osa1 reports whether a and b are at most one edit apart (insertion,
// deletion, substitution or transposition of adjacent letters).
func osa1(a, b string) bool {
	x, y := []rune(a), []rune(b)
	if len(x) > len(y) {
		x, y = y, x
	}
	switch len(y) - len(x) {
	case 0:
		diff := []int{}
		for i := range x {
			if x[i] != y[i] {
				diff = append(diff, i)
				if len(diff) > 2 {
					return false
				}
			}
		}
		switch len(diff) {
		case 0, 1:
			return true
		case 2:
			i, j := diff[0], diff[1]
			return j == i+1 && x[i] == y[j] && x[j] == y[i]
		}
		return false
	case 1:
		i := 0
		for i < len(x) && x[i] == y[i] {
			i++
		}
		return string(x[i:]) == string(y[i+1:])
	}
	return false
}

// Load reads a knowledge base in YAML, a list of entries:
//
//   - id: reset-password
//     questions: {en: ["How do I reset my password?"], zh: ["怎么重置密码"]}
//     keywords: {en: [password, login]}
//     answer: {en: "…", zh: "…"}
//
// Unknown keys are errors. Load does not check the entries: New does.
func Load(r io.Reader) ([]Entry, error) {
	dec := yaml.NewDecoder(r)
	dec.KnownFields(true)
	var entries []Entry
	if err := dec.Decode(&entries); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, fmt.Errorf("faq: %w", err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("faq: more than one YAML document")
	}
	return entries, nil
}
