package httpapi

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/tongdao/hub/models"
)

// Agents, tokens and presence: GET /agents, GET /me, POST /me/presence
// (any agent), and the token management routes (admins only).

// tokenBody is the body of POST /tokens.
type tokenBody struct {
	Name string `json:"name"`
	Role string `json:"role"`
}

// tokenList is the body of GET /tokens.
type tokenList struct {
	Tokens []models.TokenView `json:"tokens"`
}

// agentList is the body of GET /agents.
type agentList struct {
	Agents []models.AgentView `json:"agents"`
}

// presenceBody is the body of POST /me/presence.
type presenceBody struct {
	Status string `json:"status"`
}

func (s *Server) createToken(c *gin.Context) {
	var body tokenBody
	if err := s.decodeJSON(c, &body); err != nil {
		s.writeError(c, err)
		return
	}
	if strings.TrimSpace(body.Name) == "" || strings.TrimSpace(body.Name) != body.Name {
		s.writeError(c, invalid("name is required, without leading or trailing spaces"))
		return
	}
	if len([]rune(body.Name)) > maxNameLen {
		s.writeError(c, invalid("name is longer than %d characters", maxNameLen))
		return
	}
	if body.Role == "" {
		s.writeError(c, invalid("role is required (agent or admin)"))
		return
	}
	if err := oneOf("role", body.Role, models.RoleAgent, models.RoleAdmin); err != nil {
		s.writeError(c, err)
		return
	}
	v, err := s.inbox.IssueToken(c.Request.Context(), body.Name, body.Role, actorOf(c))
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusCreated, v)
}

func (s *Server) listTokens(c *gin.Context) {
	if _, err := queryParams(c); err != nil {
		s.writeError(c, err)
		return
	}
	ts, err := s.inbox.ListTokens(c.Request.Context())
	if err != nil {
		s.writeError(c, err)
		return
	}
	if ts == nil {
		ts = []models.TokenView{}
	}
	c.JSON(http.StatusOK, tokenList{Tokens: ts})
}

func (s *Server) revokeToken(c *gin.Context) {
	id, err := pathID(c, "id", "token")
	if err != nil {
		s.writeError(c, err)
		return
	}
	v, err := s.inbox.RevokeToken(c.Request.Context(), id, actorOf(c))
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, v)
}

func (s *Server) listAgents(c *gin.Context) {
	if _, err := queryParams(c); err != nil {
		s.writeError(c, err)
		return
	}
	as, err := s.inbox.ListAgents(c.Request.Context())
	if err != nil {
		s.writeError(c, err)
		return
	}
	if as == nil {
		as = []models.AgentView{}
	}
	c.JSON(http.StatusOK, agentList{Agents: as})
}

func (s *Server) me(c *gin.Context) {
	if _, err := queryParams(c); err != nil {
		s.writeError(c, err)
		return
	}
	v, err := s.inbox.Me(c.Request.Context(), actorOf(c))
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, v)
}

func (s *Server) setPresence(c *gin.Context) {
	var body presenceBody
	if err := s.decodeJSON(c, &body); err != nil {
		s.writeError(c, err)
		return
	}
	if body.Status == "" {
		s.writeError(c, invalid("status is required"))
		return
	}
	if err := oneOf("status", body.Status, models.PresenceOnline, models.PresenceAway, models.PresenceOffline); err != nil {
		s.writeError(c, err)
		return
	}
	v, err := s.inbox.SetPresence(c.Request.Context(), body.Status, actorOf(c))
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, v)
}
