package store_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/tongdao/hub/inbox/store"
	"github.com/tongdao/hub/internal/testclock"
)

func TestHealthWritesOnEachDriver(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store, _ *testclock.Clock) {
		if err := s.Health(context.Background()); err != nil {
			t.Fatalf("a healthy database: %v", err)
		}
	})
}

// TestHealthDatabaseFileRemoved: deleting the SQLite file under a running
// store leaves Ping happy (the open file lives on, unlinked) but Health
// refuses, and so does replacing it by another file.
func TestHealthDatabaseFileRemoved(t *testing.T) {
	ctx := context.Background()
	for _, how := range []string{"removed", "replaced"} {
		t.Run(how, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "hub.db")
			s, err := store.Open(ctx, store.DriverSQLite, path)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if err := s.Health(ctx); err != nil {
				t.Fatal(err)
			}
			for _, f := range []string{path, path + "-wal", path + "-shm"} {
				if err := os.Remove(f); err != nil && !os.IsNotExist(err) {
					t.Fatal(err)
				}
			}
			if how == "replaced" {
				if err := os.WriteFile(path, nil, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Ping(ctx); err != nil {
				t.Fatalf("ping still answers after the file is gone: %v", err)
			}
			if err := s.Health(ctx); !errors.Is(err, store.ErrFileReplaced) {
				t.Fatalf("Health with the file %s: %v, want ErrFileReplaced", how, err)
			}
		})
	}
}

// TestHealthRefusedWrite: a database that answers but takes no write (as
// with a full disk) is not healthy.
func TestHealthRefusedWrite(t *testing.T) {
	ctx := context.Background()
	s, err := store.Open(ctx, store.DriverSQLite, filepath.Join(t.TempDir(), "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// The writer pool has one connection: make it refuse writes.
	if err := s.DB.Exec("PRAGMA query_only = 1").Error; err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Health(ctx); !errors.Is(err, store.ErrNotWritable) {
		t.Fatalf("Health of a read-only database: %v, want ErrNotWritable", err)
	}
}
