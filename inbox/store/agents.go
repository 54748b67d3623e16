package store

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/tongdao/hub/models"
)

// ListTokens returns every API token, oldest first (hashes included: the
// caller shows none of them).
func (s *Store) ListTokens(ctx context.Context) ([]models.APIToken, error) {
	var ts []models.APIToken
	err := s.DB.WithContext(ctx).Order("id").Find(&ts).Error
	return ts, err
}

// DeleteToken revokes a token: its row goes, so the very next request that
// presents it is refused (tokens are looked up on every request, on every
// replica).
func (s *Store) DeleteToken(ctx context.Context, id int64) (models.APIToken, error) {
	var t models.APIToken
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("id = ?", id).Take(&t).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return models.Errorf(models.ENOTFOUND, "no token %d", id)
			}
			return err
		}
		return tx.Where("id = ?", id).Delete(&models.APIToken{}).Error
	})
	return t, err
}

// AgentTokens returns the agents' token names with their role (admin when
// any of a name's tokens is an admin's).
func (s *Store) AgentTokens(ctx context.Context) (map[string]string, error) {
	var rows []struct{ Name, Role string }
	if err := s.DB.WithContext(ctx).Model(&models.APIToken{}).Select("name, role").
		Where("role IN ?", []string{models.RoleAgent, models.RoleAdmin}).Scan(&rows).Error; err != nil {
		return nil, err
	}
	out := make(map[string]string, len(rows))
	for _, r := range rows {
		if out[r.Name] != models.RoleAdmin {
			out[r.Name] = r.Role
		}
	}
	return out, nil
}

// OpenStream records a live event stream of agent until expires.
func (s *Store) OpenStream(ctx context.Context, id, agent string, expires time.Time) error {
	return s.DB.WithContext(ctx).Create(&models.AgentStream{ID: id, Agent: agent, ExpiresAt: expires.UTC()}).Error
}

// RefreshStream moves a live stream's expiry to expires. A stream whose row
// is gone (it expired, a refresh having failed, and a sweep deleted it) is
// recorded again, and RefreshStream reports that it was.
func (s *Store) RefreshStream(ctx context.Context, id, agent string, expires time.Time) (recreated bool, err error) {
	res := s.DB.WithContext(ctx).Model(&models.AgentStream{}).Where("id = ?", id).
		Update("expires_at", expires.UTC())
	if res.Error != nil || res.RowsAffected > 0 {
		return false, res.Error
	}
	return true, s.OpenStream(ctx, id, agent, expires)
}

// SetAgentStatus records what an agent said of their presence: "" (or
// online) follows their event streams, away and offline override them.
func (s *Store) SetAgentStatus(ctx context.Context, agent, status string) error {
	if status == models.PresenceOnline {
		status = ""
	}
	row := models.AgentPresence{Agent: agent, Status: status, Presence: models.PresenceOffline, UpdatedAt: s.Now().UTC()}
	return s.DB.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "agent"}},
		DoUpdates: clause.AssignmentColumns([]string{"status", "updated_at"}),
	}).Create(&row).Error
}

// EffectivePresence is an agent's presence from what they said and whether
// they have a live stream.
func EffectivePresence(status string, live bool) string {
	switch status {
	case models.PresenceAway, models.PresenceOffline:
		return status
	}
	if live {
		return models.PresenceOnline
	}
	return models.PresenceOffline
}

// PresenceState is an agent's presence now.
type PresenceState struct {
	// Status is what the agent said ("" for nothing, or online).
	Status string
	// Live: the agent has an unexpired event stream on some replica.
	Live bool
}

