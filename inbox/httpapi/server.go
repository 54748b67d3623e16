package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tongdao/hub/inbox/tail"
	"github.com/tongdao/hub/models"
)

// Defaults for Options left zero.
const (
	DefaultMaxBodyBytes      = 1 << 20
	DefaultHeartbeatInterval = 15 * time.Second
	// DefaultBodyTimeout bounds reading a request body (webhooks and API).
	DefaultBodyTimeout = 15 * time.Second
	// DefaultWriteTimeout bounds writing a response (event streams excepted).
	DefaultWriteTimeout = 30 * time.Second
	// DefaultMaxStreams and DefaultMaxStreamsPerToken cap concurrent event
	// streams in total and per API token.
	DefaultMaxStreams         = 1000
	DefaultMaxStreamsPerToken = 8
)

// Limits of the API, documented in openapi.json.
const (
	conversationsDefaultLimit = 25
	conversationsMaxLimit     = 100
	messagesDefaultLimit      = 50
	messagesMaxLimit          = 100
	maxCursorLen              = 512
	maxNameLen                = 200 // assignee, team (the store's column size)
	maxQueryLen               = 200 // runes of a text search
	maxReplyRunes             = 4096
	maxAttachments            = 10
	maxButtons                = 10
	maxButtonIDBytes          = 64 // Telegram callback_data
	maxButtonLabelRunes       = 80 // Discord button label
	readyTimeout              = 3 * time.Second
)

// Options configure the HTTP API. Inbox is required; everything else has a
// working default.
type Options struct {
	// Inbox serves the agent API.
	Inbox Inbox
	// Connectors reports connector states for /readyz (nil: none listed).
	Connectors ConnectorStates
	// Channels are the channels of the registered connector types with
	// their configured connectors, served by GET /api/v1/channels. The
	// conversations' channel filter accepts their names, and the served
	// OpenAPI document lists them as the ChannelName enum. Nil: none.
	Channels []models.ChannelView
	// Webhooks returns the webhook handler of the named connector, mounted at
	// GET and POST /webhooks/{name}. Those requests carry no bearer token:
	// each connector verifies its own platform's signature or secret. Nil
	// means no webhooks (every name answers 404).
	Webhooks func(name string) (http.Handler, bool)
	// Console is the web console, served for GET and HEAD requests whose path
	// matches no route and is not under /api/ or /webhooks/ (nil: 404).
	Console http.Handler
	// Logger receives one debug line per request (warn for 5xx answers) and
	// internal errors at error level. Authorization headers and bodies are
	// never logged. Nil means slog.Default().
	Logger *slog.Logger
	// Registry receives the HTTP metrics and is served at /metrics. Nil means
	// a fresh registry that also gets the Go and process collectors.
	Registry *prometheus.Registry
	// RuntimeMetrics registers the Go and process collectors in Registry as
	// well. Set it when Registry is fresh and nobody else registers them; it
	// is implied when Registry is nil.
	RuntimeMetrics bool
	// MaxBodyBytes limits request bodies, webhooks included (default 1 MiB).
	MaxBodyBytes int64
	// MaxUploadBytes limits each file of a multipart message (default 20
	// MiB; media.max_upload_mb).
	MaxUploadBytes int64
	// Now is the clock (default time.Now).
	Now func() time.Time
	// HeartbeatInterval is how often an idle event stream gets a keep-alive
	// comment (default 15 s).
	HeartbeatInterval time.Duration
	// Reload re-reads the configuration file and applies its connectors
	// section, for POST /api/v1/admin/reload (admins only). An invalid file
	// is an invalid error listing every problem. Nil: the route answers 503.
	Reload func(ctx context.Context) (models.ReloadView, error)
	// TrustedProxies lists the proxy addresses or CIDRs whose forwarding
	// headers are believed for the client IP. Default: none.
	TrustedProxies []string
	// BodyTimeout is how long a webhook or API request may take to send its
	// body, counted from the end of its headers (default 15 s): a client
	// that trickles a large body is cut off. Event streams have none.
	BodyTimeout time.Duration
	// WriteTimeout is how long the server may take to write a response,
	// counted from the end of the request's headers (default 30 s); event
	// streams have none.
	WriteTimeout time.Duration
	// MaxStreams caps concurrent event streams in total (default 1000), and
	// MaxStreamsPerToken per API token (default 8); beyond, 429.
	MaxStreams         int
	MaxStreamsPerToken int
	// EventRing is how many recent events the replica keeps in memory for
	// its event streams (default 4096); EventStreamBuffer is how many events
	// one stream may fall behind the newest before it is cut off (default
	// and at most EventRing). See package tail.
	EventRing         int
	EventStreamBuffer int
	// Monitoring protects /metrics and the detail of /readyz (zero: open).
	Monitoring Monitoring
}

