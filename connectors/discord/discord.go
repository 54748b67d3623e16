package discord

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/gorilla/websocket"

	"github.com/tongdao/hub/connectors"
	"github.com/tongdao/hub/internal/backoff"
	"github.com/tongdao/hub/models"
)

func init() {
	connectors.Register(connectors.Type{Name: "discord", Channel: models.ChannelDiscord, Title: "Discord", Factory: New})
}

// Capabilities, checked at compile time.
var _ connectors.DMTarget = (*Connector)(nil)

// Intents the connector identifies with. Message Content is privileged: it
// must be enabled in the developer portal, else the gateway closes with 4014.
const Intents = discordgo.IntentsDirectMessages | discordgo.IntentsGuildMessages | discordgo.IntentMessageContent

// Compile-time checks of the capabilities the connector implements.
var (
	_ connectors.Connector = (*Connector)(nil)
)

// maxKnownChannels bounds the cache of channel classifications.
const maxKnownChannels = 10000

// Connector is one Discord bot account.
type Connector struct {
	name     string
	settings Settings
	log      *slog.Logger
	now      func() time.Time
	support  map[string]bool
	client   *http.Client
	// cdn fetches attachments: from Discord's CDN, or from api_url's host
	// when api_url is set (a proxy or the sandbox stand-in).
	cdn *http.Client
	// rest is the session used for every REST call; it is never opened. Each
	// Run opens its own gateway session that shares rest's rate limiter.
	rest *discordgo.Session

	mu       sync.Mutex
	selfID   string
	selfName string
	// supportThread caches whether a guild channel is a support thread the
	// bot opened (true) or a channel to ignore (false).
	supportThread map[string]bool

	// session is the gateway session of the running Run (nil otherwise);
	// progress, under progressMu, is when the connector last saw the
	// gateway alive, by c.now, and seenAck the last heartbeat ACK seen.
	session    atomic.Pointer[discordgo.Session]
	progressMu sync.Mutex
	progress   time.Time
	seenAck    time.Time

	// Hooks replaced by tests.
	backoff      func(attempt int) time.Duration
	after        func(d time.Duration) <-chan time.Time
	ingestTries  int
	ingestPause  time.Duration
	handshakeTTL time.Duration
}

// New builds a Discord connector from its settings. It does no I/O.
func New(cfg connectors.Config) (connectors.Connector, error) {
	var s Settings
	if cfg.Decode == nil {
		return nil, errors.New("discord: no settings decoder")
	}
	if err := cfg.Decode(&s); err != nil {
		return nil, err
	}
	if err := s.validate(); err != nil {
		return nil, err
	}
	base, err := url.Parse(s.APIURL)
	if err != nil { // validated above; kept for safety
		return nil, fmt.Errorf("api_url: %w", err)
	}
	log := cfg.Deps.Logger
	if log == nil {
		log = slog.Default()
	}
	now := cfg.Deps.Now
	if now == nil {
		now = time.Now
	}
	c := &Connector{
		name:          cfg.Name,
		settings:      s,
		log:           log,
		now:           now,
		support:       map[string]bool{},
		supportThread: map[string]bool{},
		backoff:       defaultBackoff,
		after:         time.After,
		ingestTries:   3,
		ingestPause:   250 * time.Millisecond,
		handshakeTTL:  30 * time.Second,
	}
	for _, id := range s.SupportChannels {
		c.support[id] = true
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	c.client = &http.Client{
		Timeout:   20 * time.Second,
		Transport: &rewriteTransport{scheme: base.Scheme, host: base.Host, next: transport},
	}
	c.cdn = &http.Client{Transport: transport}
	if s.APIURL != DefaultAPIURL {
		c.cdn.Transport = c.client.Transport
	}
	c.rest = c.newSession()
	return c, nil
}

// Name is the configured connector name.
func (c *Connector) Name() string { return c.name }

var _ connectors.ProgressReporter = (*Connector)(nil)

// Progress returns when the gateway was last seen alive: an event
// dispatched, or a heartbeat acknowledged (noticed when Progress is called,
// and dated then, by the connector's clock). Before the first Run it cannot
// tell.
func (c *Connector) Progress() (time.Time, bool) {
	var ack time.Time
	if s := c.session.Load(); s != nil {
		s.RLock()
		ack = s.LastHeartbeatAck
		s.RUnlock()
	}
	c.progressMu.Lock()
	defer c.progressMu.Unlock()
	if !ack.IsZero() && !ack.Equal(c.seenAck) {
		c.seenAck = ack
		c.progress = c.now()
	}
	return c.progress, !c.progress.IsZero()
}

func (c *Connector) madeProgress() {
	now := c.now()
	c.progressMu.Lock()
	c.progress = now
	c.progressMu.Unlock()
}

// newSession returns an unopened discordgo session wired to api_url.
func (c *Connector) newSession() *discordgo.Session {
	s, _ := discordgo.New("Bot " + c.settings.Token) // New only fills a struct.
	s.Client = c.client
	s.Identify.Intents = Intents
	// Run owns reconnection (see doc.go); discordgo still resumes the session.
	s.ShouldReconnectOnError = false
	s.ShouldReconnectVoiceOnSessionError = false
	// Handlers run in dispatch order on the reading goroutine, so messages
	// reach the sink in the order the customer wrote them.
	s.SyncEvents = true
	s.StateEnabled = false
	s.LogLevel = discordgo.LogError
	if c.rest != nil {
		s.Ratelimiter = c.rest.Ratelimiter
	}
	return s
}

// rewriteTransport sends every request to api_url's scheme and host, keeping
// the path: discordgo computes its endpoint URLs once at init.
type rewriteTransport struct {
	scheme, host string
	next         http.RoundTripper
}

func (t *rewriteTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Scheme == t.scheme && r.URL.Host == t.host {
		return t.next.RoundTrip(r)
	}
	r2 := r.Clone(r.Context())
	r2.URL.Scheme = t.scheme
	r2.URL.Host = t.host
	r2.Host = t.host
	return t.next.RoundTrip(r2)
}

// defaultBackoff is the wait before gateway reconnection attempt n: 1 s
// doubling, capped at 1 min, ±20%.
var defaultBackoff = backoff.Policy{Min: time.Second, Max: time.Minute, Jitter: 0.2}.Wait

func (c *Connector) self() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.selfID
}

