package routing

import (
	"slices"
	"strings"
	"testing"
)

// rules are the contract's example and a few more, in order.
var rules = []Rule{
	{Name: "fraud", When: When{Keywords: []string{"fraud", "frozen", "盗刷", "冻结", "truffa", "account locked"}},
		Then: Then{Team: "risk", Priority: PriorityUrgent, Labels: []string{"fraud"}}},
	{Name: "invoices", When: When{Keywords: []string{"invoice", "发票", "fattura"}, Channel: "wechat"},
		Then: Then{Team: "billing"}},
	{Name: "refund-it", When: When{Language: "it", Keywords: []string{"rimborso"}}, Then: Then{Team: "billing", Priority: PriorityHigh}},
	{Name: "order-number", When: When{Regex: `(?i)\border\s*#?\d{4,}\b`}, Then: Then{Team: "orders", Labels: []string{"order"}}},
	{Name: "discord-vip", When: When{Connector: "dc-vip"}, Then: Then{Priority: PriorityHigh, Labels: []string{"vip"}}},
	{Name: "returning-vip", When: When{ContactLabels: []string{"vip"}}, Then: Then{Team: "vip-desk"}},
	{Name: "japanese", When: When{Language: "ja"}, Then: Then{Team: "tokyo", Priority: PriorityLow}},
}

func TestRoute(t *testing.T) {
	table, err := New(rules, "general")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		m    Message
		rule string
		team string
		prio string
		lbls []string
	}{
		// Keywords in three languages, whole words, folded.
		{"english keyword", Message{Channel: "telegram", Text: "my account is frozen!"}, "fraud", "risk", "urgent", []string{"fraud"}},
		{"case folded", Message{Channel: "telegram", Text: "This is FRAUD."}, "fraud", "risk", "urgent", []string{"fraud"}},
		{"chinese substring", Message{Channel: "wechat", Text: "我的卡被盗刷了"}, "fraud", "risk", "urgent", []string{"fraud"}},
		{"chinese substring 2", Message{Channel: "wechat", Text: "账户冻结怎么办"}, "fraud", "risk", "urgent", []string{"fraud"}},
		{"italian accent folded", Message{Channel: "telegram", Text: "è una truffà!"}, "fraud", "risk", "urgent", []string{"fraud"}},
		{"italian capital accent", Message{Channel: "telegram", Text: "TRUFFA evidente"}, "fraud", "risk", "urgent", []string{"fraud"}},
		{"full-width latin", Message{Channel: "wechat", Text: "ＦＲＡＵＤ"}, "fraud", "risk", "urgent", []string{"fraud"}},
		{"latin word beside han", Message{Channel: "wechat", Text: "有fraud吗"}, "fraud", "risk", "urgent", []string{"fraud"}},
		{"two-word keyword", Message{Channel: "telegram", Text: "Account   locked since Monday"}, "fraud", "risk", "urgent", []string{"fraud"}},
		{"two words apart do not match", Message{Channel: "telegram", Text: "account was locked"}, "", "general", "normal", nil},
		{"no substring for latin", Message{Channel: "telegram", Text: "defrauded? refrozen?"}, "", "general", "normal", nil},
		// Every given field must match (channel).
		{"invoice on wechat", Message{Channel: "wechat", Text: "I need an invoice"}, "invoices", "billing", "normal", nil},
		{"invoice in chinese", Message{Channel: "wechat", Text: "请开发票"}, "invoices", "billing", "normal", nil},
		{"fattura on wechat", Message{Channel: "wechat", Text: "Fattura di marzo"}, "invoices", "billing", "normal", nil},
		{"invoice elsewhere", Message{Channel: "telegram", Text: "I need an invoice"}, "", "general", "normal", nil},
		// First match wins: fraud comes before invoices.
		{"first match wins", Message{Channel: "wechat", Text: "fraud on my invoice"}, "fraud", "risk", "urgent", []string{"fraud"}},
		// Language: the primary subtag.
		{"language it", Message{Channel: "telegram", Language: "it-IT", Text: "Vorrei un rimborso"}, "refund-it", "billing", "high", nil},
		{"language mismatch", Message{Channel: "telegram", Language: "en", Text: "rimborso"}, "", "general", "normal", nil},
		{"language alone", Message{Channel: "telegram", Language: "ja", Text: "こんにちは"}, "japanese", "tokyo", "low", nil},
		// Regex on the message as written.
		{"regex", Message{Channel: "discord", Text: "Where is Order #123456?"}, "order-number", "orders", "normal", []string{"order"}},
		{"regex too short", Message{Channel: "discord", Text: "order 12"}, "", "general", "normal", nil},
		// Connector; a rule without a team leaves the default team.
		{"connector, default team", Message{Connector: "dc-vip", Channel: "discord", Text: "hello"}, "discord-vip", "general", "high", []string{"vip"}},
		// Contact labels, any, case-insensitive.
		{"contact label", Message{Channel: "telegram", Text: "hello", ContactLabels: []string{"old", "VIP"}}, "returning-vip", "vip-desk", "normal", nil},
		{"contact label absent", Message{Channel: "telegram", Text: "hello", ContactLabels: []string{"old"}}, "", "general", "normal", nil},
		// Nothing matches: default team, normal.
		{"no match", Message{Channel: "telegram", Text: "hello there"}, "", "general", "normal", nil},
		{"empty text", Message{Channel: "telegram"}, "", "general", "normal", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := table.Route(tc.m)
			if d.Rule != tc.rule || d.Team != tc.team || d.Priority != tc.prio || !slices.Equal(d.Labels, tc.lbls) {
				t.Errorf("Route(%+v) = %+v; want rule %q team %q priority %q labels %v", tc.m, d, tc.rule, tc.team, tc.prio, tc.lbls)
			}
		})
	}
}

