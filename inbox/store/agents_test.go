package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tongdao/hub/inbox/store"
	"github.com/tongdao/hub/internal/testclock"
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

// A stream that expired and was swept while its refresh failed is recorded
// again by its next refresh: a live stream never stops counting for good.
// Its end is announced by the sweep, its return by the caller's sync.
func TestStreamSweptWhileAliveComesBackAtItsNextRefresh(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store, c *testclock.Clock) {
		ctx := context.Background()
		if err := s.OpenStream(ctx, "s1", "ana", c.Now().Add(45*time.Second)); err != nil {
			t.Fatal(err)
		}
		live := func() bool {
			p, err := s.Presence(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return p["ana"].Live
		}
		if !live() {
			t.Fatal("ana's stream is not live")
		}
		c.Advance(time.Minute) // refreshes failed meanwhile
		if agents, err := s.PresenceToSync(ctx); err != nil || len(agents) != 1 || agents[0] != "ana" {
			t.Fatalf("to sync: %v %v, want [ana]", agents, err)
		}
		if live() {
			t.Fatal("an expired stream is live")
		}
		again, err := s.RefreshStream(ctx, "s1", "ana", c.Now().Add(45*time.Second))
		if err != nil || !again {
			t.Fatalf("refresh of a swept stream: recreated %v, %v", again, err)
		}
		if !live() {
			t.Fatal("the refreshed stream does not count")
		}
		if again, err := s.RefreshStream(ctx, "s1", "ana", c.Now().Add(45*time.Second)); err != nil || again {
			t.Fatalf("refresh of a live stream: recreated %v, %v", again, err)
		}
	})
}
