package store

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
)

func openCached(t testing.TB) *sql.DB {
	t.Helper()
	c, err := newCachingConnector(sqliteDSN(filepath.Join(t.TempDir(), "c.db"), true))
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(c)
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)`); err != nil {
		t.Fatal(err)
	}
	return db
}

func cachedOn(t *testing.T, db *sql.DB) int {
	t.Helper()
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	n := 0
	if err := conn.Raw(func(dc any) error { n = dc.(*cachedConn).lru.Len(); return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// The same statement, run again with other arguments, inside and outside
// transactions, and while its own earlier rows are still open.
func TestStatementCacheReusesSafely(t *testing.T) {
	db := openCached(t)
	for i := range 10 {
		if _, err := db.Exec(`INSERT INTO t (id, v) VALUES (?, ?)`, i, fmt.Sprint("v", i)); err != nil {
			t.Fatal(err)
		}
	}
	const q = `SELECT id, v FROM t WHERE id >= ? ORDER BY id`
	ctx := context.Background()
	conn, err := db.Conn(ctx) // the pool's one connection, for both queries
	if err != nil {
		t.Fatal(err)
	}
	rows, err := conn.QueryContext(ctx, q, 5)
	if err != nil {
		t.Fatal(err)
	}
	var outer []string
	for rows.Next() {
		var id int
		var v string
		if err := rows.Scan(&id, &v); err != nil {
			t.Fatal(err)
		}
		outer = append(outer, v)
		if id == 6 {
			// The cached statement is busy with the outer rows: this one
			// runs uncached, on the same connection, and both stay right.
			var n int
			if err := conn.QueryRowContext(ctx, `SELECT COUNT(*) FROM t WHERE id >= ?`, 8).Scan(&n); err != nil || n != 2 {
				t.Fatalf("inner count %d, %v", n, err)
			}
			if err := conn.QueryRowContext(ctx, q, 9).Scan(&n, new(string)); err != nil || n != 9 {
				t.Fatalf("inner count %d, %v", n, err)
			}
		}
	}
	rows.Close()
	conn.Close()
	if fmt.Sprint(outer) != "[v5 v6 v7 v8 v9]" {
		t.Fatalf("outer rows %v", outer)
	}
	var got []string
	err = func() error {
		tx, err := db.Begin()
		if err != nil {
			return err
		}
		defer tx.Rollback()
		if _, err := tx.Exec(`UPDATE t SET v = ? WHERE id = ?`, "changed", 9); err != nil {
			return err
		}
		rs, err := tx.Query(q, 8)
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			var id int
			var v string
			if err := rs.Scan(&id, &v); err != nil {
				return err
			}
			got = append(got, v)
		}
		return rs.Err()
	}()
	if err != nil || fmt.Sprint(got) != "[v8 changed]" {
		t.Fatalf("in a transaction: %v, %v", got, err)
	}
	var v string
	if err := db.QueryRow(`SELECT v FROM t WHERE id = ?`, 9).Scan(&v); err != nil || v != "v9" {
		t.Fatalf("after rollback: %q, %v", v, err)
	}
	// An error leaves the statement usable.
	if _, err := db.Exec(`INSERT INTO t (id, v) VALUES (?, ?)`, 1, "dup"); err == nil {
		t.Fatal("duplicate key accepted")
	}
	if _, err := db.Exec(`INSERT INTO t (id, v) VALUES (?, ?)`, 100, "new"); err != nil {
		t.Fatal(err)
	}
	if n := cachedOn(t, db); n == 0 {
		t.Fatal("nothing cached")
	}
}

// A schema change recompiles cached statements; the cache stays bounded.
func TestStatementCacheSchemaChangeAndBound(t *testing.T) {
	db := openCached(t)
	if _, err := db.Exec(`INSERT INTO t (id, v) VALUES (1, 'a')`); err != nil {
		t.Fatal(err)
	}
	cols := func() int {
		rows, err := db.Query(`SELECT * FROM t`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		c, _ := rows.Columns()
		return len(c)
	}
	if n := cols(); n != 2 {
		t.Fatalf("%d columns", n)
	}
	if _, err := db.Exec(`ALTER TABLE t ADD COLUMN w TEXT`); err != nil {
		t.Fatal(err)
	}
	if n := cols(); n != 3 {
		t.Fatalf("after ALTER TABLE: %d columns", n)
	}

	// Rows of a statement evicted while they are open stay readable.
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	held, err := conn.QueryContext(ctx, `SELECT v FROM t WHERE id = ?`, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i := range stmtCacheSize + 50 {
		var n int
		if err := conn.QueryRowContext(ctx, fmt.Sprintf(`SELECT %d + COUNT(*) FROM t`, i)).Scan(&n); err != nil || n != i+1 {
			t.Fatalf("query %d: %d, %v", i, n, err)
		}
	}
	var v string
	if !held.Next() || held.Scan(&v) != nil || v != "a" {
		t.Fatalf("held rows after eviction: %q, %v", v, held.Err())
	}
	held.Close()
	conn.Close()
	if n := cachedOn(t, db); n != stmtCacheSize {
		t.Fatalf("%d statements cached, bound %d", n, stmtCacheSize)
	}
}

// BenchmarkStatementCache shows what the cache saves on a lookup by primary
// key, the commonest query: run with -bench StatementCache ./inbox/store.
func BenchmarkStatementCache(b *testing.B) {
	for _, cached := range []bool{false, true} {
		b.Run(map[bool]string{false: "compiled-each-time", true: "cached"}[cached], func(b *testing.B) {
			dsn := sqliteDSN(filepath.Join(b.TempDir(), "b.db"), true)
			var db *sql.DB
			if cached {
				c, err := newCachingConnector(dsn)
				if err != nil {
					b.Fatal(err)
				}
				db = sql.OpenDB(c)
			} else {
				var err error
				if db, err = sql.Open("sqlite", dsn); err != nil {
					b.Fatal(err)
				}
			}
			defer db.Close()
			db.SetMaxOpenConns(1)
			ctx := context.Background()
			if _, err := db.Exec(`CREATE TABLE conversations (id INTEGER PRIMARY KEY, contact_id INTEGER, status TEXT, priority TEXT, assignee TEXT, team TEXT, subject TEXT, last_message_at DATETIME, created_at DATETIME, updated_at DATETIME)`); err != nil {
				b.Fatal(err)
			}
			for i := range 1000 {
				if _, err := db.Exec(`INSERT INTO conversations (id, contact_id, status, priority, assignee, team, subject) VALUES (?, ?, 'open', 'normal', '', '', 'hello')`, i, i); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				var status, subject string
				if err := db.QueryRowContext(ctx, `SELECT status, subject FROM conversations WHERE id = ? LIMIT 1`, i%1000).Scan(&status, &subject); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
