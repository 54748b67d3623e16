package faq

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestFold(t *testing.T) {
	for in, want := range map[string]string{
		"我的訂單在哪裡":           "我的订单在哪里",
		"忘記密碼":              "忘记密码",
		"Perché è già COSÌ": "perche e gia cosi",
		"ＡＢＣ１２３　ｘ":          "abc123 x",
		"Straße Œuvre":      "strasse oeuvre",
	} {
		if got := fold(in); got != want {
			t.Errorf("fold(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTraditionalTable(t *testing.T) {
	seen := map[rune]bool{}
	for _, pair := range strings.Fields(traditionalPairs) {
		if utf8.RuneCountInString(pair) != 2 {
			t.Errorf("%q is not a pair of characters", pair)
			continue
		}
		rs := []rune(pair)
		if rs[0] == rs[1] || !isHan(rs[0]) || !isHan(rs[1]) {
			t.Errorf("%q: not two different Han characters", pair)
		}
		if seen[rs[0]] {
			t.Errorf("%c listed twice", rs[0])
		}
		seen[rs[0]] = true
	}
	for trad, simp := range t2s {
		if _, chained := t2s[simp]; chained {
			t.Errorf("%c → %c is itself folded again", trad, simp)
		}
	}
	if len(t2s) < 300 {
		t.Errorf("only %d pairs", len(t2s))
	}
}

func TestSegmentsAndTerms(t *testing.T) {
	got := fmt.Sprint(docTerms("Dov'è il mio ORDINE #123? 订单", "it"))
	if want := "[dov ordin 123 订 订单 单]"; got != want {
		t.Errorf("docTerms = %s, want %s", got, want)
	}
}

func TestStem(t *testing.T) {
	for _, tc := range []struct {
		stem func(string) string
		in   []string
	}{
		{stemEN, []string{"refund", "refunds", "refunded", "refunding"}},
		{stemEN, []string{"ship", "ships", "shipped", "shipping"}},
		{stemEN, []string{"charge", "charged", "charges", "charging"}},
		{stemEN, []string{"address", "addresses"}},
		{stemEN, []string{"delivery", "deliveries"}},
		{stemEN, []string{"invoice", "invoices"}},
		{stemEN, []string{"close", "closes", "closed", "closing"}},
		{stemIT, []string{"ordine", "ordini"}},
		{stemIT, []string{"rimborso", "rimborsi"}},
		{stemIT, []string{"annullare", "annullato", "annulla", "annullo", "annullando"}},
		{stemIT, []string{"fattura", "fatture"}},
		{stemIT, []string{"spedizione", "spedizioni"}},
	} {
		want := tc.stem(tc.in[0])
		for _, w := range tc.in[1:] {
			if got := tc.stem(w); got != want {
				t.Errorf("stem(%q) = %q, stem(%q) = %q", tc.in[0], want, w, got)
			}
		}
	}
}

func TestOneEditApart(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"password", "password", true},
		{"pasword", "password", true},   // deletion
		{"passwords", "password", true}, // insertion
		{"passward", "password", true},  // substitution
		{"passowrd", "password", true},  // transposition
		{"pasowrd", "password", false},  // two edits
		{"psasowrd", "password", false},
		{"refnud", "refund", true},
		{"ab", "ba", true},
		{"abc", "cba", false},
	} {
		if got := osa1(tc.a, tc.b); got != tc.want {
			t.Errorf("osa1(%q, %q) = %v", tc.a, tc.b, got)
		}
	}
}

func TestAnswerLanguage(t *testing.T) {
	x, err := New([]Entry{
		{ID: "hours", Questions: map[string][]string{"en": {"opening hours"}, "it": {"orari di apertura"}, "zh": {"营业时间"}},
			Answer: map[string]string{"en": "9-18", "zh": "9点到18点"}},
		{ID: "fr", Questions: map[string][]string{"fr": {"remboursement"}}, Answer: map[string]string{"fr": "oui", "it": "sì"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ text, lang, want string }{
		{"营业时间", "zh", "zh"},
		{"营业时间", "zh-Hans", "zh"},         // the base language
		{"opening hours", "zh", "zh"},     // the customer's language first
		{"营业时间", "", "zh"},                // unknown: the language of the question
		{"营业时间", "de", "zh"},              // no German answer: the question's
		{"orari di apertura", "it", "en"}, // no Italian answer nor question answer: English
		{"remboursement", "en", "fr"},     // the question's language
		{"remboursement", "it", "it"},
	} {
		m, ok := x.Match(tc.text, tc.lang)
		if !ok || m.Lang != tc.want {
			t.Errorf("Match(%q, %q) = %+v, %v; want language %s", tc.text, tc.lang, m, ok, tc.want)
		}
	}
}

func TestThresholdAndRank(t *testing.T) {
	x := exampleIndex(t)
	rs := x.Rank("where is my order, can I cancel it?", "en")
	if len(rs) < 2 || rs[0].Entry.ID != "cancel-order" || rs[1].Entry.ID != "order-tracking" {
		t.Fatalf("Rank = %v", ids(rs))
	}
	for i := 1; i < len(rs); i++ {
		if rs[i].BM25 > rs[i-1].BM25 {
			t.Errorf("Rank not in BM25 order: %v", rs)
		}
	}
	for _, r := range rs {
		if r.Score < 0 || r.Score > 1 {
			t.Errorf("confidence %v out of [0, 1]", r.Score)
		}
	}
	// "refnud" is one corrected word: 0.8 × 0.8 = 0.64 of confidence.
	if m, ok := x.Match("refnud", "en"); !ok || m.Entry.ID != "refund" || m.Score < 0.6 || m.Score > 0.7 {
		t.Fatalf("Match(refnud) = %+v, %v", m, ok)
	}
	x.Threshold = 0.7
	if m, ok := x.Match("refnud", "en"); ok {
		t.Errorf("above the threshold: %+v", m)
	}
	if m, ok := x.Match("refund", "en"); !ok || m.Score != 1 {
		t.Errorf("Match(refund) = %+v, %v; want confidence 1", m, ok)
	}
	var nilIndex *Index
	if _, ok := nilIndex.Match("refund", "en"); ok {
		t.Error("a nil index matched")
	}
	empty, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	if rs := empty.Rank("refund", "en"); rs != nil {
		t.Errorf("an empty index ranked %v", rs)
	}
}

func ids(ms []Match) []string {
	var out []string
	for _, m := range ms {
		out = append(out, fmt.Sprintf("%s(%.2f)", m.Entry.ID, m.Score))
	}
	return out
}

func TestNewListsEveryProblem(t *testing.T) {
	ok := map[string]string{"en": "yes"}
	q := map[string][]string{"en": {"refund"}}
	_, err := New([]Entry{
		{ID: "a", Questions: q, Answer: ok},
		{ID: " ", Questions: q, Answer: ok},
		{ID: "a", Questions: q, Answer: ok},
		{ID: "b", Questions: map[string][]string{"en": {}}, Answer: ok},
		{ID: "c", Questions: map[string][]string{"en": {"refund", "hello!", "  "}}, Keywords: map[string][]string{"zh": {"，"}}, Answer: ok},
		{ID: "d", Questions: q},
		{ID: "e", Questions: q, Answer: map[string]string{"en": " ", "english": "x"}},
		{ID: "f", Questions: map[string][]string{"": {"refund"}}, Answer: ok},
	})
	want := []string{
		"[1].id: missing",
		`[2].id: "a" is already the id of [0]`,
		"[3].questions: none (an entry needs at least one question)",
		`[4].questions.en[1]: "hello!" has nothing to match (only stopwords or punctuation)`,
		`[4].questions.en[2]: "  " has nothing to match (only stopwords or punctuation)`,
		`[4].keywords.zh[0]: "，" has nothing to match (only stopwords or punctuation)`,
		"[5].answer: none (an entry needs an answer in at least one language)",
		"[6].answer.en: empty",
		`[6].answer: "english" is not a language code (such as zh, en, it)`,
		`[7].questions: "" is not a language code (such as zh, en, it)`,
		"[7].questions: none (an entry needs at least one question)",
	}
	if err == nil || err.Error() != strings.Join(want, "\n") {
		t.Fatalf("New:\n%v\nwant:\n%s", err, strings.Join(want, "\n"))
	}
	var p *Problem
	if !errors.As(err, &p) || p.Path != "[1].id" {
		t.Errorf("first problem = %+v", p)
	}
}

func TestLoadIsStrict(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"unknown key", "- id: a\n  question: {en: [x]}\n  answer: {en: y}\n", "field question not found"},
		{"unknown key in a language map is a language", "- id: a\n  questions: {en: [x]}\n  answer: {en: y, xx: {z: 1}}\n", "cannot unmarshal"},
		{"not a list", "id: a\n", "cannot unmarshal"},
		{"two documents", "- id: a\n---\n- id: b\n", "more than one YAML document"},
	} {
		_, err := Load(strings.NewReader(tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Load = %v, want an error with %q", tc.name, err, tc.want)
		}
	}
	entries, err := Load(strings.NewReader(""))
	if err != nil || entries != nil {
		t.Errorf("empty: %v, %v", entries, err)
	}
	x := exampleIndex(t)
	if len(x.entries) != 10 {
		t.Errorf("the example has %d entries", len(x.entries))
	}
	for _, e := range x.entries {
		for _, l := range []string{"en", "zh", "it"} {
			if e.Answer[l] == "" || len(e.Questions[l]) == 0 {
				t.Errorf("%s lacks %s", e.ID, l)
			}
		}
	}
}

// BenchmarkMatch matches questions against 1,000 entries of made-up words
// and characters, each with questions in three languages.
func BenchmarkMatch(b *testing.B) {
	r := rand.New(rand.NewPCG(7, 11))
	word := func() string {
		const letters = "abcdefghilmnoprstuvz"
		n := 4 + r.IntN(6)
		w := make([]byte, n)
		for i := range w {
			w[i] = letters[r.IntN(len(letters))]
		}
		return string(w)
	}
	vocab := make([]string, 3000)
	for i := range vocab {
		vocab[i] = word()
	}
	han := []rune("订单物流退款发票密码账号冻结支付失败取消地址修改营业时间客服上班快递到货几天申请银行卡登录重置忘记查询状态多久送达税号开具收据锁定异常解冻")
	sentence := func(n int) string {
		ws := make([]string, n)
		for i := range ws {
			ws[i] = vocab[r.IntN(len(vocab))]
		}
		return strings.Join(ws, " ")
	}
	hanSentence := func(n int) string {
		rs := make([]rune, n)
		for i := range rs {
			rs[i] = han[r.IntN(len(han))]
		}
		return string(rs)
	}
	entries := make([]Entry, 1000)
	for i := range entries {
		entries[i] = Entry{
			ID: fmt.Sprintf("e%d", i),
			Questions: map[string][]string{
				"en": {sentence(6), sentence(5), sentence(7)},
				"it": {sentence(6), sentence(5)},
				"zh": {hanSentence(7), hanSentence(6)},
			},
			Keywords: map[string][]string{"en": {vocab[r.IntN(len(vocab))]}},
			Answer:   map[string]string{"en": "answer"},
		}
	}
	x, err := New(entries)
	if err != nil {
		b.Fatal(err)
	}
	queries := []string{
		entries[17].Questions["en"][1],
		"how do I " + entries[512].Questions["it"][0] + " please",
		entries[900].Questions["zh"][0][:9] + "怎么办",
		"xyzzy nothing here at all",
		sentence(8),
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		x.Match(queries[i%len(queries)], "en")
	}
}

func TestAmbiguousWordGetsNoGuess(t *testing.T) {
	x := exampleIndex(t)
	for _, text := range []string{"order", "my order", "order?", "ORDERS"} {
		if m, ok := x.Match(text, ""); ok {
			t.Errorf("Match(%q) guessed %s (%.2f)", text, m.Entry.ID, m.Score)
		}
	}
	// One specific word is enough.
	for text, want := range map[string]string{"refund": "refund", "invoice": "invoice", "发票": "invoice", "rimborso": "refund"} {
		if m, ok := x.Match(text, ""); !ok || m.Entry.ID != want || m.Score != 1 {
			t.Errorf("Match(%q) = %+v, %v; want %s with confidence 1", text, m, ok, want)
		}
	}
}

func TestMatchExcept(t *testing.T) {
	x := exampleIndex(t)
	text := "where is my order, can I cancel it?"
	if m, ok := x.MatchExcept(text, "en"); !ok || m.Entry.ID != "cancel-order" {
		t.Fatalf("MatchExcept() = %+v, %v", m, ok)
	}
	if m, ok := x.MatchExcept(text, "en", "cancel-order"); !ok || m.Entry.ID != "order-tracking" || m.Lang != "en" {
		t.Errorf("MatchExcept(cancel-order) = %+v, %v; want order-tracking", m, ok)
	}
	if m, ok := x.MatchExcept("refund", "en", "refund"); ok {
		t.Errorf("MatchExcept(refund) = %+v: no other entry answers", m)
	}
}

func TestLongMessageAndConcurrentUse(t *testing.T) {
	x := exampleIndex(t)
	long := "refund " + strings.Repeat("blah ", 5000)
	if _, ok := x.Match(long, "en"); ok {
		t.Error("a long message of noise matched")
	}
	done := make(chan string)
	for i := range 8 {
		go func() {
			tc := qualityCases[i]
			for range 50 {
				m, ok := x.Match(tc.text, tc.lang)
				if !ok || m.Entry.ID != tc.want {
					done <- fmt.Sprintf("%q: %v %v", tc.text, m.Entry, ok)
					return
				}
			}
			done <- ""
		}()
	}
	for range 8 {
		if msg := <-done; msg != "" {
			t.Error(msg)
		}
	}
}

func TestNewCopiesTheEntries(t *testing.T) {
	entries := []Entry{{ID: "refund", Questions: map[string][]string{"en": {"refund"}}, Answer: map[string]string{"en": "5 days"}}}
	x, err := New(entries)
	if err != nil {
		t.Fatal(err)
	}
	entries[0].Answer["en"] = "changed"
	entries[0].Questions["en"][0] = "changed"
	if m, ok := x.Match("refund", "en"); !ok || m.Entry.Answer["en"] != "5 days" || m.Entry.Questions["en"][0] != "refund" {
		t.Errorf("Match = %+v, %v", m, ok)
	}
}
