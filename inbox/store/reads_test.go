package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/tongdao/hub/inbox/store"
	"github.com/tongdao/hub/internal/testclock"
	"github.com/tongdao/hub/models"
)

// Read marks: per agent and conversation, never moved back, listed newest
// first for their agent only; an unknown conversation is not found and
// leaves nothing.
func TestReadMarks(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store, c *testclock.Clock) {
		ctx := context.Background()
		a := ingest(t, s, inbound("u1", "m1", "hello"))[0].ConversationID
		b := ingest(t, s, inbound("u2", "m2", "hi"))[0].ConversationID
		t0 := c.Now().UTC().Truncate(time.Millisecond)
		mark := func(agent string, conv int64, at time.Time) models.ReadMarkView {
			t.Helper()
			m, err := s.MarkRead(ctx, agent, conv, at)
			if err != nil {
				t.Fatal(err)
			}
			return m
		}
		if m := mark("ana", a, t0); m.ConversationID != models.ID(a) || !m.ReadAt.Equal(t0) {
			t.Fatalf("first mark %+v", m)
		}
		if m := mark("ana", a, t0.Add(90*time.Second)); !m.ReadAt.Equal(t0.Add(90 * time.Second)) {
			t.Fatalf("a later mark: %+v", m)
		}
		if m := mark("ana", a, t0.Add(time.Second)); !m.ReadAt.Equal(t0.Add(90 * time.Second)) {
			t.Fatalf("the mark moved back: %+v", m)
		}
		mark("ana", b, t0.Add(time.Hour))
		mark("bo", a, t0.Add(2*time.Hour))
		if _, err := s.MarkRead(ctx, "ana", b+100, t0); models.ErrorCode(err) != models.ENOTFOUND {
			t.Fatalf("an unknown conversation: %v", err)
		}
		got, err := s.ReadMarks(ctx, "ana", 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].ConversationID != models.ID(b) || got[1].ConversationID != models.ID(a) ||
			!got[1].ReadAt.Equal(t0.Add(90*time.Second)) {
			t.Fatalf("ana's marks: %+v", got)
		}
		if got, _ := s.ReadMarks(ctx, "ana", 1); len(got) != 1 || got[0].ConversationID != models.ID(b) {
			t.Fatalf("the newest mark: %+v", got)
		}
		if got, _ := s.ReadMarks(ctx, "cy", 10); len(got) != 0 {
			t.Fatalf("cy has marks: %+v", got)
		}
	})
}
