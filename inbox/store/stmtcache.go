package store

import (
	"container/list"
	"context"
	"database/sql/driver"
	"errors"

	msqlite "modernc.org/sqlite"
)

// SQLite compiles every statement it runs, and gorm hands each query to the
// driver as text: without a cache a primary-key lookup spent most of its
// time compiling (a fifth of the hub's CPU with routing on, measured). The
// connections of the store keep their compiled statements instead, per
// connection, the least recently used dropped beyond stmtCacheSize. gorm's
// own PrepareStmt cannot do it here: it prepares on the pool, which a
// transaction on the single writer connection holds, and waits forever.
//
// A statement is used by one call at a time: a query whose earlier rows are
// still open on the same connection runs uncached. SQLite recompiles a
// cached statement by itself when the schema changed.

// stmtCacheSize is how many compiled statements a connection keeps.
const stmtCacheSize = 256

// cachingConnector opens SQLite connections with a statement cache.
type cachingConnector struct{ driver.Connector }

func newCachingConnector(dsn string) (driver.Connector, error) {
	c, err := msqlite.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	return cachingConnector{c}, nil
}

func (c cachingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	inner, ok := conn.(sqliteConn)
	if !ok {
		conn.Close()
		return nil, errors.New("store: the SQLite driver's connection lacks the context methods")
	}
	return &cachedConn{sqliteConn: inner, stmts: map[string]*list.Element{}}, nil
}

// sqliteConn is what the pure-Go driver's connection implements.
type sqliteConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

type cachedConn struct {
	sqliteConn
	stmts map[string]*list.Element // of *cachedStmt, in lru
	lru   list.List                // most recently used first
}

type cachedStmt struct {
	query   string
	stmt    driver.Stmt
	busy    bool // its rows are open
	evicted bool // close it when its rows close
}

// stmt returns the compiled statement of query, compiling it on first
// use; nil when it is busy (run the query uncached).
func (c *cachedConn) stmt(ctx context.Context, query string) (*cachedStmt, error) {
	if e, ok := c.stmts[query]; ok {
		c.lru.MoveToFront(e)
		s := e.Value.(*cachedStmt)
		if s.busy {
			return nil, nil
		}
		return s, nil
	}
	st, err := c.sqliteConn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	s := &cachedStmt{query: query, stmt: st}
	c.stmts[query] = c.lru.PushFront(s)
	if c.lru.Len() > stmtCacheSize {
		old := c.lru.Back()
		c.lru.Remove(old)
		o := old.Value.(*cachedStmt)
		delete(c.stmts, o.query)
		if o.busy {
			o.evicted = true
		} else {
			o.stmt.Close()
		}
	}
	return s, nil
}

func (c *cachedConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	s, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return c.sqliteConn.ExecContext(ctx, query, args)
	}
	return s.stmt.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (c *cachedConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	s, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return c.sqliteConn.QueryContext(ctx, query, args)
	}
	rows, err := s.stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		return nil, err
	}
	sr, ok := rows.(sqliteRows)
	if !ok {
		rows.Close()
		return c.sqliteConn.QueryContext(ctx, query, args)
	}
	s.busy = true
	return &cachedRows{sqliteRows: sr, s: s}, nil
}

func (c *cachedConn) Close() error {
	for e := c.lru.Front(); e != nil; e = e.Next() {
		e.Value.(*cachedStmt).stmt.Close()
	}
	c.stmts = nil
	c.lru.Init()
	return c.sqliteConn.Close()
}

// sqliteRows is what the pure-Go driver's rows implement (gorm reads the
// column types).
type sqliteRows interface {
	driver.Rows
	driver.RowsColumnTypeDatabaseTypeName
	driver.RowsColumnTypeLength
	driver.RowsColumnTypeNullable
	driver.RowsColumnTypePrecisionScale
	driver.RowsColumnTypeScanType
}

// cachedRows frees its statement for the next call when closed.
type cachedRows struct {
	sqliteRows
	s *cachedStmt
}

func (r *cachedRows) Close() error {
	err := r.sqliteRows.Close()
	if r.s != nil {
		r.s.busy = false
		if r.s.evicted {
			r.s.stmt.Close()
		}
		r.s = nil
	}
	return err
}

var (
	_ sqliteConn = (*cachedConn)(nil)
	_ sqliteRows = (*cachedRows)(nil)
)
