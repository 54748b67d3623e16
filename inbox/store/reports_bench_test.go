package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tongdao/hub/inbox/store"
	"github.com/tongdao/hub/models"
)

// BenchmarkReportSummary: a week's report over a year of history
// (reportHistory conversations resolved before the range, each with a
// customer message, an agent reply and two status events) and 200
// conversations in the range. go test -run XXX -bench ReportSummary ./inbox/store/
func BenchmarkReportSummary(b *testing.B) {
	const reportHistory = 50000
	ctx := context.Background()
	s, err := store.Open(ctx, store.DriverSQLite, filepath.Join(b.TempDir(), "hub.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	to := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	from := to.Add(-7 * 24 * time.Hour)
	ts := func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") }
	insert := func(n, first int, start time.Time, step time.Duration, resolved bool) {
		for lo := 0; lo < n; lo += 500 {
			var convs, msgs, evs []string
			for i := lo; i < min(lo+500, n); i++ {
				id := first + i
				at := start.Add(time.Duration(i) * step)
				status, res := "'open'", "NULL"
				if resolved {
					status, res = "'resolved'", "'"+ts(at.Add(time.Hour))+"'"
				}
				convs = append(convs, fmt.Sprintf("(%d,%d,%s,'normal','billing','%s','%s',%s)", id, id, status, ts(at), ts(at), res))
				msgs = append(msgs, fmt.Sprintf("(%d,'telegram','tg','m%d','in','message','customer',0,'delivered','%s')", id, id, ts(at)),
					fmt.Sprintf("(%d,'telegram','tg','a%d','out','message','agent',0,'delivered','%s')", id, id, ts(at.Add(5*time.Minute))))
				if resolved {
					evs = append(evs, fmt.Sprintf("('conversation.updated',%d,'{}','{\"before\":{\"status\":\"open\"},\"after\":{\"status\":\"resolved\"}}','%s')", id, ts(at.Add(time.Hour))))
				}
			}
			for _, q := range []string{
				"INSERT INTO conversations (id, contact_id, status, priority, team, created_at, updated_at, resolved_at) VALUES " + strings.Join(convs, ","),
				"INSERT INTO messages (conversation_id, channel, connector, external_id, direction, kind, sender_type, private, delivery_status, created_at) VALUES " + strings.Join(msgs, ","),
			} {
				if err := s.DB.Exec(q).Error; err != nil {
					b.Fatal(err)
				}
			}
			if len(evs) > 0 {
				if err := s.DB.Exec("INSERT INTO events (type, conversation_id, data, detail, created_at) VALUES " + strings.Join(evs, ",")).Error; err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	insert(reportHistory, 1, to.Add(-365*24*time.Hour), (358*24*time.Hour)/reportHistory, true)
	insert(200, reportHistory+1, from, time.Hour/2, false)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, err := s.ReportSummary(ctx, models.ReportFilter{From: from, To: to})
		if err != nil {
			b.Fatal(err)
		}
		if r.Conversations != 200 || r.Backlog != 200 || r.FirstResponseSeconds.Count != 200 {
			b.Fatalf("report: %+v", r)
		}
	}
}
