// Package faq is the knowledge base of the 7×24 answers and its ranker: given
// a customer's message, the entry that answers it, with a confidence, or
// nothing. It is pure logic, with no other import of the project.
//
// # Entries
//
// An Entry has an id, questions and keywords per language (zh, en, it or any
// other code) and an answer per language. New refuses a missing or repeated
// id, an entry without a question or an answer, an empty answer, a bad
// language code, and a question or keyword with nothing to match. Load reads
// a YAML list of entries, strictly (unknown keys are errors); testdata/faq.yaml
// is an example of ten entries in three languages.
//
// # Terms
//
// Text is folded first: lower case, accents (è → e, ß → ss), full-width forms
// (ＡＢＣ → abc) and the frequent traditional Chinese characters (訂單 →
// 订单, a table of about 800 pairs). Then:
//
//   - Words (letters and digits of a script with spaces; anything else,
//     apostrophes included, separates) that are not stopwords are stemmed
//     lightly: English plurals, -ing, -ed and a final silent e; Italian verb
//     endings (-are, -ato, -ando …) and one final vowel; other languages a
//     plural -s. A question's words are stemmed in its language; a customer's
//     words in every language (the message may not be in the language the
//     platform says), and an entry scores the best of them. One stopword list
//     serves all languages (the union of tiny English and Italian lists, with
//     greetings and politeness: "hello", "ciao, grazie" have nothing to match).
//     Question words (what, where, how, dove, quando …) are soft: they count
//     for an entry that has them and are not missed by one that lacks them.
//     Words with digits (order numbers, codes) are ignored unless an entry
//     has them.
//   - Han text has no spaces: every two adjacent characters are a term
//     (bigram), and every character is a term too, at weight 0.3 (1 when the
//     run is a single character), so that 退钱 still meets 退款 a little.
//     Characters without a topic of their own (的 了 吗 我 你 怎 么 哪 …)
//     are not counted as content of the question.
//   - Typos: a customer's word of four letters or more that is not in the
//     vocabulary also matches the vocabulary's words at one edit (insertion,
//     deletion, substitution, or two adjacent letters swapped: pasword,
//     refnud, fatura), at weight 0.8.
//
// # Ranking
//
// BM25 (k1 = 1.2, b = 0.3) with one document per entry: all its questions,
// in every language, and its keywords, concatenated. Concatenating rather
// than taking the best single question lets a message that mixes two
// paraphrases of the same entry ("forgot my password, how do I reset it")
// score on both, makes the inverse document frequency count entries (a
// word in three questions of one entry is not common), and lets a term
// repeated across an entry's questions weigh more (it is what the entry is
// about), saturated by k1. b is low because an entry with more paraphrases
// is not less about its topic. Rank orders by BM25, then by confidence.
//
// # Confidence
//
// Match.Score, in [0, 1], is coverage × evidence:
//
//   - coverage is the share of the message's content units (words that are
//     not stopwords; Han characters with a topic) that the entry's terms
//     account for: a unit counts 1 when matched by a word or a bigram, 0.8
//     by a typo correction, 0.5 by a single Han character. Question words
//     count only when matched. "my refund hasn't arrived" is fully covered by
//     the refund entry; "what's the weather in Rome" is not covered by any.
//   - evidence is the inverse document frequency of the matched terms,
//     summed (with their weights), relative to that of one term found in a
//     single entry, capped at 1: a message must bring at least one word's
//     worth of specific evidence. "order" alone, in four entries of ten, has
//     coverage 1 but evidence 0.45: no guess between them. A word in two
//     entries of ten has evidence 0.74, and BM25 picks the entry that
//     repeats it most. Han characters inside a longer run bring no evidence
//     of their own (their bigrams do).
//
// Confidence is thus 1 when every content word of the message is in the
// entry and at least one of them is specific, and it does not depend on the
// length of the entry or on the other entries' scores (only, through the
// inverse document frequency, on how many entries share a term). Match
// answers when the best entry by BM25 has a confidence of at least
// Index.Threshold (DefaultThreshold 0.5: at least half of what the customer
// wrote is what the entry is about); below it, no answer, and a human takes
// over.
//
// # Answer language
//
// The customer's language if the entry answers in it (zh-Hans → zh), else
// the language of the questions and keywords the message matched best, else
// English, else the first language in alphabetical order.
package faq
