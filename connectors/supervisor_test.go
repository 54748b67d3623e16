package connectors_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tongdao/hub/connectors"
	"github.com/tongdao/hub/models"
)

// flaky fails its first runs (the second by panicking), then runs until ctx
// ends. okFor makes the run after the failures last that long and fail too,
// as a connector that ran well for a while.
type flaky struct {
	fails int32
	okFor time.Duration
	runs  atomic.Int32

	mu     sync.Mutex
	starts []time.Time
}

func (f *flaky) Name() string { return "flaky" }
func (f *flaky) Run(ctx context.Context, _ connectors.Sink) error {
	f.mu.Lock()
	f.starts = append(f.starts, time.Now())
	f.mu.Unlock()
	n := f.runs.Add(1)
	if n <= f.fails {
		if n == 2 {
			panic("boom")
		}
		return errors.New("gateway closed 4014")
	}
	if f.okFor > 0 && n == f.fails+1 {
		select {
		case <-time.After(f.okFor):
			return errors.New("connection reset")
		case <-ctx.Done():
			return nil
		}
	}
	<-ctx.Done()
	return nil
}
func (f *flaky) Send(context.Context, models.Outbound) (models.SendResult, error) {
	return models.SendResult{}, nil
}

// gaps returns the time between consecutive starts of f.
func (f *flaky) gaps() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []time.Duration
	for i := 1; i < len(f.starts); i++ {
		out = append(out, f.starts[i].Sub(f.starts[i-1]))
	}
	return out
}

// superviseInBubble runs f under a supervisor (1 s to 3 s backoff, the real
// clock) inside the synctest bubble of the calling test; the returned stop
// cancels the supervisor and waits for it.
func superviseInBubble(f *flaky) (sup *connectors.Supervisor, stop func()) {
	sup = &connectors.Supervisor{MinBackoff: time.Second, MaxBackoff: 3 * time.Second,
		Logger: slog.New(slog.DiscardHandler)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		sup.Run(ctx, []connectors.Connector{f}, map[string]string{"flaky": "test"})
		close(done)
	}()
	return sup, func() { cancel(); <-done }
}

// The supervisor's timers are real ones (time.After); synctest's bubble
// makes their time pass instantly and exactly.
func TestSupervisorRestartsWithBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &flaky{fails: 4}
		sup, stop := superviseInBubble(f)
		// Restarts after 1 s, 2 s, 3 s and 3 s: the fifth run starts at 9 s.
		time.Sleep(9*time.Second - time.Nanosecond)
		synctest.Wait()
		if n := f.runs.Load(); n != 4 {
			t.Fatalf("%d runs just before 9 s, want 4", n)
		}
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		st := sup.States()
		if len(st) != 1 || st[0].Restarts != 4 || st[0].State != connectors.StateRunning || st[0].LastError == "" {
			t.Fatalf("state after restarts: %+v", st)
		}
		stop()
		want := []time.Duration{time.Second, 2 * time.Second, 3 * time.Second, 3 * time.Second}
		if got := f.gaps(); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("gaps between runs %v, want %v", got, want)
		}
		if st := sup.States(); st[0].State != connectors.StateStopped {
			t.Fatalf("after stop: %+v", st)
		}
	})
}

// A connector that ran well for longer than twice the longest backoff
// starts over from the shortest one when it fails.
func TestSupervisorBackoffStartsOverAfterAGoodRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &flaky{fails: 1, okFor: 7 * time.Second} // 7 s > 2 × 3 s
		_, stop := superviseInBubble(f)
		time.Sleep(time.Minute)
		synctest.Wait()
		stop()
		// Run 1 fails at once (1 s backoff); run 2 runs 7 s and fails: the
		// next wait is 1 s again, not 2 s.
		want := []time.Duration{time.Second, 7*time.Second + time.Second}
		if got := f.gaps(); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("gaps between runs %v, want %v", got, want)
		}
	})
}

// dupTests names each run's type: the registry is global, and -count=N runs
// the test N times in one process.
var dupTests atomic.Int32

func TestRegisterRefusesDuplicates(t *testing.T) {
	typ := fmt.Sprintf("dup-test-%d", dupTests.Add(1))
	connectors.Register(typ, func(connectors.Config) (connectors.Connector, error) { return &flaky{}, nil })
	defer func() {
		if recover() == nil {
			t.Fatal("second Register of the same type must panic")
		}
	}()
	connectors.Register(typ, func(connectors.Config) (connectors.Connector, error) { return &flaky{}, nil })
}
