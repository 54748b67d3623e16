package store_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/tongdao/hub/inbox/store"
	"github.com/tongdao/hub/internal/pgtest"
	"github.com/tongdao/hub/models"
)

// autoMigrate creates the schema as the hub did before versioned
// migrations: gorm's AutoMigrate of the models plus the partial index.
// Version 1 is the schema before reactions; version 2 added the events'
// detail column and the reaction cursors.
func autoMigrate(t *testing.T, driver, dsn string, version int) {
	t.Helper()
	var d gorm.Dialector = sqlite.Dialector{DriverName: "sqlite", DSN: dsn}
	if driver == store.DriverPostgres {
		d = postgres.Open(dsn)
	}
	db, err := gorm.Open(d, &gorm.Config{Logger: logger.Discard})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if sqlDB, err := db.DB(); err == nil {
			sqlDB.Close()
		}
	}()
	rows := []any{&models.Contact{}, &models.Identity{}, &models.Conversation{},
		&models.Message{}, &models.Event{}, &models.APIToken{}, &models.KV{},
		&models.LinkCode{}, &models.LinkFailure{}, &models.Merge{}}
	if version >= 2 {
		rows = append(rows, &models.ReactionCursor{})
	}
	if err := db.AutoMigrate(rows...); err != nil {
		t.Fatal(err)
	}
	if version < 2 {
		// The model has moved on since version 1.
		if err := db.Exec(`ALTER TABLE events DROP COLUMN detail`).Error; err != nil {
			t.Fatal(err)
		}
	}
	// Versions 4 and 7 added the handoff and rating columns; an adopted
	// install predates them.
	if err := db.Exec(`DROP INDEX IF EXISTS idx_conversations_handoff_at`).Error; err != nil {
		t.Fatal(err)
	}
	for _, col := range []string{"handoff_at", "deflected", "last_faq", "csat_score", "csat_comment", "csat_at", "csat_stage", "csat_until"} {
		if err := db.Exec(`ALTER TABLE conversations DROP COLUMN ` + col).Error; err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Exec(`CREATE UNIQUE INDEX IF NOT EXISTS idx_conv_active ON conversations(contact_id) WHERE status <> 'resolved'`).Error; err != nil {
		t.Fatal(err)
	}
}

// schema describes every table, column, index and constraint, except goose's
// own table.
func schema(t *testing.T, db *gorm.DB, driver string) []string {
	t.Helper()
	var out []string
	if driver == store.DriverSQLite {
		// Columns by name (a column added later comes last in its table's
		// CREATE text), indexes by their SQL.
		var cols []struct {
			Tbl, Name, Type, Dflt, Autoinc string
			Nn, Pk                         int
		}
		if err := db.Raw(`SELECT m.name AS tbl, p.name, p.type, COALESCE(p.dflt_value, '') AS dflt, p."notnull" AS nn, p.pk,
				CASE WHEN m.sql LIKE '%AUTOINCREMENT%' THEN 'autoincrement' ELSE '' END AS autoinc
			FROM sqlite_master m JOIN pragma_table_info(m.name) p
			WHERE m.type = 'table' AND m.name NOT IN ('goose_db_version', 'sqlite_sequence')`).Scan(&cols).Error; err != nil {
			t.Fatal(err)
		}
		for _, c := range cols {
			out = append(out, fmt.Sprintf("column %s.%s %s notnull=%d default=%s pk=%d %s", c.Tbl, c.Name, c.Type, c.Nn, c.Dflt, c.Pk, c.Autoinc))
		}
		var idx []struct{ Name, TblName, SQL string }
		if err := db.Raw(`SELECT name, tbl_name, COALESCE(sql, '') AS sql FROM sqlite_master
			WHERE type = 'index' AND tbl_name NOT IN ('goose_db_version', 'sqlite_sequence')`).Scan(&idx).Error; err != nil {
			t.Fatal(err)
		}
		for _, i := range idx {
			out = append(out, fmt.Sprintf("index %s on %s: %s", i.Name, i.TblName, i.SQL))
		}
		slices.Sort(out)
		return out
	}
	var cols []struct {
		TableName, ColumnName, DataType, IsNullable, ColumnDefault string
		CharacterMaximumLength                                     int
	}
	if err := db.Raw(`SELECT table_name, column_name, data_type, is_nullable, COALESCE(column_default, '') AS column_default,
			COALESCE(character_maximum_length, 0) AS character_maximum_length
		FROM information_schema.columns WHERE table_schema = current_schema() AND table_name <> 'goose_db_version'`).Scan(&cols).Error; err != nil {
		t.Fatal(err)
	}
	for _, c := range cols {
		out = append(out, fmt.Sprintf("column %s.%s %s(%d) nullable=%s default=%s", c.TableName, c.ColumnName,
			c.DataType, c.CharacterMaximumLength, c.IsNullable, c.ColumnDefault))
	}
	var idx []struct{ Tablename, Indexname, Indexdef string }
	if err := db.Raw(`SELECT tablename, indexname, indexdef FROM pg_indexes
		WHERE schemaname = current_schema() AND tablename <> 'goose_db_version'`).Scan(&idx).Error; err != nil {
		t.Fatal(err)
	}
	for _, i := range idx {
		out = append(out, "index "+i.Indexdef)
	}
	var cons []struct{ TableName, ConstraintName, ConstraintType string }
	if err := db.Raw(`SELECT table_name, constraint_name, constraint_type FROM information_schema.table_constraints
		WHERE table_schema = current_schema() AND table_name <> 'goose_db_version' AND constraint_type <> 'CHECK'`).Scan(&cons).Error; err != nil {
		t.Fatal(err)
	}
	for _, c := range cons {
		out = append(out, fmt.Sprintf("constraint %s.%s %s", c.TableName, c.ConstraintName, c.ConstraintType))
	}
	var seqs []struct{ SequenceName, DataType string }
	if err := db.Raw(`SELECT sequence_name, data_type FROM information_schema.sequences WHERE sequence_schema = current_schema()`).Scan(&seqs).Error; err != nil {
		t.Fatal(err)
	}
	for _, s := range seqs {
		out = append(out, fmt.Sprintf("sequence %s %s", s.SequenceName, s.DataType))
	}
	slices.Sort(out)
	return out
}

