package store

import (
	"time"

	"github.com/tongdao/hub/models"
)

// The series of a summary report that the console draws as charts: the
// conversations of each day and the distributions of first response and
// resolution times, counted from the same samples as the summary.

// Bucket bounds of the distributions, in seconds; the last bucket has no
// upper bound.
var (
	firstResponseBounds = []float64{60, 5 * 60, 15 * 60, 3600, 4 * 3600, 24 * 3600}
	resolutionBounds    = []float64{15 * 60, 3600, 4 * 3600, 24 * 3600, 3 * 24 * 3600, 7 * 24 * 3600}
)

// reportDays lists the UTC days the range [from, to) touches, each with no
// conversations yet.
func reportDays(from, to time.Time) ([]models.ReportDay, map[string]int) {
	var days []models.ReportDay
	index := map[string]int{}
	for d := from.UTC().Truncate(24 * time.Hour); d.Before(to); d = d.Add(24 * time.Hour) {
		key := d.Format(time.DateOnly)
		index[key] = len(days)
		days = append(days, models.ReportDay{Day: key, ByChannel: map[string]int{}})
	}
	return days, index
}

// buckets counts samples into the buckets of bounds (and one above them).
func buckets(bounds, samples []float64) []models.ReportBucket {
	out := make([]models.ReportBucket, len(bounds)+1)
	for i := range bounds {
		out[i].UpToSeconds = &bounds[i]
	}
	for _, s := range samples {
		i := 0
		for i < len(bounds) && s > bounds[i] {
			i++
		}
		out[i].Count++
	}
	return out
}
