package hours

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

var rome = mustZone("Europe/Rome")

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// at is a wall-clock time in Rome.
func at(day, hh, mm int, month ...time.Month) time.Time {
	m := time.December
	if len(month) > 0 {
		m = month[0]
	}
	return time.Date(2026, m, day, hh, mm, 0, 0, rome)
}

// office: December 2026 starts on a Tuesday; Tue 8 and Fri 25 are holidays.
func office(t *testing.T) *Calendar {
	t.Helper()
	c, err := New(Config{
		Timezone: "Europe/Rome",
		Weekly: map[string]string{
			"mon": "09:00-18:00",
			"tue": "09:00-12:00, 13:00-18:00",
			"wed": "9:00-18:00",
			"thu": "09:00-18:00",
			"fri": "09:00-17:00",
			"sat": "10:00-14:00",
			"sun": "closed",
		},
		Holidays: []string{"2026-12-08", "2026-12-25"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestOpen(t *testing.T) {
	c := office(t)
	for _, tc := range []struct {
		name string
		t    time.Time
		want bool
	}{
		{"exactly at opening", at(2, 9, 0), true},
		{"just before opening", at(2, 8, 59).Add(59 * time.Second), false},
		{"just before closing", at(2, 17, 59).Add(59 * time.Second), true},
		{"exactly at closing", at(2, 18, 0), false},
		{"split day, morning", at(1, 11, 59), true},
		{"split day, lunch", at(1, 12, 0), false},
		{"split day, lunch ends", at(1, 13, 0), true},
		{"saturday", at(5, 13, 59), true},
		{"saturday closed", at(5, 14, 0), false},
		{"sunday (closed)", at(6, 12, 0), false},
		{"holiday on a working day", at(8, 10, 0), false},
		{"day after the holiday", at(9, 10, 0), true},
		{"instant given in UTC", time.Date(2026, 12, 2, 8, 30, 0, 0, time.UTC), true}, // 09:30 in Rome
		{"instant given in UTC, before", time.Date(2026, 12, 2, 7, 30, 0, 0, time.UTC), false},
		{"midnight", at(3, 0, 0), false},
	} {
		if got := c.Open(tc.t); got != tc.want {
			t.Errorf("%s: Open(%v) = %v, want %v", tc.name, tc.t, got, tc.want)
		}
	}
}

func TestNextOpen(t *testing.T) {
	c := office(t)
	for _, tc := range []struct {
		name    string
		t, want time.Time
	}{
		{"open: itself", at(2, 10, 17), at(2, 10, 17)},
		{"exactly at opening", at(2, 9, 0), at(2, 9, 0)},
		{"just before opening", at(2, 8, 59), at(2, 9, 0)},
		{"at closing: next morning", at(2, 18, 0), at(3, 9, 0)},
		{"lunch break", at(1, 12, 0), at(1, 13, 0)},
		{"friday evening: saturday", at(4, 17, 0), at(5, 10, 0)},
		{"saturday afternoon: monday", at(5, 14, 0), at(7, 9, 0)},
		{"sunday: monday", at(6, 3, 0), at(7, 9, 0)},
		{"monday evening, holiday tuesday: wednesday", at(7, 18, 30), at(9, 9, 0)},
		{"on the holiday", at(8, 11, 0), at(9, 9, 0)},
		{"christmas friday: saturday", at(24, 18, 0), at(26, 10, 0)},
	} {
		got := c.NextOpen(tc.t)
		if !got.Equal(tc.want) {
			t.Errorf("%s: NextOpen(%v) = %v, want %v", tc.name, tc.t, got, tc.want)
		}
		if !c.Open(got) {
			t.Errorf("%s: NextOpen(%v) = %v is not open", tc.name, tc.t, got)
		}
	}
}

func TestAdd(t *testing.T) {
	c := office(t)
	for _, tc := range []struct {
		name string
		t    time.Time
		d    time.Duration
		want time.Time
	}{
		{"within the day", at(2, 10, 0), 2 * time.Hour, at(2, 12, 0)},
		{"zero", at(6, 3, 0), 0, at(6, 3, 0)},
		{"ends exactly at closing", at(2, 17, 0), time.Hour, at(2, 18, 0)},
		{"across the lunch break", at(1, 11, 0), 2 * time.Hour, at(1, 14, 0)},
		{"overnight", at(2, 17, 30), time.Hour, at(3, 9, 30)},
		{"from closed time", at(6, 3, 0), 30 * time.Minute, at(7, 9, 30)},
		{"friday into saturday", at(4, 16, 0), 2 * time.Hour, at(5, 11, 0)},
		{"across the weekend", at(5, 13, 0), 2 * time.Hour, at(7, 10, 0)},
		{"across a holiday", at(7, 17, 0), 2 * time.Hour, at(9, 10, 0)},
		{"a whole week", at(7, 9, 0), (9 + 0 + 9 + 9 + 8 + 4 + 9) * time.Hour, at(14, 18, 0)}, // tue 8 is a holiday
		{"ten minutes before closing, 10m SLA", at(4, 16, 50), 10 * time.Minute, at(4, 17, 0)},
		{"ten minutes at closing, 10m SLA", at(4, 17, 0), 10 * time.Minute, at(5, 10, 10)},
	} {
		got := c.Add(tc.t, tc.d)
		if !got.Equal(tc.want) {
			t.Errorf("%s: Add(%v, %v) = %v, want %v", tc.name, tc.t, tc.d, got, tc.want)
		}
		if b := c.Between(tc.t, got); b != tc.d {
			t.Errorf("%s: Between(%v, %v) = %v, want %v", tc.name, tc.t, got, b, tc.d)
		}
	}
}

func TestBetween(t *testing.T) {
	c := office(t)
	for _, tc := range []struct {
		name string
		a, b time.Time
		want time.Duration
	}{
		{"same instant", at(2, 10, 0), at(2, 10, 0), 0},
		{"within", at(2, 10, 0), at(2, 11, 30), 90 * time.Minute},
		{"closed span", at(5, 15, 0), at(7, 8, 0), 0},
		{"weekend", at(4, 16, 0), at(7, 10, 0), time.Hour + 4*time.Hour + time.Hour},
		{"holiday", at(7, 0, 0), at(10, 0, 0), 9*time.Hour + 9*time.Hour},
		{"reversed", at(2, 11, 30), at(2, 10, 0), -90 * time.Minute},
	} {
		if got := c.Between(tc.a, tc.b); got != tc.want {
			t.Errorf("%s: Between = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestBetweenInverseOfAdd checks, on random instants and durations, that
// Between(t, Add(t, d)) == d, that Add lands in or at the end of business
// time, and that Add(a, Between(a, b)) is the first instant with that much
// business time: at or before b, with no business time from there to b.
func TestBetweenInverseOfAdd(t *testing.T) {
	c := office(t)
	r := rand.New(rand.NewPCG(1, 2))
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, rome)
	for i := range 3000 {
		a := start.Add(time.Duration(r.Int64N(int64(400 * 24 * time.Hour))))
		d := time.Duration(r.Int64N(int64(200 * time.Hour))).Truncate(time.Second)
		got := c.Add(a, d)
		if b := c.Between(a, got); b != d {
			t.Fatalf("%d: Between(%v, Add(%v, %v) = %v) = %v", i, a, a, d, got, b)
		}
		if d > 0 && !c.Open(got.Add(-time.Nanosecond)) {
			t.Fatalf("%d: Add(%v, %v) = %v does not end business time", i, a, d, got)
		}
		b := a.Add(time.Duration(r.Int64N(int64(300 * time.Hour))))
		back := c.Add(a, c.Between(a, b))
		if back.After(b) || c.Between(back, b) != 0 {
			t.Fatalf("%d: Add(a, Between(a, %v)) = %v", i, b, back)
		}
	}
}

func TestDaylightSaving(t *testing.T) {
	// 2026 in Rome: 29 March 02:00 CET -> 03:00 CEST; 25 October 03:00 CEST -> 02:00 CET.
	mar := func(day, hh, mm int) time.Time { return at(day, hh, mm, time.March) }
	oct := func(day, hh, mm int) time.Time { return at(day, hh, mm, time.October) }
	build := func(sun string) *Calendar {
		c, err := New(Config{Timezone: "Europe/Rome", Weekly: map[string]string{"sun": sun}})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	whole := build("00:00-24:00")
	if got := whole.Between(mar(29, 0, 0), mar(30, 0, 0)); got != 23*time.Hour {
		t.Errorf("spring Sunday 00:00-24:00 = %v, want 23h", got)
	}
	if got := whole.Between(oct(25, 0, 0), oct(26, 0, 0)); got != 25*time.Hour {
		t.Errorf("autumn Sunday 00:00-24:00 = %v, want 25h", got)
	}
	if got, want := whole.Add(mar(29, 0, 0), 24*time.Hour), at(5, 1, 0, time.April); !got.Equal(want) {
		t.Errorf("Add 24h from the spring Sunday = %v, want %v", got, want)
	}
	across := build("01:00-05:00")
	if got := across.Between(mar(29, 0, 0), mar(30, 0, 0)); got != 3*time.Hour {
		t.Errorf("spring 01:00-05:00 = %v, want 3h", got)
	}
	if got := across.Between(oct(25, 0, 0), oct(26, 0, 0)); got != 5*time.Hour {
		t.Errorf("autumn 01:00-05:00 = %v, want 5h", got)
	}
	if got := across.Between(mar(22, 0, 0), mar(23, 0, 0)); got != 4*time.Hour {
		t.Errorf("ordinary Sunday 01:00-05:00 = %v, want 4h", got)
	}
	// A range inside the spring gap does not exist that day.
	gap := build("02:00-03:00")
	if gap.Open(time.Date(2026, 3, 29, 1, 30, 0, 0, time.UTC)) {
		t.Error("open inside the spring gap")
	}
	if got, want := gap.NextOpen(mar(29, 0, 0)), at(5, 2, 0, time.April); !got.Equal(want) {
		t.Errorf("NextOpen across the gap = %v, want %v", got, want)
	}
	// In the autumn overlap 02:00 is its first occurrence (CEST), 03:00 is CET.
	if got := gap.Between(oct(25, 0, 0), oct(26, 0, 0)); got != 2*time.Hour {
		t.Errorf("autumn 02:00-03:00 = %v, want 2h", got)
	}
	if got, want := gap.NextOpen(oct(25, 0, 0)), time.Date(2026, 10, 25, 0, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("NextOpen in the overlap = %v, want %v (02:00 CEST)", got, want)
	}
	// A range starting in the gap opens at the jump.
	half := build("02:30-04:00")
	if got, want := half.NextOpen(mar(29, 0, 0)), time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("NextOpen of a range starting in the gap = %v, want the jump %v", got, want)
	}
	if got := half.Between(mar(29, 0, 0), mar(30, 0, 0)); got != time.Hour {
		t.Errorf("spring 02:30-04:00 = %v, want 1h (03:00-04:00 CEST)", got)
	}
	if got := half.Between(oct(25, 0, 0), oct(26, 0, 0)); got != 150*time.Minute {
		t.Errorf("autumn 02:30-04:00 = %v, want 2h30m (from the first 02:30)", got)
	}
}

func TestIssueExample(t *testing.T) {
	c, err := New(Config{
		Timezone: "Asia/Shanghai",
		Weekly:   map[string]string{"mon": "09:00-18:00", "tue": "09:00-12:00,13:00-18:00", "sat": "00:00-24:00"},
		Holidays: []string{"2026-10-01"},
	})
	if err != nil {
		t.Fatal(err)
	}
	sh := c.Location()
	if sh.String() != "Asia/Shanghai" {
		t.Fatalf("Location = %v", sh)
	}
	// Saturday 3 October 2026 is open all day; Sunday and Wednesday are closed.
	if !c.Open(time.Date(2026, 10, 3, 0, 0, 0, 0, sh)) || !c.Open(time.Date(2026, 10, 3, 23, 59, 0, 0, sh)) {
		t.Error("00:00-24:00 not open all day")
	}
	if got, want := c.NextOpen(time.Date(2026, 10, 3, 23, 59, 59, 0, sh).Add(time.Second)), time.Date(2026, 10, 5, 9, 0, 0, 0, sh); !got.Equal(want) {
		t.Errorf("after Saturday: %v, want %v", got, want)
	}
	// Back on Monday 09:00 from Friday 2 October (Thursday the 1st is a holiday anyway).
	if got, want := c.NextOpen(time.Date(2026, 9, 30, 20, 0, 0, 0, sh)), time.Date(2026, 10, 3, 0, 0, 0, 0, sh); !got.Equal(want) {
		t.Errorf("from Wednesday evening: %v, want %v", got, want)
	}
	// Sat 00:00-24:00 and the 24h before Monday: 1h on Saturday's end + 9h Monday.
	if got := c.Between(time.Date(2026, 10, 3, 23, 0, 0, 0, sh), time.Date(2026, 10, 6, 0, 0, 0, 0, sh)); got != 10*time.Hour {
		t.Errorf("Between = %v, want 10h", got)
	}
}

func TestTouchingRangesJoin(t *testing.T) {
	c, err := New(Config{Timezone: "UTC", Weekly: map[string]string{"mon": "09:00-12:00,12:00-18:00", "tue": "00:00-24:00", "wed": "00:00-06:00"}})
	if err != nil {
		t.Fatal(err)
	}
	mon := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	if !c.Open(mon.Add(3 * time.Hour)) {
		t.Error("closed at the join of two touching ranges")
	}
	// Monday 18:00 to Wednesday: Tuesday whole and Wednesday until 06:00 are one opening.
	if got, want := c.Add(mon.Add(9*time.Hour), 30*time.Hour), time.Date(2026, 12, 2, 6, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("Add = %v, want %v", got, want)
	}
}

func TestNilCalendarIsAlwaysOpen(t *testing.T) {
	var c *Calendar
	now := time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC)
	if !c.Open(now) || !c.NextOpen(now).Equal(now) || !c.Add(now, time.Hour).Equal(now.Add(time.Hour)) ||
		c.Between(now, now.Add(time.Hour)) != time.Hour || c.Between(now.Add(time.Hour), now) != -time.Hour || c.Location() != time.UTC {
		t.Error("a nil calendar is not always open")
	}
}

func TestInvalidConfigs(t *testing.T) {
	ok := map[string]string{"mon": "09:00-18:00"}
	for _, tc := range []struct {
		name string
		c    Config
		want []string
	}{
		{"no zone", Config{Weekly: ok}, []string{"timezone: missing (an IANA time zone such as Asia/Shanghai)"}},
		{"bad zone", Config{Timezone: "Mars/Olympus", Weekly: ok}, []string{`timezone: unknown time zone "Mars/Olympus"`}},
		{"local zone", Config{Timezone: "Local", Weekly: ok}, []string{`timezone: "Local" depends on the machine; name the zone (such as Asia/Shanghai)`}},
		{"bad time", Config{Timezone: "UTC", Weekly: map[string]string{"mon": "09:00-18:60"}}, []string{`weekly.mon: range "09:00-18:60": bad time "18:60" (want HH:MM, from 00:00 to 24:00)`}},
		{"hour 25", Config{Timezone: "UTC", Weekly: map[string]string{"mon": "09:00-25:00"}}, []string{`weekly.mon: range "09:00-25:00": bad time "25:00" (want HH:MM, from 00:00 to 24:00)`}},
		{"not a range", Config{Timezone: "UTC", Weekly: map[string]string{"mon": "nine to five"}}, []string{`weekly.mon: "nine to five" is not a range (want HH:MM-HH:MM)`}},
		{"24:00 as a start", Config{Timezone: "UTC", Weekly: map[string]string{"mon": "24:00-24:00"}}, []string{`weekly.mon: range "24:00-24:00": bad time "24:00": 24:00 can only end a range`}},
		{"end before start", Config{Timezone: "UTC", Weekly: map[string]string{"tue": "18:00-09:00"}}, []string{`weekly.tue: range "18:00-09:00" ends before it starts (a range cannot cross midnight: end it at 24:00 and go on from 00:00 the next day)`}},
		{"empty range", Config{Timezone: "UTC", Weekly: map[string]string{"tue": "09:00-09:00"}}, []string{`weekly.tue: range "09:00-09:00" is empty`}},
		{"overlap", Config{Timezone: "UTC", Weekly: map[string]string{"tue": "09:00-13:00,12:00-18:00"}}, []string{`weekly.tue: ranges "09:00-13:00" and "12:00-18:00" overlap`}},
		{"unknown day", Config{Timezone: "UTC", Weekly: map[string]string{"mon": "09:00-18:00", "monday": "09:00-18:00"}}, []string{"weekly.monday: unknown day (want mon, tue, wed, thu, fri, sat or sun)"}},
		{"never open", Config{Timezone: "UTC", Weekly: map[string]string{"sun": "closed"}}, []string{"weekly: no opening hours on any day"}},
		{"bad date", Config{Timezone: "UTC", Weekly: ok, Holidays: []string{"2026-10-01", "2026-10-02", "2026-02-30"}}, []string{`holidays[2]: "2026-02-30" is not a date (want YYYY-MM-DD)`}},
		{"every problem, in order", Config{
			Timezone: "Nowhere/City",
			Weekly:   map[string]string{"fri": "9-17", "mon": "10:00-09:00", "xyz": "", "sun": "00:00-24:00"},
			Holidays: []string{"01/10/2026", "2026-12-25", "tomorrow"},
		}, []string{
			`timezone: unknown time zone "Nowhere/City"`,
			`weekly.mon: range "10:00-09:00" ends before it starts (a range cannot cross midnight: end it at 24:00 and go on from 00:00 the next day)`,
			`weekly.fri: range "9-17": bad time "9" (want HH:MM, from 00:00 to 24:00)`,
			"weekly.xyz: unknown day (want mon, tue, wed, thu, fri, sat or sun)",
			`holidays[0]: "01/10/2026" is not a date (want YYYY-MM-DD)`,
			`holidays[2]: "tomorrow" is not a date (want YYYY-MM-DD)`,
		}},
	} {
		c, err := New(tc.c)
		if err == nil || c != nil {
			t.Errorf("%s: New = %v, %v; want an error", tc.name, c, err)
			continue
		}
		if got, want := err.Error(), strings.Join(tc.want, "\n"); got != want {
			t.Errorf("%s:\n got: %s\nwant: %s", tc.name, got, want)
		}
	}
}

func TestProblemsCarryTheirPath(t *testing.T) {
	_, err := New(Config{Timezone: "UTC", Weekly: map[string]string{"mon": "09:00-08:00"}, Holidays: []string{"x"}})
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		t.Fatalf("%T is not a joined error", err)
	}
	var paths []string
	for _, e := range joined.Unwrap() {
		var p *Problem
		if !errors.As(e, &p) {
			t.Fatalf("%v is not a *Problem", e)
		}
		paths = append(paths, p.Path)
	}
	if got := strings.Join(paths, " "); got != "weekly.mon holidays[0]" {
		t.Errorf("paths = %s", got)
	}
}
