package connectors_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tongdao/hub/connectors"
	"github.com/tongdao/hub/internal/wait"
	"github.com/tongdao/hub/models"
)

// flaky fails its first runs, then runs until ctx ends.
type flaky struct {
	fails int32
	runs  atomic.Int32
}

func (f *flaky) Name() string { return "flaky" }
func (f *flaky) Run(ctx context.Context, _ connectors.Sink) error {
	if f.runs.Add(1) <= f.fails {
		if f.runs.Load() == 2 {
			panic("boom")
		}
		return errors.New("gateway closed 4014")
	}
	<-ctx.Done()
	return nil
}
func (f *flaky) Send(context.Context, models.Outbound) (models.SendResult, error) {
	return models.SendResult{}, nil
}

func TestSupervisorRestartsWithBackoff(t *testing.T) {
	var waits []time.Duration
	sup := &connectors.Supervisor{
		After: func(d time.Duration) <-chan time.Time {
			waits = append(waits, d)
			ch := make(chan time.Time, 1)
			ch <- time.Time{}
			return ch
		},
		MinBackoff: time.Second, MaxBackoff: 3 * time.Second,
		Rand: func() float64 { return 0.5 }, // the middle of the jitter band
	}
	f := &flaky{fails: 4}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		sup.Run(ctx, []connectors.Connector{f}, map[string]string{"flaky": "test"})
		close(done)
	}()
	wait.For(t, "the fifth start", func() bool {
		st := sup.States()
		return f.runs.Load() >= 5 && len(st) == 1 && st[0].State == connectors.StateRunning
	})
	st := sup.States()
	if len(st) != 1 || st[0].Restarts != 4 || st[0].State != connectors.StateRunning || st[0].LastError == "" {
		t.Fatalf("state after restarts: %+v", st)
	}
	cancel()
	<-done
	want := []time.Duration{time.Second, 2 * time.Second, 3 * time.Second, 3 * time.Second}
	if len(waits) != len(want) {
		t.Fatalf("waits %v, want %v", waits, want)
	}
	for i := range want {
		if waits[i] != want[i] {
			t.Fatalf("waits %v, want %v", waits, want)
		}
	}
	if st := sup.States(); st[0].State != connectors.StateStopped {
		t.Fatalf("after stop: %+v", st)
	}
}

// worker runs until ctx ends, then finishes its work in flight.
type worker struct {
	name     string
	started  chan struct{}
	finished atomic.Bool
}

func newWorker(name string) *worker { return &worker{name: name, started: make(chan struct{})} }

func (w *worker) Name() string { return w.name }
func (w *worker) Run(ctx context.Context, _ connectors.Sink) error {
	close(w.started)
	<-ctx.Done()
	time.Sleep(20 * time.Millisecond) // the work in flight (not synchronisation)
	w.finished.Store(true)
	return nil
}
func (w *worker) Send(context.Context, models.Outbound) (models.SendResult, error) {
	return models.SendResult{}, nil
}

func names(st []models.ConnectorState) []string {
	var out []string
	for _, s := range st {
		out = append(out, s.Name+"="+s.State)
	}
	return out
}

func TestSupervisorStartsAndStopsConnectorsWhileRunning(t *testing.T) {
	sup := &connectors.Supervisor{}
	ctx, cancel := context.WithCancel(context.Background())
	a := newWorker("a")
	done := make(chan struct{})
	go func() {
		sup.Run(ctx, []connectors.Connector{a}, map[string]string{"a": "test"})
		close(done)
	}()
	<-a.started
	b := newWorker("b")
	if err := sup.Start(ctx, b, "test"); err != nil {
		t.Fatal(err)
	}
	<-b.started
	if err := sup.Start(ctx, newWorker("b"), "test"); err == nil {
		t.Fatal("a second connector named b must be refused while b runs")
	}
	stopCtx, stopCancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer stopCancel()
	if !sup.Stop(stopCtx, "a") {
		t.Fatal("Stop(a) = false, want true")
	}
	if !a.finished.Load() {
		t.Fatal("Stop returned before the connector finished its work in flight")
	}
	if got := names(sup.States()); len(got) != 1 || got[0] != "b=running" {
		t.Fatalf("states after stopping a: %v", got)
	}
	if sup.Stop(stopCtx, "a") {
		t.Fatal("Stop of a stopped connector = true")
	}
	// A connector of the same name starts anew (a changed connector).
	a2 := newWorker("a")
	if err := sup.Start(ctx, a2, "test"); err != nil {
		t.Fatal(err)
	}
	<-a2.started
	cancel()
	<-done
	if !b.finished.Load() || !a2.finished.Load() {
		t.Fatal("Run returned before every started connector stopped")
	}
	if err := sup.Start(context.Background(), newWorker("c"), "test"); err == nil {
		t.Fatal("Start after Run returned must fail")
	}
}