// Server is the hub's HTTP API: the agent API under /api/v1, the webhook
// mount, health, readiness, metrics and the console.
type Server struct {
	engine     *gin.Engine
	inbox      Inbox
	connectors ConnectorStates
	channels   channelList
	// listed is what GET /channels serves: channels, or what SetChannels
	// gave after a reload.
	listed   atomic.Pointer[channelList]
	openapi  []byte
	webhooks func(name string) (http.Handler, bool)
	console  http.Handler
	log      *slog.Logger
	registry *prometheus.Registry
	metrics  *httpMetrics
	// observers caches the duration histogram's child per route template;
	// it is written only in New.
	observers map[string]prometheus.Observer
	maxBody   int64
	maxUpload int64
	now       func() time.Time
	heartbeat time.Duration
	// bodyTimeout and writeTimeout are the per-request connection deadlines.
	bodyTimeout  time.Duration
	writeTimeout time.Duration
	streams      *streamLimiter
	// tail reads the event log once for every event stream.
	tail *tail.Tailer
	// access is each route's access level, by "METHOD /path" (gin syntax);
	// it is written only in New.
	access map[string]string
	// reloadFn re-reads the configuration (POST /admin/reload).
	reloadFn func(ctx context.Context) (models.ReloadView, error)
	// monitoring protects /metrics and the detail of /readyz.
	monitoring Monitoring
}

var _ http.Handler = (*Server)(nil)

