package telegram

import (
	"context"
	"sync"
	"time"
)

// limiter spaces sends within Telegram's flood limits: about one message a
// second per chat (a short burst allowed) and 30 a second per bot. It uses
// the generic cell rate algorithm with explicit times from the injected
// clock, so tests drive it without sleeping.
type limiter struct {
	mu        sync.Mutex
	global    gcra
	perChat   map[string]*gcra
	chatEvery time.Duration
	chatBurst int
}

type gcra struct {
	tat time.Time // theoretical arrival time of the next send
}

func newLimiter() *limiter {
	return &limiter{
		global:    gcra{},
		perChat:   map[string]*gcra{},
		chatEvery: time.Second,
		chatBurst: 3,
	}
}

const (
	globalEvery = time.Second / 30
	globalBurst = 30
	maxChats    = 4096 // sweep idle chat entries beyond this many
)

// reserve books the earliest send time for chat at or after now and returns
// how long to wait for it.
func (l *limiter) reserve(chat string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.perChat[chat]
	if c == nil {
		if len(l.perChat) >= maxChats {
			for k, v := range l.perChat {
				if !v.tat.After(now) {
					delete(l.perChat, k)
				}
			}
		}
		c = &gcra{}
		l.perChat[chat] = c
	}
	at := now
	if t := c.tat.Add(-time.Duration(l.chatBurst-1) * l.chatEvery); t.After(at) {
		at = t
	}
	if t := l.global.tat.Add(-(globalBurst - 1) * globalEvery); t.After(at) {
		at = t
	}
	c.tat = later(c.tat, at).Add(l.chatEvery)
	l.global.tat = later(l.global.tat, at).Add(globalEvery)
	return at.Sub(now)
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
