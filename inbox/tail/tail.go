// Package tail serves the event log to a replica's event streams from
// memory.
//
// One Tailer per replica reads new events once, woken by the event log's
// notification (in-process commits, and other replicas' commits through
// PostgreSQL LISTEN/NOTIFY), encodes each once and appends it to a bounded
// ring. Every stream (a Sub) reads the ring from its own position: with 1,000
// streams open a commit costs one query, not 1,000. A stream that resumes
// from a position older than the ring reads the gap from the database, then
// continues from the ring.
//
// Exactness: the tailer reads "events after the newest id read", exactly as a
// stream did on its own before, so it inherits the store's guarantee that
// events become visible in id order (on PostgreSQL, whatever the store does
// for that across replicas). The ring holds every event with an id in
// (base, last], without gaps, so a stream at a position p >= base finds
// exactly the events after p in it.
//
// A slow stream never holds the others: the tailer never waits for a stream.
// A stream may fall at most Buffer events behind the end of the ring as it
// was when the tailer last waited for a notification; past that it is
// cut off (its Done channel closes, its OnCut callback runs so that a write
// blocked on a stalled client fails at once) and its reader returns
// ErrTooSlow. The client resumes with the id of the last event it received
// (Last-Event-ID), from the ring or the database.
//
// The tailer runs only while streams are open: the first subscriber starts
// it, and it stops when the last one leaves (or when reading fails, which
// ends every stream with the error; the next subscriber starts it again).
package tail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tongdao/hub/models"
)

// Defaults for Options left zero.
const (
	DefaultSize     = 4096
	DefaultBatch    = 500
	DefaultInterval = 25 * time.Millisecond
)

// ErrTooSlow ends a stream that fell more than Buffer events behind.
var ErrTooSlow = errors.New("the stream fell too far behind the event log")

// Source is the event log.
type Source interface {
	// EventsAfter returns up to limit events with id > after, oldest first.
	EventsAfter(ctx context.Context, after int64, limit int) ([]models.EventView, error)
	// LatestEventID returns the newest event's id (0 when none).
	LatestEventID(ctx context.Context) (int64, error)
	// EventsNotify returns a channel closed at the next committed event.
	EventsNotify() <-chan struct{}
}

// Options configure a Tailer. Source and Encode are required.
type Options struct {
	Source Source
	// Encode appends an event's wire form (for SSE, one frame) to dst. It
	// runs once per event read by the tailer, and once per event a
	// resuming stream reads from the database.
	Encode func(dst []byte, ev *models.EventView) ([]byte, error)
	// Size is how many events the ring keeps (default 4096).
	Size int
	// Buffer is how many events a stream may fall behind before it is cut
	// off (default Size), counted against the end of the ring when the
	// tailer last waited. A stream whose position a burst pushed out of the
	// ring before it could read reads the gap from the database.
	Buffer int
	// Batch is how many events one database read fetches (default 500).
	Batch int
	// Logger receives the tailer's failures (default slog.Default()).
	Logger *slog.Logger
	// Interval is the least time between two reads of the tailer (default
	// 10 ms): commits closer together are read, and woken, together, which
	// bounds the wake-ups of every stream. Negative: none.
	Interval time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// entry is one encoded event in the ring.
type entry struct {
	id    int64
	batch uint64 // the read it came from: a read's frames are contiguous
	frame []byte // read-only; its capacity runs on over the read's next frames
}

// Tailer reads the event log once for every stream of a replica.
type Tailer struct {
	src    Source
	encode func([]byte, *models.EventView) ([]byte, error)
	size   int
	buffer int
	batch  int
	log    *slog.Logger
	kick   chan struct{} // the last subscriber left

	mu sync.RWMutex
	// ring holds the entries with sequence numbers [seq0, seq0+n), the
	// entry with sequence s at ring[s%size]. Sequence numbers count every
	// event ever appended; they never go back.
	ring []entry
	seq0 uint64
	n    int
	// base and last: the ring holds every event with base < id <= last.
	// They are valid only while synced (the tailer runs and has caught up
	// once).
	base, last int64
	synced     bool
	started    bool // base and last were ever set
	running    bool
	wake       chan struct{} // closed when the ring or the state changes
	subs       map[*Sub]struct{}
	reads      atomic.Int64
	batches    uint64
	interval   time.Duration
	now        func() time.Time
}

// New returns a Tailer; it starts reading with its first subscriber.
func New(o Options) (*Tailer, error) {
	if o.Source == nil || o.Encode == nil {
		return nil, errors.New("tail: Options.Source and Options.Encode are required")
	}
	t := &Tailer{src: o.Source, encode: o.Encode, size: o.Size, buffer: o.Buffer, batch: o.Batch, log: o.Logger,
		interval: o.Interval, now: o.Now,
		kick: make(chan struct{}, 1), wake: make(chan struct{}), subs: map[*Sub]struct{}{}}
	if t.interval == 0 {
		t.interval = DefaultInterval
	}
	if t.now == nil {
		t.now = time.Now
	}
	if t.size <= 0 {
		t.size = DefaultSize
	}
	if t.buffer <= 0 {
		t.buffer = t.size
	}
	if t.batch <= 0 {
		t.batch = DefaultBatch
	}
	if t.log == nil {
		t.log = slog.Default()
	}
	t.ring = make([]entry, t.size)
	t.seq0 = 1 // a stream's sequence 0 means "not reading the ring"
	return t, nil
}

// Reads returns how many times the tailer itself has read the log (streams'
// reads of a gap not counted).
func (t *Tailer) Reads() int64 { return t.reads.Load() }

// Subscribers returns how many streams are subscribed.
func (t *Tailer) Subscribers() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.subs)
}

