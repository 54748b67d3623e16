// Package connectors defines what a platform connector is, the registry of
// connector types, and the supervisor that runs connectors and restarts them
// with backoff when they stop.
//
// A connector type is one package that calls Register in its init function,
// naming its type, its channel and the channel's title. Its settings are
// decoded strictly into its own struct; construction does no I/O (so
// `hub check-config` can build every connector); Run does the I/O. What a
// platform can do beyond Run and Send is told by the capability interfaces
// in this package (WebhookHandler, ReplyWindower, DeepLinker, QRCoder,
// DMTarget, Languager, ProgressReporter, Shutdowner, FileDownloader,
// FileUploader, FileChecker), each asserted at
// compile time in the connector's package. Package media fetches agents'
// attachments for connectors that must upload them (Deps.Media).
// Package kit holds what connector packages share (text splitting, base
// URLs, webhook error replies); internal/backoff the retry waits.
package connectors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tongdao/hub/connectors/media"
	"github.com/tongdao/hub/models"
)

// Connector is one configured platform account.
type Connector interface {
	// Name is the configured connector name.
	Name() string
	// Run connects to the platform and hands every inbound to sink. It blocks
	// until ctx ends (returning nil) or the connection fails for good.
	Run(ctx context.Context, sink Sink) error
	// Send delivers one outbound message. Refusals are *models.DeliveryError.
	Send(ctx context.Context, out models.Outbound) (models.SendResult, error)
}

// Sink receives normalized inbound messages. It returns only after the
// message is durably committed; a connector acknowledges the platform after.
type Sink interface {
	Ingest(ctx context.Context, in models.Inbound) (models.IngestResult, error)
}

// SinkFunc adapts a function to Sink.
type SinkFunc func(ctx context.Context, in models.Inbound) (models.IngestResult, error)

// Ingest calls f.
func (f SinkFunc) Ingest(ctx context.Context, in models.Inbound) (models.IngestResult, error) {
	return f(ctx, in)
}

// WebhookHandler is implemented by connectors that receive pushes over HTTP.
// The hub mounts the handler at /webhooks/{name}. The handler must answer 503
// until Run has been given its sink.
type WebhookHandler interface {
	Connector
	http.Handler
}

// Languager is implemented by connectors whose platform tells in which
// languages to answer a customer whose own language is unknown (WeChat
// gives no language with a message: Chinese, then English).
type Languager interface {
	DefaultLanguages() []string
}

// Shutdowner is implemented by connectors that hold resources to release.
type Shutdowner interface {
	Close() error
}

// KV is a small shared store with expiry, backed by the database so that
// several hub replicas share state (a WeChat access token, the nonces of
// recent pushes).
type KV interface {
	// Get returns the value, or ok=false when missing or expired.
	Get(ctx context.Context, key string) (value string, ok bool, err error)
	// Set stores value under key for ttl, replacing any value.
	Set(ctx context.Context, key, value string, ttl time.Duration) error
	// Add stores value under key for ttl only if key holds no live value
	// (an expired one counts as absent), and reports whether it did. It is
	// atomic across every replica sharing the store: of concurrent Adds of
	// one key, exactly one returns added=true. ttl must be positive.
	Add(ctx context.Context, key, value string, ttl time.Duration) (added bool, err error)
}

// Deps are what the hub gives every connector at construction.
type Deps struct {
	Logger *slog.Logger
	// Now is the clock; connectors never call time.Now directly.
	Now func() time.Time
	// PublicURL is the hub's public base URL (for registering webhooks).
	PublicURL string
	// KV is shared state (may be nil in check-config).
	KV KV
	// Media fetches agents' attachments by URL, refusing non-public
	// addresses unless the configuration allows them (nil: a strict
	// fetcher with the defaults).
	Media *media.Fetcher
}

