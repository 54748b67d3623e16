package sla

import (
	"testing"
	"time"

	"github.com/tongdao/hub/inbox/hours"
)

func TestUp(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"low", "normal"}, {"normal", "high"}, {"high", "urgent"}, {"urgent", "urgent"}, {"", "high"}, {"odd", "high"},
	} {
		if got := Up(c.in); got != c.want {
			t.Errorf("Up(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestNewRefusesBadPolicies(t *testing.T) {
	for _, c := range []struct {
		name string
		ps   []Policy
		want string
	}{
		{"unknown priority", []Policy{{Priority: "asap", FirstResponse: time.Minute}}, `[0].priority: unknown priority "asap"`},
		{"twice", []Policy{{Priority: "high", FirstResponse: time.Minute}, {Priority: "high", Resolution: time.Hour}}, "[1].priority: high has a policy already"},
		{"negative", []Policy{{Priority: "low", FirstResponse: -time.Minute}}, "[0]: durations must be positive"},
		{"no clock", []Policy{{Priority: "low"}}, "[0]: sets no clock"},
	} {
		_, err := New(c.ps)
		if err == nil || len(err.Error()) < len(c.want) || err.Error()[:len(c.want)] != c.want {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	ps, err := New([]Policy{{Priority: "urgent", FirstResponse: 10 * time.Minute, EscalateTo: "managers"}})
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := ps.For("urgent"); !ok || p.Limit(FirstResponse) != 10*time.Minute || p.Limit(Resolution) != 0 {
		t.Fatalf("urgent: %+v %v", p, ok)
	}
	if _, ok := ps.For("low"); ok {
		t.Fatal("a priority without a policy has one")
	}
}

// Deadlines count business time only: across a night, a weekend and a
// holiday; the warning comes at 80% of it.
func TestDeadlineCountsBusinessTime(t *testing.T) {
	cal, err := hours.New(hours.Config{Timezone: "Asia/Shanghai",
		Weekly:   map[string]string{"mon": "09:00-18:00", "tue": "09:00-18:00", "wed": "09:00-18:00", "thu": "09:00-18:00", "fri": "09:00-18:00"},
		Holidays: []string{"2026-10-01"}})
	if err != nil {
		t.Fatal(err)
	}
	sh, _ := time.LoadLocation("Asia/Shanghai")
	at := func(day, clock string) time.Time {
		t, err := time.ParseInLocation("2006-01-02 15:04", day+" "+clock, sh)
		if err != nil {
			panic(err)
		}
		return t
	}
	for _, c := range []struct {
		name      string
		start     time.Time
		d         time.Duration
		warn, due time.Time
	}{
		{"within a day", at("2026-11-30", "10:00"), 10 * time.Minute, at("2026-11-30", "10:08"), at("2026-11-30", "10:10")},
		{"across the night", at("2026-11-30", "17:00"), 4 * time.Hour, at("2026-12-01", "11:12"), at("2026-12-01", "12:00")},
		{"across the weekend", at("2026-12-04", "17:30"), time.Hour, at("2026-12-07", "09:18"), at("2026-12-07", "09:30")},
		{"started while closed", at("2026-12-05", "11:00"), 10 * time.Minute, at("2026-12-07", "09:08"), at("2026-12-07", "09:10")},
		{"across a holiday", at("2026-09-30", "17:00"), 2 * time.Hour, at("2026-10-02", "09:36"), at("2026-10-02", "10:00")},
	} {
		warn, due := Deadline(cal, c.start, c.d)
		if !warn.Equal(c.warn) || !due.Equal(c.due) {
			t.Errorf("%s: warn %s due %s, want %s and %s", c.name, warn.In(sh), due.In(sh), c.warn, c.due)
		}
	}
	// Without a calendar every hour counts.
	start := at("2026-12-05", "11:00")
	if warn, due := Deadline(nil, start, time.Hour); !warn.Equal(start.Add(48*time.Minute)) || !due.Equal(start.Add(time.Hour)) {
		t.Errorf("no calendar: %s %s", warn, due)
	}
}
