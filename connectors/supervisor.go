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
// hub stops, with exponential backoff.
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

	mu     sync.Mutex
	states map[string]*models.ConnectorState
	order  []string
}

// Run runs every connector until ctx ends. types maps connector name to type
// (for display).
func (s *Supervisor) Run(ctx context.Context, conns []Connector, types map[string]string) {
	s.defaults()
	var wg sync.WaitGroup
	for _, c := range conns {
		s.setState(c.Name(), types[c.Name()], StateStarting, "", false)
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.loop(ctx, c, types[c.Name()])
		}()
	}
	wg.Wait()
}

func (s *Supervisor) defaults() {
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
