package faq

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// maxQueryRunes bounds the work on one message: only its beginning is read.
const maxQueryRunes = 2000

// alt is one term a slot of the query may match, with its weight.
type alt struct {
	term string
	w    float64
}

// slot is one query term position: a word (its stems in each language and
// its corrections) or a Han bigram or character. An entry scores the best
// of a slot's alternatives. units are the query units it covers, each for
// credit of a unit when the slot matches.
type slot struct {
	alts      []alt
	units     []int
	credit    float64
	noEvident bool // a Han character inside a run: its bigrams already say it
}

// query is an analysed question: its slots and its content units: words
// that are not stopwords and Han characters that carry a topic (hard
// units), question words (soft units: see softwords).
type query struct {
	slots []slot
	units int
	soft  []bool // by unit
	hard  int    // units that are not soft
}

func (q *query) unit(soft bool) int {
	q.soft = append(q.soft, soft)
	if !soft {
		q.hard++
	}
	q.units++
	return q.units - 1
}

var stemmers = []func(string) string{stemEN, stemIT, stemOther}

func (x *Index) analyse(text string) query {
	var q query
	for _, sg := range segments(fold(text)) {
		if sg.han {
			x.analyseHan(&q, []rune(sg.text))
			continue
		}
		w := sg.text
		if stopwords[w] || strings.ContainsAny(w, "0123456789") && x.postings[w] == nil {
			continue // order numbers and codes are not what a question is about
		}
		s := slot{units: []int{q.unit(softwords[w])}, credit: 1}
		known := false
		for _, stem := range stemmers {
			t := stem(w)
			if !slices.ContainsFunc(s.alts, func(a alt) bool { return a.term == t }) {
				s.alts = append(s.alts, alt{t, 1})
				known = known || x.postings[t] != nil
			}
		}
		if !known {
			s.alts = append(s.alts, x.corrections(s.alts)...)
		}
		q.slots = append(q.slots, s)
	}
	return q
}

func (x *Index) analyseHan(q *query, rs []rune) {
	unit := make([]int, len(rs))
	for i, r := range rs {
		unit[i] = -1
		if !hanStop[r] {
			unit[i] = q.unit(false)
		}
	}
	if len(rs) == 1 {
		if unit[0] >= 0 {
			q.slots = append(q.slots, slot{alts: []alt{{string(rs), 1}}, units: []int{unit[0]}, credit: 1})
		}
		return
	}
	for i := 0; i+1 < len(rs); i++ {
		var units []int
		for _, u := range unit[i : i+2] {
			if u >= 0 {
				units = append(units, u)
			}
		}
		// Two function characters (我的, 怎么, 哪里) cover no unit but
		// still score, as question words do.
		q.slots = append(q.slots, slot{alts: []alt{{string(rs[i : i+2]), 1}}, units: units, credit: 1})
	}
	for i, r := range rs {
		if unit[i] >= 0 {
			q.slots = append(q.slots, slot{alts: []alt{{string(r), wUnigram}}, units: []int{unit[i]}, credit: creditUnigram, noEvident: true})
		}
	}
}

// corrections are the words of the vocabulary at edit distance 1 from one
// of the stems (a typo: pasword, refnud, spedzione).
func (x *Index) corrections(stems []alt) []alt {
	var out []alt
	for _, s := range stems {
		if !typoable(s.term) {
			continue
		}
		for _, key := range append([]string{s.term}, deletions(s.term)...) {
			for _, v := range x.deletes[key] {
				if len(out) < maxTypoPerWord && osa1(s.term, v) &&
					!slices.ContainsFunc(out, func(a alt) bool { return a.term == v }) &&
					!slices.ContainsFunc(stems, func(a alt) bool { return a.term == v }) {
					out = append(out, alt{v, wTypo})
				}
			}
		}
	}
	return out
}

// hit is what one slot brings to one entry.
type hit struct {
	bm25, evidence, w float64
	term              string
}

// Rank returns every entry that shares a term with text, best first: by
// BM25, then confidence, then the order of the entries. lang is the
// customer's language ("" when unknown); it chooses the answer's language,
// it does not restrict the questions that match.
func (x *Index) Rank(text, lang string) []Match { return x.rank(text, lang, -1) }