// New builds the API. It fails on invalid options (no Inbox, a malformed
// trusted proxy) or when the metrics cannot be registered.
func New(opts Options) (*Server, error) {
	if opts.Inbox == nil {
		return nil, errors.New("httpapi: Options.Inbox is required")
	}
	s := &Server{
		inbox:      opts.Inbox,
		connectors: opts.Connectors,
		webhooks:   opts.Webhooks,
		console:    opts.Console,
		log:        opts.Logger,
		registry:   opts.Registry,
		maxBody:    opts.MaxBodyBytes,
		maxUpload:  opts.MaxUploadBytes,
		now:        opts.Now,
		heartbeat:  opts.HeartbeatInterval,
		reloadFn:   opts.Reload,

		bodyTimeout:  opts.BodyTimeout,
		writeTimeout: opts.WriteTimeout,
		access:       map[string]string{},
		monitoring:   opts.Monitoring,
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	runtime := opts.RuntimeMetrics
	if s.registry == nil {
		s.registry = prometheus.NewRegistry()
		runtime = true
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBodyBytes
	}
	if s.maxUpload <= 0 {
		s.maxUpload = DefaultMaxUploadBytes
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.heartbeat <= 0 {
		s.heartbeat = DefaultHeartbeatInterval
	}
	if s.bodyTimeout <= 0 {
		s.bodyTimeout = DefaultBodyTimeout
	}
	if s.writeTimeout <= 0 {
		s.writeTimeout = DefaultWriteTimeout
	}
	maxStreams, perToken := opts.MaxStreams, opts.MaxStreamsPerToken
	if maxStreams <= 0 {
		maxStreams = DefaultMaxStreams
	}
	if perToken <= 0 {
		perToken = DefaultMaxStreamsPerToken
	}
	s.streams = newStreamLimiter(maxStreams, perToken)
	tailer, err := tail.New(tail.Options{Source: opts.Inbox, Encode: encodeFrame, Size: opts.EventRing,
		Buffer: opts.EventStreamBuffer, Logger: s.log})
	if err != nil {
		return nil, err
	}
	s.tail = tailer
	m, err := newHTTPMetrics(s.registry, runtime)
	if err != nil {
		return nil, err
	}
	s.metrics = m
	if s.channels, s.openapi, err = channelsOf(opts.Channels); err == nil {
		s.listed.Store(&s.channels)
	} else {
		return nil, err
	}

	// The mode is global to gin; release mode prints nothing at start.
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	if err := e.SetTrustedProxies(opts.TrustedProxies); err != nil {
		return nil, fmt.Errorf("httpapi: trusted proxies: %w", err)
	}
	e.HandleMethodNotAllowed = true
	// An API answers the path it was asked; no redirects to guessed paths.
	e.RedirectTrailingSlash = false
	e.RedirectFixedPath = false
	e.Use(s.instrument, gin.CustomRecoveryWithWriter(nil, s.recovered))
	e.Use(s.guardMonitoring)
	e.NoRoute(s.noRoute)
	e.NoMethod(s.noMethod)
	s.engine = e
	s.routes()

	s.observers = make(map[string]prometheus.Observer)
	for _, r := range e.Routes() {
		s.observers[r.Path] = s.metrics.duration.WithLabelValues(r.Path)
	}
	for _, r := range []string{routeUnmatched, routeConsole} {
		s.observers[r] = s.metrics.duration.WithLabelValues(r)
	}
	return s, nil
}

// Access levels of a route: who may call it.
const (
	// accessPublic needs no token (webhooks check their platform's own
	// signature or secret).
	accessPublic = "public"
	// accessAgent needs a valid token of any role (agent or admin).
	accessAgent = "agent"
	// accessAdmin needs an admin token; agents get 403 forbidden.
	accessAdmin = "admin"
)

// routes registers every route with its access level. The role and OpenAPI
// tests walk them: a route registered without a decision fails them.
func (s *Server) routes() {
	s.handle(http.MethodGet, "/healthz", accessPublic, s.healthz)
	s.handle(http.MethodGet, "/readyz", accessPublic, s.readyz)
	s.handle(http.MethodGet, "/metrics", accessPublic, gin.WrapH(promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{
		ErrorLog:      promLogger{s.log},
		ErrorHandling: promhttp.ContinueOnError,
	})))
	s.handle(http.MethodGet, "/webhooks/:name", accessPublic, s.webhook)
	s.handle(http.MethodPost, "/webhooks/:name", accessPublic, s.webhook)

	s.handle(http.MethodGet, "/api/v1/openapi.json", accessPublic, s.openAPI)
	s.handle(http.MethodGet, "/api/v1/conversations", accessAgent, s.listConversations)
	s.handle(http.MethodGet, "/api/v1/conversations/:id", accessAgent, s.getConversation)
	s.handle(http.MethodGet, "/api/v1/conversations/:id/messages", accessAgent, s.listMessages)
	s.handle(http.MethodPost, "/api/v1/conversations/:id/messages", accessAgent, s.reply)
	s.handle(http.MethodPost, "/api/v1/conversations/:id/status", accessAgent, s.setStatus)
	s.handle(http.MethodPost, "/api/v1/conversations/:id/assign", accessAgent, s.assign)
	s.handle(http.MethodGet, "/api/v1/contacts/:id", accessAgent, s.getContact)
	// Merging is everyday work; undoing one and unlinking are repairs.
	s.handle(http.MethodPost, "/api/v1/contacts/:id/merge", accessAgent, s.mergeContacts)
	s.handle(http.MethodGet, "/api/v1/contacts/:id/suggestions", accessAgent, s.suggestions)
	s.handle(http.MethodPost, "/api/v1/merges/:id/undo", accessAdmin, s.undoMerge)
	s.handle(http.MethodPost, "/api/v1/identities/:id/unlink", accessAdmin, s.unlinkIdentity)
	s.handle(http.MethodGet, "/api/v1/events", accessAgent, s.events)
	s.handle(http.MethodGet, "/api/v1/channels", accessAgent, s.listChannels)
	s.handle(http.MethodGet, "/api/v1/views", accessAgent, s.countViews)
	s.handle(http.MethodPost, "/api/v1/admin/reload", accessAdmin, s.reload)
	// Agent helpers: canned responses are shared settings, written by
	// admins; labels are everyday work.
	s.handle(http.MethodGet, "/api/v1/canned", accessAgent, s.listCanned)
	s.handle(http.MethodPost, "/api/v1/canned", accessAdmin, s.createCanned)
	s.handle(http.MethodPut, "/api/v1/canned/:id", accessAdmin, s.updateCanned)
	s.handle(http.MethodDelete, "/api/v1/canned/:id", accessAdmin, s.deleteCanned)
	s.handle(http.MethodPost, "/api/v1/conversations/:id/labels", accessAgent, s.updateLabels)
	// Agents and presence are everyone's; tokens are the admins'.
	s.handle(http.MethodGet, "/api/v1/agents", accessAgent, s.listAgents)
	s.handle(http.MethodGet, "/api/v1/me", accessAgent, s.me)
	s.handle(http.MethodPost, "/api/v1/me/presence", accessAgent, s.setPresence)
	s.handle(http.MethodGet, "/api/v1/tokens", accessAdmin, s.listTokens)
	s.handle(http.MethodPost, "/api/v1/tokens", accessAdmin, s.createToken)
	s.handle(http.MethodDelete, "/api/v1/tokens/:id", accessAdmin, s.revokeToken)
	// Reports (issue 11).
	s.handle(http.MethodGet, "/api/v1/reports/summary", accessAgent, s.reportSummary)
	// Read marks of the console.
	s.handle(http.MethodPost, "/api/v1/conversations/:id/read", accessAgent, s.markRead)
	s.handle(http.MethodGet, "/api/v1/me/reads", accessAgent, s.readMarks)
	// Media (issue 14): files the hub keeps.
	s.handle(http.MethodGet, "/api/v1/attachments/:id", accessAgent, s.getAttachment)
	s.handle(http.MethodGet, "/api/v1/attachments/:id/thumbnail", accessAgent, s.getAttachmentThumbnail)
}

// handle registers one route with its access level and the middleware that
// enforces it. Webhooks get nothing in front; every other route gets the
// API headers; non-public routes the bearer check and, for admin routes,
// the role check. (Every request gets the connection deadlines from
// instrument.)
func (s *Server) handle(method, path, access string, h gin.HandlerFunc) {
	s.access[method+" "+path] = access
	var chain []gin.HandlerFunc
	if !strings.HasPrefix(path, "/webhooks/") {
		chain = append(chain, apiHeaders)
	}
	switch access {
	case accessPublic:
	case accessAgent:
		chain = append(chain, s.authenticate, s.requireRole(models.RoleAgent, models.RoleAdmin))
	default: // accessAdmin, and the safe side for anything else
		chain = append(chain, s.authenticate, s.requireRole(models.RoleAdmin))
	}
	s.engine.Handle(method, path, append(chain, h)...)
}

// apiHeaders marks every API answer as private and not to be sniffed.
func apiHeaders(c *gin.Context) {
	setAPIHeaders(c.Writer.Header())
}

func setAPIHeaders(h http.Header) {
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
}

// setDeadlines bounds how long the client may take to send the body and the
// server to write the answer. The deadlines are the connection's, so they
// are wall-clock times (time.Now), not the injectable clock. Writers that
// cannot set deadlines (tests' recorders) are fine without.
func setDeadlines(w http.ResponseWriter, read, write time.Duration) {
	rc := http.NewResponseController(w)
	now := time.Now()
	_ = rc.SetReadDeadline(now.Add(read))
	_ = rc.SetWriteDeadline(now.Add(write))
}

// requireRole lets through actors with one of roles; others get 403.
func (s *Server) requireRole(roles ...string) gin.HandlerFunc {
	need := strings.Join(roles, " or ")
	return func(c *gin.Context) {
		role := actorOf(c).Role
		for _, r := range roles {
			if role == r {
				c.Next()
				return
			}
		}
		s.writeError(c, models.Errorf(models.EFORBIDDEN, "this route needs the %s role", need))
	}
}

// Handler returns the HTTP handler of the API.
func (s *Server) Handler() http.Handler { return s.engine }

// ServeHTTP serves the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.engine.ServeHTTP(w, r) }

// Registry returns the registry served at /metrics.
func (s *Server) Registry() *prometheus.Registry { return s.registry }

// routeKey holds the route label of requests that matched no route template.
const routeKey = "httpapi.route"

// routeLabel is the metrics and log label of the request's route: its
// template, never the raw path.
func routeLabel(c *gin.Context) string {
	if p := c.FullPath(); p != "" {
		return p
	}
	if v, ok := c.Get(routeKey); ok {
		if s, ok := v.(string); ok {
			return s
		}
	}
	return routeUnmatched
}

// methodLabel bounds the method label to the standard methods.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "OTHER"
}

