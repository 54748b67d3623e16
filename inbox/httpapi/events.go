package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/tongdao/hub/models"
)

// eventBatch is how many events one EventsAfter call fetches.
const eventBatch = 500

// events streams the realtime log as Server-Sent Events. A client resumes with
// the Last-Event-ID header (or ?last_event_id=, for the first connection of an
// EventSource) and gets exactly the events after that id, in order; without
// either it gets only events committed from now on.
//
// Everything runs on the request's goroutine: nothing keeps the *gin.Context,
// and the handler returns when the client goes away.
func (s *Server) events(c *gin.Context) {
	ctx := c.Request.Context()
	q, err := queryParams(c, "last_event_id")
	if err != nil {
		s.writeError(c, err)
		return
	}
	last, err := s.resumeAfter(ctx, c.GetHeader("Last-Event-ID"), q.Get("last_event_id"))
	if err != nil {
		s.writeError(c, err)
		return
	}

	release, err := s.streams.acquire(actorOf(c).TokenID)
	if err != nil {
		s.writeError(c, err)
		return
	}
	defer release()
	// The stream makes its agent online (on every replica) while it lasts.
	// The events matter more: a failure to record it is logged, and the
	// stream goes on.
	if err := s.inbox.StreamStarted(ctx, actorOf(c)); err != nil && ctx.Err() == nil {
		s.log.LogAttrs(ctx, slog.LevelWarn, "recording the agent's stream for presence", slog.String("error", err.Error()))
	}

	w := c.Writer
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	// A stream lives as long as the client wants: lift the read and write
	// deadlines (the server's and the API's) for this response. An expired
	// read deadline would end it too, since the server reads in the
	// background to notice a client going away. Not every writer supports
	// deadlines, which is fine.
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})
	w.WriteHeader(http.StatusOK)
	w.Flush()

	if err := s.stream(ctx, w, last); err != nil && ctx.Err() == nil {
		s.log.LogAttrs(ctx, slog.LevelWarn, "event stream ended", slog.String("error", err.Error()))
	}
}

// resumeAfter returns the id after which to start: the Last-Event-ID header,
// else the query parameter, else the newest event's id.
func (s *Server) resumeAfter(ctx context.Context, header, query string) (int64, error) {
	raw, source := header, "Last-Event-ID"
	if raw == "" {
		raw, source = query, "last_event_id"
	}
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return s.inbox.LatestEventID(ctx)
	}
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id < 0 || raw[0] == '+' {
		return 0, invalid("%s must be an event id (a decimal integer), not %q", source, truncate(raw, 40))
	}
	return id, nil
}

// flushWriter is what stream writes to.
type flushWriter interface {
	Write([]byte) (int, error)
	Flush()
}

// stream sends events after last until ctx ends or writing fails. The notify
// channel is taken before each query so that an event committed between the
// query and the wait still wakes the loop.
func (s *Server) stream(ctx context.Context, w flushWriter, last int64) error {
	heartbeat := time.NewTicker(s.heartbeat)
	defer heartbeat.Stop()
	var buf bytes.Buffer
	for {
		notify := s.inbox.EventsNotify()
		for {
			evs, err := s.inbox.EventsAfter(ctx, last, eventBatch)
			if err != nil {
				return fmt.Errorf("reading events after %d: %w", last, err)
			}
			if len(evs) == 0 {
				break
			}
			buf.Reset()
			for i := range evs {
				id, err := writeFrame(&buf, &evs[i], last)
				if err != nil {
					return err
				}
				last = id
			}
			if _, err := w.Write(buf.Bytes()); err != nil {
				return err
			}
			w.Flush()
			if len(evs) < eventBatch {
				break
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-notify:
		case <-heartbeat.C:
			if _, err := w.Write([]byte(": heartbeat\n\n")); err != nil {
				return err
			}
			w.Flush()
		}
	}
}

// writeFrame appends one SSE frame (id, event, data, blank line) to buf and
// returns the event's id, which must be greater than last.
func writeFrame(buf *bytes.Buffer, ev *models.EventView, last int64) (int64, error) {
	id, err := strconv.ParseInt(ev.ID, 10, 64)
	if err != nil || id <= last {
		return 0, fmt.Errorf("event id %q is not after %d", ev.ID, last)
	}
	data, err := json.Marshal(ev)
	if err != nil {
		return 0, fmt.Errorf("encoding event %d: %w", id, err)
	}
	buf.WriteString("id: ")
	buf.WriteString(strconv.FormatInt(id, 10))
	buf.WriteByte('\n')
	if typ := sanitizeEventType(ev.Type); typ != "" {
		buf.WriteString("event: ")
		buf.WriteString(typ)
		buf.WriteByte('\n')
	}
	// Marshalled JSON has no raw newlines; splitting keeps the frame valid
	// even if that ever changed.
	for line := range bytes.SplitSeq(data, []byte("\n")) {
		buf.WriteString("data: ")
		buf.Write(line)
		buf.WriteByte('\n')
	}
	buf.WriteByte('\n')
	return id, nil
}

// sanitizeEventType keeps an event type on one line.
func sanitizeEventType(t string) string {
	if !strings.ContainsAny(t, "\r\n") {
		return t
	}
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, t)
}
