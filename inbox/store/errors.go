package store

import (
	"errors"
	"fmt"

	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	msqlite "modernc.org/sqlite" // registers the pure-Go "sqlite" database/sql driver
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/tongdao/hub/internal/dberr"
)

// sqliteDialector is gorm's SQLite dialector over the pure-Go driver, with
// an error translation that knows the driver's error type (gorm's own reads
// the cgo driver's).
type sqliteDialector struct{ sqlite.Dialector }

// Translate maps constraint violations to gorm's errors (TranslateError).
func (d sqliteDialector) Translate(err error) error {
	var se *msqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w: %w", gorm.ErrDuplicatedKey, err)
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return fmt.Errorf("%w: %w", gorm.ErrForeignKeyViolated, err)
		}
	}
	return err
}

// IsUniqueViolation reports whether err is a unique-constraint violation on
// either driver.
func IsUniqueViolation(err error) bool { return dberr.Duplicate(err) }
