package inbox

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/tongdao/hub/inbox/react"
	"github.com/tongdao/hub/inbox/store"
	"github.com/tongdao/hub/models"
)

// Defaults of automatic assignment.
const (
	defaultOfflineGrace = 5 * time.Minute
	defaultAssignEvery  = 15 * time.Second
)

// assignReaction assigns conversations automatically. A conversation with
// a team and no assignee (set by routing, by an agent, by an escalation or
// by default_team, which it gives a new conversation without a team when
// the routing reaction, which does it otherwise, does not run) goes
// to the online member of its team with the fewest open assigned
// conversations and free capacity, the least recently assigned among
// equals (a conversation the hub moves to another team, as a routing rule
// after default_team, changes hands the same way); otherwise it waits in the team queue (conversation.queued), by
// priority then age, until a member frees capacity (a conversation of
// theirs is resolved or given to someone else) or comes online
// (agent.presence). On a schedule it hands the unanswered conversations of
// agents offline for longer than the grace period back to the queue. Each
// pass over a queue is one transaction that counts the loads under an
// exclusive lock (store.AssignQueue), so no agent goes above capacity. It
// writes to the database only.
type assignReaction struct{ s *Service }

var (
	_ react.Ticker  = assignReaction{}
	_ react.Batcher = assignReaction{}
)

func (assignReaction) Name() string { return "assign" }

func (r assignReaction) Types() []string {
	if len(r.s.Teams()) == 0 {
		return []string{} // no teams: nobody to assign to
	}
	if r.s.defaultTeam == "" { // none, or routing gives it
		return []string{models.EventTypeConversationUpdated, models.EventTypeAgentPresence}
	}
	return []string{models.EventTypeMessageCreated, models.EventTypeConversationUpdated, models.EventTypeAgentPresence}
}

func (assignReaction) InBatch(*models.Event) bool { return true }

func (r assignReaction) Every() time.Duration { return r.s.assignEvery }

func (r assignReaction) Handle(ctx context.Context, ev *models.Event, commit react.Commit) error {
	switch ev.Type {
	case models.EventTypeMessageCreated:
		if r.s.defaultTeam == "" || ev.ConversationID == 0 || !strings.Contains(ev.Detail, `"new_conversation":true`) {
			return nil
		}
		if f, ok := inboundFacts(ev); !ok || !f.NewConversation {
			return nil
		}
		conv := ev.ConversationID
		return commit(func(tx *store.Store) error {
			c, err := tx.Conversation(ctx, conv)
			if err != nil || c.Team != "" || c.Status == models.StatusResolved {
				return err // a team set already (routing): its update is handled
			}
			// The update this makes is handled in turn: it queues and assigns.
			_, err = tx.UpdateConversation(ctx, conv, map[string]any{"team": r.s.defaultTeam}, store.AssignedBy)
			return err
		})
	case models.EventTypeAgentPresence:
		var p models.AgentPresenceView
		if json.Unmarshal([]byte(ev.Data), &p) != nil || p.Presence != models.PresenceOnline {
			return nil
		}
		teams, _ := r.s.teamsOf(p.Agent)
		if len(teams) == 0 {
			return nil
		}
		return commit(func(tx *store.Store) error { return r.s.assignTeams(ctx, tx, teams, 0) })
	case models.EventTypeConversationUpdated:
		var ch models.ConversationChange
		if json.Unmarshal([]byte(ev.Detail), &ch) != nil {
			return nil
		}
		b, a := ch.Before, ch.After
		var teams []string
		subject := int64(0)
		// Waiting: a team and no assignee, newly so.
		if a.Team != "" && a.Assignee == "" && a.Status != models.StatusResolved &&
			(a.Team != b.Team || b.Assignee != "" || b.Status == models.StatusResolved) {
			teams, subject = append(teams, a.Team), ev.ConversationID
		}
		// Capacity freed: the former assignee lost the conversation or it
		// was resolved.
		if b.Assignee != "" && b.Status != models.StatusResolved &&
			(a.Assignee != b.Assignee || a.Status == models.StatusResolved) {
			t, _ := r.s.teamsOf(b.Assignee)
			teams = append(teams, t...)
		}
		// Assigned by someone else than this reaction: announce it.
		announce := a.Assignee != "" && a.Assignee != b.Assignee && ch.By != store.AssignedBy
		// The hub moved it (a routing rule after default_team, an
		// escalation) to a team its assignee is not in: it changes hands.
		moved := a.Team != b.Team && a.Team != "" && a.Assignee != "" && ch.ByType != models.SenderAgent &&
			a.Status != models.StatusResolved && !slices.Contains(r.s.teamMembers(a.Team), a.Assignee)
		if len(teams) == 0 && !announce && !moved {
			return nil
		}
		conv := ev.ConversationID
		return commit(func(tx *store.Store) error {
			if moved {
				// The update this makes is handled in turn: it queues and
				// assigns in the new team.
				c, err := tx.Conversation(ctx, conv)
				if err != nil || c.Team != a.Team || c.Assignee != a.Assignee {
					return err
				}
				_, err = tx.UpdateConversation(ctx, conv, map[string]any{"assignee": ""}, store.AssignedBy)
				return err
			}
			if announce {
				if err := tx.AddConversationEvent(ctx, conv, models.EventTypeConversationAssigned,
					models.AssignedView{ID: models.ID(conv), Assignee: a.Assignee, Team: a.Team, By: ch.By}); err != nil {
					return err
				}
			}
			return r.s.assignTeams(ctx, tx, teams, subject)
		})
	}
	return nil
}

