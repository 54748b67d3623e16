package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/tongdao/hub/inbox/tail"
	"github.com/tongdao/hub/models"
)

// eventBatch is how many events a stream writes before it flushes.
const eventBatch = 500

// events streams the realtime log as Server-Sent Events. A client resumes with
// the Last-Event-ID header (or ?last_event_id=, for the first connection of an
// EventSource) and gets exactly the events after that id, in order; without
// either it gets only events committed from now on.
//
// The events come from the replica's tailer (package tail), which reads the
// log once for every stream; a resume older than its ring reads the gap from
// the database. A stream that falls too far behind is cut off, and its client
// resumes with Last-Event-ID. Everything else runs on the request's
// goroutine: nothing keeps the *gin.Context, and the handler returns when the
// client goes away.
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

	// A stream cut off for being too slow may be blocked writing to a
	// client that stopped reading: a past write deadline makes that write,
	// and the stream, end at once. The client resumes with the id of the
	// last event it received.
	sub := s.tail.Subscribe(last, func() { _ = rc.SetWriteDeadline(time.Unix(1, 0)) })
	defer sub.Close()
	err = s.stream(ctx, w, sub)
	if cut := sub.Err(); cut != nil {
		err = cut // a write failed because the stream was cut off
	}
	switch {
	case errors.Is(err, tail.ErrTooSlow):
		s.metrics.streamsCut.Inc()
		s.log.LogAttrs(ctx, slog.LevelInfo, "event stream cut off: the client reads too slowly",
			slog.Int64("last_event_id", sub.After()))
	case err != nil && ctx.Err() == nil:
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

// stream sends the events after the subscription's position until ctx ends,
// writing fails or the tailer cuts the stream off (too slow, or the log
// could not be read). The wake-up channel is taken before each read so that
// an event appended between the read and the wait still wakes the loop.
func (s *Server) stream(ctx context.Context, w flushWriter, sub *tail.Sub) error {
	heartbeat := time.NewTicker(s.heartbeat)
	defer heartbeat.Stop()
	var frames [][]byte
	for {
		wake := sub.Wake()
		for {
			var more bool
			var err error
			frames, more, err = sub.Read(ctx, frames[:0], eventBatch)
			for _, f := range frames {
				if _, werr := w.Write(f); werr != nil {
					return werr
				}
			}
			clear(frames) // keep no frame alive
			if len(frames) > 0 {
				w.Flush()
			}
			if err != nil {
				return err
			}
			if !more {
				break
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-wake:
		case <-sub.Done():
		case <-heartbeat.C:
			if _, err := w.Write([]byte(": heartbeat\n\n")); err != nil {
				return err
			}
			w.Flush()
		}
	}
}

// encodeFrame is the tailer's encoder: one SSE frame per event.
func encodeFrame(dst []byte, ev *models.EventView) ([]byte, error) {
	buf := bytes.NewBuffer(dst)
	_, err := writeFrame(buf, ev, -1)
	return buf.Bytes(), err
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
