package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/tongdao/hub/configs"
	"github.com/tongdao/hub/connectors"
	"github.com/tongdao/hub/inbox"
	"github.com/tongdao/hub/models"
)

// stopTimeout bounds how long a reload waits for a removed or changed
// connector to finish its work in flight.
const stopTimeout = 30 * time.Second

// liveSet is the set of running connectors: what the outbox sends through,
// what /webhooks/{name} serves and what the supervisor runs. A reload
// replaces it whole; readers load it once per use.
type liveSet struct {
	// conns are the connectors as configured, in the file's order.
	conns  []configs.Connector
	byName map[string]connectors.Connector
	// prints are each connector's type and settings, canonical, to tell a
	// changed connector from an unchanged one.
	prints map[string]string
}

// list returns the connectors in configuration order.
func (l *liveSet) list() []connectors.Connector {
	out := make([]connectors.Connector, 0, len(l.conns))
	for _, cc := range l.conns {
		out = append(out, l.byName[cc.Name])
	}
	return out
}

// info is what the inbox needs to know of the connectors.
func (l *liveSet) info() inbox.ConnectorInfo {
	info := inbox.ConnectorInfo{ReplyWindows: map[string]time.Duration{}, Titles: map[string]string{},
		FallbackLanguages: map[string][]string{}}
	for _, cc := range l.conns {
		c := l.byName[cc.Name]
		if w, ok := c.(connectors.ReplyWindower); ok {
			info.ReplyWindows[cc.Name] = w.ReplyWindow()
		}
		if lg, ok := c.(connectors.Languager); ok {
			info.FallbackLanguages[cc.Name] = lg.DefaultLanguages()
		}
		typ, _ := connectors.Lookup(cc.Type) // built: registered
		info.Titles[cc.Name] = typ.Title
		if h, ok := handoffTarget(cc.Name, c); ok {
			info.Handoffs = append(info.Handoffs, h)
		}
	}
	return info
}

// fingerprint is a connector's type and settings in a canonical form
// (settings decoded, keys sorted), so that comments, layout and key order
// do not count as a change. It holds secrets: it is never shown.
func fingerprint(cc configs.Connector) string {
	var v any
	if err := cc.Settings.Decode(&v); err != nil {
		return cc.Type + "\x00!" + err.Error()
	}
	b, err := json.Marshal(v)
	if err != nil {
		return cc.Type + "\x00!" + err.Error()
	}
	return cc.Type + "\x00" + string(b)
}

// buildSet builds the connectors of cfg that keep is not given (keep holds
// running instances to reuse, by name). It returns every problem at once.
func buildSet(cfg *configs.Config, deps connectors.Deps, keep map[string]connectors.Connector) (*liveSet, error) {
	set := &liveSet{byName: map[string]connectors.Connector{}, prints: map[string]string{}}
	var problems []error
	for i, cc := range cfg.Connectors {
		c, ok := keep[cc.Name]
		if !ok {
			var err error
			if c, err = connectors.Build(cc.Type, cfg.ConnectorConfig(i, deps)); err != nil {
				problems = append(problems, fmt.Errorf("connector %s: %w", cc.Name, err))
				continue
			}
		}
		set.conns = append(set.conns, cc)
		set.byName[cc.Name] = c
		set.prints[cc.Name] = fingerprint(cc)
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	return set, nil
}

// sender is the inbox's lookup of a connector's sender: the live set.
func (m *Main) sender(name string) (inbox.Sender, bool) {
	c, ok := m.live.Load().byName[name]
	return c, ok
}

// webhook is the API's lookup of /webhooks/{name}: the live set.
func (m *Main) webhook(name string) (http.Handler, bool) {
	h, ok := m.live.Load().byName[name].(http.Handler)
	return h, ok
}

// Reload re-reads the configuration file, validates it fully (as
// `hub check-config` does) and applies its connectors section: new
// connectors start, removed ones stop after their work in flight, changed
// ones (type or settings) restart, unchanged ones keep running untouched. A
// change to teams is applied at once too (members and capacities). A
// change to any other section is not applied: it is reported as a warning
// (it needs a restart). An invalid file changes nothing: the error is
// invalid and lists every problem. Each outcome is logged and recorded on
// the event log (config.reloaded, config.rejected), without secrets.
func (m *Main) Reload(ctx context.Context) (models.ReloadView, error) {
	// Once begun, a reload completes even if the caller goes away.
	ctx = context.WithoutCancel(ctx)
	m.reloadMu.Lock()
	defer m.reloadMu.Unlock()
	if m.live.Load() == nil || m.runCtx == nil || m.runCtx.Err() != nil {
		return models.ReloadView{}, models.Errorf(models.EUNAVAILABLE, "the hub is not running")
	}
	file := m.Config.File()
	if file == "" {
		return models.ReloadView{}, models.Errorf(models.EINVALID, "the hub was started without a configuration file: there is nothing to reload")
	}
	cfg, err := configs.Load(file, nil)
	if err != nil {
		return models.ReloadView{}, m.reject(ctx, err)
	}
	old := m.live.Load()
	var v models.ReloadView
	keep := map[string]connectors.Connector{}
	inNew := map[string]bool{}
	for _, cc := range cfg.Connectors {
		inNew[cc.Name] = true
		p, was := old.prints[cc.Name]
		switch {
		case !was:
			v.Added = append(v.Added, cc.Name)
		case p != fingerprint(cc):
			v.Restarted = append(v.Restarted, cc.Name)
		default:
			v.Unchanged = append(v.Unchanged, cc.Name)
			keep[cc.Name] = old.byName[cc.Name]
		}
	}
	for _, cc := range old.conns {
		if !inNew[cc.Name] {
			v.Removed = append(v.Removed, cc.Name)
		}
	}
	// Connectors are built with the running server section (a changed
	// public_url is not applied).
	set, err := buildSet(cfg, m.deps, keep)
	if err != nil {
		return models.ReloadView{}, m.reject(ctx, err)
	}
	v.Warnings = restartWarnings(m.Config, cfg)

	// The removed and the changed stop first (after their work in flight):
	// two instances must never poll one bot at once.
	stopped := append(append([]string(nil), v.Removed...), v.Restarted...)
	for _, name := range stopped {
		sctx, cancel := context.WithTimeout(ctx, stopTimeout)
		m.supervisor.Stop(sctx, name)
		cancel()
	}
	m.live.Store(set)
	m.Inbox.SetConnectors(set.info())
	// Teams apply at once: GET /agents and assignment read them per use.
	if teams := cfg.TeamList(); !reflect.DeepEqual(m.Inbox.Teams(), teams) {
		m.Inbox.SetTeams(teams)
		m.Logger.Info("teams applied", "file", file, "teams", len(teams))
	}
	m.api.SetChannels(channelViews(cfg.Connectors))
	m.Connectors = set.list()
	for _, name := range stopped {
		if s, ok := old.byName[name].(connectors.Shutdowner); ok {
			if err := s.Close(); err != nil {
				m.Logger.Warn("close connector", "connector", name, "err", err)
			}
		}
	}
	for _, cc := range set.conns {
		if _, kept := keep[cc.Name]; kept {
			continue
		}
		if err := m.supervisor.Start(m.runCtx, set.byName[cc.Name], cc.Type); err != nil {
			m.Logger.Error("start connector", "connector", cc.Name, "err", err)
		}
	}

	for _, l := range []*[]string{&v.Added, &v.Removed, &v.Restarted, &v.Unchanged, &v.Warnings} {
		if *l == nil {
			*l = []string{}
		}
		sort.Strings(*l)
	}
	m.Logger.Info("configuration reloaded", "file", file, "added", v.Added, "removed", v.Removed,
		"restarted", v.Restarted, "unchanged", v.Unchanged)
	for _, w := range v.Warnings {
		m.Logger.Warn("configuration change not applied", "file", file, "change", w)
	}
	if err := m.Inbox.RecordEvent(ctx, models.EventTypeConfigReloaded, v); err != nil {
		m.Logger.Error("record config.reloaded", "err", err)
	}
	return v, nil
}

// reject logs and records a refused reload and returns the invalid error
// listing every problem. Problems never carry a secret's value.
func (m *Main) reject(ctx context.Context, err error) error {
	var problems []string
	for _, line := range strings.Split(err.Error(), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			problems = append(problems, line)
		}
	}
	m.Logger.Warn("configuration reload refused; nothing was changed", "problems", problems)
	if rerr := m.Inbox.RecordEvent(ctx, models.EventTypeConfigRejected, map[string]any{"problems": problems}); rerr != nil {
		m.Logger.Error("record config.rejected", "err", rerr)
	}
	return models.Errorf(models.EINVALID, "the configuration file is invalid; nothing was changed:\n%s", strings.Join(problems, "\n"))
}