// Sub is one stream's position in the log. Its methods other than Done and
// Wake are for one goroutine.
type Sub struct {
	t      *Tailer
	after  int64 // the id of the last event returned
	inRing bool
	seq    atomic.Uint64 // next sequence to read, while inRing
	onCut  func()
	done   chan struct{}
	once   sync.Once
	err    error // why it was cut off; set before done closes
}

// Subscribe registers a stream that has seen every event up to after.
// onCut (optional) runs once, from another goroutine, when the stream is
// cut off for being too slow; it must not block. Close the Sub when the stream ends.
func (t *Tailer) Subscribe(after int64, onCut func()) *Sub {
	s := &Sub{t: t, after: after, onCut: onCut, done: make(chan struct{})}
	t.mu.Lock()
	t.subs[s] = struct{}{}
	if t.synced && after >= t.base {
		// In the ring from now on: its lag counts even before it reads.
		s.enterRing()
	}
	start := !t.running
	t.running = true
	t.mu.Unlock()
	if start {
		go t.run()
	}
	return s
}

// Close unsubscribes; the tailer stops when its last stream leaves.
func (s *Sub) Close() {
	t := s.t
	t.mu.Lock()
	delete(t.subs, s)
	last := len(t.subs) == 0
	t.mu.Unlock()
	if last {
		select {
		case t.kick <- struct{}{}:
		default:
		}
	}
}

// After returns the id of the last event the stream was given.
func (s *Sub) After() int64 { return s.after }

// Done is closed when the stream is cut off; Read then returns why.
func (s *Sub) Done() <-chan struct{} { return s.done }

// Err returns why the stream was cut off, or nil.
func (s *Sub) Err() error {
	select {
	case <-s.done:
		return s.err
	default:
		return nil
	}
}

// Wake returns a channel closed when new events may be there. Take it before
// Read, then wait on it, so that no event is missed in between.
func (s *Sub) Wake() <-chan struct{} {
	s.t.mu.RLock()
	defer s.t.mu.RUnlock()
	return s.t.wake
}

func (s *Sub) cut(err error) {
	s.once.Do(func() {
		s.err = err
		close(s.done)
		if s.onCut != nil && errors.Is(err, ErrTooSlow) {
			s.onCut()
		}
	})
}

