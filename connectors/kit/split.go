package kit

import (
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// UTF16Len is the length of s in UTF-16 code units: how Telegram counts its
// 4,096 and Discord its 2,000 characters. A rune outside the Basic
// Multilingual Plane (most emoji) counts 2.
func UTF16Len(s string) int {
	n := 0
	for _, r := range s {
		if l := utf16.RuneLen(r); l > 0 {
			n += l
		} else {
			n++
		}
	}
	return n
}

// RuneLen is the length of s in Unicode code points.
func RuneLen(s string) int { return utf8.RuneCountInString(s) }

// ByteLen is the length of s in UTF-8 bytes: how WeChat counts its 2,048.
func ByteLen(s string) int { return len(s) }

// Split cuts text into parts of at most limit, as measured by length, in
// order. length must be additive (the length of a string is the sum of the
// lengths of its runes), as UTF16Len, RuneLen and ByteLen are.
//
// Within the second half of a part, a cut prefers, in this order: after a
// blank line (a paragraph), after a line break, after a space or a CJK
// sentence or clause mark (。！？；，、). Otherwise the part is cut at the
// limit, but never inside a rune (so never inside a UTF-16 surrogate pair)
// and, where the part allows, not before a combining mark, a variation
// selector, an emoji modifier or a zero-width joiner's partner (so 👍🏽 and
// 👩‍💻 stay whole).
//
// The separator stays at the end of the part before the cut, so the parts
// join back into text, except that parts which are only whitespace are
// dropped (platforms refuse them). An empty or blank text gives no parts. A
// single rune longer than limit (limit < 1, or 2 for an emoji in UTF-16) is
// a part of its own.
func Split(text string, limit int, length func(string) int) []string {
	var parts []string
	add := func(s string) {
		if strings.TrimSpace(s) != "" {
			parts = append(parts, s)
		}
	}
	for text != "" {
		cut := prefixWithin(text, limit, length)
		if cut == len(text) {
			add(text)
			break
		}
		if cut == 0 { // one rune over the limit: it goes alone
			_, cut = utf8.DecodeRuneInString(text)
		} else {
			cut = boundary(text, cut, length)
		}
		add(text[:cut])
		text = text[cut:]
	}
	return parts
}

// prefixWithin returns the byte length of the longest prefix of s, ending on
// a rune boundary, whose length is at most limit.
func prefixWithin(s string, limit int, length func(string) int) int {
	n := 0
	for i := 0; i < len(s); {
		_, size := utf8.DecodeRuneInString(s[i:])
		l := length(s[i : i+size])
		if n+l > limit {
			return i
		}
		n += l
		i += size
	}
	return len(s)
}

// boundary picks where to cut text at or before cut (0 < cut < len(text)).
// A boundary counts when it lies in the second half of the part, measured
// by length.
func boundary(text string, cut int, length func(string) int) int {
	head := text[:cut]
	total := length(head)
	late := func(i int) bool { return 2*length(head[:i]) > total }
	// A paragraph: after a blank line.
	for _, sep := range []string{"\n\n", "\n\r\n"} {
		if i := strings.LastIndex(head, sep); i >= 0 && late(i+len(sep)) {
			return i + len(sep)
		}
	}
	// A line.
	if i := strings.LastIndexByte(head, '\n'); i >= 0 && late(i+1) {
		return i + 1
	}
	// A word, or a CJK sentence or clause.
	for i, n := len(head), total; 2*n > total; {
		r, size := utf8.DecodeLastRuneInString(head[:i])
		if unicode.IsSpace(r) || isCJKBreak(r) {
			return i
		}
		n -= length(head[i-size : i])
		i -= size
	}
	// At the limit, keeping a character's marks and joined emoji with it.
	for i := cut; i > 0; {
		next, _ := utf8.DecodeRuneInString(text[i:])
		prev, size := utf8.DecodeLastRuneInString(text[:i])
		if !joins(next) && prev != zwj {
			return i
		}
		i -= size
	}
	return cut // one long cluster: cut it at the limit
}

const zwj = '\u200d'

// joins reports whether r belongs with the rune before it.
func joins(r rune) bool {
	switch {
	case r == zwj,
		r >= 0xFE00 && r <= 0xFE0F,   // variation selectors
		r >= 0x1F3FB && r <= 0x1F3FF, // emoji skin-tone modifiers
		r >= 0xE0020 && r <= 0xE007F, // emoji tag sequences (flags of regions)
		unicode.Is(unicode.Mn, r), unicode.Is(unicode.Me, r), unicode.Is(unicode.Mc, r):
		return true
	}
	return false
}

func isCJKBreak(r rune) bool {
	switch r {
	case '。', '！', '？', '；', '，', '、', '：', '…':
		return true
	}
	return false
}
