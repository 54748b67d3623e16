package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tongdao/hub/inbox/store"
	"github.com/tongdao/hub/models"
)

func presenceEventCount(t *testing.T, s *store.Store) int64 {
	t.Helper()
	var n int64
	if err := s.DB.Model(&models.Event{}).Where("type = ?", models.EventTypeAgentPresence).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// Two replicas syncing one agent's presence at once, many times over,
// announce each change exactly once: the agent's presence row is locked
// before the presence is computed.
func TestPresenceChangeIsAnnouncedOnceAcrossReplicas(t *testing.T) {
	a, b := twoReplicas(t)
	ctx := context.Background()
	syncAll := func(want string) {
		t.Helper()
		var wg sync.WaitGroup
		errs := make(chan error, 16)
		for i := range 16 {
			s := a
			if i%2 == 1 {
				s = b
			}
			wg.Go(func() {
				v, _, err := s.SyncPresence(ctx, "ana")
				if err == nil && v.Presence != want {
					err = fmt.Errorf("presence %s, want %s", v.Presence, want)
				}
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := a.OpenStream(ctx, "s1", "ana", a.Now().Add(45*time.Second)); err != nil {
		t.Fatal(err)
	}
	syncAll(models.PresenceOnline)
	if n := presenceEventCount(t, b); n != 1 {
		t.Fatalf("%d agent.presence events after the stream opened, want 1", n)
	}
	if err := b.SetAgentStatus(ctx, "ana", models.PresenceAway); err != nil {
		t.Fatal(err)
	}
	syncAll(models.PresenceAway)
	if n := presenceEventCount(t, a); n != 2 {
		t.Fatalf("%d agent.presence events after away, want 2", n)
	}
	// Online again: the stream is still live on replica A's row.
	if err := b.SetAgentStatus(ctx, "ana", models.PresenceOnline); err != nil {
		t.Fatal(err)
	}
	syncAll(models.PresenceOnline)
	if n := presenceEventCount(t, a); n != 3 {
		t.Fatalf("%d agent.presence events after online, want 3", n)
	}
}
