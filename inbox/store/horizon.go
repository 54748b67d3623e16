package store

import (
	"context"
	"fmt"
	"strconv"
	"sync"

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
// 2022): record which transaction wrote an event and read only what
// transactions older than the oldest one still running wrote
// (pg_current_xact_id(), pg_snapshot_xmin(pg_current_snapshot())). It is
// adapted here so that the event id stays one increasing number (SSE ids,
// Last-Event-ID, the reactions' cursors):
//
//   - an event's id is taken after its transaction has a transaction id
//     (the column default tongdao_event_id());
//   - a reader notes the sequence's last id L, then the next transaction id
//     Y: every transaction that took an id up to L has a transaction id
//     below Y;
//   - once the oldest running transaction is at or past Y (a later
//     snapshot's xmin), all of them have ended, so every id up to L is
//     decided: L is the horizon, and the read that follows (a later
//     snapshot still) sees every committed event up to it.
//
// When nothing runs at the time of the read, the horizon is the last id at
// once; under load it is the candidate of the previous read, taken a few
// milliseconds before. A long transaction that writes anything (any table)
// holds the horizon back, and with it every reader, until it ends: delays,
// never a skipped event. Since an event's id is taken when it is written,
// after the rows its transaction changed before it (and locked until its
// commit), two changes of one row are in the order they were made.
//
// SQLite has one writer at a time, whose commits are in id order already:
// there the horizon is not used.
type horizon struct {
	mu sync.Mutex
	// known: every id up to it is decided.
	known int64
	// cands are the watermarks of earlier reads not yet known to be
	// decided, oldest first: every id up to last was taken by a transaction
	// below xid.
	cands []watermark
	// lagging is signalled when a read leaves ids above the horizon: they
	// may be committed already, held back by a transaction that writes no
	// event and so wakes nobody when it ends. ListenEvents then wakes the
	// readers again shortly.
	lagging chan struct{}
}

type watermark struct {
	last int64
	xid  uint64
}

// maxWatermarks bounds the candidates kept; under a long transaction the
// newest are kept.
const maxWatermarks = 64

func newHorizon() *horizon { return &horizon{lagging: make(chan struct{}, 1)} }

// eventHorizon returns the newest id below which every event id is decided
// (PostgreSQL), or the largest int64 on SQLite. Read events only up to it,
// in a later statement.
func (s *Store) eventHorizon(ctx context.Context) (int64, error) {
	if s.Driver != DriverPostgres || s.horizon == nil {
		return 1<<63 - 1, nil
	}
	h := s.horizon
	h.mu.Lock()
	defer h.mu.Unlock()
	var last int64
	var next, oldest string
	if err := s.Read.WithContext(ctx).Raw(`SELECT last_id, next_xid::text, oldest::text FROM tongdao_event_watermark()`).
		Row().Scan(&last, &next, &oldest); err != nil {
		return 0, err
	}
	nx, err := strconv.ParseUint(next, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("event watermark: %w", err)
	}
	old, err := strconv.ParseUint(oldest, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("event watermark: %w", err)
	}
	if len(h.cands) == maxWatermarks {
		h.cands = h.cands[1:]
	}
	h.cands = append(h.cands, watermark{last: last, xid: nx})
	// Every transaction below old has ended: the watermarks below it are
	// decided (their ids and xids only grow).
	i := 0
	for ; i < len(h.cands) && h.cands[i].xid <= old; i++ {
		h.known = max(h.known, h.cands[i].last)
	}
	h.cands = append(h.cands[:0], h.cands[i:]...)
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