// instrument counts and times every request and logs one line for it. It is
// the only middleware in front of the webhooks, so it stays cheap: no
// allocation unless the log level is enabled.
//
// It also sets every request's connection deadlines (body and answer), so
// that no route, the console and unmatched paths included, runs without
// them or with a stale one left by an earlier request on the connection;
// the event stream lifts them.
func (s *Server) instrument(c *gin.Context) {
	start := s.now()
	setDeadlines(c.Writer, s.bodyTimeout, s.writeTimeout)
	c.Next()
	elapsed := s.now().Sub(start)
	route := routeLabel(c)
	status := c.Writer.Status()
	method := methodLabel(c.Request.Method)
	s.metrics.requests.WithLabelValues(route, method, statusLabel(status)).Inc()
	if o, ok := s.observers[route]; ok {
		o.Observe(elapsed.Seconds())
	}
	level := slog.LevelDebug
	if status >= http.StatusInternalServerError {
		level = slog.LevelWarn
	}
	ctx := c.Request.Context()
	if !s.log.Enabled(ctx, level) {
		return
	}
	s.log.LogAttrs(ctx, level, "http request",
		slog.String("method", method),
		slog.String("route", route),
		slog.String("path", c.Request.URL.Path),
		slog.Int("status", status),
		slog.Duration("duration", elapsed),
		slog.Int("bytes", c.Writer.Size()),
		slog.String("client_ip", c.ClientIP()))
}

