package discord

import (
	"testing"
	"time"

	"github.com/tongdao/hub/connectors"
	"github.com/tongdao/hub/internal/testclock"
	"github.com/tongdao/hub/internal/wait"
	"github.com/tongdao/hub/models"
)

// TestGatewayProgressAndStale: a connected bot reports progress as
// heartbeats are acknowledged; when the gateway goes silent (here: gone),
// progress stops and, past the type's threshold, the connector is stale.
func TestGatewayProgressAndStale(t *testing.T) {
	clock := testclock.New(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC))
	e := startEnv(t, envOpts{now: clock.Now})
	state := func() models.ConnectorState {
		st := []models.ConnectorState{{Name: "dc-test", Type: "discord", State: "running"}}
		connectors.AddProgress(st, func(string) (connectors.Connector, bool) { return e.conn, true },
			clock.Now(), connectors.DefaultStaleAfter)
		return st[0]
	}
	clock.Advance(10 * time.Minute)
	wait.For(t, "a heartbeat acknowledged after the clock moved", func() bool {
		last, ok := e.conn.Progress()
		return ok && !last.Before(clock.Now())
	})
	if st := state(); st.Stale || st.LastProgress == nil {
		t.Fatalf("connected bot: %+v", st)
	}
	if err := e.srv.Close(); err != nil {
		t.Fatal(err)
	}
	// Progress dates a heartbeat ACK when it first sees it: let it see the
	// last ones the gateway sent before it went away.
	e.conn.Progress()
	silentAt := clock.Now()
	clock.Advance(4 * time.Minute)
	st := state()
	if !st.Stale || st.LastProgress == nil || st.LastProgress.After(silentAt) {
		t.Fatalf("silent gateway: %+v, want stale since %v", st, silentAt)
	}
}
