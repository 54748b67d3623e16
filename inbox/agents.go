package inbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"slices"
	"sort"
	"time"

	"github.com/tongdao/hub/inbox/store"
	"github.com/tongdao/hub/models"
)

// Agents, teams, tokens and presence.
//
// An agent is an API token's name with role agent or admin. Teams come from
// the configuration (SetTeams). Presence is shared by every replica through
// the database: each live event stream is a row its replica refreshes, and
// an agent is online while one of their streams is unexpired, unless they
// said away or offline. agent.presence is appended when an agent's
// effective presence changes: at once when a stream opens or the agent
// says something, and within the sweep interval when a stream expires.

// Defaults of the presence timings.
const (
	defaultPresenceTTL   = 45 * time.Second
	defaultPresenceSweep = 10 * time.Second
)

// SetTeams replaces the teams (a configuration reload applies them at once).
func (s *Service) SetTeams(teams []models.Team) {
	cp := slices.Clone(teams)
	s.teams.Store(&cp)
}

// Teams returns the configured teams.
func (s *Service) Teams() []models.Team {
	if t := s.teams.Load(); t != nil {
		return *t
	}
	return nil
}

// teamsOf returns the teams an agent belongs to and their capacity: the
// smallest of their teams' capacities, or the default in no team.
func (s *Service) teamsOf(agent string) ([]string, int) {
	names := []string{}
	capacity := 0
	for _, t := range s.Teams() {
		if slices.Contains(t.Members, agent) {
			names = append(names, t.Name)
			if capacity == 0 || t.Capacity < capacity {
				capacity = t.Capacity
			}
		}
	}
	if capacity <= 0 {
		capacity = models.DefaultCapacity
	}
	return names, capacity
}

func tokenView(t models.APIToken) models.TokenView {
	v := models.TokenView{ID: models.ID(t.ID), Name: t.Name, Role: t.Role, CreatedAt: t.CreatedAt.UTC()}
	if t.LastUsedAt != nil {
		at := t.LastUsedAt.UTC()
		v.LastUsedAt = &at
	}
	return v
}

// IssueToken creates an API token; the answer is the only place its secret
// is ever shown (the store keeps its hash).
func (s *Service) IssueToken(ctx context.Context, name, role string, by models.Actor) (models.NewTokenView, error) {
	if len([]rune(name)) > 200 {
		return models.NewTokenView{}, models.Errorf(models.EINVALID, "name is longer than 200 characters")
	}
	plain, t, err := s.store.CreateToken(ctx, name, role)
	if err != nil {
		return models.NewTokenView{}, err
	}
	s.log.Info("API token created", "id", t.ID, "name", t.Name, "role", t.Role, "by", by.Name)
	v := tokenView(t)
	return models.NewTokenView{ID: v.ID, Name: v.Name, Role: v.Role, CreatedAt: v.CreatedAt, Token: plain}, nil
}

// ListTokens lists the API tokens, never their secrets.
func (s *Service) ListTokens(ctx context.Context) ([]models.TokenView, error) {
	ts, err := s.store.ListTokens(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]models.TokenView, 0, len(ts))
	for _, t := range ts {
		out = append(out, tokenView(t))
	}
	return out, nil
}

// RevokeToken deletes a token: its next request, on any replica, is
// refused (tokens are not cached).
func (s *Service) RevokeToken(ctx context.Context, id int64, by models.Actor) (models.TokenView, error) {
	t, err := s.store.DeleteToken(ctx, id)
	if err != nil {
		return models.TokenView{}, err
	}
	s.touchMu.Lock()
	delete(s.touched, t.ID)
	s.touchMu.Unlock()
	s.log.Info("API token revoked", "id", t.ID, "name", t.Name, "by", by.Name)
	return tokenView(t), nil
}

