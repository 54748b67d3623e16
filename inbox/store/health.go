package store

import (
	"context"
	"errors"
	"os"
	"time"
)

// healthKey is the KV entry Health writes.
const healthKey = "hub:health"

// Health failures, in words fit for /readyz.
var (
	// ErrFileReplaced: the SQLite file at the configured path is not the
	// file the hub opened (removed, or replaced by another file): the hub
	// would go on writing to a file nobody will find.
	ErrFileReplaced = errors.New("the database file was removed or replaced under the running hub")
	// ErrNotWritable: a small write failed (disk full, read-only, lost).
	ErrNotWritable = errors.New("the database does not accept writes")
)

// fileIdentity remembers the SQLite file opened at start.
type fileIdentity struct {
	path string
	info os.FileInfo
}

// rememberFile records the identity of the SQLite file at path (nothing
// for an in-memory database).
func (s *Store) rememberFile(dsn string) error {
	if s.Driver != DriverSQLite || isMemory(dsn) {
		return nil
	}
	p := sqlitePath(dsn)
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	s.file = &fileIdentity{path: p, info: fi}
	return nil
}

// Health checks that the database works for real, not only that it
// answers: on SQLite that the file at the configured path is still the file
// opened at start (os.SameFile: same device and inode), and on either
// driver that a small write commits (a KV entry set in its own
// transaction, which fails on a full disk). It returns ErrFileReplaced or
// ErrNotWritable (wrapping the cause), or nil.
func (s *Store) Health(ctx context.Context) error {
	if s.file != nil {
		fi, err := os.Stat(s.file.path)
		if err != nil || !os.SameFile(fi, s.file.info) {
			return ErrFileReplaced
		}
	}
	now := s.Now().UTC()
	if err := s.KVSet(ctx, healthKey, now.Format(time.RFC3339Nano), time.Hour); err != nil {
		return errors.Join(ErrNotWritable, err)
	}
	return nil
}