// rank ranks and gives the answer language of the first langs matches
// (all when langs < 0).
func (x *Index) rank(text, lang string, langs int) []Match {
	if x == nil || len(x.docs) == 0 {
		return nil
	}
	if utf8.RuneCountInString(text) > maxQueryRunes {
		text = string([]rune(text)[:maxQueryRunes])
	}
	q := x.analyse(text)
	if q.hard == 0 {
		return nil // only stopwords, question words, numbers: nothing to answer
	}
	n := len(x.docs)
	score := make([]float64, n)
	evidence := make([]float64, n)
	covered := map[int][]float64{}
	best := map[int]hit{}
	for _, s := range q.slots {
		clear(best)
		for _, a := range s.alts {
			ps := x.postings[a.term]
			if len(ps) == 0 {
				continue
			}
			idf := x.idf(len(ps))
			for _, p := range ps {
				tf := float64(p.tf)
				norm := tf * (k1 + 1) / (tf + k1*(1-b+b*float64(x.docs[p.doc].length)/x.avgLen))
				h := hit{a.w * idf * norm, a.w * idf, a.w, a.term}
				if h.bm25 > best[p.doc].bm25 {
					best[p.doc] = h
				}
			}
		}
		for d, h := range best {
			score[d] += h.bm25
			if !s.noEvident {
				evidence[d] += h.evidence
			}
			c := covered[d]
			if c == nil {
				c = make([]float64, q.units)
				covered[d] = c
			}
			for _, u := range s.units {
				c[u] = max(c[u], s.credit*h.w)
			}
		}
	}
	type cand struct {
		doc int
		m   Match
	}
	cands := make([]cand, 0, len(covered))
	for d, c := range covered {
		sum, units := 0.0, float64(q.hard)
		for u, v := range c {
			sum += v
			if q.soft[u] {
				units += v
			}
		}
		conf := sum / units * min(1, evidence[d]/x.idf1)
		cands = append(cands, cand{d, Match{Entry: &x.entries[d], Score: min(1, conf), BM25: score[d]}})
	}
	slices.SortFunc(cands, func(a, b cand) int {
		switch {
		case a.m.BM25 != b.m.BM25:
			return cmpDesc(a.m.BM25, b.m.BM25)
		case a.m.Score != b.m.Score:
			return cmpDesc(a.m.Score, b.m.Score)
		}
		return a.doc - b.doc
	})
	out := make([]Match, len(cands))
	for i, c := range cands {
		out[i] = c.m
		if langs < 0 || i < langs {
			out[i].Lang = x.answerLang(c.doc, q, lang)
		}
	}
	return out
}

func cmpDesc(a, b float64) int {
	if a > b {
		return -1
	}
	return 1
}

// Match is the best entry for text (by BM25) when its confidence reaches the
// threshold; false otherwise (then a human answers). The entry must not be
// modified. Only the first 2,000 characters of text are read.
func (x *Index) Match(text, lang string) (Match, bool) {
	ms := x.rank(text, lang, 1)
	if len(ms) == 0 || ms[0].Score < x.Threshold {
		return Match{}, false
	}
	return ms[0], true
}

// MatchExcept is Match ignoring the entries with the given ids: the best
// other entry when its confidence reaches the threshold (so as not to give
// the same answer twice in a row).
func (x *Index) MatchExcept(text, lang string, except ...string) (Match, bool) {
	for _, m := range x.rank(text, lang, -1) {
		if m.Score < x.Threshold {
			continue
		}
		if !slices.Contains(except, m.Entry.ID) {
			return m, true
		}
	}
	return Match{}, false
}

// answerLang: the customer's language if the entry answers in it, else the
// language of the questions the text matched best, else English, else the
// first language in alphabetical order.
func (x *Index) answerLang(doc int, q query, lang string) string {
	e := &x.entries[doc]
	has := func(l string) bool { return strings.TrimSpace(e.Answer[l]) != "" }
	if lang != "" {
		if has(lang) {
			return lang
		}
		if l := baseLang(lang); has(l) {
			return l
		}
	}
	d := x.docs[doc]
	bestLang, bestW := "", 0.0
	for _, l := range sortedKeys(d.byLang) {
		w := 0.0
		for _, s := range q.slots {
			m := 0.0
			for _, a := range s.alts {
				if d.byLang[l][a.term] {
					m = max(m, a.w)
				}
			}
			w += m
		}
		if w > bestW && has(l) {
			bestLang, bestW = l, w
		}
	}
	if bestLang != "" {
		return bestLang
	}
	if has("en") {
		return "en"
	}
	for _, l := range sortedKeys(e.Answer) {
		if has(l) {
			return l
		}
	}
	return ""
}
