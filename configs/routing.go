package configs

import (
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

// checkRouting lists the problems of routing (checkTeams those of
// default_team); team names must be configured teams when teams are
// configured.
func (c *Config) checkRouting() Problems {
	var ps Problems
	for _, p := range routing.Check(c.Routing, c.routingTeams()) {
		ps = append(ps, Problem{Path: "routing" + p.Path, Message: p.Message})
	}
	return ps
}

// routingTeams are the configured teams' names, or nil when no teams are
// configured (any team name goes).
func (c *Config) routingTeams() []string {
	if len(c.Teams) == 0 {
		return nil
	}
	names := make([]string, 0, len(c.Teams))
	for _, t := range c.Teams {
		names = append(names, t.Name)
	}
	return names
}
