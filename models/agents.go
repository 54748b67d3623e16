package models

import "time"

// Presence of an agent: what GET /api/v1/agents shows and what assignment
// looks at. An agent with a live event stream is online unless they said
// away or offline (POST /api/v1/me/presence); without one, offline.
const (
	PresenceOnline  = "online"
	PresenceAway    = "away"
	PresenceOffline = "offline"
)

// AgentStream is one live event stream of an agent, on any replica: the
// replica serving it refreshes ExpiresAt while it lasts. A stream whose
// replica died expires on its own.
type AgentStream struct {
	ID        string    `gorm:"primaryKey;size:64"`
	Agent     string    `gorm:"size:200;not null"`
	ExpiresAt time.Time `gorm:"not null"`
}

// AgentPresence is an agent's presence state shared by every replica:
// Status is what the agent said ("" when they said nothing, or online),
// Presence the effective presence last announced by an agent.presence
// event.
type AgentPresence struct {
	Agent     string `gorm:"primaryKey;size:200"`
	Status    string `gorm:"size:20;not null;default:''"`
	Presence  string `gorm:"size:20;not null;default:'offline'"`
	UpdatedAt time.Time
	// LastAssignedAt is when automatic assignment last gave the agent a
	// conversation (agents with the same load take turns by it).
	LastAssignedAt *time.Time
}

// TableName keeps the table's name singular like its key.
func (AgentPresence) TableName() string { return "agent_presence" }

// TokenView is an API token as GET /api/v1/tokens lists it: never its
// secret.
type TokenView struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Role       string     `json:"role"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

// NewTokenView is a token just created: the only answer that carries its
// secret.
type NewTokenView struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Role      string    `json:"role"`
	CreatedAt time.Time `json:"created_at"`
	// Token is the secret, shown here once: the hub keeps only its hash.
	Token string `json:"token"`
}

// AgentPresenceView is the payload of agent.presence.
type AgentPresenceView struct {
	Agent    string `json:"agent"`
	Presence string `json:"presence"`
	// Status is what the agent said: online (nothing said), away or
	// offline.
	Status string `json:"status"`
}

// AgentView is an agent as GET /api/v1/agents lists it, and GET /api/v1/me
// (without load and capacity).
type AgentView struct {
	Name     string   `json:"name"`
	Role     string   `json:"role"`
	Teams    []string `json:"teams"`
	Presence string   `json:"presence"`
	Status   string   `json:"status"`
	// Load is how many open conversations (not resolved) are assigned to
	// the agent; Capacity the most they take (the smallest of their
	// teams' capacities; the default when in no team).
	Load     int `json:"load"`
	Capacity int `json:"capacity"`
}

// Team is a configured team: its members (token names) and the most open
// conversations each member takes.
type Team struct {
	Name     string
	Members  []string
	Capacity int
}

// DefaultCapacity is a team's per-agent capacity when the configuration
// gives none, and the capacity of an agent in no team.
const DefaultCapacity = 10
