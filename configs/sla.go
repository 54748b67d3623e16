package configs

import (
	"strings"
	"time"

	"github.com/tongdao/hub/inbox/sla"
)

// SLAPolicy is one priority's service level (durations in Go syntax:
// "10m", "4h"); a duration left out sets no clock of that kind.
type SLAPolicy struct {
	Priority      string        `yaml:"priority"`
	FirstResponse time.Duration `yaml:"first_response"`
	NextResponse  time.Duration `yaml:"next_response"`
	Resolution    time.Duration `yaml:"resolution"`
	// EscalateTo is the team (or an agent's name) a breach reassigns the
	// conversation to; empty keeps the assignment.
	EscalateTo string `yaml:"escalate_to"`
}

// SLAPolicies builds the policies of sla: nil when none is configured.
func (c *Config) SLAPolicies() (*sla.Policies, error) {
	ps, probs := c.buildSLA()
	if len(probs) > 0 {
		return nil, probs
	}
	return ps, nil
}

func (c *Config) buildSLA() (*sla.Policies, Problems) {
	if len(c.SLA) == 0 {
		return nil, nil
	}
	in := make([]sla.Policy, len(c.SLA))
	for i, p := range c.SLA {
		in[i] = sla.Policy{Priority: p.Priority, FirstResponse: p.FirstResponse, NextResponse: p.NextResponse,
			Resolution: p.Resolution, EscalateTo: strings.TrimSpace(p.EscalateTo)}
	}
	ps, err := sla.New(in)
	if err != nil {
		return nil, Problems{{Path: "sla" + pathOf(err.Error()), Message: messageOf(err.Error())}}
	}
	return ps, nil
}

// pathOf and messageOf split sla.New's "[i].key: message".
func pathOf(e string) string {
	p, _, _ := strings.Cut(e, ": ")
	return p
}

func messageOf(e string) string {
	_, m, _ := strings.Cut(e, ": ")
	return m
}