// StreamStarted records a live event stream of the actor until ctx ends:
// it is refreshed every third of the presence TTL meanwhile and, once ctx
// ends, expires on its own (a page reload does not flap the presence).
func (s *Service) StreamStarted(ctx context.Context, by models.Actor) error {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return err
	}
	id := hex.EncodeToString(b[:])
	if err := s.store.OpenStream(ctx, id, by.Name, s.now().Add(s.presenceTTL)); err != nil {
		return err
	}
	s.syncPresence(ctx, by.Name)
	go func() {
		t := time.NewTicker(s.presenceTTL / 3)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				again, err := s.store.RefreshStream(ctx, id, by.Name, s.now().Add(s.presenceTTL))
				if err != nil && ctx.Err() == nil {
					s.log.Warn("refresh agent stream", "agent", by.Name, "err", err)
				}
				if again {
					s.syncPresence(ctx, by.Name)
				}
			}
		}
	}()
	return nil
}

// syncPresence announces the agent's presence if it changed.
func (s *Service) syncPresence(ctx context.Context, agent string) (models.AgentPresenceView, error) {
	v, changed, err := s.store.SyncPresence(ctx, agent)
	if err != nil {
		s.log.Warn("sync agent presence", "agent", agent, "err", err)
		return v, err
	}
	if changed {
		s.notify()
	}
	return v, nil
}

// SetPresence records what the agent says of their presence: online
// (follow my event streams), away or offline.
func (s *Service) SetPresence(ctx context.Context, status string, by models.Actor) (models.AgentView, error) {
	switch status {
	case models.PresenceOnline, models.PresenceAway, models.PresenceOffline:
	default:
		return models.AgentView{}, models.Errorf(models.EINVALID, "status must be online, away or offline, not %q", status)
	}
	if err := s.store.SetAgentStatus(ctx, by.Name, status); err != nil {
		return models.AgentView{}, err
	}
	if _, err := s.syncPresence(ctx, by.Name); err != nil {
		return models.AgentView{}, err
	}
	return s.Me(ctx, by)
}

// SweepPresence announces the presence of agents whose streams expired
// (their replica died, or the stream ended a TTL ago). Every replica runs
// it; the announcement is made once.
func (s *Service) SweepPresence(ctx context.Context) error {
	agents, err := s.store.PresenceToSync(ctx)
	if err != nil {
		return err
	}
	for _, a := range agents {
		if _, err := s.syncPresence(ctx, a); err != nil {
			return err
		}
	}
	return nil
}

// RunPresence sweeps expired streams every sweep interval until ctx ends.
func (s *Service) RunPresence(ctx context.Context) {
	t := time.NewTicker(s.presenceSweep)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.SweepPresence(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("sweep agent presence", "err", err)
			}
		}
	}
}

// Me describes the actor as an agent.
func (s *Service) Me(ctx context.Context, by models.Actor) (models.AgentView, error) {
	agents, err := s.agents(ctx, map[string]string{by.Name: by.Role})
	if err != nil {
		return models.AgentView{}, err
	}
	return agents[0], nil
}

// ListAgents lists the agents (token names with role agent or admin) with
// their teams, presence, load and capacity, by name.
func (s *Service) ListAgents(ctx context.Context) ([]models.AgentView, error) {
	names, err := s.store.AgentTokens(ctx)
	if err != nil {
		return nil, err
	}
	return s.agents(ctx, names)
}

func (s *Service) agents(ctx context.Context, names map[string]string) ([]models.AgentView, error) {
	presence, err := s.store.Presence(ctx)
	if err != nil {
		return nil, err
	}
	loads, err := s.store.AgentLoads(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]models.AgentView, 0, len(names))
	for name, role := range names {
		teams, capacity := s.teamsOf(name)
		p := presence[name]
		status := p.Status
		if status == "" {
			status = models.PresenceOnline
		}
		out = append(out, models.AgentView{Name: name, Role: role, Teams: teams,
			Presence: store.EffectivePresence(p.Status, p.Live), Status: status,
			Load: loads[name], Capacity: capacity})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
