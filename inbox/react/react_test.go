package react

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tongdao/hub/inbox/store"
	"github.com/tongdao/hub/internal/pgtest"
	"github.com/tongdao/hub/internal/testclock"
	"github.com/tongdao/hub/internal/wait"
	"github.com/tongdao/hub/models"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// eachDriver runs fn on SQLite and on PostgreSQL; open opens one more Store
// on the same database (a second replica).
func eachDriver(t *testing.T, fn func(t *testing.T, open func() *store.Store, c *testclock.Clock)) {
	for _, driver := range []string{store.DriverSQLite, store.DriverPostgres} {
		t.Run(driver, func(t *testing.T) {
			dsn := filepath.Join(t.TempDir(), "hub.db")
			if driver == store.DriverPostgres {
				dsn = pgtest.DSN(t)
			}
			c := testclock.New(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
			open := func() *store.Store {
				s, err := store.Open(context.Background(), driver, dsn)
				if err != nil {
					t.Fatal(err)
				}
				s.Now = c.Now
				t.Cleanup(func() { s.Close() })
				return s
			}
			fn(t, open, c)
		})
	}
}

func addEvents(t *testing.T, s *store.Store, n int, typ string) {
	t.Helper()
	for range n {
		if err := s.DB.Create(&models.Event{Type: typ, Data: "{}", CreatedAt: time.Now()}).Error; err != nil {
			t.Fatal(err)
		}
	}
}

// recorder writes one KV row per event it handles, in the cursor's
// transaction, and counts what it committed.
type recorder struct {
	name  string
	types []string
	// fail makes Handle fail for an event id (its remaining count).
	mu        sync.Mutex
	fail      map[int64]int
	committed map[int64]int
	seen      atomic.Int64
}

func newRecorder(name string, types ...string) *recorder {
	return &recorder{name: name, types: types, fail: map[int64]int{}, committed: map[int64]int{}}
}

func (r *recorder) Name() string    { return r.name }
func (r *recorder) Types() []string { return r.types }
func (r *recorder) Handle(ctx context.Context, ev *models.Event, commit Commit) error {
	r.seen.Add(1)
	r.mu.Lock()
	if r.fail[ev.ID] > 0 {
		r.fail[ev.ID]--
		r.mu.Unlock()
		return errors.New("transient")
	}
	r.mu.Unlock()
	err := commit(func(tx *store.Store) error {
		return tx.KVSet(ctx, fmt.Sprintf("%s:%d", r.name, ev.ID), "1", 0)
	})
	if err == nil {
		r.mu.Lock()
		r.committed[ev.ID]++
		r.mu.Unlock()
	}
	return err
}

func (r *recorder) count(id int64) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.committed[id]
}

func newRunner(s *store.Store, c *testclock.Clock, owner string) *Runner {
	r := &Runner{Store: s, Owner: owner, Now: c.Now, Lease: 20 * time.Second, Batch: 3, Retry: time.Millisecond}
	r.defaults()
	return r
}

func position(t *testing.T, s *store.Store, name string) int64 {
	t.Helper()
	var c models.ReactionCursor
	if err := s.DB.Take(&c, "name = ?", name).Error; err != nil {
		t.Fatal(err)
	}
	return c.Position
}

func TestNewReactionStartsAtTheNewestEvent(t *testing.T) {
	eachDriver(t, func(t *testing.T, open func() *store.Store, c *testclock.Clock) {
		s, ctx := open(), context.Background()
		addEvents(t, s, 4, "message.created")
		rec := newRecorder("bot", "message.created")
		r := newRunner(s, c, "a")
		if err := r.Init(ctx, rec); err != nil {
			t.Fatal(err)
		}
		st := &state{rx: rec}
		if err := r.step(ctx, st); err != nil {
			t.Fatal(err)
		}
		if n := rec.seen.Load(); n != 0 {
			t.Fatalf("a new reaction handled %d old events, want 0", n)
		}
		addEvents(t, s, 2, "message.created")
		if err := r.step(ctx, st); err != nil {
			t.Fatal(err)
		}
		if n := rec.seen.Load(); n != 2 {
			t.Fatalf("handled %d new events, want 2", n)
		}
		// Init again (a restart) keeps the position.
		if err := r.Init(ctx, rec); err != nil {
			t.Fatal(err)
		}
		if p := position(t, s, "bot"); p != 6 {
			t.Fatalf("position %d, want 6", p)
		}
	})
}