// recovered answers a request whose handler panicked with an internal error.
func (s *Server) recovered(c *gin.Context, rec any) {
	s.log.LogAttrs(c.Request.Context(), slog.LevelError, "panic serving request",
		slog.String("method", c.Request.Method),
		slog.String("route", routeLabel(c)),
		slog.Any("panic", rec),
		slog.String("stack", string(debug.Stack())))
	if c.Writer.Written() {
		c.Abort()
		return
	}
	c.AbortWithStatusJSON(http.StatusInternalServerError,
		errorBody{Error: errorDetail{Code: models.EINTERNAL, Message: "internal error"}})
}

// noRoute serves the console, or a 404 JSON error.
func (s *Server) noRoute(c *gin.Context) {
	r := c.Request
	if reservedPath(r.URL.Path) {
		setAPIHeaders(c.Writer.Header())
	}
	if s.console != nil && (r.Method == http.MethodGet || r.Method == http.MethodHead) && !reservedPath(r.URL.Path) {
		c.Set(routeKey, routeConsole)
		// Gin presets 404 for unrouted requests; the console decides.
		c.Status(http.StatusOK)
		s.console.ServeHTTP(c.Writer, r)
		return
	}
	s.writeError(c, models.Errorf(models.ENOTFOUND, "no route %s %s", truncate(r.Method, 10), truncate(r.URL.Path, 100)))
}

// reservedPath reports whether p belongs to the API or the webhooks, which
// are never handed to the console.
func reservedPath(p string) bool {
	for _, prefix := range []string{"/api/", "/webhooks/"} {
		if len(p) >= len(prefix) && p[:len(prefix)] == prefix {
			return true
		}
	}
	return p == "/api" || p == "/webhooks"
}

// noMethod answers 405 (gin has set the Allow header).
func (s *Server) noMethod(c *gin.Context) {
	setAPIHeaders(c.Writer.Header())
	s.writeError(c, withStatus(http.StatusMethodNotAllowed, models.EINVALID,
		fmt.Sprintf("method %s is not allowed here (allowed: %s)", truncate(c.Request.Method, 10), c.Writer.Header().Get("Allow"))))
}

// promLogger adapts slog to promhttp's error log.
type promLogger struct{ log *slog.Logger }

func (l promLogger) Println(v ...any) { l.log.Warn("serving metrics", "error", fmt.Sprint(v...)) }
