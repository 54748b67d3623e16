// Package sla holds the service-level rules of the support desk: the
// policies per priority, the clocks they start, when a clock warns and
// breaches, and what a breach escalates to. It is pure: no database, no
// clock of its own.
package sla

import (
	"fmt"
	"slices"
	"time"
)

// Priorities, lowest first.
var Priorities = []string{"low", "normal", "high", "urgent"}

// Up is the priority one step above p (urgent stays urgent; an unknown
// priority counts as normal).
func Up(p string) string {
	i := slices.Index(Priorities, p)
	if i < 0 {
		i = slices.Index(Priorities, "normal")
	}
	return Priorities[min(i+1, len(Priorities)-1)]
}

// Clock kinds: what a clock waits for.
const (
	// FirstResponse runs from a conversation's start (or reopen) to the
	// first agent reply.
	FirstResponse = "first_response"
	// NextResponse runs from a customer message that waits for an agent
	// (after the first response) to the next agent reply.
	NextResponse = "next_response"
	// Resolution runs from a conversation's start to its resolve.
	Resolution = "resolution"
)

// Kinds are the clock kinds in order.
var Kinds = []string{FirstResponse, NextResponse, Resolution}

// WarnAt is the share of a clock's business time after which it warns.
const WarnAt = 0.8

// Policy is the SLA of one priority; a zero duration sets no clock.
type Policy struct {
	Priority      string
	FirstResponse time.Duration
	NextResponse  time.Duration
	Resolution    time.Duration
	// EscalateTo is the team (or agent) a breach reassigns to; "" keeps
	// the assignment.
	EscalateTo string
}

// Limit is the policy's duration for a clock kind.
func (p Policy) Limit(kind string) time.Duration {
	switch kind {
	case FirstResponse:
		return p.FirstResponse
	case NextResponse:
		return p.NextResponse
	case Resolution:
		return p.Resolution
	}
	return 0
}

// Calendar counts business time (inbox/hours); nil counts every hour.
type Calendar interface {
	Add(t time.Time, d time.Duration) time.Time
}

// Policies are the SLA policies by priority.
type Policies struct {
	byPriority map[string]Policy
}

// New checks and indexes policies: one per known priority, durations not
// negative, at least one clock each.
func New(ps []Policy) (*Policies, error) {
	out := &Policies{byPriority: map[string]Policy{}}
	for i, p := range ps {
		switch {
		case !slices.Contains(Priorities, p.Priority):
			return nil, fmt.Errorf("[%d].priority: unknown priority %q (known: low, normal, high, urgent)", i, p.Priority)
		case out.byPriority[p.Priority].Priority != "":
			return nil, fmt.Errorf("[%d].priority: %s has a policy already", i, p.Priority)
		case p.FirstResponse < 0 || p.NextResponse < 0 || p.Resolution < 0:
			return nil, fmt.Errorf("[%d]: durations must be positive", i)
		case p.FirstResponse == 0 && p.NextResponse == 0 && p.Resolution == 0:
			return nil, fmt.Errorf("[%d]: sets no clock: give first_response, next_response or resolution", i)
		}
		out.byPriority[p.Priority] = p
	}
	return out, nil
}

// For is the policy of a priority (ok false: none).
func (ps *Policies) For(priority string) (Policy, bool) {
	if ps == nil {
		return Policy{}, false
	}
	p, ok := ps.byPriority[priority]
	return p, ok
}

// Deadline is when a clock started at start with limit d warns and is due,
// counted in business time.
func Deadline(cal Calendar, start time.Time, d time.Duration) (warn, due time.Time) {
	add := func(t time.Time, d time.Duration) time.Time {
		if cal == nil {
			return t.Add(d)
		}
		return cal.Add(t, d)
	}
	return add(start, time.Duration(float64(d)*WarnAt)), add(start, d)
}
