package httpapi

import (
	"net/http"
	"sync"

	"github.com/tongdao/hub/models"
)

// streamLimiter caps concurrent event streams in total and per API token.
type streamLimiter struct {
	mu       sync.Mutex
	max      int
	perToken int
	total    int
	byToken  map[int64]int
}

func newStreamLimiter(max, perToken int) *streamLimiter {
	return &streamLimiter{max: max, perToken: perToken, byToken: map[int64]int{}}
}

// acquire takes a slot for token; release gives it back (once). Over a
// limit it returns a rate_limited error and takes nothing.
func (l *streamLimiter) acquire(token int64) (release func(), err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.byToken[token] >= l.perToken:
		return nil, models.Errorf(models.ERATELIMITED,
			"this token already has %d open event streams, the most allowed: close one first", l.perToken)
	case l.total >= l.max:
		return nil, models.Errorf(models.ERATELIMITED,
			"the hub already serves %d event streams, the most allowed: retry later", l.max)
	}
	l.total++
	l.byToken[token]++
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			l.total--
			if l.byToken[token]--; l.byToken[token] <= 0 {
				delete(l.byToken, token)
			}
		})
	}, nil
}

// open returns the streams open in total and for token.
func (l *streamLimiter) open(token int64) (total, forToken int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total, l.byToken[token]
}

// closeOnReject asks the server to close the connection after a rejected
// webhook (any status from 400 up), so that an unauthenticated client
// neither keeps the connection nor makes the server drain an unread body.
type closeOnReject struct {
	http.ResponseWriter
}

func (w closeOnReject) WriteHeader(code int) {
	if code >= http.StatusBadRequest {
		stopReading(w.ResponseWriter)
	}
	w.ResponseWriter.WriteHeader(code)
}

// Flush passes a flush through when the writer supports it.
func (w closeOnReject) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (w closeOnReject) Unwrap() http.ResponseWriter { return w.ResponseWriter }
