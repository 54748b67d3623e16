package store

import (
	"context"
	"slices"
	"sort"
	"time"

	"gorm.io/gorm"

	"github.com/tongdao/hub/models"
)

// Automatic assignment (the inbox's assign reaction): a conversation with a
// team and no assignee waits in its team's queue, ordered by priority
// (urgent first) then age, and goes to the online member of the team with
// the fewest open assigned conversations and free capacity; among equals,
// the one given a conversation least recently.

// AssignedBy is the actor of the hub's own assignments.
const AssignedBy = "assign"

// priorityRank orders a queue: urgent first, then high, normal, low.
const priorityRank = "CASE priority WHEN 'urgent' THEN 0 WHEN 'high' THEN 1 WHEN 'normal' THEN 2 ELSE 3 END"

// sqlTeamQueuePosition is the place of a waiting conversation in its
// team's queue: those of its team waiting at a higher or its own priority
// (team_queue_stats, kept by triggers: migration 00021_team_queue), less
// those of its priority created after it, counted over the queue's partial
// index (idx_conversations_team_queue; its predicate spelled the same way,
// for SQLite to use it) in two ranges, as an OR of both would not use it.
// For a new conversation both are empty: no count of the whole queue.
// Arguments: team, the subject's rank, then team, priority and created_at
// twice, the second time with the id.
const sqlTeamQueuePosition = `SELECT COALESCE((SELECT SUM(waiting) FROM team_queue_stats WHERE team = ? AND ` + priorityRank + ` <= CAST(? AS integer)), 0) -
	(SELECT COUNT(*) FROM conversations WHERE ` + teamWaiting + ` AND team = ? AND priority = ? AND created_at > ?) -
	(SELECT COUNT(*) FROM conversations WHERE ` + teamWaiting + ` AND team = ? AND priority = ? AND created_at = ? AND id > ?)`

// teamWaiting is the predicate of the teams' queues, as the partial index
// idx_conversations_team_queue spells it.
const teamWaiting = `COALESCE(team, '') <> '' AND COALESCE(assignee, '') = '' AND status <> 'resolved'`

// Assignment is one conversation given to an agent.
type Assignment struct {
	ConversationID int64
	Agent          string
}

// QueueResult is what one pass over a team's queue did.
type QueueResult struct {
	Assigned []Assignment
	// Queued are the conversations still waiting, in queue order (when
	// someone could take one).
	Queued []int64
	// Position is the subject's place in the queue (1 is next; 0: it is
	// not waiting).
	Position int
}

// rankOf is priorityRank's value for a priority, as SQL.
func rankOf(priority string) string {
	switch priority {
	case "urgent":
		return "0"
	case "high":
		return "1"
	case "normal":
		return "2"
	}
	return "3"
}