func TestRouteWithoutDefaultTeam(t *testing.T) {
	table, err := New(rules, "")
	if err != nil {
		t.Fatal(err)
	}
	if d := table.Route(Message{Text: "hi"}); d.Team != "" || d.Priority != PriorityNormal || d.Rule != "" || d.By() != "routing" {
		t.Errorf("no match = %+v", d)
	}
	if d := table.Route(Message{Text: "fraud"}); d.By() != "routing:fraud" {
		t.Errorf("By = %q", d.By())
	}
	if !(&Table{}).Empty() || table.Empty() {
		t.Error("Empty is wrong")
	}
	if !table.NeedsContactLabels() {
		t.Error("a rule reads contact labels")
	}
	one, _ := New(rules[:1], "")
	if one.NeedsContactLabels() {
		t.Error("no rule reads contact labels")
	}
}

func TestFold(t *testing.T) {
	for in, want := range map[string]string{"Truffà": "truffa", "Straße": "strasse", "ÇA": "ca", "盗刷": "盗刷", "ＡＢＣ": "abc", "Øre": "ore"} {
		if got := Fold(in); got != want {
			t.Errorf("Fold(%q) = %q, want %q", in, got, want)
		}
	}
	if got := Words("Hello, wörld! 你好abc"); !slices.Equal(got, []string{"hello", "world", "abc"}) {
		t.Errorf("Words = %q", got)
	}
}

func TestCheck(t *testing.T) {
	bad := []Rule{
		{When: When{Channel: "wechat"}, Then: Then{Team: "billing"}},                          // no name
		{Name: "a", Then: Then{Team: "billing"}},                                              // empty when
		{Name: "a", When: When{Regex: "(unclosed"}, Then: Then{Priority: "critical"}},         // dup, regex, priority
		{Name: "b", When: When{Keywords: []string{"  ", "ok"}}, Then: Then{Team: "nobody"}},   // blank keyword, unknown team
		{Name: "c", When: When{Channel: "wechat"}},                                            // sets nothing
		{Name: "d", When: When{Channel: "wechat"}, Then: Then{Labels: []string{"Fraud", ""}}}, // labels
		{Name: "with space", When: When{Channel: "wechat"}, Then: Then{Team: "risk"}},         // name
	}
	ps := Check(bad, []string{"billing", "risk"})
	var got []string
	for _, p := range ps {
		got = append(got, p.Error())
	}
	want := []string{
		"routing[0].name: is required",
		"routing[1].when: is empty",
		"routing[2].name: duplicate rule name \"a\" (also routing[1])",
		"routing[2].when.regex: is not a valid regular expression: error parsing regexp: missing closing ): `(unclosed`",
		"routing[2].then.priority: unknown priority \"critical\" (known: low, normal, high, urgent)",
		"routing[3].when.keywords[0]: \"  \" has no word to match",
		"routing[3].then.team: unknown team \"nobody\" (teams: billing, risk)",
		"routing[4].then: sets nothing",
		"routing[5].then.labels[0]: \"Fraud\" is not as labels are stored: write \"fraud\"",
		"routing[5].then.labels[1]: must not be empty",
		"routing[6].name: \"with space\" is not a valid name",
	}
	if len(got) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("problem %d = %q, want prefix %q", i, got[i], want[i])
		}
	}
	// Without teams configured, any team name goes.
	if ps := Check(bad[3:4], nil); len(ps) != 1 {
		t.Errorf("without teams: %v", ps)
	}
	if _, err := New(bad, ""); err == nil {
		t.Error("New accepted bad rules")
	}
	if ps := Check(rules, nil); len(ps) != 0 {
		t.Errorf("good rules: %v", ps)
	}
}
