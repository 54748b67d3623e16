// Package store is the gorm implementation of the inbox's persistence:
// SQLite (pure Go, embedded) by default and PostgreSQL for scale, with one
// schema and one set of migrations.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Drivers.
const (
	DriverSQLite   = "sqlite"
	DriverPostgres = "postgres"
)

// Store holds the database handles. Writes go through DB; on SQLite, reads
// that may run beside a write go through Read (a separate pool), since SQLite
// allows one writer at a time.
type Store struct {
	DB     *gorm.DB
	Read   *gorm.DB
	Driver string
	dsn    string
	Now    func() time.Time
	// ReplyWindow gives a connector's reply window (0: none), for views.
	ReplyWindow func(connector string) time.Duration

	// cache is shared with the transaction-bound copies Tx makes.
	cache *cache
	hot   hotStmts
	// invalidated, on a Store made by Tx, records that the transaction
	// called Invalidate.
	invalidated *bool
	// file is the SQLite file opened at start, checked by Health.
	file *fileIdentity
	// horizon bounds what readers see of the event log (PostgreSQL; see
	// horizon.go); shared with the copies Tx makes.
	horizon *horizon
	// stats counts the group commits (IngestStats).
	stats *ingestStats
	// gate orders ingest and the reactions on SQLite's writer; nil on the
	// copies Tx makes (they hold a turn already).
	gate *writeGate
}

// Open connects to the database and migrates the schema.
func Open(ctx context.Context, driver, dsn string) (*Store, error) {
	s := &Store{Driver: driver, dsn: dsn, Now: time.Now, cache: &cache{}, horizon: newHorizon(), stats: &ingestStats{}, gate: &writeGate{hold: gateHold}}
	cfg := &gorm.Config{
		Logger:                 logger.Discard,
		SkipDefaultTransaction: true,
		NowFunc:                func() time.Time { return s.Now().UTC() },
		TranslateError:         true,
	}
	switch driver {
	case DriverSQLite, "":
		s.Driver = DriverSQLite
		if dir := filepath.Dir(sqlitePath(dsn)); dir != "" && dir != "." && !strings.HasPrefix(dsn, "file::memory:") {
			if err := os.MkdirAll(dir, 0o750); err != nil {
				return nil, fmt.Errorf("create database directory: %w", err)
			}
		}
		wc, err := newCachingConnector(sqliteDSN(dsn, true))
		if err != nil {
			return nil, err
		}
		wconn := sql.OpenDB(wc)
		// One writer connection: SQLite has one writer at a time anyway, and a
		// single connection makes group commit natural.
		wconn.SetMaxOpenConns(1)
		wconn.SetMaxIdleConns(1)
		wconn.SetConnMaxLifetime(0)
		if s.DB, err = gorm.Open(sqliteDialector{sqlite.Dialector{DriverName: "sqlite", Conn: wconn}}, cfg); err != nil {
			wconn.Close()
			return nil, fmt.Errorf("open sqlite: %w", err)
		}
		if isMemory(dsn) {
			s.Read = s.DB
		} else {
			rc, err := newCachingConnector(sqliteDSN(dsn, false))
			if err != nil {
				wconn.Close()
				return nil, err
			}
			rconn := sql.OpenDB(rc)
			rconn.SetMaxOpenConns(4)
			rconn.SetMaxIdleConns(4)
			if s.Read, err = gorm.Open(sqliteDialector{sqlite.Dialector{DriverName: "sqlite", Conn: rconn}}, cfg); err != nil {
				wconn.Close()
				rconn.Close()
				return nil, fmt.Errorf("open sqlite: %w", err)
			}
		}
	case DriverPostgres:
		db, err := gorm.Open(postgres.Open(dsn), cfg)
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		sqlDB, err := db.DB()
		if err != nil {
			return nil, err
		}
		sqlDB.SetMaxOpenConns(16)
		sqlDB.SetMaxIdleConns(16)
		s.DB, s.Read = db, db
		s.horizon.db = sqlDB
	default:
		return nil, fmt.Errorf("unknown database driver %q (use sqlite or postgres)", driver)
	}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("migrate: %w", err)
	}
	if err := s.prepareHot(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.rememberFile(dsn); err != nil {
		s.Close()
		return nil, fmt.Errorf("database file: %w", err)
	}
	return s, nil
}

func isMemory(dsn string) bool {
	return dsn == ":memory:" || strings.Contains(dsn, "mode=memory") || strings.HasPrefix(dsn, "file::memory:")
}

func sqlitePath(dsn string) string {
	p := strings.TrimPrefix(dsn, "file:")
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	return p
}

// sqliteDSN adds the pragmas we rely on: WAL, a busy timeout, foreign keys,
// and immediate transactions for the writer (a deferred read-then-write
// transaction cannot upgrade its lock under WAL and fails at once).
func sqliteDSN(dsn string, writer bool) string {
	if isMemory(dsn) && !strings.HasPrefix(dsn, "file:") {
		dsn = "file::memory:"
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(1)")
	if !isMemory(dsn) {
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous(NORMAL)")
		// Checkpoint less often: hot index pages are then written once per
		// checkpoint instead of again and again.
		q.Add("_pragma", "wal_autocheckpoint(10000)")
	}
	// The writer's page cache holds the hot index pages of ingest; readers
	// (four) keep a smaller one each and read the rest from the operating
	// system's file cache, which is shared and not the hub's memory: with
	// 64 MiB each, reads of a million messages grew the hub to half a
	// gigabyte.
	if writer {
		q.Add("_pragma", "cache_size(-65536)")
	} else {
		q.Add("_pragma", "cache_size(-8192)")
	}
	// Temporary files in memory: a savepoint's sub-journal, sorts of big
	// lists. On disk, every savepoint of a reaction's batch wrote its pages
	// to a file once more.
	q.Add("_pragma", "temp_store(MEMORY)")
	if writer {
		q.Set("_txlock", "immediate")
	} else {
		q.Add("_pragma", "query_only(1)")
	}
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	return dsn + sep + q.Encode()
}

// Close closes the database handles.
func (s *Store) Close() error {
	s.hot.close()
	var errs []error
	for _, db := range []*gorm.DB{s.DB, s.Read} {
		if db == nil {
			continue
		}
		if sqlDB, err := db.DB(); err == nil {
			errs = append(errs, sqlDB.Close())
		}
		if s.Read == s.DB {
			break
		}
	}
	return errors.Join(errs...)
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	sqlDB, err := s.DB.DB()
	if err != nil {
		return err
	}
	return sqlDB.PingContext(ctx)
}