func TestEventsHandledOnceInOrderAcrossBatchesAndTypes(t *testing.T) {
	eachDriver(t, func(t *testing.T, open func() *store.Store, c *testclock.Clock) {
		s, ctx := open(), context.Background()
		rec := newRecorder("bot", "message.created")
		r := newRunner(s, c, "a")
		if err := r.Init(ctx, rec); err != nil {
			t.Fatal(err)
		}
		for range 4 { // interleave types over several batches of 3
			addEvents(t, s, 2, "message.created")
			addEvents(t, s, 1, "conversation.updated")
		}
		st := &state{rx: rec}
		if err := r.step(ctx, st); err != nil {
			t.Fatal(err)
		}
		if p := position(t, s, "bot"); p != 11 {
			t.Fatalf("position %d, want 11 (the last commit)", p)
		}
		c.Advance(7 * time.Second) // a third of the lease: the renewal saves the position
		if err := r.step(ctx, st); err != nil {
			t.Fatal(err)
		}
		var kv []models.KV
		if err := s.DB.Order("key").Find(&kv).Error; err != nil {
			t.Fatal(err)
		}
		if len(kv) != 8 {
			t.Fatalf("%d rows written, want 8 (one per message.created)", len(kv))
		}
		for id := int64(1); id <= 12; id++ {
			want := 1
			if id%3 == 0 {
				want = 0
			}
			if got := rec.count(id); got != want {
				t.Errorf("event %d committed %d times, want %d", id, got, want)
			}
		}
		if p := position(t, s, "bot"); p != 12 {
			t.Fatalf("position %d, want 12 (past the events of other types)", p)
		}
	})
}

func TestFailedEventIsRetriedAndItsWritesLandOnce(t *testing.T) {
	eachDriver(t, func(t *testing.T, open func() *store.Store, c *testclock.Clock) {
		s, ctx := open(), context.Background()
		rec := newRecorder("bot")
		r := newRunner(s, c, "a")
		if err := r.Init(ctx, rec); err != nil {
			t.Fatal(err)
		}
		addEvents(t, s, 3, "message.created")
		rec.fail[2] = 2 // fails twice, then succeeds
		if err := r.step(ctx, &state{rx: rec}); err != nil {
			t.Fatal(err)
		}
		for id := int64(1); id <= 3; id++ {
			if got := rec.count(id); got != 1 {
				t.Errorf("event %d committed %d times, want 1", id, got)
			}
		}
		// A reaction that keeps failing is skipped, not stuck.
		addEvents(t, s, 2, "message.created")
		rec.fail[4] = 100
		if err := r.step(ctx, &state{rx: rec, holding: true, pos: 3, saved: 3, renewed: c.Now()}); err != nil {
			t.Fatal(err)
		}
		if rec.count(4) != 0 || rec.count(5) != 1 || position(t, s, "bot") != 5 {
			t.Fatalf("poison event: counts %d %d, position %d", rec.count(4), rec.count(5), position(t, s, "bot"))
		}
	})
}

// A crash after the handler's work but before the commit leaves nothing: a
// new runner (a restart) handles the event again, and its writes land once.
func TestCrashBeforeCommitResumesFromTheCursor(t *testing.T) {
	eachDriver(t, func(t *testing.T, open func() *store.Store, c *testclock.Clock) {
		s, ctx := open(), context.Background()
		rec := newRecorder("bot")
		r := newRunner(s, c, "a")
		if err := r.Init(ctx, rec); err != nil {
			t.Fatal(err)
		}
		addEvents(t, s, 2, "message.created")
		dying, die := context.WithCancel(ctx)
		crash := &crashing{recorder: rec, at: 2, die: die}
		if err := r.step(dying, &state{rx: crash}); err == nil {
			t.Fatal("the crashing step reported no error")
		}
		var n int64
		if err := s.DB.Model(&models.KV{}).Where("key = ?", "half-done").Count(&n).Error; err != nil || n != 0 {
			t.Fatalf("a write of the uncommitted transaction landed (%d, %v)", n, err)
		}
		if p := position(t, s, "bot"); p != 1 {
			t.Fatalf("position after the crash %d, want 1", p)
		}
		// The replica restarts (its lease is still its own: same owner).
		r2 := newRunner(open(), c, "a")
		if err := r2.step(ctx, &state{rx: rec}); err != nil {
			t.Fatal(err)
		}
		if rec.count(1) != 1 || rec.count(2) != 1 || position(t, s, "bot") != 2 {
			t.Fatalf("after restart: counts %d %d, position %d", rec.count(1), rec.count(2), position(t, s, "bot"))
		}
	})
}

