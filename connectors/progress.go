package connectors

import (
	"time"

	"github.com/tongdao/hub/models"
)

// ProgressReporter is implemented by connectors that can tell when they
// last made progress with their platform, so that readiness can tell a
// stuck connector from a quiet one: Telegram in polling mode (the last
// getUpdates answered and handled in full), Discord (the last gateway
// heartbeat acknowledged or event received). Connectors that only receive
// webhooks cannot tell (a quiet account sends nothing) and do not implement
// it.
type ProgressReporter interface {
	// Progress returns when the connector last made progress, by the clock
	// of its Deps.Now; ok is false when it cannot tell (not running, or a
	// mode without progress of its own, such as webhooks).
	Progress() (last time.Time, ok bool)
}

// DefaultStaleAfter is how long a connector type may go without progress
// before readiness fails, unless configured (monitoring.stale_after):
// Telegram long-polls for 25 s at a time, Discord acknowledges a heartbeat
// about every 41 s.
var DefaultStaleAfter = map[string]time.Duration{
	"telegram": 2 * time.Minute,
	"discord":  3 * time.Minute,
}

// AddProgress fills the progress of each state whose connector reports it
// (LastProgress) and marks it Stale when the last progress is older than
// staleAfter[its type] at now (a zero or missing threshold never marks it).
// lookup finds a connector by name.
func AddProgress(states []models.ConnectorState, lookup func(name string) (Connector, bool), now time.Time, staleAfter map[string]time.Duration) {
	for i := range states {
		st := &states[i]
		c, ok := lookup(st.Name)
		if !ok {
			continue
		}
		pr, ok := c.(ProgressReporter)
		if !ok {
			continue
		}
		last, ok := pr.Progress()
		if !ok {
			continue
		}
		last = last.UTC()
		st.LastProgress = &last
		if th := staleAfter[st.Type]; th > 0 && now.Sub(last) > th {
			st.Stale = true
		}
	}
}
