package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/tongdao/hub/inbox/store"
	"github.com/tongdao/hub/models"
)

// BenchmarkWorkQueues measures what the console asks when it opens: a page
// of 25 rows of a work queue (subject, last message and waiting time
// included) and the counts of every queue, over 2,000 conversations of 10
// messages each, half of them opened with a command:
//
//	go test -run '^$' -bench WorkQueues ./inbox/store
func BenchmarkWorkQueues(b *testing.B) {
	s, err := store.Open(context.Background(), store.DriverSQLite, filepath.Join(b.TempDir(), "hub.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	const convs, perConv, batch = 2000, 10, 200
	for m := 0; m < perConv; m++ {
		for from := 0; from < convs; from += batch {
			items := make([]*store.IngestItem, batch)
			for i := range items {
				u := from + i
				text := fmt.Sprintf("message %d: my order %d has not arrived", m, u)
				if m == 0 && u%2 == 0 {
					text = "/start"
				}
				items[i] = &store.IngestItem{In: inbound(fmt.Sprint(u), fmt.Sprintf("%d:%d", u, m), text)}
			}
			if err := s.IngestBatch(ctx, items); err != nil {
				b.Fatal(err)
			}
		}
	}
	for _, view := range []string{"", models.ViewAll, models.ViewWaiting} {
		name := view
		if name == "" {
			name = "none"
		}
		b.Run("page-"+name, func(b *testing.B) {
			cpu0 := cpuTime()
			defer func() { b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op") }()
			for i := 0; i < b.N; i++ {
				items, _, err := s.ListConversations(ctx, models.ConversationFilter{View: view, Limit: 25})
				if err != nil || len(items) != 25 || items[0].Subject == "" || items[0].LastMessage == nil {
					b.Fatalf("%d items, %v", len(items), err)
				}
			}
		})
	}
	b.Run("counts", func(b *testing.B) {
		cpu0 := cpuTime()
		defer func() { b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op") }()
		for i := 0; i < b.N; i++ {
			v, err := s.CountViews(ctx, "ana")
			if err != nil || v.Views[3].Count != convs {
				b.Fatalf("%+v %v", v, err)
			}
		}
	})
}
