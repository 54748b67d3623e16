package configs

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tongdao/hub/inbox/routing"
)

// RoutingTable compiles routing and default_team: the rules the routing
// reaction evaluates on each new conversation.
func (c *Config) RoutingTable() (*routing.Table, error) {
	if ps := c.checkRouting(); len(ps) > 0 {
		return nil, ps
	}
	return routing.New(c.Routing, c.DefaultTeam)
}

// checkRouting lists the problems of routing and default_team; team names
// must be configured teams when teams are configured.
func (c *Config) checkRouting() Problems {
	var ps Problems
	teams := c.routingTeams()
	if t := c.DefaultTeam; t != "" && teams != nil && !slices.Contains(teams, t) {
		ps = append(ps, Problem{Path: "default_team", Message: fmt.Sprintf("unknown team %q (teams: %s)", t, strings.Join(teams, ", "))})
	}
	for _, p := range routing.Check(c.Routing, teams) {
		ps = append(ps, Problem{Path: "routing" + p.Path, Message: p.Message})
	}
	return ps
}

// routingTeams are the configured teams' names, or nil when no teams are
// configured (any team name goes).
func (c *Config) routingTeams() []string {
	return nil
}
