package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/tongdao/hub/inbox/store"
	"github.com/tongdao/hub/internal/pgtest"
	"github.com/tongdao/hub/models"
)

// BenchmarkListByLabel measures a page of the inbox filtered by a label
// that 1 in 100 of 20,000 conversations carries, against the same page
// unfiltered:
//
//	go test -run '^$' -bench ListByLabel ./inbox/store
func BenchmarkListByLabel(b *testing.B) {
	for _, driver := range []string{store.DriverSQLite, store.DriverPostgres} {
		b.Run(driver, func(b *testing.B) {
			dsn := filepath.Join(b.TempDir(), "hub.db")
			if driver == store.DriverPostgres {
				dsn = pgtest.DSN(b)
			}
			s, err := store.Open(context.Background(), driver, dsn)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			ctx := context.Background()
			const convs, batch = 20000, 250
			for i := 0; i < convs; i += batch {
				items := make([]*store.IngestItem, batch)
				for j := range items {
					u := i + j
					items[j] = &store.IngestItem{In: inbound(fmt.Sprint(u), fmt.Sprintf("%d:1", u), "where is my order?")}
				}
				if err := s.IngestBatch(ctx, items); err != nil {
					b.Fatal(err)
				}
				for j, it := range items {
					labels := []string{"order"}
					if (i+j)%100 == 0 {
						labels = append(labels, "vip")
					}
					if _, err := s.UpdateLabels(ctx, it.ConversationID, labels, nil, "bench"); err != nil {
						b.Fatal(err)
					}
				}
			}
			for _, tc := range []struct {
				name string
				f    models.ConversationFilter
			}{
				{"unfiltered", models.ConversationFilter{Limit: 25}},
				{"label=vip", models.ConversationFilter{Label: "vip", Limit: 25}},
				{"label=order", models.ConversationFilter{Label: "order", Limit: 25}},
				{"label=absent", models.ConversationFilter{Label: "absent", Limit: 25}},
			} {
				b.Run(tc.name, func(b *testing.B) {
					for b.Loop() {
						if _, _, err := s.ListConversations(ctx, tc.f); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}
