package configs

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tongdao/hub/models"
)

func TestTeamsConfig(t *testing.T) {
	dir := t.TempDir()
	good := `teams:
  - name: billing
    members: [ana, bo]
    capacity: 5
    business_hours:
      timezone: Europe/Rome
      weekly: {mon: "09:00-18:00"}
  - name: risk
    members: [cy, ana]
  - name: managers
    members: [dee]
default_team: billing
assignment: { offline_grace: 2m }
`
	path := filepath.Join(dir, "hub.yaml")
	if err := os.WriteFile(path, []byte(good), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path, envMap(nil))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := []models.Team{
		{Name: "billing", Members: []string{"ana", "bo"}, Capacity: 5},
		{Name: "risk", Members: []string{"cy", "ana"}, Capacity: 10},
		{Name: "managers", Members: []string{"dee"}, Capacity: 10},
	}
	if got := c.TeamList(); !reflect.DeepEqual(got, want) {
		t.Errorf("teams %+v, want %+v", got, want)
	}
	if c.DefaultTeam != "billing" {
		t.Errorf("default_team %q", c.DefaultTeam)
	}
	if c.Assignment.OfflineGrace != 2*time.Minute {
		t.Errorf("assignment.offline_grace %s", c.Assignment.OfflineGrace)
	}
	cals, err := c.TeamHours()
	if err != nil || cals["billing"] == nil || cals["risk"] != nil {
		t.Errorf("team hours %v %v: billing has its own, risk the global (none)", cals, err)
	}

	for name, tc := range map[string]struct{ yaml, want string }{
		"unknown key":        {"teams:\n  - name: a\n    member: [x]\n", "teams[0].member: unknown key"},
		"unknown top key":    {"team: []\n", "team: unknown key"},
		"no name":            {"teams:\n  - members: [x]\n", "teams[0].name: is required"},
		"duplicate name":     {"teams:\n  - name: a\n  - name: b\n  - name: a\n", "teams[2].name: duplicate team name \"a\" (also teams[0])"},
		"member twice":       {"teams:\n  - name: a\n    members: [x, y, x]\n", "teams[0].members[2]: \"x\" is listed twice"},
		"empty member":       {"teams:\n  - name: a\n    members: [\"\"]\n", "teams[0].members[0]: is empty"},
		"capacity zero":      {"teams:\n  - name: a\n    capacity: 0\n", "teams[0].capacity: must be at least 1"},
		"capacity negative":  {"teams:\n  - name: a\n    capacity: -2\n", "teams[0].capacity: must be at least 1"},
		"capacity not int":   {"teams:\n  - name: a\n    capacity: many\n", "teams[0].capacity"},
		"bad hours":          {"teams:\n  - name: a\n    business_hours:\n      timezone: Mars/Base\n      weekly: {mon: \"09:00-18:00\"}\n", "teams[0].business_hours.timezone"},
		"unknown hours key":  {"teams:\n  - name: a\n    business_hours:\n      timezone: UTC\n      weekly: {mon: \"09:00-18:00\"}\n      holiday: []\n", "teams[0].business_hours.holiday: unknown key"},
		"default not a team": {"teams:\n  - name: a\ndefault_team: b\n", "default_team: \"b\" is not a team (teams: a)"},
		"default no teams":   {"default_team: b\n", "default_team: \"b\" is not a team (teams: none configured)"},
		"grace too short":    {"assignment: { offline_grace: 1s }\n", "assignment.offline_grace: 1s is out of range: use 10s to 24h"},
		"grace too long":     {"assignment: { offline_grace: 48h }\n", "assignment.offline_grace: 48h0m0s is out of range"},
		"grace not duration": {"assignment: { offline_grace: soon }\n", "assignment.offline_grace"},
		"assignment unknown": {"assignment: { grace: 5m }\n", "assignment.grace: unknown key"},
	} {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(dir, "bad.yaml")
			if err := os.WriteFile(p, []byte(tc.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Load(p, envMap(nil))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("want %q in:\n%v", tc.want, err)
			}
		})
	}
}
