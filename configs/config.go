package configs

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/tongdao/hub/inbox/faq"
	"github.com/tongdao/hub/inbox/hours"
	"github.com/tongdao/hub/inbox/routing"
)

// Built-in defaults, used for keys a file leaves out and when there is no
// file at all.
const (
	// DefaultFile is the file `hub serve` reads when --config is not given
	// and the file exists.
	DefaultFile = "configs/hub.yaml"
	// DefaultListen is the default server.listen.
	DefaultListen = "127.0.0.1:8080"
	// DefaultDriver is the default database.driver.
	DefaultDriver = DriverSQLite
	// DefaultSQLiteDSN is the default database.dsn for SQLite.
	DefaultSQLiteDSN = "data/hub.db"

	// Server limits (server.*) against slow or greedy clients.
	DefaultReadHeaderTimeout       = 10 * time.Second
	DefaultBodyTimeout             = 15 * time.Second
	DefaultWriteTimeout            = 30 * time.Second
	DefaultIdleTimeout             = 2 * time.Minute
	DefaultMaxEventStreams         = 1000
	DefaultMaxEventStreamsPerToken = 8
)

// Database drivers.
const (
	// DriverSQLite is the embedded SQLite database, the default.
	DriverSQLite = "sqlite"
	// DriverPostgres is PostgreSQL, for several replicas and larger teams.
	DriverPostgres = "postgres"
)

// redactedValue replaces secrets in Redacted and in problem messages.
const redactedValue = "[redacted]"

// Config is the whole hub configuration, as read from YAML.
type Config struct {
	// Server is the HTTP server: the agent API, the console and webhooks.
	Server Server `yaml:"server"`
	// Database is where conversations, messages and tokens are stored.
	Database Database `yaml:"database"`
	// Connectors are the platform accounts the hub serves. Each has a
	// unique name and a type; its settings depend on the type.
	Connectors []Connector `yaml:"connectors"`
	// Bot configures what the hub says to customers.
	Bot Bot `yaml:"bot"`
	// BusinessHours are when agents work (optional: without it agents are
	// always in). Outside them the bot says when agents are back.
	BusinessHours *hours.Config `yaml:"business_hours"`
	// SLA are the service-level policies, one per priority: how long a
	// first response, a next response and the resolution may take, counted
	// in business hours, and whom a breach escalates to.
	SLA []SLAPolicy `yaml:"sla"`
	// Media configures how the hub fetches files agents attach by URL.
	Media Media `yaml:"media"`
	// Monitoring protects /metrics and the detail of /readyz, and says how
	// long a connector may go without progress before the hub is not ready.
	Monitoring Monitoring `yaml:"monitoring"`

	// Agents and teams (teams.go).
	// Teams are the agents' teams: members (API token names), capacity and
	// optional business hours.
	Teams []Team `yaml:"teams"`
	// DefaultTeam is the team of conversations no routing rule places
	// (optional; must name a team).
	DefaultTeam string `yaml:"default_team"`
	// Routing are the rules that route each new conversation, in order: the
	// first whose conditions all match the opening message sets its team,
	// priority and labels (routing.go).
	Routing []routing.Rule `yaml:"routing"`
	// Assignment configures automatic assignment.
	Assignment Assignment `yaml:"assignment"`

	file string
	info *loadInfo
}

// Assignment configures automatic assignment of conversations to the
// online members of their team.
type Assignment struct {
	// OfflineGrace is how long an agent may be offline before their
	// unanswered conversations (no agent reply yet) go back to their team's
	// queue (default 5m; at least 10s).
	OfflineGrace time.Duration `yaml:"offline_grace"`
}

