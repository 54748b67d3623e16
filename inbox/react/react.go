// Package react runs reactions: features that react to what happened in the
// inbox by reading the event log, never by hooking into ingest.
//
// A reaction has a name and a cursor (its position in the event log) stored
// in the database. The runner reads the events after the cursor, hands each
// to the reaction, and moves the cursor in the same transaction as the
// reaction's own writes, so a crash resumes exactly where the last commit
// left off and nothing is written twice. Each reaction holds a lease: with
// several replicas, exactly one runs it at a time, and another takes over
// when the lease expires. The runner is woken by the same notification that
// wakes the event streams (in-process, and PostgreSQL LISTEN/NOTIFY), so a
// reaction runs milliseconds after the commit it reacts to.
package react

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/tongdao/hub/inbox/store"
	"github.com/tongdao/hub/internal/backoff"
	"github.com/tongdao/hub/models"
)

// Commit runs fn in the transaction that moves the reaction's cursor past
// the event being handled; it fails with store.ErrLeaseLost when another
// runner took the reaction over meanwhile (and nothing of fn is kept).
type Commit func(fn func(tx *store.Store) error) error

// Reaction is one feature that reacts to events.
type Reaction interface {
	// Name identifies the reaction's cursor: never rename a deployed one.
	Name() string
	// Types lists the event types the reaction handles: nil for every type,
	// an empty list for none (a Ticker that only works on a schedule).
	Types() []string
	// Handle reacts to one event. Work outside the database (a platform
	// call) happens before commit; the database writes happen inside it.
	// When Handle does not call commit, the cursor moves on without writes,
	// so Handle must then have no effect that matters if repeated. Commit
	// may be called at most once. An error makes the runner retry the
	// event, with backoff, a few times before it logs and skips it.
	Handle(ctx context.Context, ev *models.Event, commit Commit) error
}

// Ticker is a reaction that also works on a schedule (the reply-window
// reminder); the runner holding its lease calls Tick every Every.
type Ticker interface {
	Every() time.Duration
	// Tick does one pass; commit checks the lease as for events.
	Tick(ctx context.Context, commit Commit) error
}

// Batcher is a reaction that handles some events with database writes only.
// For an event where InBatch is true, the runner lets Handle decide outside
// any transaction (reading what it needs) and defers the function it gives
// commit: it runs later, in order with those of the events around it, in
// one transaction that moves the cursor past them all. So the writer that
// ingest shares is held only for the writes, once per round, not once per
// event. Such a Handle makes no platform call, ignores commit's result
// (nil), and its function must check again, in the transaction, what Handle
// read outside it (an earlier event of the batch may have changed it). The
// runner calls InBatch for an event right before its Handle, on the
// reaction's one goroutine. When the batch's transaction fails, nothing of
// it is kept and its events are handled again one at a time, each with its
// own commit and retries.
type Batcher interface {
	InBatch(ev *models.Event) bool
}

// Prefetcher is a Batcher that reads at once, before a run of events, what
// its Handle would otherwise read for each (one query instead of one an
// event). Prefetch gets the events about to be handled, at most Turn; what
// it reads serves decisions outside the transaction only.
type Prefetcher interface {
	Batcher
	Prefetch(ctx context.Context, evs []models.Event)
}

// DefaultTurn is Runner.Turn's default.
const DefaultTurn = 32

// Store is what the runner needs of the database.
type Store interface {
	EnsureCursor(ctx context.Context, name string) error
	AcquireLease(ctx context.Context, name, owner string, until time.Time) (bool, int64, error)
	AdvanceCursor(ctx context.Context, name, owner string, position int64, until time.Time) error
	ReleaseLease(ctx context.Context, name, owner string) error
	LatestEventID(ctx context.Context) (int64, error)
	ReactionEvents(ctx context.Context, after, upto int64, types []string, limit int) ([]models.Event, error)
	Tx(ctx context.Context, fn func(tx *store.Store) error) error
}

var _ Store = (*store.Store)(nil)