// Config is one connector's configuration as given to a Factory.
type Config struct {
	Name string
	// Decode decodes the connector's settings strictly into v: unknown keys are
	// errors naming their path.
	Decode func(v any) error
	Deps   Deps
}

// Factory builds a connector from its configuration without doing I/O. It
// returns every problem it finds (errors.Join) so check-config lists them all.
type Factory func(cfg Config) (Connector, error)

// Type describes a connector type for Register.
type Type struct {
	// Name is the connector type as written in the configuration
	// (connectors[].type), such as "telegram".
	Name string
	// Channel is the channel its messages carry (models.Inbound.Channel), as
	// shown and filtered in the API, such as "telegram". Several types may
	// share a channel (two ways to run a Telegram bot are one channel).
	Channel string
	// Title names the platform for customers and agents ("Telegram").
	Title string
	// Factory builds a connector of this type.
	Factory Factory
}

// Channel is a channel as listed by Channels.
type Channel struct {
	Name  string
	Title string
	// Types are the connector types that carry this channel, sorted.
	Types []string
}

// Registry holds connector types. The package-level functions use the
// hub's one registry; tests may make their own (the zero value is ready).
type Registry struct {
	mu    sync.RWMutex
	types map[string]Type
	// refused records registrations that were refused; Err reports them.
	refused []error
}

// registry is the hub's registry, filled by the connector packages' init.
var registry Registry

// validTypeName is the shape of a connector type and channel name.
var validTypeName = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)

// Register makes a connector type available in the hub's registry. A
// connector package calls it in its init function; see Registry.Register.
func Register(t Type) { registry.Register(t) }

// Err reports every refused registration of the hub's registry.
func Err() error { return registry.Err() }

// Lookup returns the type named typ in the hub's registry.
func Lookup(typ string) (Type, bool) { return registry.Lookup(typ) }

// Types lists the type names of the hub's registry, sorted.
func Types() []string { return registry.Types() }

// Channels lists the channels of the hub's registry, sorted by name.
func Channels() []Channel { return registry.Channels() }

// Register adds a connector type. A registration with an empty or malformed
// name or channel, an empty title, no factory, a name taken already, or a
// channel registered under another title is refused and recorded: Err
// reports it, and Build of any type fails with it, so the hub does not start
// with a half-registered set.
func (r *Registry) Register(t Type) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.check(t); err != nil {
		r.refused = append(r.refused, err)
		return
	}
	if r.types == nil {
		r.types = map[string]Type{}
	}
	r.types[t.Name] = t
}

// check validates a registration; r.mu is held.
func (r *Registry) check(t Type) error {
	switch {
	case !validTypeName.MatchString(t.Name):
		return fmt.Errorf("connectors: Register: type name %q must be 1-32 characters of a-z 0-9 _ -, starting with a letter", t.Name)
	case !validTypeName.MatchString(t.Channel):
		return fmt.Errorf("connectors: Register(%q): channel %q must be 1-32 characters of a-z 0-9 _ -, starting with a letter", t.Name, t.Channel)
	case strings.TrimSpace(t.Title) == "":
		return fmt.Errorf("connectors: Register(%q): title is required", t.Name)
	case t.Factory == nil:
		return fmt.Errorf("connectors: Register(%q): factory is required", t.Name)
	}
	if _, dup := r.types[t.Name]; dup {
		return fmt.Errorf("connectors: Register(%q): type registered twice", t.Name)
	}
	for _, o := range r.types {
		if o.Channel == t.Channel && o.Title != t.Title {
			return fmt.Errorf("connectors: Register(%q): channel %q is titled %q by type %q, not %q", t.Name, t.Channel, o.Title, o.Name, t.Title)
		}
	}
	return nil
}

// Err reports every refused registration (nil when there was none). The
// hub checks it before building connectors.
func (r *Registry) Err() error {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return errors.Join(r.refused...)
}

// Lookup returns the registered type named typ.
func (r *Registry) Lookup(typ string) (Type, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	t, ok := r.types[typ]
	return t, ok
}