// Server configures the HTTP server.
type Server struct {
	// Listen is the host:port the server listens on, by default
	// 127.0.0.1:8080. Use ":8080" to listen on every interface.
	Listen string `yaml:"listen"`
	// PublicURL is the absolute http(s) URL at which the platforms and the
	// agents reach this hub, such as https://support.example.com. Connectors
	// register their webhooks under it. It may be empty while no connector
	// needs webhooks.
	PublicURL string `yaml:"public_url"`
	// ReadHeaderTimeout is how long a client may take to send a request's
	// headers (default 10s).
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	// BodyTimeout is how long a client may take to send a request body,
	// webhooks and API alike, counted from the end of the headers (default
	// 15s). A client trickling a body is cut off.
	BodyTimeout time.Duration `yaml:"body_timeout"`
	// WriteTimeout is how long the hub may take to write a response
	// (default 30s). Event streams have no read or write deadline.
	WriteTimeout time.Duration `yaml:"write_timeout"`
	// IdleTimeout is how long an idle keep-alive connection stays open
	// (default 2m).
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// MaxEventStreams caps concurrent event streams (GET /api/v1/events) in
	// total (default 1000) and MaxEventStreamsPerToken per API token
	// (default 8); beyond, the stream is refused with 429.
	MaxEventStreams         int `yaml:"max_event_streams"`
	MaxEventStreamsPerToken int `yaml:"max_event_streams_per_token"`
}

// Database configures the store.
type Database struct {
	// Driver is sqlite (the default) or postgres.
	Driver string `yaml:"driver"`
	// DSN is the data source: a file path for SQLite (by default
	// data/hub.db), a connection URL or key=value string for PostgreSQL
	// (required). It is a secret: never logged, never shown in problems.
	DSN string `yaml:"dsn"`
}

// Bot configures the texts customers read.
type Bot struct {
	// DefaultLanguage is the language of customers whose language is
	// unknown (neither their platform nor the script of their message tells
	// it, and their connector has no default): zh, en, it, or any language
	// whose every text is given under texts. Default en.
	DefaultLanguage string `yaml:"default_language"`
	// Texts overrides the built-in texts: language → text key → text, with
	// the placeholders each key allows (the README lists the keys).
	Texts map[string]map[string]string `yaml:"texts"`
	// FAQ is the knowledge base of the 7×24 answers, inline: entries with
	// an id, questions and keywords per language and an answer per
	// language (every entry answers in the default language).
	FAQ []faq.Entry `yaml:"faq"`
	// FAQFile is a YAML file holding more entries (a list, the shape of
	// faq), relative to the configuration file's directory.
	FAQFile string `yaml:"faq_file"`
	// FAQThreshold is the confidence, from 0 to 1, an FAQ answer needs
	// (default 0.5: at least half of what the customer wrote is what the
	// entry is about); below it the bot hands over to a human.
	FAQThreshold *float64 `yaml:"faq_threshold"`
}

// DefaultFAQThreshold is bot.faq_threshold when it is not given.
const DefaultFAQThreshold = faq.DefaultThreshold

// Threshold returns bot.faq_threshold or its default.
func (b Bot) Threshold() float64 {
	if b.FAQThreshold == nil {
		return DefaultFAQThreshold
	}
	return *b.FAQThreshold
}

// Media configures the fetching of agents' attachments (an image given by
// URL that a connector must upload, as WeChat's does).
type Media struct {
	// AllowPrivateFetch lets attachment URLs point at loopback, private,
	// link-local and other non-public addresses. Off by default: an agent
	// could otherwise make the hub fetch from its own network (a metadata
	// service, an admin port). The sandbox turns it on, its stand-ins
	// listening on loopback.
	AllowPrivateFetch bool `yaml:"allow_private_fetch"`
	// FetchTimeout bounds one fetch, connecting, redirects and body
	// included: 1s to 2m, default 10s.
	FetchTimeout time.Duration `yaml:"fetch_timeout"`

	// The media store: customers' files fetched from their platform and
	// agents' uploads (issue 14).
	// Store is where the bytes are kept: "file:///data/media" (a local
	// directory) or "s3://bucket?endpoint=…&region=…" (any S3-compatible
	// store, for several replicas). Default: a directory "media" beside
	// the SQLite file (data/media with PostgreSQL).
	Store string `yaml:"store"`
	// MaxInboundMB is the largest customer's file the hub keeps, in MB
	// (default 20, Telegram's limit for bots; 1 to 2048).
	MaxInboundMB int `yaml:"max_inbound_mb"`
	// TypeLimitsMB lowers the limit for one type of file (image, audio,
	// video, file), in MB; each at most max_inbound_mb.
	TypeLimitsMB map[string]int `yaml:"type_limits_mb"`
	// MaxUploadMB is the largest file an agent may send, in MB (default
	// 20; 1 to 2048).
	MaxUploadMB int `yaml:"max_upload_mb"`
	// Retention is how long stored files are kept after their message
	// (Go duration, at least 24h); 0 or absent keeps them forever.
	Retention time.Duration `yaml:"retention"`
}