// driversAndVersions are the databases the AutoMigrate code made: version 1
// or 2, on SQLite and PostgreSQL.
func driversAndVersions() []struct {
	name, driver string
	version      int
} {
	var out []struct {
		name, driver string
		version      int
	}
	for _, d := range []string{store.DriverSQLite, store.DriverPostgres} {
		for _, v := range []int{1, 2} {
			out = append(out, struct {
				name, driver string
				version      int
			}{fmt.Sprintf("%s/v%d", d, v), d, v})
		}
	}
	return out
}

func freshDSN(t *testing.T, driver string) string {
	if driver == store.DriverPostgres {
		return pgtest.DSN(t)
	}
	return filepath.Join(t.TempDir(), "hub.db")
}

// allVersions lists the versions of the migration files (0 is goose's
// initial row), and checks that both dialects have the same ones.
func allVersions(t *testing.T) []int64 {
	t.Helper()
	var per [2][]int64
	for i, dir := range []string{"migrations/sqlite", "migrations/postgres"} {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		per[i] = []int64{0}
		for _, e := range entries {
			v, err := strconv.ParseInt(strings.SplitN(e.Name(), "_", 2)[0], 10, 64)
			if err != nil {
				t.Fatalf("migration file %s/%s has no version", dir, e.Name())
			}
			per[i] = append(per[i], v)
		}
	}
	if !slices.Equal(per[0], per[1]) || len(per[0]) < 2 {
		t.Fatalf("migration versions differ: sqlite %v, postgres %v", per[0], per[1])
	}
	return per[0]
}

func versions(t *testing.T, s *store.Store) []int64 {
	t.Helper()
	var v []int64
	if err := s.DB.Raw(`SELECT version_id FROM goose_db_version WHERE is_applied ORDER BY id`).Scan(&v).Error; err != nil {
		t.Fatal(err)
	}
	return v
}

// Version 1 is exactly what AutoMigrate made: columns, types, defaults,
// indexes (the partial ones included) and keys.
func TestMigrationsCreateTheAutoMigrateSchema(t *testing.T) {
	for _, tc := range driversAndVersions() {
		driver := tc.driver
		t.Run(tc.name, func(t *testing.T) {
			oldDSN, newDSN := freshDSN(t, driver), freshDSN(t, driver)
			autoMigrate(t, driver, oldDSN, tc.version)
			old, err := store.Open(context.Background(), driver, oldDSN)
			if err != nil {
				t.Fatal(err)
			}
			defer old.Close()
			s, err := store.Open(context.Background(), driver, newDSN)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			want, got := schema(t, old.DB, driver), schema(t, s.DB, driver)
			if len(want) < 30 {
				t.Fatalf("schema dump too short to mean anything: %q", want)
			}
			for _, w := range want {
				if !slices.Contains(got, w) {
					t.Errorf("missing from the migrated schema: %s", w)
				}
			}
			for _, g := range got {
				if !slices.Contains(want, g) {
					t.Errorf("not in the AutoMigrate schema: %s", g)
				}
			}
			if v := versions(t, s); !slices.Equal(v, allVersions(t)) {
				t.Fatalf("applied versions %v, want %v", v, allVersions(t))
			}
		})
	}
}

