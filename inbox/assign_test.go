package inbox_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tongdao/hub/inbox"
	"github.com/tongdao/hub/inbox/store"
	"github.com/tongdao/hub/internal/pgtest"
	"github.com/tongdao/hub/internal/wait"
	"github.com/tongdao/hub/models"
)

// withTeams configures teams, default_team and a scheduled pass that never
// comes on its own (the tests call CheckAssignments).
func withTeams(defaultTeam string, teams ...models.Team) func(*inbox.Options) {
	return func(o *inbox.Options) {
		o.Teams, o.DefaultTeam, o.AssignEvery = teams, defaultTeam, 1000*time.Hour
	}
}

func actor(name string) models.Actor { return models.Actor{Name: name, Role: models.RoleAgent} }

// online opens a live event stream of the agent until the test ends.
func online(t *testing.T, svc *inbox.Service, name string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := svc.StreamStarted(ctx, actor(name)); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) conv(t *testing.T, id int64) models.ConversationView {
	t.Helper()
	v, err := f.svc.GetConversation(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func assigneeOf(v models.ConversationView) string {
	if v.Assignee == nil {
		return ""
	}
	return *v.Assignee
}

// open ingests a first message of a new customer and returns the
// conversation's id.
func (f *fixture) open(t *testing.T, user string) int64 {
	t.Helper()
	res := f.ingest(t, msg("tg", "telegram", user, user+":1", "hello from "+user))
	id, err := models.ParseID(res.MessageID)
	if err != nil {
		t.Fatal(err)
	}
	return f.stored(t, id).ConversationID
}

func (f *fixture) waitAssignee(t *testing.T, id int64, want string) {
	t.Helper()
	wait.For(t, fmt.Sprintf("conversation %d assigned to %q", id, want), func() bool { return assigneeOf(f.conv(t, id)) == want })
}

func (f *fixture) resolve(t *testing.T, id int64) {
	t.Helper()
	if _, err := f.svc.SetStatus(context.Background(), id, models.StatusResolved, agent); err != nil {
		t.Fatal(err)
	}
}

// allEvents returns every event of type, page by page.
func (f *fixture) allEvents(t *testing.T, typ string) []models.EventView {
	t.Helper()
	var out []models.EventView
	after := int64(0)
	for {
		evs, err := f.svc.EventsAfter(context.Background(), after, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			if e.Type == typ {
				out = append(out, e)
			}
		}
		if len(evs) < 1000 {
			return out
		}
		if after, err = models.ParseID(evs[len(evs)-1].ID); err != nil {
			t.Fatal(err)
		}
	}
}

// queuedPositions returns the position each conversation.queued gave, by
// conversation.
func (f *fixture) queuedPositions(t *testing.T) map[string][]int {
	t.Helper()
	out := map[string][]int{}
	for _, e := range f.allEvents(t, models.EventTypeConversationQueued) {
		var q models.QueuedView
		decode(t, e, &q)
		out[q.ID] = append(out[q.ID], q.Position)
	}
	return out
}

// The least loaded online member gets a new conversation; among equals the
// least recently assigned (not the first by name); a full team queues.
// decode reads an event's data into v.
func decode(t *testing.T, e models.EventView, v any) {
	t.Helper()
	b, err := json.Marshal(e.Data)
	if err == nil {
		err = json.Unmarshal(b, v)
	}
	if err != nil {
		t.Fatal(err)
	}
}

func TestAssignLeastLoadedRoundRobinAndCapacity(t *testing.T) {
	f := newFixture(t, withTeams("billing", models.Team{Name: "billing", Members: []string{"ana", "bo", "cy"}, Capacity: 2}))
	f.runReactions(t)
	online(t, f.svc, "ana")
	online(t, f.svc, "bo")
	// cy is offline: never a candidate.

	c1 := f.open(t, "1")
	f.waitAssignee(t, c1, "ana") // equals, never assigned: by name
	if v := f.conv(t, c1); v.Team == nil || *v.Team != "billing" {
		t.Fatalf("default team not set: %+v", v)
	}
	f.resolve(t, c1)
	f.clock.Advance(time.Second)
	c2 := f.open(t, "2")
	f.waitAssignee(t, c2, "bo") // equal loads (0): bo was assigned less recently
	f.clock.Advance(time.Second)
	c3 := f.open(t, "3")
	f.waitAssignee(t, c3, "ana") // least loaded
	f.clock.Advance(time.Second)
	c4 := f.open(t, "4")
	f.waitAssignee(t, c4, "bo") // equal loads (1): bo's last is older than ana's
	f.clock.Advance(time.Second)
	c5 := f.open(t, "5")
	f.waitAssignee(t, c5, "ana")
	// Both are full (2): the next waits in the queue.
	c6 := f.open(t, "6")
	wait.For(t, "c6 queued", func() bool { return len(f.queuedPositions(t)[models.ID(c6)]) == 1 })
	if a := assigneeOf(f.conv(t, c6)); a != "" {
		t.Fatalf("c6 assigned to %s above capacity", a)
	}
	// Manual assignment is not refused, and counts against capacity: bo
	// takes c6 by hand (3 of 2); when he resolves one he is still full, so
	// c7 waits until ana frees a place.
	if _, err := f.svc.Assign(context.Background(), c6, ptr("bo"), nil, actor("bo")); err != nil {
		t.Fatal(err)
	}
	c7 := f.open(t, "7")
	wait.For(t, "c7 queued", func() bool { return len(f.queuedPositions(t)[models.ID(c7)]) == 1 })
	f.resolve(t, c2)
	f.clock.Advance(time.Second)
	c8 := f.open(t, "8") // a marker: its queueing comes after the resolve was handled
	wait.For(t, "c8 queued", func() bool { return len(f.queuedPositions(t)[models.ID(c8)]) == 1 })
	if a := assigneeOf(f.conv(t, c7)); a != "" {
		t.Fatalf("c7 went to %s, who is full", a)
	}
	f.resolve(t, c3)
	f.waitAssignee(t, c7, "ana")
	assertCapacity(t, f.st, 8, 2, "ana", "bo")
	// conversation.assigned tells who and by whom.
	by := map[string]string{}
	for _, e := range f.eventsOf(t, models.EventTypeConversationAssigned) {
		var a models.AssignedView
		decode(t, e, &a)
		by[a.ID] = a.Assignee + " by " + a.By
	}
	wait.For(t, "the manual assignment announced", func() bool {
		for _, e := range f.eventsOf(t, models.EventTypeConversationAssigned) {
			var a models.AssignedView
			if decode(t, e, &a); a.ID == models.ID(c6) {
				by[a.ID] = a.Assignee + " by " + a.By
				return true
			}
		}
		return false
	})
	for id, want := range map[int64]string{c1: "ana by assign", c2: "bo by assign", c7: "ana by assign", c6: "bo by bo"} {
		if by[models.ID(id)] != want {
			t.Errorf("conversation.assigned of %d: %q, want %q", id, by[models.ID(id)], want)
		}
	}
}

// The queue is ordered by priority (urgent first) then age; an agent who
// comes online takes the head, and each conversation they resolve frees a
// place for the next.
func TestQueueOrderAndAssignmentOnPresenceAndFreedCapacity(t *testing.T) {
	f := newFixture(t, withTeams("risk", models.Team{Name: "risk", Members: []string{"cy"}, Capacity: 1}))
	f.runReactions(t)
	ctx := context.Background()
	c1 := f.open(t, "1")
	f.clock.Advance(time.Second)
	c2 := f.open(t, "2")
	f.clock.Advance(time.Second)
	c3 := f.open(t, "3")
	wait.For(t, "three queued", func() bool { return len(f.queuedPositions(t)) == 3 })
	if got := f.queuedPositions(t); got[models.ID(c1)][0] != 1 || got[models.ID(c2)][0] != 2 || got[models.ID(c3)][0] != 3 {
		t.Fatalf("positions by age: %v", got)
	}
	if _, err := f.st.UpdateConversation(ctx, c3, map[string]any{"priority": "urgent"}, "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.UpdateConversation(ctx, c2, map[string]any{"priority": "high"}, "test"); err != nil {
		t.Fatal(err)
	}
	online(t, f.svc, "cy")
	f.waitAssignee(t, c3, "cy") // urgent first
	f.resolve(t, c3)
	f.waitAssignee(t, c2, "cy") // then high
	// A transfer frees capacity as a resolve does.
	if _, err := f.svc.Assign(ctx, c2, ptr("dee"), nil, agent); err != nil {
		t.Fatal(err)
	}
	f.waitAssignee(t, c1, "cy")
}

// A conversation the hub moves to another team (a routing rule that
// comes after default_team, an escalation) goes to a member of that team;
// an agent's move keeps the assignee they chose.
func TestTeamChangedByTheHubChangesHands(t *testing.T) {
	f := newFixture(t, withTeams("billing",
		models.Team{Name: "billing", Members: []string{"ana"}, Capacity: 5},
		models.Team{Name: "risk", Members: []string{"cy"}, Capacity: 5}))
	f.runReactions(t)
	ctx := context.Background()
	online(t, f.svc, "ana")
	online(t, f.svc, "cy")
	c1 := f.open(t, "1")
	f.waitAssignee(t, c1, "ana")
	if _, err := f.st.UpdateConversation(ctx, c1, map[string]any{"team": "risk", "priority": "urgent"}, "routing:fraud"); err != nil {
		t.Fatal(err)
	}
	f.waitAssignee(t, c1, "cy")
	c2 := f.open(t, "2")
	f.waitAssignee(t, c2, "ana")
	if _, err := f.svc.Assign(ctx, c2, nil, ptr("risk"), actor("ana")); err != nil {
		t.Fatal(err)
	}
	c3 := f.open(t, "3") // a marker: handled after the move
	f.waitAssignee(t, c3, "ana")
	if a := assigneeOf(f.conv(t, c2)); a != "ana" {
		t.Fatalf("an agent's move changed hands to %q", a)
	}
}

func ptr(s string) *string { return &s }

// An agent offline past the grace period hands back the conversations no
// agent answered; the ones they answered stay theirs.
func TestOfflineGraceHandsBackUnansweredConversations(t *testing.T) {
	f := newFixture(t, withTeams("billing", models.Team{Name: "billing", Members: []string{"ana", "bo"}, Capacity: 5}),
		func(o *inbox.Options) { o.OfflineGrace = 5 * time.Minute })
	f.runReactions(t)
	ctx := context.Background()
	online(t, f.svc, "ana")
	c1 := f.open(t, "1")
	f.waitAssignee(t, c1, "ana")
	c2 := f.open(t, "2")
	f.waitAssignee(t, c2, "ana")
	if _, err := f.svc.Reply(ctx, models.ReplyRequest{ConversationID: c1, Text: "a note", Private: true, Actor: actor("ana")}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Reply(ctx, models.ReplyRequest{ConversationID: c2, Text: "on it", Actor: actor("ana")}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.SetPresence(ctx, models.PresenceOffline, actor("ana")); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(4 * time.Minute)
	if n, err := f.svc.CheckAssignments(ctx); err != nil || n != 0 {
		t.Fatalf("within the grace: handed back %d (%v)", n, err)
	}
	f.clock.Advance(time.Minute)
	if n, err := f.svc.CheckAssignments(ctx); err != nil || n != 1 {
		t.Fatalf("after the grace: handed back %d (%v), want 1", n, err)
	}
	if a := assigneeOf(f.conv(t, c1)); a != "" {
		t.Fatalf("c1 still with %q", a)
	}
	if a := assigneeOf(f.conv(t, c2)); a != "ana" {
		t.Fatalf("the answered c2 went to %q", a)
	}
	if n, err := f.svc.CheckAssignments(ctx); err != nil || n != 0 {
		t.Fatalf("again: handed back %d (%v)", n, err)
	}
	wait.For(t, "c1 queued", func() bool { return len(f.queuedPositions(t)[models.ID(c1)]) == 1 })
	online(t, f.svc, "bo")
	f.waitAssignee(t, c1, "bo")
}

// assertCapacity checks that no agent is above capacity and that the
// assigned and queued add up.
func assertCapacity(t *testing.T, st *store.Store, n, capacity int, agents ...string) {
	t.Helper()
	loads, err := st.AgentLoads(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for a, l := range loads {
		if l > capacity {
			t.Errorf("%s has %d conversations, capacity %d", a, l, capacity)
		}
		total += l
	}
	for _, a := range agents {
		if loads[a] != capacity {
			t.Errorf("%s has %d conversations, want a full %d (%d waiting)", a, loads[a], capacity, n-total)
		}
	}
}

// parallelArrivals opens n conversations at once, spread over services.
func parallelArrivals(t *testing.T, n int, svcs ...*inbox.Service) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u := fmt.Sprint(1000 + i)
			if _, err := svcs[i%len(svcs)].Ingest(context.Background(), msg("tg", "telegram", u, u+":1", "help")); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func waitAssigned(t *testing.T, st *store.Store, want int) {
	t.Helper()
	wait.For(t, fmt.Sprintf("%d conversations assigned", want), func() bool {
		loads, err := st.AgentLoads(context.Background())
		total := 0
		for _, l := range loads {
			total += l
		}
		return err == nil && total >= want
	})
}

var raceTeam = models.Team{Name: "billing", Members: []string{"ana", "bo", "cy"}, Capacity: 5}

// 200 conversations arriving at once on SQLite: every agent fills up to
// capacity and no further.
func TestParallelArrivalsNeverExceedCapacitySQLite(t *testing.T) {
	f := newFixture(t, withTeams("billing", raceTeam))
	f.runReactions(t)
	for _, a := range raceTeam.Members {
		online(t, f.svc, a)
	}
	parallelArrivals(t, 200, f.svc)
	waitAssigned(t, f.st, 15)
	wait.For(t, "the queue announced", func() bool { return len(f.queuedPositions(t)) == 185 })
	assertCapacity(t, f.st, 200, raceTeam.Capacity, raceTeam.Members...)
}

// The same on PostgreSQL with two hubs on one database, both ingesting
// and both running the reactions.
func TestParallelArrivalsNeverExceedCapacityPostgresTwoHubs(t *testing.T) {
	dsn := pgtest.DSN(t)
	var svcs []*inbox.Service
	var first *store.Store
	for range 2 {
		st, err := store.Open(context.Background(), store.DriverPostgres, dsn)
		if err != nil {
			t.Fatal(err)
		}
		svc := inbox.New(inbox.Options{Store: st, Teams: []models.Team{raceTeam}, DefaultTeam: "billing"})
		t.Cleanup(func() { svc.Close(); st.Close() })
		if err := svc.InitReactions(context.Background()); err != nil {
			t.Fatal(err)
		}
		inBackground(t, svc.RunReactions)
		inBackground(t, func(ctx context.Context) { _ = svc.RunEventListener(ctx) })
		svcs = append(svcs, svc)
		if first == nil {
			first = st
		}
	}
	for i, a := range raceTeam.Members {
		online(t, svcs[i%2], a)
	}
	parallelArrivals(t, 200, svcs...)
	waitAssigned(t, first, 15)
	assertCapacity(t, first, 200, raceTeam.Capacity, raceTeam.Members...)
	// Freed places are taken again, still within capacity.
	ids, err := first.Unanswered(context.Background(), "ana")
	if err != nil || len(ids) != raceTeam.Capacity {
		t.Fatalf("ana's conversations: %v %v", ids, err)
	}
	var wg sync.WaitGroup
	for i, id := range ids[:3] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := svcs[i%2].SetStatus(context.Background(), id, models.StatusResolved, actor("ana")); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	wait.For(t, "ana full again", func() bool {
		loads, err := first.AgentLoads(context.Background())
		return err == nil && loads["ana"] == raceTeam.Capacity
	})
	assertCapacity(t, first, 197, raceTeam.Capacity, raceTeam.Members...)
}
