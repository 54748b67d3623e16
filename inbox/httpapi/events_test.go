package httpapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/tongdao/hub/internal/wait"
	"github.com/tongdao/hub/models"
)

// sseServer runs the API on a loopback listener and counts running handlers.
type sseServer struct {
	*harness
	url     string
	running atomic.Int64
	done    chan struct{} // receives one value per finished request
}

func newSSEServer(t *testing.T, heartbeat time.Duration, mutate ...func(*Options)) *sseServer {
	t.Helper()
	mutate = append(mutate, func(o *Options) { o.HeartbeatInterval = heartbeat })
	s := &sseServer{harness: newHarness(t, mutate...), done: make(chan struct{}, 100)}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.running.Add(1)
		defer func() {
			s.running.Add(-1)
			select {
			case s.done <- struct{}{}:
			default:
			}
		}()
		s.srv.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	s.url = ts.URL
	return s
}

// stream is one SSE client connection.
type stream struct {
	t      *testing.T
	resp   *http.Response
	r      *bufio.Reader
	cancel context.CancelFunc
}

// connect opens /api/v1/events; header is the Last-Event-ID ("" for none).
func (s *sseServer) connect(t *testing.T, query, lastEventID string) *stream {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait.Timeout)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url+"/api/v1/events"+query, nil)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer good-token")
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	st := &stream{t: t, resp: resp, r: bufio.NewReader(resp.Body), cancel: cancel}
	t.Cleanup(st.close)
	return st
}

func (st *stream) close() {
	st.cancel()
	_ = st.resp.Body.Close()
}

// frame is one parsed SSE block.
type frame struct {
	raw     string
	id      string
	event   string
	data    string
	comment bool
}

// next reads one block (up to a blank line). It fails the test when the
// stream ends first; a deadline on the request bounds the wait.
func (st *stream) next() frame {
	st.t.Helper()
	var f frame
	var b strings.Builder
	for {
		line, err := st.r.ReadString('\n')
		if err != nil {
			st.t.Fatalf("stream ended: %v (partial %q)", err, b.String())
		}
		b.WriteString(line)
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "":
			f.raw = b.String()
			return f
		case strings.HasPrefix(line, ":"):
			f.comment = true
		case strings.HasPrefix(line, "id: "):
			f.id = strings.TrimPrefix(line, "id: ")
		case strings.HasPrefix(line, "event: "):
			f.event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			f.data += strings.TrimPrefix(line, "data: ")
		default:
			st.t.Fatalf("unexpected SSE line %q", line)
		}
	}
}

// nextEvent skips heartbeats.
func (st *stream) nextEvent() frame {
	st.t.Helper()
	for range 1000 {
		if f := st.next(); !f.comment {
			return f
		}
	}
	st.t.Fatal("only heartbeats")
	return frame{}
}

// expectIDs reads events and checks their ids are exactly want, in order.
func (st *stream) expectIDs(from, to int) {
	st.t.Helper()
	for want := from; want <= to; want++ {
		f := st.nextEvent()
		if f.id != strconv.Itoa(want) {
			st.t.Fatalf("event id %q, want %d", f.id, want)
		}
	}
}

// waitIdle waits (bounded) until the inbox has been asked for events at
// least n times, i.e. the stream has drained and is waiting.
func (s *sseServer) waitAfterCalls(t *testing.T, n int) {
	t.Helper()
	wait.For(t, fmt.Sprintf("EventsAfter to be called %d times", n), func() bool {
		s.inbox.mu.Lock()
		defer s.inbox.mu.Unlock()
		return s.inbox.afterCalls >= n
	})
}

