package configs

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/tongdao/hub/inbox/hours"
	"github.com/tongdao/hub/models"
)

// Team is one entry of teams: who works a queue and how much each takes.
type Team struct {
	// Name identifies the team (conversations' team field, default_team,
	// routing rules): unique, at most 200 characters.
	Name string `yaml:"name"`
	// Members are agents' names: the names of their API tokens. One agent
	// may be in several teams.
	Members []string `yaml:"members"`
	// Capacity is the most open conversations assigned to each member
	// (at least 1; default 10).
	Capacity *int `yaml:"capacity"`
	// BusinessHours overrides the global business_hours for this team (the
	// same format).
	BusinessHours *hours.Config `yaml:"business_hours"`
}

// DefaultTeamCapacity is a team's capacity when it gives none.
const DefaultTeamCapacity = models.DefaultCapacity

// TeamList returns the configured teams with their capacity filled in.
func (c *Config) TeamList() []models.Team {
	out := make([]models.Team, 0, len(c.Teams))
	for _, t := range c.Teams {
		capacity := DefaultTeamCapacity
		if t.Capacity != nil {
			capacity = *t.Capacity
		}
		out = append(out, models.Team{Name: t.Name, Members: slices.Clone(t.Members), Capacity: capacity})
	}
	return out
}

// TeamHours builds each team's business hours calendar, by team name: the
// team's own when it has one, else the global business_hours (nil: always
// open).
func (c *Config) TeamHours() (map[string]*hours.Calendar, error) {
	global, ps := c.buildHours()
	out := map[string]*hours.Calendar{}
	for i, t := range c.Teams {
		if t.BusinessHours == nil {
			out[t.Name] = global
			continue
		}
		cal, tps := buildCalendar(*t.BusinessHours, fmt.Sprintf("teams[%d].business_hours", i))
		ps = append(ps, tps...)
		out[t.Name] = cal
	}
	if len(ps) > 0 {
		return nil, ps
	}
	return out, nil
}

// checkTeams returns the problems of teams and default_team.
func (c *Config) checkTeams() Problems {
	var ps Problems
	add := func(path, format string, args ...any) {
		ps = append(ps, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
	}
	first := map[string]int{}
	for i, t := range c.Teams {
		base := fmt.Sprintf("teams[%d]", i)
		switch {
		case strings.TrimSpace(t.Name) == "":
			add(base+".name", "is required")
		case t.Name != strings.TrimSpace(t.Name):
			add(base+".name", "%q has leading or trailing spaces", t.Name)
		case utf8.RuneCountInString(t.Name) > 200:
			add(base+".name", "is longer than 200 characters")
		default:
			if j, dup := first[t.Name]; dup {
				add(base+".name", "duplicate team name %q (also teams[%d])", t.Name, j)
			} else {
				first[t.Name] = i
			}
		}
		seen := map[string]int{}
		for k, m := range t.Members {
			path := fmt.Sprintf("%s.members[%d]", base, k)
			switch {
			case strings.TrimSpace(m) == "":
				add(path, "is empty: give an agent's name (the name of their API token)")
			case utf8.RuneCountInString(m) > 200:
				add(path, "is longer than 200 characters")
			default:
				if j, dup := seen[m]; dup {
					add(path, "%q is listed twice in this team (also members[%d])", m, j)
				} else {
					seen[m] = k
				}
			}
		}
		if t.Capacity != nil && *t.Capacity < 1 {
			add(base+".capacity", "must be at least 1 (open conversations per agent; default %d), not %d", DefaultTeamCapacity, *t.Capacity)
		}
		if t.BusinessHours != nil {
			_, hps := buildCalendar(*t.BusinessHours, base+".business_hours")
			ps = append(ps, hps...)
		}
	}
	if c.DefaultTeam != "" {
		if _, ok := first[c.DefaultTeam]; !ok {
			names := make([]string, 0, len(c.Teams))
			for _, t := range c.Teams {
				names = append(names, t.Name)
			}
			known := "none configured"
			if len(names) > 0 {
				known = strings.Join(names, ", ")
			}
			add("default_team", "%q is not a team (teams: %s)", c.DefaultTeam, known)
		}
	}
	return ps
}

// buildCalendar builds a business hours calendar, its problems under path.
func buildCalendar(cfg hours.Config, path string) (*hours.Calendar, Problems) {
	cal, err := hours.New(cfg)
	if err == nil {
		return cal, nil
	}
	var ps Problems
	for _, e := range unjoin(err) {
		var p *hours.Problem
		if errors.As(e, &p) {
			ps = append(ps, Problem{Path: path + "." + p.Path, Message: p.Message})
		} else {
			ps = append(ps, Problem{Path: path, Message: e.Error()})
		}
	}
	return nil, ps
}
