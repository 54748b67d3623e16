package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/database"
	"github.com/pressly/goose/v3/lock"
)

// The schema is versioned: migrations/<driver>/NNNNN_name.sql, one directory
// per dialect since the DDL differs. A change to the schema is a new file in
// both directories (and the matching gorm tags in models); a released file
// is never edited.
//
//go:embed migrations
var migrations embed.FS

// versionTable is goose's record of the applied versions.
const versionTable = "goose_db_version"

// migrate brings the schema to the newest version. On PostgreSQL goose holds
// a session advisory lock, so replicas starting together migrate once.
func (s *Store) migrate(ctx context.Context) error {
	sqlDB, err := s.DB.DB()
	if err != nil {
		return err
	}
	dialect := database.DialectSQLite3
	if s.Driver == DriverPostgres {
		dialect = database.DialectPostgres
	}
	dir, err := fs.Sub(migrations, "migrations/"+s.Driver)
	if err != nil {
		return err
	}
	// Versions are handed out to work done side by side and may land out of
	// order: a database already past a version that arrives later applies
	// it instead of refusing to start (each migration stands alone).
	opts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true), goose.WithAllowOutofOrder(true)}
	var locker lock.SessionLocker
	if s.Driver == DriverPostgres {
		// Retry the lock every second for up to ten minutes.
		if locker, err = lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 600)); err != nil {
			return err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(dialect, sqlDB, dir, opts...)
	if err != nil {
		return err
	}
	if err := s.adopt(ctx, sqlDB, dialect, locker); err != nil {
		return fmt.Errorf("adopt the existing schema: %w", err)
	}
	_, err = p.Up(ctx)
	return err
}

// adopt marks the versions that gorm's AutoMigrate made applied in a
// database created before the schema was versioned: its tables exist but
// goose's version table does not.
func (s *Store) adopt(ctx context.Context, sqlDB *sql.DB, dialect database.Dialect, locker lock.SessionLocker) (err error) {
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if found, err := s.tables(ctx, conn); err != nil || !found["messages"] || found[versionTable] {
		return err
	}
	if locker != nil {
		if err := locker.SessionLock(ctx, conn); err != nil {
			return err
		}
		defer func() {
			if uerr := locker.SessionUnlock(context.WithoutCancel(ctx), conn); err == nil {
				err = uerr
			}
		}()
	}
	vs, err := database.NewStore(dialect, versionTable)
	if err != nil {
		return err
	}
	// Another replica may have adopted it while this one waited for the lock.
	found, err := s.tables(ctx, conn)
	if err != nil || !found["messages"] || found[versionTable] {
		return err
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	if err := vs.CreateVersionTable(ctx, tx); err != nil {
		return err
	}
	// Version 2 (reactions) was also made by AutoMigrate, in the last
	// release before versioning: its table tells.
	adopted := []int64{0, 1}
	if found["reaction_cursors"] {
		adopted = append(adopted, 2)
	}
	for _, v := range adopted {
		if err := vs.Insert(ctx, tx, database.InsertRequest{Version: v}); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// tables reports which of the tables that tell a schema's version exist.
func (s *Store) tables(ctx context.Context, conn *sql.Conn) (map[string]bool, error) {
	const names = `('messages', 'reaction_cursors', '` + versionTable + `')`
	q := `SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ` + names
	if s.Driver == DriverPostgres {
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_name IN ` + names
	}
	rows, err := conn.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	found := map[string]bool{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, err
		}
		found[name] = true
	}
	return found, rows.Err()
}