// Media limits' defaults.
const (
	DefaultMaxInboundMB = 20
	DefaultMaxUploadMB  = 20
	// DefaultMediaDir is the media directory with PostgreSQL.
	DefaultMediaDir = "data/media"
)

// MediaTypes are the kinds of file type_limits_mb may name.
var MediaTypes = []string{"image", "audio", "video", "file"}

// MediaStore is the media store URL: media.store, or the default (a
// directory "media" beside the SQLite file; data/media with PostgreSQL).
func (c *Config) MediaStore() string {
	if c.Media.Store != "" {
		return c.Media.Store
	}
	dir := DefaultMediaDir
	if c.Database.Driver == DriverSQLite && c.Database.DSN != "" {
		dsn := strings.TrimPrefix(c.Database.DSN, "file:")
		dsn, _, _ = strings.Cut(dsn, "?")
		if dsn != "" && dsn != ":memory:" {
			dir = filepath.Join(filepath.Dir(dsn), "media")
		}
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String()
}

// MaxInboundBytes is the limit of a customer's file of type typ (image,
// audio, video, file) in bytes.
func (m Media) MaxInboundBytes(typ string) int64 {
	mb := m.MaxInboundMB
	if mb <= 0 {
		mb = DefaultMaxInboundMB
	}
	if l, ok := m.TypeLimitsMB[typ]; ok && l > 0 && l < mb {
		mb = l
	}
	return int64(mb) << 20
}

// MaxUploadBytes is the largest agent's upload in bytes.
func (m Media) MaxUploadBytes() int64 {
	mb := m.MaxUploadMB
	if mb <= 0 {
		mb = DefaultMaxUploadMB
	}
	return int64(mb) << 20
}

// Monitoring configures /metrics and /readyz.
type Monitoring struct {
	// Token, when set, is required as "Authorization: Bearer <token>" for
	// /metrics and for the detail of /readyz (without it /readyz answers
	// its status code and status only). A secret. Default: none (open).
	Token string `yaml:"token"`
	// LoopbackOnly serves /metrics and the detail of /readyz only to
	// clients on loopback (as seen through server.trusted_proxies when
	// set). With Token also set, either suffices. Default false.
	LoopbackOnly bool `yaml:"loopback_only"`
	// StaleAfter is, per connector type, how long a connector that reports
	// its progress (Telegram in polling mode, Discord) may go without it
	// before /readyz answers 503. Defaults: telegram 2m, discord 3m; 0
	// turns the check off for that type.
	StaleAfter map[string]time.Duration `yaml:"stale_after"`
}

// Connector is one configured platform account.
type Connector struct {
	// Name identifies the connector in the API and in its webhook path
	// /webhooks/{name}: lower-case letters, digits, "-" and "_", starting
	// with a letter or digit, at most 63 characters, unique.
	Name string `yaml:"name"`
	// Type is the connector type, such as telegram, wechat or discord.
	Type string `yaml:"type"`
	// Settings are the type's own settings, decoded strictly by the
	// connector type through Decoder.
	Settings yaml.Node `yaml:"settings,omitempty"`

	info *loadInfo
}

// loadInfo is what Load learned about the YAML tree that the typed values do
// not carry: keys renamed from X_file to X, and values read from secret files.
type loadInfo struct {
	// origKey maps a key node renamed from X_file to its original name.
	origKey map[*yaml.Node]string
	// secretNode marks value nodes read from a secret file.
	secretNode map[*yaml.Node]bool
}

// Default returns the built-in configuration used when there is no file:
// SQLite at data/hub.db, listening on 127.0.0.1:8080, no connectors.
func Default() *Config {
	c := &Config{}
	applyDefaults(c)
	return c
}

// applyDefaults fills the keys a file left out or empty.
func applyDefaults(c *Config) {
	if c.Server.Listen == "" {
		c.Server.Listen = DefaultListen
	}
	defaultDuration(&c.Server.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	defaultDuration(&c.Server.BodyTimeout, DefaultBodyTimeout)
	defaultDuration(&c.Server.WriteTimeout, DefaultWriteTimeout)
	defaultDuration(&c.Server.IdleTimeout, DefaultIdleTimeout)
	if c.Server.MaxEventStreams == 0 {
		c.Server.MaxEventStreams = DefaultMaxEventStreams
	}
	if c.Server.MaxEventStreamsPerToken == 0 {
		c.Server.MaxEventStreamsPerToken = DefaultMaxEventStreamsPerToken
	}
	if c.Database.Driver == "" {
		c.Database.Driver = DefaultDriver
	}
	if c.Database.DSN == "" && c.Database.Driver == DriverSQLite {
		c.Database.DSN = DefaultSQLiteDSN
	}
}

func defaultDuration(d *time.Duration, def time.Duration) {
	if *d == 0 {
		*d = def
	}
}

// File returns the file the configuration was loaded from, or "" when it
// was built in code.
func (c *Config) File() string { return c.file }

// Decoder returns a function that strictly decodes the connector's settings
// into v, a non-nil pointer: unknown keys, repeated keys and values of the
// wrong type are Problems whose paths start with path, such as
// "connectors[1].settings". Missing settings leave v unchanged. It is what a
// connector factory receives as connectors.Config.Decode.
func (c Connector) Decoder(path string) func(v any) error {
	info := c.info
	settings := c.Settings
	return func(v any) error {
		return decodeStrict(&settings, v, path, info)
	}
}

// decodeStrict checks n against the type of v and decodes it when it is
// sound.
func decodeStrict(n *yaml.Node, v any, path string, info *loadInfo) error {
	rv := reflect.ValueOf(v)
	if !rv.IsValid() || rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("configs: decode %s: target must be a non-nil pointer, got %T", path, v)
	}
	if n == nil || n.Kind == 0 {
		return nil
	}
	ch := checker{info: info}
	ch.check(n, rv.Type().Elem(), path, 0)
	// Decode even when there are problems: yaml.v3 skips unknown keys and
	// mismatched values, so a factory that goes on validating sees the
	// values that are there instead of reporting them as missing.
	err := n.Decode(v)
	if len(ch.problems) > 0 {
		return ch.problems
	}
	if err != nil {
		return decodeProblems(err, path, n.Line)
	}
	return nil
}

// decodeProblems turns a yaml decode error into problems. The checker
// catches what it can first, so this is a fallback; the values yaml quotes
// in its messages are cut out, since they may be secrets.
func decodeProblems(err error, path string, line int) Problems {
	var te *yaml.TypeError
	msgs := []string{err.Error()}
	if errors.As(err, &te) {
		msgs = te.Errors
	}
	out := make(Problems, 0, len(msgs))
	for _, m := range msgs {
		m = strings.TrimPrefix(m, "yaml: ")
		m = quotedValue.ReplaceAllString(m, "value")
		out = append(out, Problem{Line: line, Path: path, Message: m})
	}
	return out
}

// Redacted returns a deep copy of c with every secret masked: database.dsn
// (a PostgreSQL URL keeps its host and database), settings whose key is
// token, secret, password, dsn or key or ends with one of these, and every
// value read from a *_file key. Use it to log the effective configuration.
func (c *Config) Redacted() *Config {
	r := *c
	r.Database.DSN = redactDSN(c.Database.Driver, c.Database.DSN)
	if r.Monitoring.Token != "" {
		r.Monitoring.Token = redactedValue
	}
	r.Connectors = make([]Connector, len(c.Connectors))
	for i, conn := range c.Connectors {
		conn.Settings = *redactNode(&conn.Settings, c.info, false)
		r.Connectors[i] = conn
	}
	return &r
}

// String renders the effective configuration as YAML with secrets masked.
func (c *Config) String() string {
	var b strings.Builder
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(c.Redacted()); err != nil {
		return fmt.Sprintf("<configuration: %v>", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Sprintf("<configuration: %v>", err)
	}
	return b.String()
}

// LogValue logs the configuration with secrets masked, whatever the
// handler.
func (c *Config) LogValue() slog.Value { return slog.StringValue(c.String()) }

var _ slog.LogValuer = (*Config)(nil)

func redactDSN(driver, dsn string) string {
	if dsn == "" || driver == DriverSQLite {
		// A SQLite DSN is a file path; its options carry no credentials.
		return dsn
	}
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return redactedValue
	}
	u.RawQuery = ""
	u.Fragment = ""
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
	}
	return u.String()
}

