package store_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/tongdao/hub/inbox/store"
	"github.com/tongdao/hub/internal/testclock"
	"github.com/tongdao/hub/models"
)

// The charts' series of the hand-counted fixture: each conversation on the
// UTC day it was created, and the first response and resolution times of
// the summary counted into their buckets.
func TestReportSeriesAgreeWithTheSummary(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store, c *testclock.Clock) {
		t0 := buildReportFixture(t, s, c)
		f := models.ReportFilter{From: t0, To: t0.Add(600 * time.Minute)}
		got, err := s.ReportSummary(context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		// The days by hand: each fixture conversation whose first message
		// falls in the range, on the UTC day of that minute.
		channels := map[string]string{"t": models.ChannelTelegram, "T": models.ChannelTelegram, "d": models.ChannelDiscord, "w": models.ChannelWeChat}
		want := map[string]map[string]int{}
		for d := t0.UTC().Truncate(24 * time.Hour); d.Before(f.To); d = d.Add(24 * time.Hour) {
			want[d.Format(time.DateOnly)] = map[string]int{}
		}
		for _, fx := range reportFixture {
			at := fx.steps[0].at
			if at < 0 || at >= 600 {
				continue
			}
			want[t0.Add(time.Duration(at)*time.Minute).UTC().Format(time.DateOnly)][channels[fx.channel]]++
		}
		if len(got.ByDay) != len(want) {
			t.Fatalf("%d days, want %d: %+v", len(got.ByDay), len(want), got.ByDay)
		}
		total := 0
		for i, d := range got.ByDay {
			if i > 0 && d.Day <= got.ByDay[i-1].Day {
				t.Fatalf("days out of order: %+v", got.ByDay)
			}
			n := 0
			for _, v := range want[d.Day] {
				n += v
			}
			g, _ := json.Marshal(d.ByChannel)
			w, _ := json.Marshal(want[d.Day])
			if d.Conversations != n || string(g) != string(w) {
				t.Fatalf("day %s: %d %s, want %d %s", d.Day, d.Conversations, g, n, w)
			}
			total += n
		}
		if total != got.Conversations || total != 22 {
			t.Fatalf("the days hold %d conversations, the summary %d (want 22)", total, got.Conversations)
		}
		// First responses (minutes) 1 2 3 4 5 6 7 8 9 10 11 15 20 30 40 60
		// 120; resolutions 2 5 5 10 10 20 20 20 20 20 30 30 40 50 70 90 130
		// 130 (see TestReportSummaryAgreesWithAHandCount).
		counts := func(bs []models.ReportBucket) []int {
			out := []int{}
			for _, b := range bs {
				out = append(out, b.Count)
			}
			return out
		}
		if g, w := counts(got.FirstResponseBuckets), []int{1, 4, 7, 4, 1, 0, 0}; !slices.Equal(g, w) {
			t.Errorf("first response buckets %v, want %v", g, w)
		}
		if g, w := counts(got.ResolutionBuckets), []int{5, 9, 4, 0, 0, 0, 0}; !slices.Equal(g, w) {
			t.Errorf("resolution buckets %v, want %v", g, w)
		}
		if b := got.FirstResponseBuckets; *b[0].UpToSeconds != 60 || b[len(b)-1].UpToSeconds != nil {
			t.Errorf("first response bounds: first %v, last %v", *b[0].UpToSeconds, b[len(b)-1].UpToSeconds)
		}
	})
}

// A range across midnight lists every day it touches, even empty ones.
func TestReportSeriesListEmptyDays(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store, c *testclock.Clock) {
		from := time.Date(2026, 11, 29, 22, 0, 0, 0, time.UTC)
		got, err := s.ReportSummary(context.Background(), models.ReportFilter{From: from, To: from.Add(27 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		var days []string
		for _, d := range got.ByDay {
			days = append(days, d.Day)
			if d.Conversations != 0 || len(d.ByChannel) != 0 {
				t.Errorf("day %s is not empty: %+v", d.Day, d)
			}
		}
		if g, _ := json.Marshal(days); string(g) != `["2026-11-29","2026-11-30","2026-12-01"]` {
			t.Fatalf("days %s", g)
		}
		for _, b := range append(got.FirstResponseBuckets, got.ResolutionBuckets...) {
			if b.Count != 0 {
				t.Fatalf("a bucket of an empty range counts %d", b.Count)
			}
		}
		if len(got.FirstResponseBuckets) != 7 || len(got.ResolutionBuckets) != 7 {
			t.Fatalf("%d and %d buckets", len(got.FirstResponseBuckets), len(got.ResolutionBuckets))
		}
	})
}
