package faq

import (
	"os"
	"testing"
)

func exampleIndex(t testing.TB) *Index {
	t.Helper()
	f, err := os.Open("testdata/faq.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	entries, err := Load(f)
	if err != nil {
		t.Fatal(err)
	}
	x, err := New(entries)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// qualityCases are questions customers write, none copied from the
// knowledge base: paraphrases, typos, traditional characters, other word
// orders; want "" is a question the knowledge base does not answer.
var qualityCases = []struct {
	text, lang, want string
}{
	// English
	{"forgot my pasword, how do I reset it", "en", "reset-password"},
	{"password reset", "en", "reset-password"},
	{"I can't sign in anymore", "en", "reset-password"},
	{"how can I get my money back?", "en", "refund"},
	{"my refund hasn't been received yet", "en", "refund"},
	{"refnud", "en", "refund"},
	{"how many days does delivery take", "en", "shipping-time"},
	{"when does the package arrive?", "en", "shipping-time"},
	{"where's my order??", "en", "order-tracking"},
	{"tracking my order", "en", "order-tracking"},
	{"I typed a wrong delivery adress", "en", "change-address"},
	{"please cancel my order", "en", "cancel-order"},
	{"can I have an invoice for the order", "en", "invoice"},
	{"what time do you open on weekends", "en", "opening-hours"},
	{"why is my account locked", "en", "account-frozen"},
	{"my card got declined", "en", "payment-failed"},
	{"payment failing again", "en", "payment-failed"},
	{"Order cancellation", "en", "cancel-order"},
	{"is customer service open on saturday?", "en", "opening-hours"},
	{"the app says my account has been suspended", "", "account-frozen"},
	// Chinese, simplified and traditional
	{"密码忘了怎么办", "zh", "reset-password"},
	{"忘記密碼", "zh", "reset-password"},
	{"账号登录不上去", "zh", "reset-password"},
	{"退款多久到账", "zh", "refund"},
	{"我想退貨退款", "zh", "refund"},
	{"一般几天能到", "zh", "shipping-time"},
	{"我的訂單到哪裡了", "zh", "order-tracking"},
	{"查一下物流", "zh", "order-tracking"},
	{"收货地址写错了怎么改", "zh", "change-address"},
	{"訂單可以取消嗎", "zh", "cancel-order"},
	{"怎么开具发票", "zh", "invoice"},
	{"你们周末上班吗", "zh", "opening-hours"},
	{"我的帳號被凍結了", "zh", "account-frozen"},
	{"支付一直失败", "zh", "payment-failed"},
	{"发票怎么下载", "", "invoice"},
	{"帳戶被鎖定了怎麼辦", "zh", "account-frozen"},
	{"快遞幾天送達", "zh", "shipping-time"},
	// Italian
	{"ho perso la password, come la reimposto?", "it", "reset-password"},
	{"vorrei il rimborso", "it", "refund"},
	{"quanti giorni ci vogliono per spedire", "it", "shipping-time"},
	{"dove si trova il mio ordine?", "it", "order-tracking"},
	{"devo cambiare indirizzo", "it", "change-address"},
	{"voglio annullare il mio ordine", "it", "cancel-order"},
	{"mi serve una fatura", "it", "invoice"},
	{"a che ora aprite?", "it", "opening-hours"},
	{"account bloccato", "it", "account-frozen"},
	{"la carta è stata rifiutata", "it", "payment-failed"},
	{"Non riesco a pagare con la carta", "it", "payment-failed"},
	{"quando arriva il mio rimborso", "", "refund"},
	{"come cancello l'ordine", "it", "cancel-order"},
	// Not answered by the knowledge base
	{"hello", "en", ""},
	{"hi, I need help", "en", ""},
	{"你好", "zh", ""},
	{"您好，在吗", "zh", ""},
	{"ciao", "it", ""},
	{"ABCD2345", "", ""},
	{"#100234", "", ""},
	{"asdfgh qwerty", "", ""},
	{"what's the weather like in Rome tomorrow", "en", ""},
	{"do you sell shoes for kids", "en", ""},
	{"今天天气怎么样", "zh", ""},
	{"mi consigli un buon ristorante?", "it", ""},
	{"human", "en", ""},
	{"/start", "", ""},
	{"thank you so much!", "en", ""},
	{"谢谢", "zh", ""},
	{"grazie mille", "it", ""},
	{"I'd like to speak to a manager", "en", ""},
	{"我要投诉", "zh", ""},
	{"lorem ipsum dolor sit amet", "", ""},
}

// TestRankerQuality measures precision (answers given that were right) and
// recall (questions with an answer that got it) on qualityCases.
func TestRankerQuality(t *testing.T) {
	x := exampleIndex(t)
	answered, right, shouldAnswer := 0, 0, 0
	for _, tc := range qualityCases {
		m, ok := x.Match(tc.text, tc.lang)
		got := ""
		if ok {
			got = m.Entry.ID
			answered++
		}
		if tc.want != "" {
			shouldAnswer++
		}
		if ok && got == tc.want {
			right++
		}
		if got != tc.want {
			t.Logf("MISS %q (%s): got %q, want %q; ranking:", tc.text, tc.lang, got, tc.want)
			for i, r := range x.Rank(tc.text, tc.lang) {
				if i < 3 {
					t.Logf("    %-16s confidence %.2f bm25 %.2f", r.Entry.ID, r.Score, r.BM25)
				}
			}
		}
	}
	precision := float64(right) / float64(max(answered, 1))
	recall := float64(right) / float64(shouldAnswer)
	t.Logf("%d questions (%d with an answer, %d without): precision %.3f, recall %.3f",
		len(qualityCases), shouldAnswer, len(qualityCases)-shouldAnswer, precision, recall)
	if precision < 0.9 || recall < 0.85 {
		t.Errorf("precision %.3f (want >= 0.9), recall %.3f (want >= 0.85)", precision, recall)
	}
}