// redactNode deep-copies n, masking scalar values under secret keys.
func redactNode(n *yaml.Node, info *loadInfo, secret bool) *yaml.Node {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		return redactNode(n.Alias, info, secret)
	}
	cp := *n
	cp.HeadComment, cp.LineComment, cp.FootComment = "", "", ""
	if n.Kind == yaml.ScalarNode {
		if (secret || (info != nil && info.secretNode[n])) && n.Value != "" && n.ShortTag() != "!!null" {
			cp.Value = redactedValue
			cp.Tag = "!!str"
			cp.Style = 0
		}
		return &cp
	}
	cp.Content = make([]*yaml.Node, len(n.Content))
	for i, child := range n.Content {
		childSecret := secret
		if n.Kind == yaml.MappingNode && i%2 == 1 {
			childSecret = secret || isSecretKey(n.Content[i-1].Value)
		}
		cp.Content[i] = redactNode(child, info, childSecret)
	}
	return &cp
}

// secretSuffixes are the key names (and endings) whose values are secrets.
var secretSuffixes = []string{"token", "secret", "password", "dsn", "key"}

// isSecretKey reports whether a key's value is a secret.
func isSecretKey(key string) bool {
	k := strings.ToLower(key)
	for _, s := range secretSuffixes {
		if strings.HasSuffix(k, s) {
			return true
		}
	}
	return false
}