// Presence returns the presence state of every agent that has a presence
// row or a live stream, computed now (not the last announced).
func (s *Store) Presence(ctx context.Context) (map[string]PresenceState, error) {
	now := s.Now().UTC()
	var live []string
	if err := s.DB.WithContext(ctx).Model(&models.AgentStream{}).Distinct("agent").
		Where("expires_at > ?", now).Pluck("agent", &live).Error; err != nil {
		return nil, err
	}
	var rows []models.AgentPresence
	if err := s.DB.WithContext(ctx).Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make(map[string]PresenceState, len(rows)+len(live))
	for _, r := range rows {
		out[r.Agent] = PresenceState{Status: r.Status}
	}
	for _, a := range live {
		st := out[a]
		st.Live = true
		out[a] = st
	}
	return out, nil
}

// SyncPresence brings an agent's announced presence up to date: it
// computes the effective presence from their streams and what they said
// and, when it differs from the one last announced, stores it and appends
// agent.presence in the same transaction. The agent's presence row is
// locked first, so replicas syncing one agent at once take turns and the
// event is appended once per change. It reports whether it changed.
func (s *Store) SyncPresence(ctx context.Context, agent string) (models.AgentPresenceView, bool, error) {
	var v models.AgentPresenceView
	changed := false
	now := s.Now().UTC()
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		changed = false
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&models.AgentPresence{
			Agent: agent, Presence: models.PresenceOffline, UpdatedAt: now}).Error; err != nil {
			return err
		}
		var row models.AgentPresence
		q := tx.Where("agent = ?", agent)
		// On SQLite the insert above has taken the database's write lock.
		if s.Driver == DriverPostgres {
			q = q.Clauses(clause.Locking{Strength: "UPDATE"})
		}
		if err := q.Take(&row).Error; err != nil {
			return err
		}
		var n int64
		if err := tx.Model(&models.AgentStream{}).Where("agent = ? AND expires_at > ?", agent, now).Count(&n).Error; err != nil {
			return err
		}
		status := row.Status
		if status == "" {
			status = models.PresenceOnline
		}
		v = models.AgentPresenceView{Agent: agent, Presence: EffectivePresence(row.Status, n > 0), Status: status}
		if v.Presence == row.Presence {
			return nil
		}
		if err := tx.Model(&models.AgentPresence{}).Where("agent = ?", agent).
			Updates(map[string]any{"presence": v.Presence, "updated_at": now}).Error; err != nil {
			return err
		}
		changed = true
		return tx.Create(&models.Event{Type: models.EventTypeAgentPresence, Data: mustJSON(v), CreatedAt: now}).Error
	})
	return v, changed, err
}

// PresenceToSync lists the agents whose announced presence may be out of
// date: announced as not offline, or with a stream that has expired. It
// deletes the expired streams first; the caller syncs each agent.
func (s *Store) PresenceToSync(ctx context.Context) ([]string, error) {
	now := s.Now().UTC()
	var expired []string
	if err := s.DB.WithContext(ctx).Model(&models.AgentStream{}).Distinct("agent").
		Where("expires_at <= ?", now).Pluck("agent", &expired).Error; err != nil {
		return nil, err
	}
	if len(expired) > 0 {
		if err := s.DB.WithContext(ctx).Where("expires_at <= ?", now).Delete(&models.AgentStream{}).Error; err != nil {
			return nil, err
		}
	}
	var shown []string
	if err := s.DB.WithContext(ctx).Model(&models.AgentPresence{}).
		Where("presence <> ?", models.PresenceOffline).Pluck("agent", &shown).Error; err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []string
	for _, a := range append(expired, shown...) {
		if !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	return out, nil
}

// AgentLoads counts the open (not resolved) conversations assigned to each
// agent.
func (s *Store) AgentLoads(ctx context.Context) (map[string]int, error) {
	var rows []struct {
		Assignee string
		N        int
	}
	if err := s.DB.WithContext(ctx).Model(&models.Conversation{}).Select("assignee, count(*) AS n").
		Where("status <> ? AND assignee IS NOT NULL AND assignee <> ''", models.StatusResolved).
		Group("assignee").Scan(&rows).Error; err != nil {
		return nil, err
	}
	out := make(map[string]int, len(rows))
	for _, r := range rows {
		out[r.Assignee] = r.N
	}
	return out, nil
}
