package store_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tongdao/hub/inbox/store"
	"github.com/tongdao/hub/internal/pgtest"
)

// BenchmarkKVAdd measures the cost of remembering one WeChat push (one
// KVAdd of a new key, the sweep included), the price of replay protection:
//
//	go test -run '^$' -bench KVAdd ./inbox/store            # SQLite
//	BENCH_DB=postgres go test -run '^$' -bench KVAdd ./inbox/store
func BenchmarkKVAdd(b *testing.B) {
	driver, dsn := store.DriverSQLite, filepath.Join(b.TempDir(), "hub.db")
	if os.Getenv("BENCH_DB") == "postgres" {
		driver, dsn = store.DriverPostgres, pgtest.DSN(b)
	}
	s, err := store.Open(context.Background(), driver, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	b.ResetTimer()
	for i := range b.N {
		added, err := s.KVAdd(ctx, fmt.Sprintf("wechat:push:wx1234567890abcdef:%040d", i), "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", 11*time.Minute)
		if err != nil || !added {
			b.Fatal(added, err)
		}
	}
}