// Runner runs reactions.
type Runner struct {
	Store Store
	// Owner names this runner in leases (default: host, pid and a random
	// suffix).
	Owner string
	// Now is the clock of the leases (default time.Now).
	Now func() time.Time
	// Wake returns a channel closed at the next committed event.
	Wake func() <-chan struct{}
	// AfterCommit runs after each reaction commit (wake event streams and
	// the outbox).
	AfterCommit func()
	Logger      *slog.Logger
	// Lease is how long a runner owns a reaction without renewing
	// (default 20 s); a crashed replica's reactions resume elsewhere after it.
	Lease time.Duration
	// Poll is the longest a runner waits without a wake-up (default 2 s).
	Poll time.Duration
	// Batch is how many events are read at a time (default 200).
	Batch int
	// Turn is how many events' writes at most share one transaction of a
	// Batcher (default 32): SQLite's writer is shared with ingest, which
	// waits meanwhile, so a turn on it is kept short.
	Turn int
	// Retry is the first wait before an event that failed is tried again
	// (default 100 ms; it doubles each time).
	Retry time.Duration
	// Settle is the shortest time between two rounds of a reaction (default
	// 20 ms): under load, one round takes the events of many commits.
	Settle time.Duration

	feed *feed
	// positions has, for each reaction this runner holds, the event it has
	// handled up to (Positions).
	positions sync.Map // name → int64
}

// Positions returns how far in the event log each reaction that this runner
// holds has got (the reactions held by another replica are not in it, nor
// those that only work on a schedule).
func (r *Runner) Positions() map[string]int64 {
	out := map[string]int64{}
	r.positions.Range(func(k, v any) bool {
		out[k.(string)] = v.(int64)
		return true
	})
	return out
}

// publish records st's position for Positions.
func (r *Runner) publish(st *state) {
	if types := st.rx.Types(); types != nil && len(types) == 0 {
		return
	}
	if st.holding {
		r.positions.Store(st.rx.Name(), st.pos)
	} else {
		r.positions.Delete(st.rx.Name())
	}
}

const maxAttempts = 5

// feedSize is how many of the newest events the runner keeps for its
// reactions (see feed).
const feedSize = 4096

func (r *Runner) defaults() {
	if r.Now == nil {
		r.Now = time.Now
	}
	if r.Logger == nil {
		r.Logger = slog.Default()
	}
	if r.Lease <= 0 {
		r.Lease = 20 * time.Second
	}
	if r.Poll <= 0 {
		r.Poll = 2 * time.Second
	}
	if r.Batch <= 0 {
		r.Batch = 200
	}
	if r.Turn <= 0 {
		r.Turn = DefaultTurn
	}
	if r.Retry <= 0 {
		r.Retry = 100 * time.Millisecond
	}
	if r.Settle <= 0 {
		r.Settle = 20 * time.Millisecond
	}
	if r.Wake == nil {
		r.Wake = func() <-chan struct{} { return nil }
	}
	if r.AfterCommit == nil {
		r.AfterCommit = func() {}
	}
	if r.feed == nil {
		r.feed = &feed{store: r.Store, wake: r.Wake, keep: feedSize}
	}
	if r.Owner == "" {
		host, _ := os.Hostname()
		var b [4]byte
		_, _ = rand.Read(b[:])
		r.Owner = fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b[:]))
	}
}

// Init creates the cursors of reactions that have none, at the newest
// event. Call it before connectors start, so nothing ingested in between is
// missed.
func (r *Runner) Init(ctx context.Context, rs ...Reaction) error {
	r.defaults()
	for _, rx := range rs {
		if err := r.Store.EnsureCursor(ctx, rx.Name()); err != nil {
			return fmt.Errorf("reaction %s: %w", rx.Name(), err)
		}
	}
	return nil
}

// Run runs every reaction until ctx ends.
func (r *Runner) Run(ctx context.Context, rs ...Reaction) {
	r.defaults()
	var wg sync.WaitGroup
	for _, rx := range rs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.loop(ctx, rx)
		}()
	}
	wg.Wait()
}

// state is one reaction's runner state.
type state struct {
	rx       Reaction
	holding  bool
	pos      int64 // handled up to here
	saved    int64 // persisted up to here
	renewed  time.Time
	nextTick time.Time
	// polled: this round began with the poll timer, not a commit's wake-up.
	polled bool
}

