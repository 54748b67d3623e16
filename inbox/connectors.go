package inbox

import (
	"context"
	"encoding/json"
	"time"
)

// ConnectorInfo is what the inbox knows of the configured connectors beyond
// their senders. cmd/hub builds it from the connectors' capabilities at start
// and after every configuration reload.
type ConnectorInfo struct {
	// ReplyWindows gives each connector's reply window (WeChat: 48 h).
	ReplyWindows map[string]time.Duration
	// Handoffs lists, in order, the connectors a customer can continue on.
	Handoffs []HandoffTarget
	// Titles names each connector's platform for customers ("WeChat").
	Titles map[string]string
	// FallbackLanguages gives, per connector, the languages to answer a
	// customer in when theirs is unknown.
	FallbackLanguages map[string][]string
}

// SetConnectors replaces, at once, the reply windows, handoff targets,
// titles and fallback languages given in Options. The caller must not
// modify info's maps and slices afterwards.
func (s *Service) SetConnectors(info ConnectorInfo) { s.conns.Store(&info) }

// info is the current connector information.
func (s *Service) info() *ConnectorInfo { return s.conns.Load() }

// RecordEvent appends an event that concerns no conversation (such as
// config.reloaded) to the event log, with data as its JSON payload, and wakes
// the event streams.
func (s *Service) RecordEvent(ctx context.Context, typ string, data any) error {
	b, err := json.Marshal(data)
	if err != nil {
		return err
	}
	if err := s.store.AddEvent(ctx, typ, string(b)); err != nil {
		return err
	}
	s.notify()
	return nil
}
