package connectors

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/tongdao/hub/internal/backoff"
	"github.com/tongdao/hub/models"
)

// Connector states shown by /readyz.
const (
	StateStarting   = "starting"
	StateRunning    = "running"
	StateRestarting = "restarting"
	StateStopped    = "stopped"
)

// Supervisor runs connectors and restarts one whose Run returns before the
// hub stops, with exponential backoff. Connectors can be started and
// stopped one by one while it runs (a configuration reload).
type Supervisor struct {
	Sink   Sink
	Logger *slog.Logger
	// Now and After are the clock (defaults: time.Now, time.After).
	Now   func() time.Time
	After func(time.Duration) <-chan time.Time
	// MinBackoff and MaxBackoff bound the wait before a restart (1 s, 1 min);
	// each wait is spread by ±20%, drawn from Rand (default math/rand/v2).
	MinBackoff, MaxBackoff time.Duration
	Rand                   func() float64

	mu      sync.Mutex
	states  map[string]*models.ConnectorState
	order   []string
	running map[string]*run
	wg      sync.WaitGroup
	closed  bool
	once    sync.Once
}

// run is one started connector: how to stop it and when it has stopped.
type run struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// Run runs every connector until ctx ends, and returns once every connector
// it or Start started has stopped. types maps connector name to type (for
// display).
func (s *Supervisor) Run(ctx context.Context, conns []Connector, types map[string]string) {
	s.defaults()
	for _, c := range conns {
		if err := s.Start(ctx, c, types[c.Name()]); err != nil {
			s.Logger.Error("connector not started", "connector", c.Name(), "err", err)
		}
	}
	<-ctx.Done()
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.wg.Wait()
}

// Start runs c (of type typ, for display) until ctx ends or Stop(c.Name())
// is called, restarting it when it stops on its own. It fails when a
// connector of that name is running or the supervisor has stopped.
func (s *Supervisor) Start(ctx context.Context, c Connector, typ string) error {
	s.defaults()
	name := c.Name()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return fmt.Errorf("connector %s: the supervisor has stopped", name)
	}
	if s.running == nil {
		s.running = map[string]*run{}
	}
	if _, dup := s.running[name]; dup {
		s.mu.Unlock()
		return fmt.Errorf("connector %s is running already", name)
	}
	cctx, cancel := context.WithCancel(ctx)
	r := &run{cancel: cancel, done: make(chan struct{})}
	s.running[name] = r
	s.wg.Add(1)
	s.mu.Unlock()
	s.setState(name, typ, StateStarting, "", false)
	go func() {
		defer s.wg.Done()
		defer close(r.done)
		defer cancel()
		s.loop(cctx, c, typ)
	}()
	return nil
}

// Stop stops the named connector: its Run is cancelled and Stop returns once
// it has returned (its work in flight finished), or when ctx ends first. The
// connector then leaves States. It reports whether the connector was
// running.
func (s *Supervisor) Stop(ctx context.Context, name string) bool {
	s.mu.Lock()
	r, ok := s.running[name]
	delete(s.running, name)
	s.mu.Unlock()
	if !ok {
		return false
	}
	r.cancel()
	select {
	case <-r.done:
	case <-ctx.Done():
		s.Logger.Warn("connector still stopping", "connector", name, "err", ctx.Err())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, again := s.running[name]; !again { // not started anew meanwhile
		delete(s.states, name)
		for i, n := range s.order {
			if n == name {
				s.order = append(s.order[:i:i], s.order[i+1:]...)
				break
			}
		}
	}
	return true
}

func (s *Supervisor) defaults() { s.once.Do(s.setDefaults) }

func (s *Supervisor) setDefaults() {
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.After == nil {
		s.After = time.After
	}
	if s.MinBackoff <= 0 {
		s.MinBackoff = time.Second
	}
	if s.MaxBackoff <= 0 {
		s.MaxBackoff = time.Minute
	}
}

func (s *Supervisor) loop(ctx context.Context, c Connector, typ string) {
	log := s.Logger.With("connector", c.Name())
	policy := backoff.Policy{Min: s.MinBackoff, Max: s.MaxBackoff, Jitter: 0.2, Rand: s.Rand}
	attempt := 0
	for {
		s.setState(c.Name(), typ, StateRunning, "", false)
		started := s.Now()
		err := s.runOnce(ctx, c)
		if ctx.Err() != nil {
			s.setState(c.Name(), typ, StateStopped, "", false)
			return
		}
		if err == nil {
			err = fmt.Errorf("connector stopped unexpectedly")
		}
		if s.Now().Sub(started) > 2*s.MaxBackoff {
			attempt = 0 // it ran well for a while: start over
		}
		attempt++
		wait := policy.Wait(attempt)
		log.Error("connector stopped; restarting", "err", err, "in", wait)
		s.setState(c.Name(), typ, StateRestarting, err.Error(), true)
		select {
		case <-ctx.Done():
			s.setState(c.Name(), typ, StateStopped, "", false)
			return
		case <-s.After(wait):
		}
	}
}

// runOnce runs c, turning a panic in connector code into an error.
func (s *Supervisor) runOnce(ctx context.Context, c Connector) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("connector panicked: %v", r)
		}
	}()
	return c.Run(ctx, s.Sink)
}

func (s *Supervisor) setState(name, typ, state, lastErr string, restarted bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.states == nil {
		s.states = map[string]*models.ConnectorState{}
	}
	st, ok := s.states[name]
	if !ok && state != StateStarting {
		return // stopped by Stop: a late word from its loop adds nothing back
	}
	if !ok {
		st = &models.ConnectorState{Name: name, Type: typ}
		s.states[name] = st
		s.order = append(s.order, name)
	}
	if st.State != state {
		st.Since = s.Now().UTC()
	}
	st.State = state
	if lastErr != "" {
		st.LastError = lastErr
	}
	if restarted {
		st.Restarts++
	}
}

// States returns every connector's state, in start order.
func (s *Supervisor) States() []models.ConnectorState {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]models.ConnectorState, 0, len(s.order))
	for _, n := range s.order {
		out = append(out, *s.states[n])
	}
	return out
}