// Read appends to dst the encoded events after the stream's position, at
// most max of them, and moves the position past them. Events read together
// by the tailer come as one slice; the slices are read-only. more reports that
// further events can be read at once. Reading from the ring never waits for
// the database; a position older than the ring reads the database (one
// query per call) until it reaches the ring. The error is ErrTooSlow, the
// tailer's read error (both end the stream), or the database's.
func (s *Sub) Read(ctx context.Context, dst [][]byte, max int) (out [][]byte, more bool, err error) {
	t := s.t
	select {
	case <-s.done:
		return dst, false, s.err
	default:
	}
	t.mu.RLock()
	if !t.synced {
		t.mu.RUnlock()
		return dst, false, nil
	}
	if !s.inRing {
		if s.after < t.base {
			t.mu.RUnlock()
			return s.readGap(ctx, dst, max)
		}
		s.enterRing()
	}
	seq := s.seq.Load()
	if seq < t.seq0 {
		// A burst pushed the stream's position out of the ring before it
		// could read: the gap comes from the database.
		t.mu.RUnlock()
		s.seq.Store(0)
		s.inRing = false
		return s.readGap(ctx, dst, max)
	}
	end := t.seq0 + uint64(t.n)
	// A stream may start ahead of the ring (its position came from the
	// newest id, or from another replica): skip what it has seen.
	for seq < end && t.at(seq).id <= s.after {
		seq++
	}
	k := min(end-seq, uint64(max))
	for i := range k {
		e := t.at(seq + i)
		if n := len(dst); i > 0 && n > 0 && t.at(seq+i-1).batch == e.batch {
			// Contiguous with the previous frame: one slice, one write.
			dst[n-1] = dst[n-1][:len(dst[n-1])+len(e.frame)]
		} else {
			dst = append(dst, e.frame)
		}
		s.after = e.id
	}
	t.mu.RUnlock()
	s.seq.Store(seq + k)
	return dst, seq+k < end, nil
}

// enterRing positions the stream at the first entry after its position (ids
// increase with sequences). Call it with t.mu held.
func (s *Sub) enterRing() {
	t := s.t
	i := sort.Search(t.n, func(i int) bool { return t.at(t.seq0+uint64(i)).id > s.after })
	s.seq.Store(t.seq0 + uint64(i))
	s.inRing = true
}

// readGap reads the events after the stream's position from the database.
func (s *Sub) readGap(ctx context.Context, dst [][]byte, max int) ([][]byte, bool, error) {
	evs, err := s.t.src.EventsAfter(ctx, s.after, min(max, s.t.batch))
	if err != nil {
		return dst, false, fmt.Errorf("reading events after %d: %w", s.after, err)
	}
	var buf []byte
	for i := range evs {
		id, err := checkID(&evs[i], s.after)
		if err != nil {
			return dst, false, err
		}
		start := len(buf)
		if buf, err = s.t.encode(buf, &evs[i]); err != nil {
			return dst, false, err
		}
		dst = append(dst, buf[start:len(buf):len(buf)])
		s.after = id
	}
	// Either more history, or the ring is next: both can be read at once.
	return dst, len(evs) > 0, nil
}

// checkID parses an event's id, which must come after last.
func checkID(ev *models.EventView, last int64) (int64, error) {
	id, err := strconv.ParseInt(ev.ID, 10, 64)
	if err != nil || id <= last {
		return 0, fmt.Errorf("event id %q is not after %d", ev.ID, last)
	}
	return id, nil
}

func (t *Tailer) at(seq uint64) *entry { return &t.ring[seq%uint64(len(t.ring))] }

// broadcast wakes every stream; call it with mu held for writing.
func (t *Tailer) broadcast() {
	close(t.wake)
	t.wake = make(chan struct{})
}

// run is the tailer's goroutine: it reads new events once per notification
// while streams are open.
func (t *Tailer) run() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var err error
	for {
		err = t.loop(ctx)
		t.mu.Lock()
		if err != nil || len(t.subs) == 0 {
			break
		}
		// A stream subscribed after the loop found none: go on.
		t.mu.Unlock()
	}
	t.running, t.synced = false, false
	var victims []*Sub
	if err != nil {
		for s := range t.subs {
			victims = append(victims, s)
		}
	}
	t.broadcast()
	t.mu.Unlock()
	if err != nil {
		t.log.LogAttrs(ctx, slog.LevelWarn, "event tailer stopped; its streams end", slog.String("error", err.Error()))
	}
	for _, s := range victims {
		s.cut(err)
	}
}

