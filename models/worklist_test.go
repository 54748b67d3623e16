package models

import "testing"

func TestIsOpeningNoise(t *testing.T) {
	for text, want := range map[string]bool{
		"": true, "  ": true, "/start": true, "/start link_aTzTqq": true, "[followed the account]": true,
		"link": true, "绑定": true, "Collega": true, "K7M4Q9PX": true, "1": true, "2.": true, "１": true, "12": true,
		"My order #42 has not arrived": false, "我的订单还没到": false, "123": false, "hello": false, "linked?": false,
	} {
		if got := IsOpeningNoise(text); got != want {
			t.Errorf("IsOpeningNoise(%q) = %v, want %v", text, got, want)
		}
	}
	if got := Preview("  a\n b\t c  ", 140); got != "a b c" {
		t.Errorf("Preview = %q", got)
	}
	if got := Preview("abcdef", 4); got != "abc…" {
		t.Errorf("Preview = %q", got)
	}
}