// assignTeams makes a pass over each team's queue; when subject is still
// waiting after its team's pass, conversation.queued tells its position.
func (s *Service) assignTeams(ctx context.Context, tx *store.Store, teams []string, subject int64) error {
	slices.Sort(teams)
	for _, team := range slices.Compact(teams) {
		members := s.teamMembers(team)
		res, err := tx.AssignQueue(ctx, team, members, func(agent string) int {
			_, c := s.teamsOf(agent)
			return c
		}, subject)
		if err != nil {
			return err
		}
		if subject == 0 {
			continue
		}
		if res.Position > 0 {
			if err := tx.AddConversationEvent(ctx, subject, models.EventTypeConversationQueued,
				models.QueuedView{ID: models.ID(subject), Team: team, Position: res.Position}); err != nil {
				return err
			}
		}
	}
	return nil
}

// teamMembers returns a configured team's members (none for a team that
// is not configured: its conversations wait for an agent to take them).
func (s *Service) teamMembers(team string) []string {
	for _, t := range s.Teams() {
		if t.Name == team {
			return t.Members
		}
	}
	return nil
}

// Tick hands back the unanswered conversations of agents offline longer
// than the grace period, and makes a pass over every queue (a capacity
// raised by a reload takes effect).
func (r assignReaction) Tick(ctx context.Context, commit react.Commit) error {
	_, err := r.s.checkAssignments(ctx, commit)
	return err
}

// CheckAssignments makes the scheduled pass at once (tests, operators) and
// returns how many conversations it handed back to their queue.
func (s *Service) CheckAssignments(ctx context.Context) (int, error) {
	return s.checkAssignments(ctx, func(fn func(tx *store.Store) error) error { return s.store.Tx(ctx, fn) })
}

func (s *Service) checkAssignments(ctx context.Context, commit react.Commit) (int, error) {
	if len(s.Teams()) == 0 {
		return 0, nil
	}
	away, err := s.store.AwaySince(ctx, s.now().Add(-s.offlineGrace))
	if err != nil {
		return 0, err
	}
	back := 0
	for _, agent := range away {
		ids, err := s.store.Unanswered(ctx, agent)
		if err != nil {
			return back, err
		}
		for _, id := range ids {
			// Each hand-back is an update, which the reaction then handles:
			// the conversation is queued and assigned to someone online.
			err := commit(func(tx *store.Store) error {
				c, err := tx.Conversation(ctx, id)
				if err != nil || c.Assignee != agent || c.Status == models.StatusResolved {
					return err
				}
				_, err = tx.UpdateConversation(ctx, id, map[string]any{"assignee": ""}, store.AssignedBy)
				return err
			})
			if err != nil {
				return back, err
			}
			back++
		}
	}
	teams, err := s.store.QueuedTeams(ctx)
	if err != nil || len(teams) == 0 {
		return back, err
	}
	return back, commit(func(tx *store.Store) error { return s.assignTeams(ctx, tx, teams, 0) })
}