// BotName is the bot's user name as customers find it ("@name"), learned
// when the gateway session is ready; "" until then. Customers DM it a link
// code to continue a conversation on Discord.
func (c *Connector) BotName() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.selfName == "" {
		return ""
	}
	return "@" + c.selfName
}

func (c *Connector) setSelf(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.selfID = id
}

// Run connects to the gateway and hands every inbound message to sink until
// ctx ends. It returns an error only when the gateway refuses the bot for
// good (bad token, disallowed intents); the supervisor then restarts it.
func (c *Connector) Run(ctx context.Context, sink connectors.Sink) error {
	s := c.newSession()
	c.madeProgress() // staleness counts from the start
	c.session.Store(s)
	defer c.session.CompareAndSwap(s, nil)
	// Every event dispatched is progress; heartbeat ACKs, which discordgo
	// keeps to itself, are looked at by Progress.
	s.AddHandler(func(_ *discordgo.Session, _ *discordgo.Event) { c.madeProgress() })
	conns := &connTracker{ctx: ctx}
	s.Dialer = &websocket.Dialer{
		Proxy:            http.ProxyFromEnvironment,
		HandshakeTimeout: c.handshakeTTL,
		NetDialContext:   conns.DialContext,
	}
	g := &handlerGate{}
	disconnected := make(chan struct{}, 1)
	s.AddHandler(func(_ *discordgo.Session, r *discordgo.Ready) {
		if r.User != nil {
			c.setSelf(r.User.ID)
			c.mu.Lock()
			c.selfName = r.User.Username
			c.mu.Unlock()
		}
	})
	s.AddHandler(func(_ *discordgo.Session, m *discordgo.MessageCreate) {
		if !g.enter() {
			return
		}
		defer g.leave()
		c.onMessage(ctx, sink, m.Message)
	})
	s.AddHandler(func(_ *discordgo.Session, ix *discordgo.InteractionCreate) {
		if !g.enter() {
			return
		}
		defer g.leave()
		c.onInteraction(ctx, sink, ix.Interaction)
	})
	s.AddHandler(func(_ *discordgo.Session, _ *discordgo.Disconnect) {
		select {
		case disconnected <- struct{}{}:
		default:
		}
	})

	open := false
	stop := func() {
		if open {
			_ = s.Close()
		}
		conns.closeAll()
		g.stop()
	}
	for attempt := 0; ; {
		err := c.open(ctx, s, conns)
		if ctx.Err() != nil {
			open = err == nil
			stop()
			return nil
		}
		if errors.Is(err, discordgo.ErrWSAlreadyOpen) {
			err = nil
		}
		if err != nil {
			if fatal := fatalGatewayError(err); fatal != nil {
				c.log.Error("discord gateway refused the bot", "err", fatal)
				stop()
				return fatal
			}
			attempt++
			wait := c.backoff(attempt)
			c.log.Warn("discord gateway connection failed; retrying", "err", err, "attempt", attempt, "wait", wait)
			select {
			case <-ctx.Done():
				stop()
				return nil
			case <-c.after(wait):
			}
			continue
		}
		if attempt > 0 {
			c.log.Info("discord gateway connected", "after_attempts", attempt)
		} else {
			c.log.Debug("discord gateway connected")
		}
		attempt = 0
		select {
		case <-ctx.Done():
			open = true
			stop()
			return nil
		case <-disconnected:
			c.log.Info("discord gateway disconnected; resuming")
		}
	}
}

