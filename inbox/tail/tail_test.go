package tail_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tongdao/hub/inbox"
	"github.com/tongdao/hub/inbox/store"
	"github.com/tongdao/hub/inbox/tail"
	"github.com/tongdao/hub/internal/pgtest"
	"github.com/tongdao/hub/internal/wait"
	"github.com/tongdao/hub/models"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// counted is the real inbox service, counting its log reads.
type counted struct {
	*inbox.Service
	after atomic.Int64
}

func (c *counted) EventsAfter(ctx context.Context, after int64, limit int) ([]models.EventView, error) {
	c.after.Add(1)
	return c.Service.EventsAfter(ctx, after, limit)
}

func open(t *testing.T, driver, dsn string) *inbox.Service {
	t.Helper()
	st, err := store.Open(context.Background(), driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	svc := inbox.New(inbox.Options{Store: st})
	t.Cleanup(func() { svc.Close(); st.Close() })
	return svc
}

func sqlite(t *testing.T) *counted {
	return &counted{Service: open(t, store.DriverSQLite, filepath.Join(t.TempDir(), "hub.db"))}
}

// frame is the test's encoding: the event's id, so that what a stream
// reads is the list of ids.
func frame(dst []byte, ev *models.EventView) ([]byte, error) {
	return append(append(dst, ev.ID...), ','), nil
}

func newTailer(t *testing.T, src tail.Source, size, buffer int) *tail.Tailer {
	t.Helper()
	tl, err := tail.New(tail.Options{Source: src, Encode: frame, Size: size, Buffer: buffer, Batch: 50})
	if err != nil {
		t.Fatal(err)
	}
	return tl
}

var seq atomic.Int64

// ingest stores n customer messages through the service (each commits
// message.created and, for a new conversation, more events).
func ingest(t testing.TB, svc *inbox.Service, n int, who string) {
	t.Helper()
	for i := range n {
		in := models.Inbound{Connector: "tg", Channel: "telegram", Kind: models.KindMessage,
			ExternalID: fmt.Sprintf("%s-%d", who, seq.Add(1)),
			From:       models.Sender{ExternalID: fmt.Sprintf("%s-%d", who, i%7), DisplayName: "Customer"}, Text: "hello"}
		if _, err := svc.Ingest(context.Background(), in); err != nil {
			t.Error(err)
			return
		}
	}
}

// logIDs is every event id in the log after from, oldest first.
func logIDs(t *testing.T, src tail.Source, from int64) []int64 {
	t.Helper()
	var ids []int64
	for {
		evs, err := src.EventsAfter(context.Background(), from, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) == 0 {
			return ids
		}
		for _, ev := range evs {
			id, _ := strconv.ParseInt(ev.ID, 10, 64)
			ids = append(ids, id)
			from = id
		}
	}
}

// reader drains a Sub from its own goroutine, as a stream does.
type reader struct {
	mu  sync.Mutex
	ids []int64
	err error
}

func (r *reader) run(ctx context.Context, s *tail.Sub, max int) {
	var frames [][]byte
	for {
		wake := s.Wake()
		for {
			var more bool
			var err error
			frames, more, err = s.Read(ctx, frames[:0], max)
			r.mu.Lock()
			for _, f := range frames { // one or more "id," frames
				for _, part := range strings.Split(strings.TrimSuffix(string(f), ","), ",") {
					id, perr := strconv.ParseInt(part, 10, 64)
					if perr != nil {
						err = perr
					}
					r.ids = append(r.ids, id)
				}
			}
			r.err = err
			r.mu.Unlock()
			if err != nil {
				return
			}
			if !more {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-s.Done():
		}
	}
}

func (r *reader) snapshot() ([]int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.ids), r.err
}

// start subscribes at after and drains in the background.
func start(t *testing.T, tl *tail.Tailer, after int64, max int) (*tail.Sub, *reader) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := tl.Subscribe(after, nil)
	r := &reader{}
	done := make(chan struct{})
	go func() { defer close(done); r.run(ctx, s, max) }()
	t.Cleanup(func() { cancel(); <-done; s.Close() })
	return s, r
}

// waitFor waits until r has read every id of want (or failed), then checks
// it read exactly want, in order.
func waitFor(t *testing.T, what string, r *reader, want []int64) {
	t.Helper()
	wait.For(t, what, func() bool {
		ids, err := r.snapshot()
		return err != nil || len(ids) >= len(want)
	})
	ids, err := r.snapshot()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if !slices.Equal(ids, want) {
		t.Fatalf("%s: read %v\nwant %v", what, ids, want)
	}
}

func TestManyStreamsReadEveryEventInOrderOnceWithOneReadPerWake(t *testing.T) {
	src := sqlite(t)
	ingest(t, src.Service, 5, "before") // history the streams must not get
	tl := newTailer(t, src, 4096, 4096)
	const streams = 50
	readers := make([]*reader, streams)
	latest, _ := src.LatestEventID(context.Background())
	for i := range readers {
		// Different read sizes: streams move at different paces.
		_, readers[i] = start(t, tl, latest, 1+i%7)
	}
	// The ring starts where the tailer's first read found the log: commits
	// before it would put the streams below the ring, in the database.
	wait.For(t, "the tailer's first read", func() bool { return tl.Reads() >= 1 })
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() { ingest(t, src.Service, 40, fmt.Sprintf("w%d", w)) })
	}
	wg.Wait()
	want := logIDs(t, src.Service, latest)
	if len(want) < 160 {
		t.Fatalf("only %d events committed", len(want))
	}
	for i, r := range readers {
		waitFor(t, fmt.Sprintf("stream %d", i), r, want)
	}
	// The streams never read the database: every read was the tailer's.
	if got, tailer := src.after.Load(), tl.Reads(); got != tailer {
		t.Fatalf("%d log reads, %d of them by the tailer: streams read the database", got, tailer)
	}
}