// loop returns nil when no stream is left, or the read error.
func (t *Tailer) loop(ctx context.Context) error {
	latest, err := t.src.LatestEventID(ctx)
	if err != nil {
		return fmt.Errorf("reading the newest event id: %w", err)
	}
	t.mu.Lock()
	// Catch up from where the ring ends when the gap fits in the ring
	// (ids may skip, so the gap in events is at most this), else start
	// afresh at the newest event.
	if !t.started || latest < t.last || latest-t.last > int64(t.size) {
		t.seq0 += uint64(t.n)
		t.n = 0
		t.base, t.last = latest, latest
		t.started = true
	}
	t.mu.Unlock()
	synced := false
	for {
		notify := t.src.EventsNotify()
		lastRead := t.now()
		t.mu.RLock()
		mark := t.seq0 + uint64(t.n)
		t.mu.RUnlock()
		for {
			t.reads.Add(1)
			evs, err := t.src.EventsAfter(ctx, t.last, t.batch)
			if err != nil {
				return fmt.Errorf("reading events after %d: %w", t.last, err)
			}
			if err := t.append(evs, !synced); err != nil {
				return err
			}
			synced = true
			if len(evs) < t.batch {
				break
			}
		}
		t.cutSlow(mark)
		t.mu.RLock()
		idle := len(t.subs) == 0
		t.mu.RUnlock()
		if idle {
			return nil
		}
		select {
		case <-notify:
		case <-t.kick:
			continue
		}
		// Let commits close together be read together.
		if d := t.interval - t.now().Sub(lastRead); d > 0 {
			timer := time.NewTimer(d)
			select {
			case <-timer.C:
			case <-t.kick:
			}
			timer.Stop()
		}
	}
}

// append encodes evs, adds them to the ring and wakes the streams; then it
// cuts off the streams now more than buffer events behind.
func (t *Tailer) append(evs []models.EventView, sync bool) error {
	if len(evs) == 0 && !sync {
		return nil
	}
	// One allocation for the batch's frames; each entry keeps a slice of it.
	var buf []byte
	ents := make([]entry, len(evs))
	last := t.last
	for i := range evs {
		id, err := checkID(&evs[i], last)
		if err != nil {
			return err
		}
		start := len(buf)
		if buf, err = t.encode(buf, &evs[i]); err != nil {
			return err
		}
		ents[i] = entry{id: id}
		ents[i].frame = buf[start:len(buf):len(buf)]
		last = id
	}
	// The slices were taken while buf grew: take them again from the final
	// buffer so that they share one array.
	off := 0
	t.batches++
	for i := range ents {
		l := len(ents[i].frame)
		ents[i].frame = buf[off : off+l]
		ents[i].batch = t.batches
		off += l
	}

	t.mu.Lock()
	for _, e := range ents {
		if t.n == t.size {
			t.base = t.at(t.seq0).id
			*t.at(t.seq0) = entry{}
			t.seq0++
			t.n--
		}
		*t.at(t.seq0 + uint64(t.n)) = e
		t.n++
	}
	t.last = last
	t.synced = true
	t.broadcast()
	t.mu.Unlock()
	return nil
}

// cutSlow cuts off the streams more than buffer events behind mark, the end
// of the ring when the tailer last waited: every stream has had that wait to
// read up to it.
func (t *Tailer) cutSlow(mark uint64) {
	t.mu.RLock()
	var slow []*Sub
	for s := range t.subs {
		if s.inRingSeq(mark, t.buffer) {
			slow = append(slow, s)
		}
	}
	t.mu.RUnlock()
	for _, s := range slow {
		s.cut(ErrTooSlow)
	}
}

// inRingSeq reports whether the stream reads the ring and is more than
// buffer events behind end. A stream not in the ring reads the database at
// its own pace and holds nobody.
func (s *Sub) inRingSeq(end uint64, buffer int) bool {
	seq := s.seq.Load()
	return seq != 0 && end > seq && end-seq > uint64(buffer)
}
