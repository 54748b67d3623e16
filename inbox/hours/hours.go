package hours

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // configured zones load on machines without zoneinfo
)

// Config is the YAML shape of business hours (see the package comment).
type Config struct {
	Timezone string            `yaml:"timezone" json:"timezone"`
	Weekly   map[string]string `yaml:"weekly" json:"weekly"`
	Holidays []string          `yaml:"holidays" json:"holidays"`
}

// Calendar answers questions about business time. Build it with New; it is
// immutable and safe for concurrent use. A nil *Calendar is always open.
type Calendar struct {
	loc      *time.Location
	weekly   [7][]span // by time.Weekday; minutes from local midnight, sorted, joined
	holidays map[civil]bool
}

// span is a range of minutes since local midnight, [from, to), to <= 1440.
type span struct{ from, to int }

// civil is a date in the calendar's zone.
type civil struct {
	y int
	m time.Month
	d int
}

func (d civil) next() civil {
	t := time.Date(d.y, d.m, d.d+1, 0, 0, 0, 0, time.UTC)
	return civil{t.Year(), t.Month(), t.Day()}
}

func (d civil) weekday() time.Weekday {
	return time.Date(d.y, d.m, d.d, 0, 0, 0, 0, time.UTC).Weekday()
}

func dateOf(t time.Time, loc *time.Location) civil {
	y, m, d := t.In(loc).Date()
	return civil{y, m, d}
}

var dayKeys = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"} // index = time.Weekday

// Problem is one problem of a Config: its key path relative to the
// business_hours block (timezone, weekly.mon, holidays[2]) and what is wrong.
// New joins them with errors.Join; errors.As or the joined error's
// Unwrap() []error give them back, to prefix the path with the block's own.
type Problem struct{ Path, Message string }

func (p *Problem) Error() string { return p.Path + ": " + p.Message }

func problem(path, format string, args ...any) error {
	return &Problem{Path: path, Message: fmt.Sprintf(format, args...)}
}

// New checks c and builds its calendar. Every problem is reported with its
// key path; the errors are joined with errors.Join.
func New(c Config) (*Calendar, error) {
	var errs []error
	cal := &Calendar{holidays: map[civil]bool{}}
	switch tz := strings.TrimSpace(c.Timezone); {
	case tz == "":
		errs = append(errs, problem("timezone", "missing (an IANA time zone such as Asia/Shanghai)"))
	case strings.EqualFold(tz, "local"):
		errs = append(errs, problem("timezone", "%q depends on the machine; name the zone (such as Asia/Shanghai)", c.Timezone))
	default:
		loc, err := time.LoadLocation(tz)
		if err != nil {
			errs = append(errs, problem("timezone", "unknown time zone %q", c.Timezone))
		}
		cal.loc = loc
	}

	keys := make([]string, 0, len(c.Weekly))
	for k := range c.Weekly {
		keys = append(keys, k)
	}
	order := func(k string) int {
		if i := slices.Index(dayKeys, k); i >= 0 {
			return (i + 6) % 7 // mon first
		}
		return 7
	}
	slices.SortFunc(keys, func(a, b string) int {
		if oa, ob := order(a), order(b); oa != ob {
			return oa - ob
		}
		return strings.Compare(a, b)
	})
	open, dayErr := false, false
	for _, k := range keys {
		day := slices.Index(dayKeys, k)
		if day < 0 {
			errs = append(errs, problem("weekly."+k, "unknown day (want mon, tue, wed, thu, fri, sat or sun)"))
			dayErr = true
			continue
		}
		spans, err := parseDay(c.Weekly[k])
		if err != nil {
			errs = append(errs, problem("weekly."+k, "%v", err))
			dayErr = true
			continue
		}
		cal.weekly[day] = spans
		open = open || len(spans) > 0
	}
	if !open && !dayErr {
		errs = append(errs, problem("weekly", "no opening hours on any day"))
	}

	for i, h := range c.Holidays {
		t, err := time.Parse("2006-01-02", strings.TrimSpace(h))
		if err != nil {
			errs = append(errs, problem(fmt.Sprintf("holidays[%d]", i), "%q is not a date (want YYYY-MM-DD)", h))
			continue
		}
		cal.holidays[civil{t.Year(), t.Month(), t.Day()}] = true
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return cal, nil
}

// parseDay parses "09:00-12:00,13:00-18:00"; "" and "closed" are no range.
func parseDay(v string) ([]span, error) {
	v = strings.TrimSpace(v)
	if v == "" || strings.EqualFold(v, "closed") {
		return nil, nil
	}
	var spans []span
	var texts []string
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		from, to, ok := strings.Cut(part, "-")
		if !ok {
			return nil, fmt.Errorf("%q is not a range (want HH:MM-HH:MM)", part)
		}
		a, err := parseClock(from, false)
		if err != nil {
			return nil, fmt.Errorf("range %q: %w", part, err)
		}
		b, err := parseClock(to, true)
		if err != nil {
			return nil, fmt.Errorf("range %q: %w", part, err)
		}
		switch {
		case b == a:
			return nil, fmt.Errorf("range %q is empty", part)
		case b < a:
			return nil, fmt.Errorf("range %q ends before it starts (a range cannot cross midnight: end it at 24:00 and go on from 00:00 the next day)", part)
		}
		for i, s := range spans {
			if a < s.to && s.from < b {
				return nil, fmt.Errorf("ranges %q and %q overlap", texts[i], part)
			}
		}
		spans = append(spans, span{a, b})
		texts = append(texts, part)
	}
	slices.SortFunc(spans, func(x, y span) int { return x.from - y.from })
	joined := spans[:1]
	for _, s := range spans[1:] {
		if last := &joined[len(joined)-1]; s.from == last.to {
			last.to = s.to
		} else {
			joined = append(joined, s)
		}
	}
	return joined, nil
}