func (r *Runner) loop(ctx context.Context, rx Reaction) {
	st := &state{rx: rx, polled: true}
	log := r.Logger.With("reaction", rx.Name())
	defer func() {
		r.positions.Delete(rx.Name())
		if st.holding {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if err := r.renew(rctx, st); err != nil && !errors.Is(err, store.ErrLeaseLost) {
				log.Warn("save reaction cursor", "err", err)
			}
			if err := r.Store.ReleaseLease(rctx, rx.Name(), r.Owner); err != nil {
				log.Warn("release reaction lease", "err", err)
			}
		}
	}()
	for ctx.Err() == nil {
		wake := r.Wake() // before reading, so no commit slips between
		settled := time.NewTimer(r.Settle)
		err := r.step(ctx, st)
		r.publish(st)
		if err != nil && ctx.Err() == nil {
			if errors.Is(err, store.ErrLeaseLost) {
				log.Info("reaction lease taken over by another runner")
			} else {
				log.Error("reaction step failed", "err", err)
			}
		}
		wait := r.Poll
		if !st.holding {
			wake, wait = nil, r.Lease/2
		}
		if _, ok := rx.(Ticker); ok && st.holding {
			if d := st.nextTick.Sub(r.Now()); d < wait {
				wait = max(d, time.Millisecond)
			}
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-wake:
			st.polled = false
		case <-timer.C:
			st.polled = true
		}
		timer.Stop()
		select {
		case <-ctx.Done():
		case <-settled.C:
		}
		settled.Stop()
	}
}

// step does one round for a reaction: take or renew the lease, handle every
// event available, run a due tick.
func (r *Runner) step(ctx context.Context, st *state) error {
	now := r.Now()
	switch {
	case !st.holding:
		ok, pos, err := r.Store.AcquireLease(ctx, st.rx.Name(), r.Owner, now.Add(r.Lease))
		if err != nil || !ok {
			return err
		}
		st.holding, st.pos, st.saved, st.renewed = true, pos, pos, now
	case now.Sub(st.renewed) >= r.Lease/3:
		// Renew the lease, saving the position reached by events that
		// needed no writes: one write per renewal, not one per event.
		if err := r.renew(ctx, st); err != nil {
			if errors.Is(err, store.ErrLeaseLost) {
				st.holding = false
			}
			return err
		}
	}
	err := r.drain(ctx, st)
	if err == nil {
		err = r.tick(ctx, st)
	}
	if errors.Is(err, store.ErrLeaseLost) {
		st.holding = false
	}
	return err
}

func (r *Runner) drain(ctx context.Context, st *state) error {
	if types := st.rx.Types(); types != nil && len(types) == 0 {
		return nil
	}
	for {
		evs, upto, err := r.feed.since(ctx, st.pos, st.rx.Types(), r.Batch, st.polled)
		if err != nil {
			return err
		}
		if len(evs) == 0 && upto <= st.pos {
			return nil
		}
		for i := 0; i < len(evs); {
			n, err := r.handleBatch(ctx, st, evs[i:])
			if err != nil {
				return err
			}
			if n == 0 {
				if err := r.handle(ctx, st, &evs[i]); err != nil {
					return err
				}
				n = 1
			}
			i += n
		}
		r.publish(st)
		if len(evs) < r.Batch {
			// Every event of interest up to latest is handled. The position
			// is saved at the next commit, renewal or stop: after a crash
			// the events since are handled again, and they needed no writes.
			st.pos = max(st.pos, upto)
			return nil
		}
	}
}

// renew extends the lease and saves the position reached by events that
// needed no writes.
func (r *Runner) renew(ctx context.Context, st *state) error {
	now := r.Now()
	if err := r.Store.AdvanceCursor(ctx, st.rx.Name(), r.Owner, st.pos, now.Add(r.Lease)); err != nil {
		return err
	}
	st.saved, st.renewed = st.pos, now
	return nil
}