// crashing's commit fails at event at as a crash inside the transaction would.
type crashing struct {
	*recorder
	at  int64
	die context.CancelFunc
}

func (c *crashing) Handle(ctx context.Context, ev *models.Event, commit Commit) error {
	if ev.ID == c.at {
		return commit(func(tx *store.Store) error {
			if err := tx.KVSet(ctx, "half-done", "1", 0); err != nil {
				return err
			}
			c.die() // the process dies here
			return context.Canceled
		})
	}
	return c.recorder.Handle(ctx, ev, commit)
}

func TestOneRunnerAtATimeAndTakeoverAfterTheLease(t *testing.T) {
	eachDriver(t, func(t *testing.T, open func() *store.Store, c *testclock.Clock) {
		ctx := context.Background()
		sa, sb := open(), open()
		rec := newRecorder("bot")
		a, b := newRunner(sa, c, "replica-a"), newRunner(sb, c, "replica-b")
		if err := a.Init(ctx, rec); err != nil {
			t.Fatal(err)
		}
		if err := b.Init(ctx, rec); err != nil {
			t.Fatal(err)
		}
		addEvents(t, sa, 2, "message.created")
		stA, stB := &state{rx: rec}, &state{rx: rec}
		if err := a.step(ctx, stA); err != nil || !stA.holding {
			t.Fatalf("a: %v holding %v", err, stA.holding)
		}
		if err := b.step(ctx, stB); err != nil || stB.holding {
			t.Fatalf("b took a held lease: %v holding %v", err, stB.holding)
		}
		// a stalls past its lease; b takes over and handles what came since.
		addEvents(t, sa, 1, "message.created")
		c.Advance(21 * time.Second)
		if err := b.step(ctx, stB); err != nil || !stB.holding {
			t.Fatalf("b after the lease: %v holding %v", err, stB.holding)
		}
		// a wakes up and tries to commit: fenced off, nothing lands twice.
		addEvents(t, sa, 1, "message.created")
		stA.renewed = c.Now() // a believes its lease is fresh
		if err := a.step(ctx, stA); !errors.Is(err, store.ErrLeaseLost) || stA.holding {
			t.Fatalf("a after takeover: err %v holding %v", err, stA.holding)
		}
		if err := b.step(ctx, stB); err != nil {
			t.Fatal(err)
		}
		for id := int64(1); id <= 4; id++ {
			if got := rec.count(id); got != 1 {
				t.Errorf("event %d committed %d times, want 1", id, got)
			}
		}
	})
}

func TestTwoRunnersConcurrentlyHandleEveryEventOnce(t *testing.T) {
	eachDriver(t, func(t *testing.T, open func() *store.Store, c *testclock.Clock) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		sa, sb := open(), open()
		rec := newRecorder("bot")
		var wake sync.Mutex
		wakeCh := make(chan struct{})
		notify := func() {
			wake.Lock()
			close(wakeCh)
			wakeCh = make(chan struct{})
			wake.Unlock()
		}
		wakeFn := func() <-chan struct{} {
			wake.Lock()
			defer wake.Unlock()
			return wakeCh
		}
		var wg sync.WaitGroup
		for _, r := range []*Runner{newRunner(sa, c, "a"), newRunner(sb, c, "b")} {
			r.Wake, r.Poll = wakeFn, 50*time.Millisecond
			if err := r.Init(ctx, rec); err != nil {
				t.Fatal(err)
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				r.Run(ctx, rec)
			}()
		}
		const n = 60
		for i := range n {
			addEvents(t, sa, 1, "message.created")
			if i%10 == 0 {
				c.Advance(25 * time.Second) // leases expire now and then: takeovers
			}
			notify()
		}
		wait.For(t, "every event handled", func() bool {
			notify()
			return position(t, sa, "bot") >= n
		})
		cancel()
		wg.Wait()
		for id := int64(1); id <= n; id++ {
			if got := rec.count(id); got != 1 {
				t.Errorf("event %d committed %d times, want 1", id, got)
			}
		}
	})
}

// batching is a recorder that takes every event in a batch but those in io
// (which, say, call a platform); failWrite makes an event's write fail in
// the transaction (its remaining count).
type batching struct {
	*recorder
	io        map[int64]bool
	failWrite map[int64]int
}

