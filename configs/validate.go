package configs

import (
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tongdao/hub/connectors"
	"github.com/tongdao/hub/inbox/texts"
)

// connectorName is what a connector name may be: it appears in the webhook
// path /webhooks/{name}.
var connectorName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// Validate checks the values of c, collecting every problem: listen is
// host:port, public_url an absolute http(s) URL without query, the database
// driver known and its DSN given, connector names valid and unique, types
// registered; then each connector type validates its own settings, through
// connectors.Build with no shared KV. It returns Problems, or nil.
func Validate(c *Config) error {
	var ps Problems
	add := func(path, format string, args ...any) {
		ps = append(ps, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
	}

	if msg := checkListen(c.Server.Listen); msg != "" {
		add("server.listen", "%s", msg)
	}
	if msg := checkPublicURL(c.Server.PublicURL); msg != "" {
		add("server.public_url", "%s", msg)
	}
	for _, d := range []struct {
		key string
		v   time.Duration
	}{
		{"read_header_timeout", c.Server.ReadHeaderTimeout},
		{"body_timeout", c.Server.BodyTimeout},
		{"write_timeout", c.Server.WriteTimeout},
		{"idle_timeout", c.Server.IdleTimeout},
	} {
		if d.v < 0 {
			add("server."+d.key, "must be a positive duration such as 30s, not %s", d.v)
		}
	}
	if c.Server.MaxEventStreams < 0 {
		add("server.max_event_streams", "must be a positive number, not %d", c.Server.MaxEventStreams)
	}
	if n := c.Server.MaxEventStreamsPerToken; n < 0 {
		add("server.max_event_streams_per_token", "must be a positive number, not %d", n)
	} else if n > c.Server.MaxEventStreams && c.Server.MaxEventStreams > 0 {
		add("server.max_event_streams_per_token", "%d is more than server.max_event_streams (%d)", n, c.Server.MaxEventStreams)
	}

	switch c.Database.Driver {
	case DriverSQLite, DriverPostgres:
		if c.Database.DSN == "" {
			add("database.dsn", "is required with driver %s", c.Database.Driver)
		}
	case "":
		add("database.driver", "is required (sqlite or postgres)")
	default:
		add("database.driver", "unknown driver %q (known: sqlite, postgres)", c.Database.Driver)
	}

	for _, p := range texts.Check(c.Bot.DefaultLanguage, c.Bot.Texts) {
		path, msg, _ := strings.Cut(p, ": ")
		add("bot."+path, "%s", msg)
	}

	_, fps := c.buildFAQ()
	ps = append(ps, fps...)
	_, hps := c.buildHours()
	ps = append(ps, hps...)
	_, sps := c.buildSLA()
	ps = append(ps, sps...)
	ps = append(ps, c.checkTeams()...)
	ps = append(ps, c.checkRouting()...)
	if g := c.Assignment.OfflineGrace; g != 0 && (g < 10*time.Second || g > 24*time.Hour) {
		add("assignment.offline_grace", "%s is out of range: use 10s to 24h (default 5m)", g)
	}
	if t := c.Media.FetchTimeout; t != 0 && (t < time.Second || t > 2*time.Minute) {
		add("media.fetch_timeout", "%s is out of range: use 1s to 2m", t)
	}
	ps = append(ps, c.checkMedia()...)
	if c.Monitoring.Token != "" && len(strings.TrimSpace(c.Monitoring.Token)) < 16 {
		add("monitoring.token", "is too short: use at least 16 characters")
	}
	for _, typ := range sortedKeys(c.Monitoring.StaleAfter) {
		if _, ok := connectors.Lookup(typ); !ok {
			add("monitoring.stale_after."+typ, "unknown connector type %q (known: %s)", typ, knownTypes())
		} else if d := c.Monitoring.StaleAfter[typ]; d < 0 || (d > 0 && d < 30*time.Second) {
			add("monitoring.stale_after."+typ, "%s is too short: use 0 (no check) or at least 30s", d)
		}
	}

	firstUse := map[string]int{}
	deps := connectors.Deps{
		Logger:    slog.New(slog.DiscardHandler),
		Now:       time.Now,
		PublicURL: c.Server.PublicURL,
	}
	for i, conn := range c.Connectors {
		base := fmt.Sprintf("connectors[%d]", i)
		switch {
		case conn.Name == "":
			add(base+".name", "is required")
		case !connectorName.MatchString(conn.Name):
			add(base+".name", "%q is not a valid name: use 1 to 63 lower-case letters, digits, - and _, starting with a letter or digit (it appears in the webhook path)", conn.Name)
		default:
			if first, dup := firstUse[conn.Name]; dup {
				add(base+".name", "duplicate connector name %q (also connectors[%d])", conn.Name, first)
			} else {
				firstUse[conn.Name] = i
			}
		}
		if conn.Type == "" {
			add(base+".type", "is required (known: %s)", knownTypes())
			continue
		}
		if _, ok := connectors.Lookup(conn.Type); !ok {
			add(base+".type", "unknown connector type %q (known: %s)", conn.Type, knownTypes())
			continue
		}
		built, err := connectors.Build(conn.Type, c.ConnectorConfig(i, deps))
		if err != nil {
			ps = append(ps, problemsOf(err, base+".settings")...)
		}
		if closer, ok := built.(connectors.Shutdowner); ok {
			_ = closer.Close() // construction does no I/O; nothing to report
		}
	}
	if len(ps) == 0 {
		return nil
	}
	return ps.finish(c.file, secretValues(c))
}

// ConnectorConfig returns what connectors.Build needs to build the i-th
// connector with deps; its Decode reports problems under
// "connectors[i].settings".
func (c *Config) ConnectorConfig(i int, deps connectors.Deps) connectors.Config {
	conn := c.Connectors[i]
	return connectors.Config{
		Name:   conn.Name,
		Decode: conn.Decoder(fmt.Sprintf("connectors[%d].settings", i)),
		Deps:   deps,
	}
}

func knownTypes() string {
	types := connectors.Types()
	if len(types) == 0 {
		return "none registered"
	}
	return strings.Join(types, ", ")
}

// checkListen returns what is wrong with a listen address, or "".
func checkListen(listen string) string {
	if listen == "" {
		return "is required (host:port, such as 127.0.0.1:8080)"
	}
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return fmt.Sprintf("%q is not host:port (such as 127.0.0.1:8080, or :8080 for every interface)", listen)
	}
	if strings.ContainsAny(host, " /") {
		return fmt.Sprintf("%q has an invalid host", listen)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Sprintf("%q has an invalid port (0 to 65535)", listen)
	}
	return ""
}

// checkPublicURL returns what is wrong with a public URL, or "". The value
// is not repeated: it might carry credentials.
func checkPublicURL(s string) string {
	if s == "" {
		return ""
	}
	const want = "must be an absolute http or https URL such as https://support.example.com"
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return want
	case u.Scheme != "http" && u.Scheme != "https":
		return want
	case u.Host == "" || u.Opaque != "":
		return want
	case u.User != nil:
		return "must not contain a user name or password"
	case u.RawQuery != "" || u.ForceQuery:
		return "must not have a query (?...)"
	case u.Fragment != "" || strings.Contains(s, "#"):
		return "must not have a fragment (#...)"
	}
	return ""
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