// commitFunc returns the Commit for an event at pos; once allows one call
// (events) or many (a tick).
func (r *Runner) commitFunc(ctx context.Context, st *state, pos int64, once bool) Commit {
	done := false
	return func(fn func(tx *store.Store) error) error {
		if once && done {
			return errors.New("react: commit called twice for one event")
		}
		now := r.Now()
		err := r.Store.Tx(ctx, func(tx *store.Store) error {
			if err := fn(tx); err != nil {
				return err
			}
			return tx.AdvanceCursor(ctx, st.rx.Name(), r.Owner, pos, now.Add(r.Lease))
		})
		if err != nil {
			return err
		}
		done = true
		st.pos, st.saved, st.renewed = max(st.pos, pos), max(st.saved, pos), now
		r.AfterCommit()
		return nil
	}
}

func (r *Runner) handle(ctx context.Context, st *state, ev *models.Event) error {
	retry := backoff.Policy{Min: r.Retry, Max: 10 * r.Retry, Jitter: 0.2}
	for attempt := 1; ; attempt++ {
		err := st.rx.Handle(ctx, ev, r.commitFunc(ctx, st, ev.ID, true))
		if err == nil {
			st.pos = max(st.pos, ev.ID)
			return nil
		}
		if errors.Is(err, store.ErrLeaseLost) || ctx.Err() != nil {
			return err
		}
		if attempt >= maxAttempts {
			r.Logger.Error("reaction skipped an event after repeated failures", "reaction", st.rx.Name(),
				"event", ev.ID, "type", ev.Type, "err", err)
			st.pos = max(st.pos, ev.ID)
			return nil
		}
		r.Logger.Warn("reaction failed; retrying", "reaction", st.rx.Name(), "event", ev.ID, "attempt", attempt, "err", err)
		t := time.NewTimer(retry.Wait(attempt))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// handleBatch handles the leading events of evs that the reaction takes in
// a batch and returns how many it handled: 0 when the first is not for a
// batch (or failed: it is then handled on its own, with retries).
func (r *Runner) handleBatch(ctx context.Context, st *state, evs []models.Event) (int, error) {
	b, ok := st.rx.(Batcher)
	if !ok {
		return 0, nil
	}
	if p, ok := b.(Prefetcher); ok {
		p.Prefetch(ctx, evs[:min(len(evs), r.Turn)])
	}
	var writes []func(tx *store.Store) error
	n := 0
	for ; n < len(evs) && n < r.Turn && b.InBatch(&evs[n]); n++ {
		used := false
		err := st.rx.Handle(ctx, &evs[n], func(fn func(tx *store.Store) error) error {
			if used {
				return errors.New("react: commit called twice for one event")
			}
			used = true
			writes = append(writes, fn)
			return nil
		})
		if err != nil {
			if errors.Is(err, store.ErrLeaseLost) || ctx.Err() != nil {
				return 0, err
			}
			if used {
				writes = writes[:len(writes)-1]
			}
			break // handled again on its own, with retries
		}
	}
	if n == 0 {
		return 0, nil
	}
	last := evs[n-1].ID
	if len(writes) == 0 {
		st.pos = max(st.pos, last) // saved at the next commit or renewal
		return n, nil
	}
	now := r.Now()
	err := r.Store.Tx(ctx, func(tx *store.Store) error {
		for _, w := range writes {
			if err := w(tx); err != nil {
				return err
			}
		}
		return tx.AdvanceCursor(ctx, st.rx.Name(), r.Owner, last, now.Add(r.Lease))
	})
	switch {
	case err == nil:
		st.pos, st.saved, st.renewed = max(st.pos, last), max(st.saved, last), now
		r.AfterCommit()
		return n, nil
	case errors.Is(err, store.ErrLeaseLost) || ctx.Err() != nil:
		return 0, err
	}
	// Nothing of the batch was kept: its events go one at a time, each with
	// its own commit and retries.
	for i := range n {
		if err := r.handle(ctx, st, &evs[i]); err != nil {
			return 0, err
		}
	}
	return n, nil
}

func (r *Runner) tick(ctx context.Context, st *state) error {
	t, ok := st.rx.(Ticker)
	if !ok {
		return nil
	}
	now := r.Now()
	if now.Before(st.nextTick) {
		return nil
	}
	st.nextTick = now.Add(t.Every())
	// A tick's commits move the cursor nowhere new: they check the lease.
	return t.Tick(ctx, r.commitFunc(ctx, st, st.pos, false))
}
