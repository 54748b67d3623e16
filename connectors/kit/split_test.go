package kit_test

import (
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/tongdao/hub/connectors/kit"
)

func TestLengths(t *testing.T) {
	tests := []struct {
		s                  string
		utf16, runes, byts int
	}{
		{"", 0, 0, 0},
		{"abc", 3, 3, 3},
		{"中文", 2, 2, 6},
		{"😀", 2, 1, 4},
		{"👍🏽", 4, 2, 8},
		{"e\u0301", 2, 2, 3}, // e + combining acute
		{"\xff", 1, 1, 1},
	}
	for _, tt := range tests {
		if got := kit.UTF16Len(tt.s); got != tt.utf16 {
			t.Errorf("UTF16Len(%q) = %d, want %d", tt.s, got, tt.utf16)
		}
		if got := kit.RuneLen(tt.s); got != tt.runes {
			t.Errorf("RuneLen(%q) = %d, want %d", tt.s, got, tt.runes)
		}
		if got := kit.ByteLen(tt.s); got != tt.byts {
			t.Errorf("ByteLen(%q) = %d, want %d", tt.s, got, tt.byts)
		}
	}
}

func TestSplit(t *testing.T) {
	type fn = func(string) int
	tests := []struct {
		name   string
		text   string
		limit  int
		length fn
		want   []string
	}{
		{"empty", "", 10, kit.UTF16Len, nil},
		{"blank", " \n\t ", 10, kit.UTF16Len, nil},
		{"fits", "short", 10, kit.UTF16Len, []string{"short"}},
		{"exactly the limit", "0123456789", 10, kit.UTF16Len, []string{"0123456789"}},
		{"word boundary", "aaaa bbbb cccc", 10, kit.UTF16Len, []string{"aaaa bbbb ", "cccc"}},
		{"no boundary: hard cut", "aaaaaaaaaaaaaaa", 10, kit.UTF16Len, []string{"aaaaaaaaaa", "aaaaa"}},
		{"line before word", "ab cd\nef gh ij", 10, kit.RuneLen, []string{"ab cd\n", "ef gh ij"}},
		{"paragraph before line", "aaaaa\n\nb\ncc dd", 12, kit.RuneLen, []string{"aaaaa\n\n", "b\ncc dd"}},
		{"paragraph in the first half is not taken", "a\n\nbbbb\ncccc dddd", 12, kit.RuneLen, []string{"a\n\nbbbb\n", "cccc dddd"}},
		{"line in the first half is not taken", "ab\ncd efgh ij", 8, kit.UTF16Len, []string{"ab\ncd ", "efgh ij"}},
		{"CRLF paragraphs", "aaaa\r\n\r\nbbbb", 10, kit.RuneLen, []string{"aaaa\r\n\r\n", "bbbb"}},
		{"blank parts dropped", "abc     ", 3, kit.UTF16Len, []string{"abc"}},
		{"emoji count 2 in UTF-16", "👍👍👍", 4, kit.UTF16Len, []string{"👍👍", "👍"}},
		{"surrogate pair never split", "a👍b", 2, kit.UTF16Len, []string{"a", "👍", "b"}},
		{"emoji count 1 as runes", "👍👍👍", 2, kit.RuneLen, []string{"👍👍", "👍"}},
		{"emoji count 4 bytes", "👍👍👍", 9, kit.ByteLen, []string{"👍👍", "👍"}},
		{"CJK bytes on rune boundaries", "中文中文", 8, kit.ByteLen, []string{"中文", "中文"}},
		{"CJK full stop", "你好。我们在处理", 5, kit.RuneLen, []string{"你好。", "我们在处理"}},
		{"CJK comma", "第一，第二部分", 5, kit.RuneLen, []string{"第一，", "第二部分"}},
		{"CJK without marks: hard cut", "一二三四五六七", 3, kit.RuneLen, []string{"一二三", "四五六", "七"}},
		{"skin tone stays with its emoji", "aaaa👍🏽", 6, kit.UTF16Len, []string{"aaaa", "👍🏽"}},
		{"ZWJ sequence stays whole", "abcd👩\u200d💻", 8, kit.UTF16Len, []string{"abcd", "👩\u200d💻"}},
		{"combining mark stays", "abcde\u0301", 5, kit.RuneLen, []string{"abcd", "e\u0301"}},
		{"rune longer than the limit goes alone", "👍x", 1, kit.UTF16Len, []string{"👍", "x"}},
		{"limit zero makes progress", "ab", 0, kit.RuneLen, []string{"a", "b"}},
		{"invalid UTF-8 byte kept", "ab\xffcd", 3, kit.ByteLen, []string{"ab\xff", "cd"}},
	}
	for _, tt := range tests {
		got := kit.Split(tt.text, tt.limit, tt.length)
		if strings.Join(got, "|") != strings.Join(tt.want, "|") || len(got) != len(tt.want) {
			t.Errorf("%s: Split(%q, %d) = %q, want %q", tt.name, tt.text, tt.limit, got, tt.want)
		}
	}
}

// TestSplitPlatformLimits checks each platform's rule on long texts: every
// part within the limit, valid UTF-8, no lone surrogate, and the parts join
// back into the text.
func TestSplitPlatformLimits(t *testing.T) {
	texts := map[string]string{
		"ascii words": strings.Repeat("word ", 2000),
		"ascii lines": strings.Repeat(strings.Repeat("x", 99)+"\n", 120),
		"paragraphs":  strings.Repeat("A sentence of a paragraph. "+strings.Repeat("y", 300)+"\n\n", 40),
		"cjk":         strings.Repeat("中文客服消息，", 1500),
		"emoji":       strings.Repeat("😀", 5000),
		"mixed":       strings.Repeat("Ana 李 👍🏽 says: 好的！\n", 700),
		"no spaces":   strings.Repeat("b", 9001),
	}
	platforms := []struct {
		name   string
		limit  int
		length func(string) int
	}{
		{"telegram", 4096, kit.UTF16Len},
		{"discord", 2000, kit.UTF16Len},
		{"wechat", 2048, kit.ByteLen},
	}
	for _, p := range platforms {
		for name, text := range texts {
			parts := kit.Split(text, p.limit, p.length)
			if len(parts) < 2 {
				t.Errorf("%s/%s: %d parts, want a split", p.name, name, len(parts))
			}
			for i, part := range parts {
				if n := p.length(part); n > p.limit {
					t.Errorf("%s/%s: part %d is %d long, limit %d", p.name, name, i, n, p.limit)
				}
				if !utf8.ValidString(part) {
					t.Errorf("%s/%s: part %d breaks a rune", p.name, name, i)
				}
				u := utf16.Encode([]rune(part))
				if len(u) > 0 && utf16.IsSurrogate(rune(u[len(u)-1])) && (len(u) < 2 || !utf16.IsSurrogate(rune(u[len(u)-2]))) {
					t.Errorf("%s/%s: part %d ends in half a surrogate pair", p.name, name, i)
				}
				if i < len(parts)-1 && p.length(part) < p.limit/2 {
					t.Errorf("%s/%s: part %d is only %d long: a boundary in the first half was taken", p.name, name, i, p.length(part))
				}
			}
			if strings.Join(parts, "") != text {
				t.Errorf("%s/%s: parts do not join back into the text", p.name, name)
			}
		}
	}
}