// open runs s.Open, which has no context: when ctx ends first and the
// handshake does not finish within openGrace, the tracked connections are
// closed so that a handshake blocked on a read returns.
func (c *Connector) open(ctx context.Context, s *discordgo.Session, conns *connTracker) error {
	done := make(chan error, 1)
	go func() { done <- s.Open() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		// Let a handshake in progress finish so the session closes cleanly;
		// one stuck on a silent server is cut off.
		var err error
		select {
		case err = <-done:
		case <-c.after(openGrace):
			conns.closeAll()
			err = <-done
		}
		if err == nil {
			_ = s.Close()
		}
		return ctx.Err()
	}
}

// openGrace is how long a cancelled Run lets a gateway handshake finish.
const openGrace = 2 * time.Second

// fatalGatewayError turns a refusal that no retry can fix into an error that
// names the fix; it returns nil for errors worth retrying.
func fatalGatewayError(err error) error {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		switch ce.Code {
		case 4004:
			return fmt.Errorf("discord: authentication failed (gateway close 4004): the bot token is wrong or was reset; copy a new token from the developer portal (Bot → Reset Token) into settings.token: %w", err)
		case 4014:
			return fmt.Errorf("discord: disallowed intents (gateway close 4014): enable the Message Content intent in the developer portal (Bot → Privileged Gateway Intents → Message Content Intent): %w", err)
		case 4013:
			return fmt.Errorf("discord: invalid intents (gateway close 4013): %w", err)
		case 4010, 4011:
			return fmt.Errorf("discord: the bot needs sharding (gateway close %d); it is in too many servers for one connection: %w", ce.Code, err)
		case 4012:
			return fmt.Errorf("discord: invalid API version (gateway close 4012): %w", err)
		}
		return nil
	}
	var re *discordgo.RESTError
	if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode == http.StatusUnauthorized {
		return fmt.Errorf("discord: the API rejected the bot token (HTTP 401); copy the token from the developer portal (Bot → Reset Token) into settings.token")
	}
	return nil
}

// connTracker dials the gateway and remembers the connections, so Run can
// close them when its context ends.
type connTracker struct {
	ctx    context.Context
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

// DialContext dials like net.Dialer, cancelled also when Run's context ends.
func (t *connTracker) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(t.ctx, cancel)
	defer stop()
	var d net.Dialer
	conn, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		_ = conn.Close()
		return nil, net.ErrClosed
	}
	if t.conns == nil {
		t.conns = map[net.Conn]struct{}{}
	}
	tc := &trackedConn{Conn: conn, t: t}
	t.conns[tc] = struct{}{}
	return tc, nil
}

func (t *connTracker) closeAll() {
	t.mu.Lock()
	t.closed = true
	conns := make([]net.Conn, 0, len(t.conns))
	for c := range t.conns {
		conns = append(conns, c)
	}
	t.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
}

type trackedConn struct {
	net.Conn
	t    *connTracker
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.t.mu.Lock()
		delete(c.t.conns, c)
		c.t.mu.Unlock()
	})
	return c.Conn.Close()
}

// handlerGate lets Run wait for event handlers in flight before returning,
// and refuses new ones after.
type handlerGate struct {
	mu      sync.Mutex
	stopped bool
	wg      sync.WaitGroup
}

func (g *handlerGate) enter() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.stopped {
		return false
	}
	g.wg.Add(1)
	return true
}

func (g *handlerGate) leave() { g.wg.Done() }

func (g *handlerGate) stop() {
	g.mu.Lock()
	g.stopped = true
	g.mu.Unlock()
	g.wg.Wait()
}

// ingest hands in to the sink, retrying a failed commit a few times: discordgo
// has already advanced its sequence number, so the gateway will not re-send.
func (c *Connector) ingest(ctx context.Context, sink connectors.Sink, in models.Inbound, tries int) (models.IngestResult, error) {
	for attempt := 1; ; attempt++ {
		res, err := sink.Ingest(ctx, in)
		if err == nil {
			return res, nil
		}
		if models.ErrorCode(err) == models.EINVALID {
			// Permanent (the inbox recorded it as skipped): no retry.
			c.log.Warn("discord inbound refused by the inbox; skipped", "external_id", in.ExternalID, "err", err)
			return res, err
		}
		if ctx.Err() != nil || attempt >= tries {
			c.log.Error("discord inbound not committed; dropped", "external_id", in.ExternalID, "kind", in.Kind, "err", err)
			return res, err
		}
		c.log.Warn("discord inbound commit failed; retrying", "external_id", in.ExternalID, "err", err, "attempt", attempt)
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-c.after(c.ingestPause * time.Duration(attempt)):
		}
	}
}