func newBatching(ioEvents ...int64) *batching {
	b := &batching{recorder: newRecorder("bot"), io: map[int64]bool{}, failWrite: map[int64]int{}}
	for _, id := range ioEvents {
		b.io[id] = true
	}
	return b
}

func (b *batching) InBatch(ev *models.Event) bool { return !b.io[ev.ID] }

func (b *batching) Handle(ctx context.Context, ev *models.Event, commit Commit) error {
	b.mu.Lock()
	fail := b.failWrite[ev.ID] > 0
	if fail {
		b.failWrite[ev.ID]--
	}
	b.mu.Unlock()
	if fail {
		return commit(func(tx *store.Store) error {
			if err := tx.KVSet(ctx, "doomed", "1", 0); err != nil {
				return err
			}
			return errors.New("write failed")
		})
	}
	return b.recorder.Handle(ctx, ev, commit)
}

// kvRows is how many rows the recorders wrote.
func kvRows(t *testing.T, s *store.Store) int64 {
	t.Helper()
	var n int64
	if err := s.DB.Model(&models.KV{}).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func TestBatchHandlesARunOfEventsInOneTransaction(t *testing.T) {
	eachDriver(t, func(t *testing.T, open func() *store.Store, c *testclock.Clock) {
		s, ctx := open(), context.Background()
		rec := newBatching(4)
		r := newRunner(s, c, "a")
		r.Batch = 10
		commits := 0
		r.AfterCommit = func() { commits++ }
		if err := r.Init(ctx, rec); err != nil {
			t.Fatal(err)
		}
		addEvents(t, s, 7, "message.created")
		if err := r.step(ctx, &state{rx: rec}); err != nil {
			t.Fatal(err)
		}
		// 1–3 in one transaction, 4 alone, 5–7 in one.
		if commits != 3 {
			t.Fatalf("%d commits, want 3", commits)
		}
		if n := kvRows(t, s); n != 7 {
			t.Fatalf("%d rows written, want 7", n)
		}
		for id := int64(1); id <= 7; id++ {
			if got := rec.count(id); got != 1 {
				t.Errorf("event %d committed %d times, want 1", id, got)
			}
		}
		if p := position(t, s, "bot"); p != 7 {
			t.Fatalf("position %d, want 7", p)
		}
	})
}

// A run longer than Turn is split: SQLite's writer, shared with ingest, is
// held for Turn events' writes at most.
func TestBatchTransactionsHoldTurnEventsAtMost(t *testing.T) {
	eachDriver(t, func(t *testing.T, open func() *store.Store, c *testclock.Clock) {
		s, ctx := open(), context.Background()
		rec := newBatching()
		r := newRunner(s, c, "a")
		r.Batch, r.Turn = 10, 3
		commits := 0
		r.AfterCommit = func() { commits++ }
		if err := r.Init(ctx, rec); err != nil {
			t.Fatal(err)
		}
		addEvents(t, s, 8, "message.created")
		if err := r.step(ctx, &state{rx: rec}); err != nil {
			t.Fatal(err)
		}
		// 1–3, 4–6, 7–8.
		if commits != 3 || kvRows(t, s) != 8 || position(t, s, "bot") != 8 {
			t.Fatalf("%d commits, %d rows, position %d; want 3, 8, 8", commits, kvRows(t, s), position(t, s, "bot"))
		}
	})
}

// prefetching is a batching reaction that records what Prefetch was given,
// and checks that every event it handles in a batch was prefetched.
type prefetching struct {
	*batching
	runs    [][]int64
	fetched map[int64]bool
	missed  []int64
}

func (p *prefetching) Prefetch(_ context.Context, evs []models.Event) {
	p.fetched = map[int64]bool{}
	var run []int64
	for _, e := range evs {
		run = append(run, e.ID)
		p.fetched[e.ID] = true
	}
	p.runs = append(p.runs, run)
}

func (p *prefetching) InBatch(ev *models.Event) bool {
	if !p.fetched[ev.ID] {
		p.missed = append(p.missed, ev.ID)
	}
	return p.batching.InBatch(ev)
}

// A Prefetcher is given each run of events, at most Turn, before their
// batch is handled.
func TestPrefetchSeesEachRunBeforeItIsHandled(t *testing.T) {
	eachDriver(t, func(t *testing.T, open func() *store.Store, c *testclock.Clock) {
		s, ctx := open(), context.Background()
		rec := &prefetching{batching: newBatching(5)}
		r := newRunner(s, c, "a")
		r.Batch, r.Turn = 10, 3
		if err := r.Init(ctx, rec); err != nil {
			t.Fatal(err)
		}
		addEvents(t, s, 8, "message.created")
		if err := r.step(ctx, &state{rx: rec}); err != nil {
			t.Fatal(err)
		}
		// 1–3; 4 (5 is not for a batch: handled alone); 6–8.
		if got := fmt.Sprint(rec.runs); got != "[[1 2 3] [4 5 6] [5 6 7] [6 7 8]]" {
			t.Fatalf("prefetched runs %s", got)
		}
		if len(rec.missed) != 0 || kvRows(t, s) != 8 {
			t.Fatalf("handled in a batch without a prefetch: %v; %d rows", rec.missed, kvRows(t, s))
		}
	})
}

// An event whose Handle fails ends the batch before it: the batch's writes
// land, the event is retried on its own. A write that fails in the batch's
// transaction keeps nothing of the batch: its events go one at a time.
func TestFailuresInABatch(t *testing.T) {
	eachDriver(t, func(t *testing.T, open func() *store.Store, c *testclock.Clock) {
		s, ctx := open(), context.Background()
		rec := newBatching()
		r := newRunner(s, c, "a")
		r.Batch = 10
		if err := r.Init(ctx, rec); err != nil {
			t.Fatal(err)
		}
		addEvents(t, s, 8, "message.created")
		rec.fail[3] = 2      // fails in the batch, and once more on its own
		rec.failWrite[6] = 1 // its write fails in the transaction of 4–8
		var rows []int64
		r.AfterCommit = func() { rows = append(rows, kvRows(t, s)) }
		if err := r.step(ctx, &state{rx: rec}); err != nil {
			t.Fatal(err)
		}
		// 1–2 in a batch, 3 on its own, 4–8 rolled back and then one at a
		// time: nothing of the failed transaction (its "doomed" row) stays.
		if want := []int64{2, 3, 4, 5, 6, 7, 8}; fmt.Sprint(rows) != fmt.Sprint(want) {
			t.Fatalf("rows after each commit %v, want %v", rows, want)
		}
		var doomed int64
		if err := s.DB.Model(&models.KV{}).Where("key = ?", "doomed").Count(&doomed).Error; err != nil || doomed != 0 {
			t.Fatalf("the rolled back write stayed: %d %v", doomed, err)
		}
		if p := position(t, s, "bot"); p != 8 {
			t.Fatalf("position %d, want 8", p)
		}
	})
}

// A runner that lost its lease keeps nothing of its batch.
func TestBatchOfARunnerThatLostItsLeaseIsRolledBack(t *testing.T) {
	eachDriver(t, func(t *testing.T, open func() *store.Store, c *testclock.Clock) {
		ctx := context.Background()
		sa, sb := open(), open()
		rec := newBatching()
		a, b := newRunner(sa, c, "replica-a"), newRunner(sb, c, "replica-b")
		a.Batch, b.Batch = 10, 10
		if err := a.Init(ctx, rec); err != nil {
			t.Fatal(err)
		}
		stA := &state{rx: rec}
		if err := a.step(ctx, stA); err != nil || !stA.holding {
			t.Fatalf("a: %v holding %v", err, stA.holding)
		}
		c.Advance(21 * time.Second)
		stB := &state{rx: rec}
		if err := b.step(ctx, stB); err != nil || !stB.holding {
			t.Fatalf("b after the lease: %v holding %v", err, stB.holding)
		}
		addEvents(t, sa, 3, "message.created")
		stA.renewed = c.Now()
		if err := a.step(ctx, stA); !errors.Is(err, store.ErrLeaseLost) || stA.holding {
			t.Fatalf("a after takeover: err %v holding %v", err, stA.holding)
		}
		if n := kvRows(t, sa); n != 0 {
			t.Fatalf("the fenced runner's batch left %d rows", n)
		}
		if err := b.step(ctx, stB); err != nil {
			t.Fatal(err)
		}
		if n := kvRows(t, sa); n != 3 || position(t, sa, "bot") != 3 {
			t.Fatalf("after b: %d rows, position %d; want 3, 3", n, position(t, sa, "bot"))
		}
	})
}