// Types lists the registered connector type names, sorted.
func (r *Registry) Types() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.types))
	for t := range r.types {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// Channels lists the channels of the registered types, sorted by name.
func (r *Registry) Channels() []Channel {
	r.mu.RLock()
	defer r.mu.RUnlock()
	byName := map[string]*Channel{}
	for _, t := range r.types {
		ch := byName[t.Channel]
		if ch == nil {
			ch = &Channel{Name: t.Channel, Title: t.Title}
			byName[t.Channel] = ch
		}
		ch.Types = append(ch.Types, t.Name)
	}
	out := make([]Channel, 0, len(byName))
	for _, ch := range byName {
		sort.Strings(ch.Types)
		out = append(out, *ch)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Build constructs a connector of type typ from the hub's registry.
func Build(typ string, cfg Config) (Connector, error) { return registry.Build(typ, cfg) }

// Build constructs a connector of type typ. It fails when a registration
// was refused (see Err), so a half-registered hub does not start.
func (r *Registry) Build(typ string, cfg Config) (Connector, error) {
	if err := r.Err(); err != nil {
		return nil, err
	}
	t, ok := r.Lookup(typ)
	if !ok {
		return nil, fmt.Errorf("unknown connector type %q (known: %v)", typ, r.Types())
	}
	if cfg.Deps.Logger == nil {
		cfg.Deps.Logger = slog.Default()
	}
	if cfg.Deps.Now == nil {
		cfg.Deps.Now = time.Now
	}
	cfg.Deps.Logger = cfg.Deps.Logger.With("connector", cfg.Name)
	return t.Factory(cfg)
}

// Capabilities: what a platform can do beyond Run and Send. The hub asks for
// them by type assertion; each connector package asserts the ones it
// implements at compile time, e.g. var _ connectors.DeepLinker = (*Connector)(nil).

// ReplyWindower is implemented by connectors whose platform lets the
// business answer only for a while after the customer's last message. WeChat
// Official Accounts: customer-service messages are accepted for 48 hours
// after the customer last wrote (and followed, scanned or clicked a menu);
// after that the API refuses them (45015). The inbox refuses an agent reply
// outside the window at once and shows each identity's reply_until.
type ReplyWindower interface {
	// ReplyWindow is the length of the window; it does not change while the
	// hub runs.
	ReplyWindow() time.Duration
}

// DeepLinker is implemented by connectors whose platform has links that open
// the chat with the bot carrying a payload. Telegram: https://t.me/<bot>?start=<payload>
// sends "/start <payload>" to the bot; the payload is 1-64 characters of
// A-Z a-z 0-9 _ -. Linking offers such a link to hand a customer over.
type DeepLinker interface {
	// DeepLink returns the link, or "" when it cannot be made yet (the bot's
	// username is not known) or the payload breaks the platform's rule.
	DeepLink(payload string) string
}

// QRCoder is implemented by connectors whose platform makes temporary QR
// codes that carry a scene to the bot when scanned. WeChat: a temporary QR
// code lives 60 s to 30 days and carries a scene string of 1-64 characters;
// a scan (or a follow by scan) is pushed as an event with that scene, which
// the connector hands on as the Inbound's Payload.
type QRCoder interface {
	// TempQRCode creates a QR code carrying scene for ttl (clamped to the
	// platform's range) and returns the URL of its image. It does I/O.
	TempQRCode(ctx context.Context, scene string, ttl time.Duration) (string, error)
}

// DMTarget is implemented by connectors whose customers can find the bot by
// name and write to it first, but whom the bot cannot reach first. Discord:
// a bot cannot open a DM with a user who shares no server with it, so
// customers DM the bot ("@name") a code instead.
type DMTarget interface {
	// BotName is the name customers search for, or "" when not known yet
	// (before the first connection).
	BotName() string
}