// restartWarnings names every key outside connectors that differs between
// the running configuration and the file: those need a restart. Values are
// never shown (the database DSN is a secret).
func restartWarnings(running, file *configs.Config) []string {
	var out []string
	for _, sec := range []struct {
		name string
		a, b any
	}{{"server", running.Server, file.Server}, {"database", running.Database, file.Database}, {"bot", running.Bot, file.Bot},
		{"media", running.Media, file.Media}, {"monitoring", running.Monitoring, file.Monitoring},
		{"assignment", running.Assignment, file.Assignment}} {
		a, b := reflect.ValueOf(sec.a), reflect.ValueOf(sec.b)
		for i := range a.NumField() {
			f := a.Type().Field(i)
			if !f.IsExported() || reflect.DeepEqual(a.Field(i).Interface(), b.Field(i).Interface()) {
				continue
			}
			key, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if key == "" {
				key = strings.ToLower(f.Name)
			}
			out = append(out, sec.name+"."+key+" changed; it is not applied until the hub restarts")
		}
	}
	if !reflect.DeepEqual(running.BusinessHours, file.BusinessHours) {
		out = append(out, "business_hours changed; it is not applied until the hub restarts")
	}
	if !reflect.DeepEqual(running.Routing, file.Routing) {
		out = append(out, "routing changed; it is not applied until the hub restarts")
	}
	if !reflect.DeepEqual(running.SLA, file.SLA) {
		out = append(out, "sla changed; it is not applied until the hub restarts")
	}
	// Teams' members and capacities are applied by Reload; their hours and
	// the default team are not.
	if running.DefaultTeam != file.DefaultTeam {
		out = append(out, "default_team changed; it is not applied until the hub restarts")
	}
	if !reflect.DeepEqual(teamHours(running), teamHours(file)) {
		out = append(out, "teams' business_hours changed; they are not applied until the hub restarts")
	}
	return out
}

// teamHours maps each team to its own business hours (nil: the global).
func teamHours(c *configs.Config) map[string]any {
	out := map[string]any{}
	for _, t := range c.Teams {
		if t.BusinessHours != nil {
			out[t.Name] = *t.BusinessHours
		}
	}
	return out
}

// reloadOnSignal reloads the configuration each time sig delivers, until ctx
// ends. `hub serve` feeds it SIGHUP.
func (m *Main) reloadOnSignal(ctx context.Context, sig <-chan os.Signal) {
	for {
		select {
		case <-ctx.Done():
			return
		case s := <-sig:
			m.Logger.Info("reloading the configuration", "signal", s.String())
			if _, err := m.Reload(ctx); err != nil {
				m.Logger.Error("configuration reload failed", "err", err)
			}
		}
	}
}
