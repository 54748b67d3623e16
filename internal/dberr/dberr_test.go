package dberr

import (
	"context"
	"database/sql"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"
	_ "modernc.org/sqlite"
)

func TestClassify(t *testing.T) {
	db, err := sql.Open("sqlite", "file::memory:")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, `CREATE TABLE t (k text PRIMARY KEY, v text NOT NULL UNIQUE)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO t VALUES ('a', 'x')`); err != nil {
		t.Fatal(err)
	}
	_, sqliteDup := db.ExecContext(ctx, `INSERT INTO t VALUES ('b', 'x')`)
	_, sqliteNotNull := db.ExecContext(ctx, `INSERT INTO t VALUES ('c', NULL)`)
	db.Close()
	_, closed := db.ExecContext(ctx, `SELECT 1`)

	for _, tc := range []struct {
		name                   string
		err                    error
		dup, data, unavailable bool
	}{
		{"sqlite unique", sqliteDup, true, false, false},
		{"sqlite not null", sqliteNotNull, false, true, false},
		{"closed pool", closed, false, false, true},
		{"pg duplicate", &pgconn.PgError{Code: "23505"}, true, false, false},
		{"gorm duplicate", fmt.Errorf("%w: x", gorm.ErrDuplicatedKey), true, false, false},
		{"pg NUL in text", fmt.Errorf("insert: %w", &pgconn.PgError{Code: "22021"}), false, true, false},
		{"pg too long", &pgconn.PgError{Code: "22001"}, false, true, false},
		{"pg not null", &pgconn.PgError{Code: "23502"}, false, true, false},
		{"pg connection lost", &pgconn.PgError{Code: "08006"}, false, false, true},
		{"pg shutting down", &pgconn.PgError{Code: "57P01"}, false, false, true},
		{"pg syntax", &pgconn.PgError{Code: "42601"}, false, false, false},
		{"deadline", fmt.Errorf("q: %w", context.DeadlineExceeded), false, false, true},
		{"nil", nil, false, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Duplicate(tc.err); got != tc.dup {
				t.Errorf("Duplicate(%v) = %v", tc.err, got)
			}
			if got := Data(tc.err); got != tc.data {
				t.Errorf("Data(%v) = %v", tc.err, got)
			}
			if got := Unavailable(tc.err); got != tc.unavailable {
				t.Errorf("Unavailable(%v) = %v", tc.err, got)
			}
		})
	}
}
