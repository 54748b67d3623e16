package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/tongdao/hub/inbox/store"
)

// BenchmarkIngestBatch measures the writer's cost per message for group
// commits of 32 messages from known users (the steady state of a busy hub):
//
//	go test -run '^$' -bench IngestBatch ./inbox/store
func BenchmarkIngestBatch(b *testing.B) {
	s, err := store.Open(context.Background(), store.DriverSQLite, filepath.Join(b.TempDir(), "hub.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const users, batch = 2000, 32
	ctx := context.Background()
	seq := 0
	next := func() []*store.IngestItem {
		items := make([]*store.IngestItem, batch)
		for i := range items {
			seq++
			u := seq % users
			items[i] = &store.IngestItem{In: inbound(fmt.Sprint(u), fmt.Sprintf("%d:%d", u, seq), "where is my order? it was due yesterday")}
		}
		return items
	}
	for i := 0; i < users/batch+1; i++ { // warm: every user known
		if err := s.IngestBatch(ctx, next()); err != nil {
			b.Fatal(err)
		}
	}
	cpu0 := cpuTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := s.IngestBatch(ctx, next()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch)/1000, "µs/msg")
	// CPU time is steadier than wall time on a shared machine.
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N*batch)/1000, "cpu-µs/msg")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
