// Package connectors defines what a platform connector is, the registry of
// connector types, and the supervisor that runs connectors and restarts them
// with backoff when they stop.
//
// A connector type is one package that calls Register in its init function.
// Its settings are decoded strictly into its own struct; construction does no
// I/O (so `hub check-config` can build every connector); Run does the I/O.
package connectors

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
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

var (
	registryMu sync.RWMutex
	registry   = map[string]Factory{}
)

// Register makes a connector type available under typ. It panics on an empty
// or duplicate name, as a programming error found at init.
func Register(typ string, f Factory) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if typ == "" || f == nil {
		panic("connectors: Register with empty type or nil factory")
	}
	if _, dup := registry[typ]; dup {
		panic("connectors: Register called twice for type " + typ)
	}
	registry[typ] = f
}

// Lookup returns the factory registered for typ.
func Lookup(typ string) (Factory, bool) {
	registryMu.RLock()
	defer registryMu.RUnlock()
	f, ok := registry[typ]
	return f, ok
}

// Types lists the registered connector types, sorted.
func Types() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	out := make([]string, 0, len(registry))
	for t := range registry {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// Build constructs a connector of type typ.
func Build(typ string, cfg Config) (Connector, error) {
	f, ok := Lookup(typ)
	if !ok {
		return nil, fmt.Errorf("unknown connector type %q (known: %v)", typ, Types())
	}
	if cfg.Deps.Logger == nil {
		cfg.Deps.Logger = slog.Default()
	}
	if cfg.Deps.Now == nil {
		cfg.Deps.Now = time.Now
	}
	cfg.Deps.Logger = cfg.Deps.Logger.With("connector", cfg.Name)
	return f(cfg)
}
