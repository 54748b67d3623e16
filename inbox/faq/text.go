package faq

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// t2s maps a traditional Chinese character to its simplified form.
var t2s = func() map[rune]rune {
	m := map[rune]rune{}
	for _, pair := range strings.Fields(traditionalPairs) {
		r, n := utf8.DecodeRuneInString(pair)
		s, _ := utf8.DecodeRuneInString(pair[n:])
		m[r] = s
	}
	return m
}()

// latinFold maps a lower-case accented Latin letter to its base letters.
var latinFold = func() map[rune]string {
	m := map[rune]string{'ß': "ss", 'æ': "ae", 'œ': "oe", 'þ': "th", 'ð': "d"}
	for _, g := range []string{
		"a àáâãäåāăą", "c çćĉċč", "d ďđ", "e èéêëēĕėęě", "g ĝğġģ", "h ĥħ",
		"i ìíîïĩīĭįı", "j ĵ", "k ķ", "l ĺļľŀł", "n ñńņňŉ", "o òóôõöøōŏő",
		"r ŕŗř", "s śŝşšș", "t ţťŧț", "u ùúûüũūŭůűų", "w ŵ", "y ýÿŷ", "z źżž",
	} {
		base, letters, _ := strings.Cut(g, " ")
		for _, r := range letters {
			m[r] = base
		}
	}
	return m
}()

// fold lower-cases s, folds accents (è → e), full-width forms (ＡＢＣ１ → abc1)
// and traditional Chinese characters (訂單 → 订单).
func fold(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r >= 0xFF01 && r <= 0xFF5E:
			r -= 0xFEE0
		case r == 0x3000:
			r = ' '
		}
		r = unicode.ToLower(r)
		if f, ok := latinFold[r]; ok {
			b.WriteString(f)
			continue
		}
		if s, ok := t2s[r]; ok {
			r = s
		}
		b.WriteRune(r)
	}
	return b.String()
}

func isHan(r rune) bool { return unicode.Is(unicode.Han, r) }

// segment is a run of a text: a word (letters and digits of a script with
// spaces) or a run of Han characters.
type segment struct {
	han  bool
	text string
}

// segments splits a folded text into words and Han runs; everything else
// (spaces, punctuation, apostrophes, symbols) separates.
func segments(s string) []segment {
	var out []segment
	start, han := -1, false
	flush := func(end int) {
		if start >= 0 {
			out = append(out, segment{han, s[start:end]})
			start = -1
		}
	}
	for i, r := range s {
		h := isHan(r)
		word := !h && (unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r))
		switch {
		case h || word:
			if start >= 0 && han != h {
				flush(i)
			}
			if start < 0 {
				start, han = i, h
			}
		default:
			flush(i)
		}
	}
	flush(len(s))
	return out
}

// stopwords is one list for every language: the union of tiny English and
// Italian lists (a function word of one is noise in a support question in
// the other), with greetings and politeness, so that "hello", "ciao, ho
// bisogno di aiuto" or "thanks!" have no word left to match.
var stopwords = set(`
a an the i me my mine myself you your yours we our us he she him her his it its they them their
is am are was were be been being do does did doing have has had having will would shall should
can could may might must to of in on at for from by with about into over under as and or but
if then so than too very just also still yet already now not no nor this that these those there
here whom whose all any some each every other such only own
same few more most much many s t d m ll re ve don doesn didn isn aren wasn weren won wouldn
couldn shouldn hasn haven hadn cannot let get got please pls plz hi hello hey dear thanks thank thx ok okay
yes want wanted need needs needed help like would know tell someone something anyone anything
anymore again
il lo la gli le un uno una di da del dello della dei degli delle al allo alla ai agli alle dal
dallo dalla dai dagli dalle nel nello nella nei negli nelle sul sullo sulla sui sugli sulle con
su per tra fra e ed o od ma anche se che chi cui mi ti si ci vi me te lui lei noi voi loro mio mia miei mie tuo tua tuoi tue suo sua suoi
sue nostro nostra vostro vostra ne non piu gia ancora sono sei siamo siete ho hai ha abbiamo
avete hanno essere avere posso puoi puo possiamo potete vorrei voglio vuoi devo deve ciao salve
buongiorno buonasera grazie favore prego aiuto aiutare aiutarmi aiutatemi bisogno qualcuno
qualcosa questo questa questi queste quello quella sto sta fare faccio fa c l po
`)

