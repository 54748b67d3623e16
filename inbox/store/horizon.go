package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"gorm.io/gorm"
)

// The event horizon (PostgreSQL).
//
// Event ids come from a sequence, and a sequence hands out ids in the order
// transactions ask, not in the order they commit: with writers in parallel,
// id 8 may commit while id 7 is still in flight, and a reader that moved
// past 8 would never see 7. Until migration 00018 every event writer held
// one advisory lock until its commit, which made commits follow ids but
// serialised every writer of every replica.
//
// Now writers run in parallel and readers read only up to a horizon: an id
// below which every id is decided (committed, or rolled back and never to
// appear). The technique is the one of Oskar Dudycz, "How Postgres
// sequences issues can impact your messaging guarantees" (event-driven.io,
// 2022): use transaction ids, and read only what transactions older than
// the oldest one still running wrote (pg_current_xact_id(),
// pg_snapshot_xmin(pg_current_snapshot())). It is adapted here so that the
// event id stays one increasing number (SSE ids, Last-Event-ID, the
// reactions' cursors), with no transaction id stored per event:
//
//   - an event's id is taken after its transaction has a transaction id
//     (the column default tongdao_event_id());
//   - a watermark notes the sequence's last id L, then takes a new
//     transaction id Y: every transaction that took an id up to L got its
//     transaction id earlier, so below Y;
//   - once the oldest transaction still running is at or past Y (xmin of a
//     later snapshot), all of them have ended and every id up to L is
//     decided: L is the horizon, and a read that follows (a later snapshot
//     still) sees every committed event up to it.
//
// A read costs two short statements before the events' query; when nothing
// else runs, the horizon is the last id at once. A long transaction that
// writes anything (any table, any database of the server) holds the horizon
// back, and with it every reader, until it ends: delays, never a skipped
// event. Since an event's id is taken when it is written, after the rows its
// transaction changed before it (and locked until its commit), two changes
// of one row are in the order they were made.
//
// SQLite has one writer at a time, whose commits are in id order already:
// there the horizon is not used.
type horizon struct {
	mu sync.Mutex
	// db runs the watermarks, always outside any transaction.
	db *sql.DB
	// known: every id up to it is decided; ready once the first watermark
	// was passed.
	known int64
	ready bool
	// begun numbers the refreshes as they begin (under mu); done is the
	// number of the last one completed.
	begun atomic.Uint64
	done  uint64
	// cands are watermarks not yet passed, oldest first.
	cands []watermark
	// lagging is signalled when a read leaves ids above the horizon: they
	// may be committed already, held back by a transaction that writes no
	// event and so wakes nobody when it ends. ListenEvents then wakes the
	// readers again shortly.
	lagging chan struct{}
}

// watermark: every id up to last was taken by a transaction below xid.
type watermark struct {
	last int64
	xid  uint64
}

// maxWatermarks bounds the watermarks kept while a long transaction holds
// the horizon back; the newest are kept.
const maxWatermarks = 64

func newHorizon() *horizon { return &horizon{lagging: make(chan struct{}, 1)} }

// pass moves the horizon past the watermarks below oldest, the oldest
// transaction still running.
func (h *horizon) pass(oldest uint64) {
	i := 0
	for ; i < len(h.cands) && h.cands[i].xid <= oldest; i++ {
		h.known = max(h.known, h.cands[i].last)
	}
	h.cands = append(h.cands[:0], h.cands[i:]...)
}

// eventHorizon returns the newest id below which every event id is decided
// (PostgreSQL), or the largest int64 on SQLite. Read events only up to it,
// in a later statement.
func (s *Store) eventHorizon(ctx context.Context) (int64, error) {
	if s.Driver != DriverPostgres || s.horizon == nil || s.horizon.db == nil {
		return 1<<63 - 1, nil
	}
	h := s.horizon
	// Readers that wake together (the tailer, every reaction) share one
	// refresh: one that began after this caller came is as fresh as its
	// own would be.
	came := h.begun.Load()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.done > came {
		return h.known, nil
	}
	began := h.begun.Add(1)
	var oldest, xid string
	var last int64
	if err := h.db.QueryRowContext(ctx, `SELECT oldest::text, last_id, xid::text FROM tongdao_event_watermark()`).
		Scan(&oldest, &last, &xid); err != nil {
		return 0, err
	}
	old, err1 := strconv.ParseUint(oldest, 10, 64)
	y, err2 := strconv.ParseUint(xid, 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("event watermark: %w", err)
	}
	h.pass(old)
	if last > h.known {
		if len(h.cands) == maxWatermarks {
			h.cands = h.cands[1:]
		}
		h.cands = append(h.cands, watermark{last: last, xid: y})
		// The watermark's own transaction has ended: with nothing else
		// running since, it is passed at once.
		for {
			if err := h.db.QueryRowContext(ctx, `SELECT pg_snapshot_xmin(pg_current_snapshot())::text`).Scan(&oldest); err != nil {
				return 0, err
			}
			if old, err1 = strconv.ParseUint(oldest, 10, 64); err1 != nil {
				return 0, fmt.Errorf("event watermark: %w", err1)
			}
			h.pass(old)
			// A new replica's first horizon waits for its first watermark
			// (the transactions running then to end), rather than start
			// from 0.
			if h.ready || h.known >= last {
				break
			}
			t := time.NewTimer(lagPoll)
			select {
			case <-ctx.Done():
				t.Stop()
				return 0, ctx.Err()
			case <-t.C:
			}
		}
	}
	h.ready, h.done = true, began
	if last > h.known {
		select {
		case h.lagging <- struct{}{}:
		default:
		}
	}
	return h.known, nil
}

// lockChanges takes, until the end of tx, the lock of changes that check
// many rows at once (PostgreSQL; SQLite has one writer): exclusive for an
// assignment pass (it counts every agent's load), merges and links, label
// and routing writes; shared for the change of one conversation, so that
// those run in parallel with each other but not in the middle of such a
// pass. Ingest, messages and events take no lock (see the event horizon
// above).
func (s *Store) lockChanges(tx *gorm.DB, exclusive bool) error {
	if s.Driver != DriverPostgres {
		return nil
	}
	if exclusive {
		return tx.Exec("SELECT pg_advisory_xact_lock(7165)").Error
	}
	return tx.Exec("SELECT pg_advisory_xact_lock_shared(7165)").Error
}