func TestResumeOlderThanTheRingReadsTheGapOnceThenTheRing(t *testing.T) {
	src := sqlite(t)
	tl := newTailer(t, src, 8, 1<<20) // a small ring; nobody is cut off
	_, keeper := start(t, tl, 0, 100) // keeps the tailer running
	ingest(t, src.Service, 30, "a")
	all := logIDs(t, src.Service, 0)
	waitFor(t, "the keeper", keeper, all)

	// Inside the ring: no database read at all.
	before, tailerBefore := src.after.Load(), tl.Reads()
	inRing := all[len(all)-5]
	_, r := start(t, tl, inRing, 100)
	waitFor(t, "a resume inside the ring", r, all[len(all)-4:])
	if streams := (src.after.Load() - before) - (tl.Reads() - tailerBefore); streams != 0 {
		t.Fatalf("a resume inside the ring read the database %d times", streams)
	}

	// Older than the ring: the gap from the database, then the ring.
	_, old := start(t, tl, all[2], 10)
	waitFor(t, "a resume older than the ring", old, all[3:])
	if gapReads := (src.after.Load() - before) - (tl.Reads() - tailerBefore); gapReads == 0 {
		t.Fatal("an old resume did not read the database")
	}
	ingest(t, src.Service, 3, "b")
	all = logIDs(t, src.Service, 0)
	readsBefore, tailerBefore := src.after.Load(), tl.Reads()
	waitFor(t, "new events after the resume", old, all[3:])
	waitFor(t, "new events, the keeper", keeper, all)
	if streams := (src.after.Load() - readsBefore) - (tl.Reads() - tailerBefore); streams != 0 {
		t.Fatalf("after catching up, streams read the database %d more times", streams)
	}
}

func TestSlowStreamIsCutOffWithItsPositionOthersGoOn(t *testing.T) {
	src := sqlite(t)
	tl := newTailer(t, src, 64, 10)
	_, fast := start(t, tl, 0, 1)
	ingest(t, src.Service, 1, "first")
	first := logIDs(t, src.Service, 0)
	waitFor(t, "the first events", fast, first) // the tailer runs and has read them
	pos := first[len(first)-1]
	var cuts atomic.Int64
	slow := tl.Subscribe(pos, func() { cuts.Add(1) }) // never reads: a stalled client
	defer slow.Close()

	// Commits, each waited for by the fast stream (so the tailer has read
	// it), until the slow stream is cut off: a few reads past its buffer.
	var all []int64
	for round := 0; slow.Err() == nil; round++ {
		if round == 50 {
			t.Fatalf("the slow stream, %d events behind, was never cut off", len(all)-len(first))
		}
		ingest(t, src.Service, 3, "a")
		all = logIDs(t, src.Service, 0)
		waitFor(t, "the fast stream", fast, all)
	}
	if _, _, err := slow.Read(context.Background(), nil, 100); !errors.Is(err, tail.ErrTooSlow) {
		t.Fatalf("slow stream read: %v, want ErrTooSlow", err)
	}
	if cuts.Load() != 1 || slow.After() != pos {
		t.Fatalf("cut callback ran %d times; position %d, want %d", cuts.Load(), slow.After(), pos)
	}
	waitFor(t, "the fast stream", fast, all)

	// The slow client resumes from its position and misses nothing.
	_, resumed := start(t, tl, slow.After(), 100)
	waitFor(t, "the resumed stream", resumed, all[len(first):])
}

func TestTailerStopsWithItsLastStreamAndCatchesUpOnRestart(t *testing.T) {
	src := sqlite(t)
	tl := newTailer(t, src, 16, 16)
	s := tl.Subscribe(0, nil)
	wait.For(t, "the first read", func() bool { return tl.Reads() >= 1 })
	s.Close()
	ingest(t, src.Service, 2, "idle")
	all := logIDs(t, src.Service, 0)
	_, r := start(t, tl, 0, 100)
	waitFor(t, "a stream after an idle spell", r, all)
}

// TestReplicaSeesTheOtherReplicasEventsInOrder runs two inbox services (two
// hub replicas) on one PostgreSQL database, writers on both at once: a
// stream on replica B, served by B's tailer, reads the whole log in id
// order, exactly once.
func TestReplicaSeesTheOtherReplicasEventsInOrder(t *testing.T) {
	dsn := pgtest.DSN(t)
	a, b := open(t, store.DriverPostgres, dsn), open(t, store.DriverPostgres, dsn)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go b.RunEventListener(ctx)
	// B's listener connects in the background: commit on A until B wakes.
	deadline := time.Now().Add(wait.Timeout)
	for woken := false; !woken; {
		if time.Now().After(deadline) {
			t.Fatal("replica b was never woken by replica a's commits")
		}
		wake := b.EventsNotify()
		ingest(t, a, 1, "probe")
		select {
		case <-wake:
			woken = true
		case <-time.After(time.Second):
		}
	}
	start0, err := b.LatestEventID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tl := newTailer(t, b, 32, 1<<20)
	_, r := start(t, tl, start0, 7)
	var wg sync.WaitGroup
	for w := range 3 {
		wg.Go(func() { ingest(t, a, 30, fmt.Sprintf("a%d", w)) })
		wg.Go(func() { ingest(t, b, 30, fmt.Sprintf("b%d", w)) })
	}
	wg.Wait()
	// A last event from A: only the notification can bring it to B.
	ingest(t, a, 1, "last")
	want := logIDs(t, a, start0)
	waitFor(t, "the stream on replica b", r, want)
}