// softwords are question words: they count for an entry that has them
// (where is my order, dove è il mio ordine) but a question is not less
// covered by an entry that lacks them.
var softwords = set(`what when where why how which who cosa come dove quando perche quale quali quanto quanta quanti quante`)

// hanStop are Han characters that carry no topic on their own (particles,
// pronouns, question words, politeness): they are not counted as units of
// a question, though bigrams containing them are still terms.
var hanStop = func() map[rune]bool {
	m := map[rune]bool{}
	for _, r := range "的了吗呢吧啊呀哦嗯么我你您他她它们是在有和与及或请问好谢这那个怎什如何能可以要想会就都也还又把被给让一下帮助需办哪里嘛麻烦吗" {
		m[r] = true
	}
	return m
}()

func set(words string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(words) {
		m[w] = true
	}
	return m
}

// stemEN is light English stemming: plurals (-s, -es, -ies), -ing and -ed
// (undoing a doubled final consonant, as in shipped → ship), then a final
// silent e (charge, charged, charging → charg).
func stemEN(w string) string {
	if len(w) <= 3 {
		return w
	}
	switch {
	case strings.HasSuffix(w, "ies") && len(w) > 4:
		w = w[:len(w)-3] + "y"
	case strings.HasSuffix(w, "sses"):
		w = w[:len(w)-2]
	case strings.HasSuffix(w, "xes"), strings.HasSuffix(w, "ches"), strings.HasSuffix(w, "shes"), strings.HasSuffix(w, "zes"):
		w = w[:len(w)-2]
	case strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss") && !strings.HasSuffix(w, "us") && !strings.HasSuffix(w, "is"):
		w = w[:len(w)-1]
	}
	for _, suf := range []string{"ing", "ed"} {
		if strings.HasSuffix(w, suf) && len(w)-len(suf) >= 3 {
			w = w[:len(w)-len(suf)]
			if n := len(w); n >= 2 && w[n-1] == w[n-2] && !strings.ContainsRune("aeioulsz", rune(w[n-1])) {
				w = w[:n-1]
			}
			break
		}
	}
	if strings.HasSuffix(w, "e") && len(w) > 3 {
		w = w[:len(w)-1]
	}
	return w
}

// stemIT is light Italian stemming: the common verb endings (-are, -ato,
// -ando, …) on long words, then one final vowel -a, -e, -i, -o (ordine,
// ordini → ordin; rimborso, rimborsi → rimbors).
func stemIT(w string) string {
	for _, suf := range []string{"ando", "endo", "are", "ere", "ire", "ato", "ata", "ati", "ate", "ito", "ita", "iti", "ite", "uto", "uta", "uti", "ute"} {
		if strings.HasSuffix(w, suf) && len(w)-len(suf) >= 4 {
			return w[:len(w)-len(suf)]
		}
	}
	if n := len(w); n > 3 && strings.ContainsRune("aeio", rune(w[n-1])) {
		return w[:n-1]
	}
	return w
}

// stemOther is for every other language: a plural -s only.
func stemOther(w string) string {
	if len(w) > 3 && strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss") {
		return w[:len(w)-1]
	}
	return w
}

func stemFor(lang string) func(string) string {
	switch baseLang(lang) {
	case "en":
		return stemEN
	case "it":
		return stemIT
	}
	return stemOther
}

// baseLang is the language part of a code: "en-GB" → "en", "zh_TW" → "zh".
func baseLang(code string) string {
	code = strings.ToLower(strings.TrimSpace(code))
	if i := strings.IndexAny(code, "-_"); i >= 0 {
		code = code[:i]
	}
	return code
}

// docTerms are the index terms of a question or keyword of language lang:
// stemmed words that are not stopwords, Han bigrams and Han unigrams.
func docTerms(text, lang string) []string {
	stem := stemFor(lang)
	var out []string
	for _, sg := range segments(fold(text)) {
		if sg.han {
			rs := []rune(sg.text)
			for i, r := range rs {
				out = append(out, string(r))
				if i+1 < len(rs) {
					out = append(out, string(rs[i:i+2]))
				}
			}
			continue
		}
		if stopwords[sg.text] {
			continue
		}
		out = append(out, stem(sg.text))
	}
	return out
}