// AssignQueue makes one pass over team's queue in one transaction: it
// takes lockChanges first, exclusively (an agent's or a reaction's change
// of a conversation takes it shared), so the loads it counts are the ones
// its assignments add to, and no
// agent goes above capacity(agent) even with changes arriving at once on
// several replicas. members are the team's agents; an agent is a candidate
// while their announced presence is online.
func (s *Store) AssignQueue(ctx context.Context, team string, members []string, capacity func(agent string) int, subject int64) (QueueResult, error) {
	var res QueueResult
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res = QueueResult{}
		if err := s.lockChanges(tx, true); err != nil {
			return err
		}
		type candidate struct {
			agent    string
			load     int
			capacity int
			last     time.Time
		}
		var online []models.AgentPresence
		if len(members) > 0 {
			if err := tx.Where("agent IN ? AND presence = ?", members, models.PresenceOnline).
				Find(&online).Error; err != nil {
				return err
			}
		}
		var cands []*candidate
		if len(online) > 0 {
			names := make([]string, 0, len(online))
			for _, p := range online {
				names = append(names, p.Agent)
			}
			var loads []struct {
				Assignee string
				N        int
			}
			if err := tx.Model(&models.Conversation{}).Select("assignee, count(*) AS n").
				Where("status <> ? AND assignee IN ?", models.StatusResolved, names).
				Group("assignee").Scan(&loads).Error; err != nil {
				return err
			}
			for _, p := range online {
				c := &candidate{agent: p.Agent, capacity: capacity(p.Agent)}
				if p.LastAssignedAt != nil {
					c.last = *p.LastAssignedAt
				}
				for _, l := range loads {
					if l.Assignee == p.Agent {
						c.load = l.N
					}
				}
				cands = append(cands, c)
			}
		}
		free := 0
		for _, c := range cands {
			if c.load < c.capacity {
				free++
			}
		}
		if free == 0 {
			// Nobody can take one: only the subject's place is needed, a
			// count rather than the whole queue.
			if subject == 0 {
				return nil
			}
			var c models.Conversation
			if err := tx.Select("id, priority, created_at").
				Where("id = ? AND team = ? AND (assignee = '' OR assignee IS NULL) AND status <> ?", subject, team, models.StatusResolved).
				Limit(1).Find(&c).Error; err != nil || c.ID == 0 {
				return err // not waiting (assigned, resolved, or moved away)
			}
			var n int64
			if err := tx.Raw(sqlTeamQueuePosition, team, rankOf(c.Priority), team, c.Priority, c.CreatedAt,
				team, c.Priority, c.CreatedAt, c.ID).Scan(&n).Error; err != nil {
				return err
			}
			res.Position = int(n)
			return nil
		}
		var queue []int64
		if err := tx.Model(&models.Conversation{}).Where(teamWaiting+" AND team = ?", team).
			Order(priorityRank+", created_at, id").Pluck("id", &queue).Error; err != nil {
			return err
		}
		defer func() {
			if i := slices.Index(res.Queued, subject); subject != 0 && i >= 0 {
				res.Position = i + 1
			}
		}()
		now := s.Now().UTC()
		for i, id := range queue {
			var free []*candidate
			for _, c := range cands {
				if c.load < c.capacity {
					free = append(free, c)
				}
			}
			if len(free) == 0 {
				res.Queued = queue[i:]
				return nil
			}
			sort.SliceStable(free, func(a, b int) bool {
				x, y := free[a], free[b]
				if x.load != y.load {
					return x.load < y.load
				}
				if !x.last.Equal(y.last) {
					return x.last.Before(y.last)
				}
				return x.agent < y.agent
			})
			c := free[0]
			if _, err := s.changeConversation(ctx, tx, id, map[string]any{"assignee": c.agent}, AssignedBy, ""); err != nil {
				return err
			}
			if err := tx.Create(&models.Event{Type: models.EventTypeConversationAssigned, ConversationID: id,
				Data:      mustJSON(models.AssignedView{ID: models.ID(id), Assignee: c.agent, Team: team, By: AssignedBy}),
				CreatedAt: now}).Error; err != nil {
				return err
			}
			if err := tx.Model(&models.AgentPresence{}).Where("agent = ?", c.agent).
				Update("last_assigned_at", now).Error; err != nil {
				return err
			}
			c.load++
			c.last = now
			res.Assigned = append(res.Assigned, Assignment{ConversationID: id, Agent: c.agent})
		}
		return nil
	})
	return res, err
}

// Unanswered lists the open conversations assigned to agent that no agent
// has answered yet (a private note is no answer).
func (s *Store) Unanswered(ctx context.Context, agent string) ([]int64, error) {
	var ids []int64
	err := s.DB.WithContext(ctx).Model(&models.Conversation{}).
		Where("assignee = ? AND status <> ?", agent, models.StatusResolved).
		Where("NOT EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = conversations.id AND m.direction = ? AND m.sender_type = ? AND m.private = ?)",
			models.DirectionOut, models.SenderAgent, false).
		Order("id").Pluck("id", &ids).Error
	return ids, err
}

// AwaySince lists the agents announced offline since before cutoff who
// still have open conversations assigned.
func (s *Store) AwaySince(ctx context.Context, cutoff time.Time) ([]string, error) {
	var agents []string
	err := s.DB.WithContext(ctx).Model(&models.AgentPresence{}).
		Where("presence = ? AND updated_at <= ?", models.PresenceOffline, cutoff.UTC()).
		Where("EXISTS (SELECT 1 FROM conversations c WHERE c.assignee = agent_presence.agent AND c.status <> ?)", models.StatusResolved).
		Order("agent").Pluck("agent", &agents).Error
	return agents, err
}

// QueuedTeams lists the teams that have conversations waiting.
func (s *Store) QueuedTeams(ctx context.Context) ([]string, error) {
	var teams []string
	err := s.DB.WithContext(ctx).Model(&models.Conversation{}).Distinct("team").
		Where("team <> '' AND team IS NOT NULL AND (assignee = '' OR assignee IS NULL) AND status <> ?", models.StatusResolved).
		Pluck("team", &teams).Error
	slices.Sort(teams)
	return teams, err
}