// An install created by the AutoMigrate code is adopted as version 1: Open
// keeps its rows and does not run version 1 again (which would fail on the
// existing tables).
func TestOpenAdoptsASchemaMadeByAutoMigrate(t *testing.T) {
	for _, tc := range driversAndVersions() {
		driver := tc.driver
		t.Run(tc.name, func(t *testing.T) {
			dsn := freshDSN(t, driver)
			autoMigrate(t, driver, dsn, tc.version)
			s, err := store.Open(context.Background(), driver, dsn)
			if err != nil {
				t.Fatalf("open an AutoMigrate database: %v", err)
			}
			ingest(t, s, inbound("1", "1:1", "hello"))
			s.Close()
			s, err = store.Open(context.Background(), driver, dsn)
			if err != nil {
				t.Fatalf("reopen: %v", err)
			}
			defer s.Close()
			if v := versions(t, s); !slices.Equal(v, allVersions(t)) {
				t.Fatalf("applied versions %v, want %v", v, allVersions(t))
			}
			if n := count(t, s, &models.Message{}); n != 1 {
				t.Fatalf("%d messages after reopening, want 1", n)
			}
		})
	}
}

// Replicas starting at once on a fresh database migrate it once (goose's
// advisory lock); none fails.
func TestReplicasStartingTogetherMigrateOnce(t *testing.T) {
	for _, adopt := range []bool{false, true} {
		t.Run(fmt.Sprintf("adopt=%v", adopt), func(t *testing.T) {
			dsn := pgtest.DSN(t)
			if adopt {
				autoMigrate(t, store.DriverPostgres, dsn, 1)
			}
			const n = 3
			stores := make([]*store.Store, n)
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() { stores[i], errs[i] = store.Open(context.Background(), store.DriverPostgres, dsn) })
			}
			wg.Wait()
			for i := range n {
				if errs[i] != nil {
					t.Fatalf("replica %d: %v", i, errs[i])
				}
				defer stores[i].Close()
			}
			if v := versions(t, stores[0]); !slices.Equal(v, allVersions(t)) {
				t.Fatalf("applied versions %v, want %v once each", v, allVersions(t))
			}
			ingest(t, stores[1], inbound("1", "1:1", "hello"))
		})
	}
}

// Migration numbers are handed out to work done side by side, so they land
// out of order: a database already at a later version takes an earlier one
// that arrives afterwards, instead of refusing to start.
func TestAMigrationThatLandsLateIsApplied(t *testing.T) {
	for _, driver := range []string{store.DriverSQLite, store.DriverPostgres} {
		t.Run(driver, func(t *testing.T) {
			dsn := freshDSN(t, driver)
			s, err := store.Open(context.Background(), driver, dsn)
			if err != nil {
				t.Fatal(err)
			}
			// As if 00007 (the rating) came after the later versions.
			for _, q := range []string{
				`ALTER TABLE conversations DROP COLUMN csat_score`, `ALTER TABLE conversations DROP COLUMN csat_comment`,
				`ALTER TABLE conversations DROP COLUMN csat_at`, `ALTER TABLE conversations DROP COLUMN csat_stage`,
				`ALTER TABLE conversations DROP COLUMN csat_until`, `DELETE FROM goose_db_version WHERE version_id = 7`,
			} {
				if err := s.DB.Exec(q).Error; err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			s.Close()
			s, err = store.Open(context.Background(), driver, dsn)
			if err != nil {
				t.Fatalf("reopen with a late migration: %v", err)
			}
			defer s.Close()
			v := versions(t, s)
			slices.Sort(v)
			if !slices.Equal(v, allVersions(t)) {
				t.Fatalf("applied versions %v, want %v", v, allVersions(t))
			}
			ingest(t, s, inbound("1", "1:1", "hello"))
		})
	}
}
