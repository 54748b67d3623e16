package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tongdao/hub/internal/backoff"
)

// eventsChannel is the PostgreSQL channel on which every commit that writes
// events notifies the other hub replicas.
const eventsChannel = "tongdao_events"

// lagPoll is how soon readers are woken again after a read that left
// event ids above the event horizon (see horizon.go).
const lagPoll = 5 * time.Millisecond

// ListenEvents calls fn whenever another process commits events, until ctx
// ends. With PostgreSQL it LISTENs on a dedicated connection, reconnecting
// with backoff; with SQLite (one process) it returns at once.
//
// It also calls fn again lagPoll after any read that left ids above the
// event horizon: those events may be committed already and held back only
// by a transaction that writes no event, whose end notifies nobody.
func (s *Store) ListenEvents(ctx context.Context, fn func()) error {
	if s.Driver != DriverPostgres {
		return nil
	}
	go s.wakeWhileLagging(ctx, fn)
	retry := backoff.Policy{Min: time.Second, Max: time.Minute, Jitter: 0.2}
	attempt := 0
	for ctx.Err() == nil {
		err := s.listenOnce(ctx, fn)
		if ctx.Err() != nil {
			break
		}
		if err == nil {
			attempt = 0
		}
		attempt++
		// Events may have been committed while no listener ran.
		fn()
		t := time.NewTimer(retry.Wait(attempt))
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		}
	}
	return nil
}

func (s *Store) listenOnce(ctx context.Context, fn func()) error {
	conn, err := pgx.Connect(ctx, s.dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+eventsChannel); err != nil {
		return err
	}
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
		fn()
	}
}

// wakeWhileLagging calls fn lagPoll after each read that found the event
// horizon behind the last id handed out, until ctx ends. Reads happen only
// while someone reads the log, so this polls only then.
func (s *Store) wakeWhileLagging(ctx context.Context, fn func()) {
	t := time.NewTimer(time.Hour)
	t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.horizon.lagging:
		}
		t.Reset(lagPoll)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		fn()
	}
}