// parseClock parses "H:MM" or "HH:MM" into minutes; "24:00" only as an end.
func parseClock(s string, end bool) (int, error) {
	s = strings.TrimSpace(s)
	hs, ms, ok := strings.Cut(s, ":")
	bad := fmt.Errorf("bad time %q (want HH:MM, from 00:00 to 24:00)", s)
	if !ok || len(hs) < 1 || len(hs) > 2 || len(ms) != 2 {
		return 0, bad
	}
	h, err1 := strconv.Atoi(hs)
	m, err2 := strconv.Atoi(ms)
	if err1 != nil || err2 != nil || h < 0 || m < 0 || m > 59 || h > 24 || (h == 24 && m != 0) || strings.ContainsAny(s, "+- ") {
		return 0, bad
	}
	if h == 24 && !end {
		return 0, fmt.Errorf("bad time %q: 24:00 can only end a range", s)
	}
	return h*60 + m, nil
}

// Location is the calendar's time zone (UTC for a nil calendar), for
// formatting when agents are back.
func (c *Calendar) Location() *time.Location {
	if c == nil {
		return time.UTC
	}
	return c.loc
}

// wall is the instant of a wall-clock time, minutes after midnight of day d
// (1440 is the next midnight). A time in a daylight-saving gap is the instant
// of the jump; a time that exists twice is its first occurrence.
func (c *Calendar) wall(d civil, minutes int) time.Time {
	naive := time.Date(d.y, d.m, d.d, 0, minutes, 0, 0, time.UTC).Unix()
	var best int64
	found := false
	var afterGap time.Time
	for _, probe := range []int64{naive - 36*3600, naive + 36*3600} {
		_, off := time.Unix(probe, 0).In(c.loc).Zone()
		u := naive - int64(off)
		lt := time.Unix(u, 0).In(c.loc)
		if _, o := lt.Zone(); o == off {
			if !found || u < best {
				best, found = u, true
			}
		} else if start, _ := lt.ZoneBounds(); start.After(afterGap) {
			afterGap = start // the jump: the later of the two zone starts
		}
	}
	if found {
		return time.Unix(best, 0).In(c.loc)
	}
	if !afterGap.IsZero() {
		return afterGap.In(c.loc)
	}
	return time.Date(d.y, d.m, d.d, 0, minutes, 0, 0, c.loc) // unreachable in practice
}

// interval is [from, to) of business time.
type interval struct{ from, to time.Time }

// day returns the business intervals of local day d, in order.
func (c *Calendar) day(d civil) []interval {
	if c.holidays[d] {
		return nil
	}
	spans := c.weekly[d.weekday()]
	out := make([]interval, 0, len(spans))
	for _, s := range spans {
		a, b := c.wall(d, s.from), c.wall(d, s.to)
		if b.After(a) {
			out = append(out, interval{a, b})
		}
	}
	return out
}

// horizon bounds the days to look ahead for an opening: with at least one
// open weekday, every 7 days hold an opening unless holidays take it.
func (c *Calendar) horizon() int { return 7*(len(c.holidays)+2) + 2 }

// Open reports whether t is within business hours.
func (c *Calendar) Open(t time.Time) bool {
	if c == nil {
		return true
	}
	for _, iv := range c.day(dateOf(t, c.loc)) {
		if !t.Before(iv.from) && t.Before(iv.to) {
			return true
		}
	}
	return false
}

// NextOpen is the first instant at or after t within business hours: t
// itself when open. Format it in Location() to say when agents are back.
func (c *Calendar) NextOpen(t time.Time) time.Time {
	if c == nil {
		return t
	}
	d := dateOf(t, c.loc)
	for range c.horizon() {
		for _, iv := range c.day(d) {
			if iv.to.After(t) {
				if iv.from.After(t) {
					return iv.from
				}
				return t
			}
		}
		d = d.next()
	}
	return t // unreachable: New refuses a calendar without opening hours
}

// Add is the instant at which d of business time has elapsed from t (an SLA
// due time). Closed time does not count; when d runs out exactly at a
// closing, the closing instant is returned. d <= 0 returns t.
// Between(t, Add(t, d)) == d for d >= 0.
func (c *Calendar) Add(t time.Time, d time.Duration) time.Time {
	if c == nil {
		return t.Add(d)
	}
	if d <= 0 {
		return t
	}
	day := dateOf(t, c.loc)
	idle := 0
	for {
		ivs := c.day(day)
		progressed := false
		for _, iv := range ivs {
			if !iv.to.After(t) {
				continue
			}
			from := iv.from
			if t.After(from) {
				from = t
			}
			progressed = true
			if avail := iv.to.Sub(from); avail >= d {
				return from.Add(d)
			} else {
				d -= avail
			}
		}
		if progressed {
			idle = 0
		} else if idle++; idle > c.horizon() {
			return t // unreachable: New refuses a calendar without opening hours
		}
		day = day.next()
	}
}

// Between is the business time from a to b; negative when b is before a
// (Between(b, a) == -Between(a, b)).
func (c *Calendar) Between(a, b time.Time) time.Duration {
	if c == nil {
		return b.Sub(a)
	}
	if b.Before(a) {
		return -c.Between(b, a)
	}
	var sum time.Duration
	last := dateOf(b, c.loc)
	for d := dateOf(a, c.loc); ; d = d.next() {
		for _, iv := range c.day(d) {
			from, to := iv.from, iv.to
			if from.Before(a) {
				from = a
			}
			if to.After(b) {
				to = b
			}
			if to.After(from) {
				sum += to.Sub(from)
			}
		}
		if d == last {
			return sum
		}
	}
}