func TestEventsFrameFormatAndHeaders(t *testing.T) {
	s := newSSEServer(t, time.Minute)
	s.inbox.addEvents(2)
	st := s.connect(t, "", "0")
	if st.resp.StatusCode != 200 {
		t.Fatalf("status %d", st.resp.StatusCode)
	}
	for k, want := range map[string]string{
		"Content-Type":      "text/event-stream",
		"Cache-Control":     "no-store",
		"X-Accel-Buffering": "no",
	} {
		if got := st.resp.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	f := st.nextEvent()
	want := "id: 1\nevent: message.created\ndata: " +
		`{"id":"1","type":"message.created","conversation_id":"1","data":{"seq":1,"text":"line one\nline two"},"created_at":"2025-03-01T08:00:00Z"}` +
		"\n\n"
	if f.raw != want {
		t.Fatalf("frame\n got %q\nwant %q", f.raw, want)
	}
	var ev models.EventView
	if err := json.Unmarshal([]byte(f.data), &ev); err != nil || ev.ID != "1" {
		t.Fatalf("data is not an Event: %v", err)
	}
	if f := st.nextEvent(); f.id != "2" {
		t.Fatalf("second frame id %q", f.id)
	}
}

func TestEventsResumeReplaysExactlyTheMissedEvents(t *testing.T) {
	s := newSSEServer(t, time.Minute)
	// More than one batch, so that paging by id is exercised.
	s.inbox.addEvents(1203)
	st := s.connect(t, "", "700")
	st.expectIDs(701, 1203)
	// Then only new events, nothing replayed twice.
	s.inbox.addEvents(1)
	st.expectIDs(1204, 1204)
}

func TestEventsResumeWithQueryParameter(t *testing.T) {
	s := newSSEServer(t, time.Minute)
	s.inbox.addEvents(5)
	st := s.connect(t, "?last_event_id=3", "")
	st.expectIDs(4, 5)
	// The header wins over the query.
	st2 := s.connect(t, "?last_event_id=1", "4")
	st2.expectIDs(5, 5)
}

func TestEventsWithoutIDStartAtTheNewest(t *testing.T) {
	s := newSSEServer(t, time.Minute)
	s.inbox.addEvents(3)
	st := s.connect(t, "", "")
	s.waitAfterCalls(t, 1)
	s.inbox.addEvents(1)
	if f := st.nextEvent(); f.id != "4" {
		t.Fatalf("first event %q, want 4 (no history)", f.id)
	}
}

func TestEventsNewEventWakesWaitingClients(t *testing.T) {
	// No heartbeat comes before the streams' deadline (wait.Timeout): only
	// the wake-up can deliver the events in time.
	s := newSSEServer(t, time.Hour)
	const clients = 4
	streams := make([]*stream, clients)
	for i := range streams {
		streams[i] = s.connect(t, "", "0")
	}
	// Every stream is subscribed and the tailer has read the (empty) log.
	wait.For(t, "every stream to wait on the tailer", func() bool {
		return s.srv.tail.Subscribers() == clients && s.srv.tail.Reads() >= 1
	})
	s.inbox.addEvents(2)
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for _, st := range streams {
		wg.Go(func() {
			for want := 1; want <= 2; want++ {
				line, err := readEventID(st.r)
				if err != nil || line != strconv.Itoa(want) {
					errs <- fmt.Errorf("client got id %q (%v), want %d", line, err, want)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// readEventID reads one frame from a goroutine (no *testing.T use) and
// returns its id.
func readEventID(r *bufio.Reader) (string, error) {
	id := ""
	for range 100 {
		line, err := r.ReadString('\n')
		if err != nil {
			return id, err
		}
		line = strings.TrimSuffix(line, "\n")
		if line == "" {
			if id != "" {
				return id, nil
			}
			continue
		}
		if v, ok := strings.CutPrefix(line, "id: "); ok {
			id = v
		}
	}
	return id, errors.New("frame too long")
}

func TestEventsHeartbeat(t *testing.T) {
	s := newSSEServer(t, 20*time.Millisecond)
	st := s.connect(t, "", "")
	f := st.next()
	if !f.comment || f.raw != ": heartbeat\n\n" {
		t.Fatalf("want a heartbeat comment, got %q", f.raw)
	}
}

func TestEventsClientDisconnectEndsHandler(t *testing.T) {
	s := newSSEServer(t, time.Minute)
	before := runtime.NumGoroutine()
	s.inbox.addEvents(1)
	st := s.connect(t, "", "0")
	st.expectIDs(1, 1)
	if s.running.Load() != 1 {
		t.Fatalf("%d handlers running", s.running.Load())
	}
	st.close()
	wait.Recv(t, "the handler to end after the client left", s.done)
	if s.running.Load() != 0 {
		t.Fatalf("%d handlers running", s.running.Load())
	}
	// No goroutine is left behind (bounded wait for the transport's own).
	http.DefaultClient.CloseIdleConnections()
	wait.For(t, fmt.Sprintf("the goroutines to drop back to %d", before), func() bool { return runtime.NumGoroutine() <= before })
}

func TestEventsStoreErrorEndsStream(t *testing.T) {
	s := newSSEServer(t, time.Minute)
	s.inbox.addEvents(1)
	st := s.connect(t, "", "0")
	st.expectIDs(1, 1)
	s.inbox.mu.Lock()
	s.inbox.eventsErr = errors.New("database is locked")
	s.inbox.mu.Unlock()
	s.inbox.addEvents(1)
	if _, err := io.ReadAll(st.r); err != nil {
		t.Fatalf("stream did not end cleanly: %v", err)
	}
	if !strings.Contains(s.logs.String(), "database is locked") {
		t.Fatalf("stream failure not logged:\n%s", s.logs)
	}
}

func TestEventsRejectsBadResumeID(t *testing.T) {
	h := newHarness(t)
	for _, tc := range []struct{ header, query string }{
		{"abc", ""}, {"-1", ""}, {"+5", ""}, {"", "?last_event_id=x"}, {"", "?since=1"},
	} {
		req := httptest.NewRequest(http.MethodGet, "/api/v1/events"+tc.query, nil)
		req.Header.Set("Authorization", "Bearer good-token")
		if tc.header != "" {
			req.Header.Set("Last-Event-ID", tc.header)
		}
		rec := httptest.NewRecorder()
		h.srv.ServeHTTP(rec, req)
		errorOf(t, rec, http.StatusBadRequest)
	}
	if h.inbox.afterCalls != 0 {
		t.Fatal("a rejected stream read events")
	}
}

func TestEventsLatestIDFailure(t *testing.T) {
	h := newHarness(t)
	h.inbox.addEvents(1)
	// A latest-id failure is answered before the stream starts.
	bad := &latestFails{fakeInbox: h.inbox}
	srv, err := New(Options{Inbox: bad, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "/api/v1/events", nil)
	req.Header.Set("Authorization", "Bearer good-token")
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	errorOf(t, rec, http.StatusServiceUnavailable)
}

type latestFails struct{ *fakeInbox }

func (latestFails) LatestEventID(context.Context) (int64, error) {
	return 0, models.Errorf(models.EUNAVAILABLE, "database is down")
}

func TestWriteFrameRejectsOutOfOrderIDs(t *testing.T) {
	for _, id := range []string{"", "x", "5", "4"} {
		var buf bytes.Buffer
		if _, err := writeFrame(&buf, &models.EventView{ID: id, Type: "t"}, 5); err == nil {
			t.Errorf("id %q after 5 accepted", id)
		}
	}
	var buf bytes.Buffer
	if _, err := writeFrame(&buf, &models.EventView{ID: "6", Type: "bad\r\ntype", Data: json.RawMessage("{\n\"a\": 1\n}")}, 5); err != nil {
		t.Fatal(err)
	}
	if got := buf.String(); !strings.HasPrefix(got, "id: 6\nevent: badtype\ndata: {") || strings.Count(got, "\n\n") != 1 || !strings.HasSuffix(got, "\n\n") {
		t.Fatalf("frame %q", got)
	}
}

// TestEventsSlowClientIsCutOffAndResumes: a client that stops reading while
// its stream is written falls behind; once more than its buffer behind it is
// cut off (even while the server is blocked writing to it), the other stream
// goes on, and the slow client resumes with the id of the last event it got.
func TestEventsSlowClientIsCutOffAndResumes(t *testing.T) {
	s := newSSEServer(t, time.Hour, func(o *Options) { o.EventRing, o.EventStreamBuffer = 256, 16 })
	s.inbox.mu.Lock()
	s.inbox.eventText = strings.Repeat("x", 4000) // fills buffers sooner
	s.inbox.mu.Unlock()
	fast := s.connect(t, "", "0")
	s.inbox.addEvents(1)
	fast.expectIDs(1, 1)

	// The slow client: a plain connection that reads nothing until the
	// server has cut it off.
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /api/v1/events HTTP/1.1\r\nHost: hub\r\nAuthorization: Bearer good-token\r\nLast-Event-ID: 1\r\n\r\n")
	wait.For(t, "both streams to be subscribed", func() bool { return s.srv.tail.Subscribers() == 2 })

	// Enough events, in rounds, to fill the slow connection's buffers; the
	// fast client reads them all as they come.
	total := 1
	for round := 0; !strings.Contains(s.logs.String(), "event stream cut off"); round++ {
		if round == 100 {
			t.Fatal("the slow stream was never cut off")
		}
		s.inbox.addEvents(200)
		fast.expectIDs(total+1, total+200)
		total += 200
	}
	s.inbox.addEvents(1)
	total++
	fast.expectIDs(total, total) // the other stream goes on

	// The slow client reads what it was sent: whole frames in order from 2,
	// then the end of the connection.
	_ = conn.SetReadDeadline(time.Now().Add(wait.Timeout))
	data, _ := io.ReadAll(conn)
	last := 1
	for _, block := range strings.Split(string(data), "\n\n") {
		i := strings.Index(block, "id: ")
		if i < 0 || !strings.Contains(block[i:], "\ndata: ") {
			continue // headers, chunk sizes, a cut frame
		}
		id, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(block[i+4:], "\n", 2)[0]))
		if err != nil || id != last+1 {
			t.Fatalf("slow client got id %q after %d", block[i:], last)
		}
		last = id
	}
	if last >= total {
		t.Fatalf("the slow client got every event (%d): it was not cut off", last)
	}
	resumed := s.connect(t, "", strconv.Itoa(last))
	resumed.expectIDs(last+1, total)
	var cut dto.Metric
	if err := s.srv.metrics.streamsCut.Write(&cut); err != nil || cut.GetCounter().GetValue() != 1 {
		t.Fatalf("tongdao_event_streams_cut_total = %v (%v), want 1", cut.GetCounter().GetValue(), err)
	}
}