// minMaskedLen is the shortest secret masked inside messages; shorter ones
// would garble ordinary words and guard nothing.
const minMaskedLen = 4

// secretValues collects the secret values of c, to mask them in messages.
func secretValues(c *Config) []string {
	var out []string
	add := func(s string) {
		if len(s) >= minMaskedLen {
			out = append(out, s)
		}
	}
	add(c.Database.DSN)
	add(c.Monitoring.Token)
	for i := range c.Connectors {
		collectSecrets(&c.Connectors[i].Settings, c.info, false, add, 0)
	}
	return out
}

func collectSecrets(n *yaml.Node, info *loadInfo, secret bool, add func(string), depth int) {
	if n == nil || depth > maxDepth {
		return
	}
	switch n.Kind {
	case yaml.ScalarNode:
		if secret || (info != nil && info.secretNode[n]) {
			add(n.Value)
		}
	case yaml.AliasNode:
		collectSecrets(n.Alias, info, secret, add, depth+1)
	default:
		for i, child := range n.Content {
			childSecret := secret
			if n.Kind == yaml.MappingNode && i%2 == 1 {
				childSecret = secret || isSecretKey(n.Content[i-1].Value)
			}
			collectSecrets(child, info, childSecret, add, depth+1)
		}
	}
}

// maskSecrets replaces every secret occurring in msg.
func maskSecrets(msg string, secrets []string) string {
	for _, s := range secrets {
		if len(s) >= minMaskedLen && strings.Contains(msg, s) {
			msg = strings.ReplaceAll(msg, s, redactedValue)
		}
	}
	return msg
}
