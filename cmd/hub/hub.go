package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/tongdao/hub/configs"
	"github.com/tongdao/hub/connectors"
	"github.com/tongdao/hub/connectors/media"
	"github.com/tongdao/hub/inbox"
	"github.com/tongdao/hub/inbox/httpapi"
	"github.com/tongdao/hub/inbox/store"
	"github.com/tongdao/hub/inbox/texts"
	"github.com/tongdao/hub/internal/blobstore"
	"github.com/tongdao/hub/models"
	"github.com/tongdao/hub/web"

	// Connector types: one import each.
	_ "github.com/tongdao/hub/connectors/discord"
	_ "github.com/tongdao/hub/connectors/telegram"
	_ "github.com/tongdao/hub/connectors/wechat"
)

// Main is the whole hub program: Run starts it, Close stops it. Tests run it
// on address :0 with a temporary database.
type Main struct {
	Config *configs.Config
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Extra, when set, serves paths under /sandbox/ beside the API.
	Extra http.Handler
	// ReminderInterval is how often the hub looks for reply windows about to
	// close (default 5 minutes).
	ReminderInterval time.Duration
	// PresenceSweep is how often the hub looks for agents' event streams
	// that expired (default 10 s).
	PresenceSweep time.Duration
	// MediaEvery is how often due fetches of customers' files are looked
	// for (default 1 s).
	MediaEvery time.Duration
	// Media is the media store (opened by Run).
	Media *blobstore.Store

	Store      *store.Store
	Inbox      *inbox.Service
	Connectors []connectors.Connector

	listener   net.Listener
	server     *http.Server
	supervisor *connectors.Supervisor
	cancel     context.CancelFunc
	wg         sync.WaitGroup

	// Reload (reload.go): the live connectors, what builds them, the
	// context they run in.
	live     atomic.Pointer[liveSet]
	api      *httpapi.Server
	deps     connectors.Deps
	runCtx   context.Context
	reloadMu sync.Mutex
}

// kv adapts the store to connectors.KV.
type kv struct{ s *store.Store }

func (k kv) Get(ctx context.Context, key string) (string, bool, error) { return k.s.KVGet(ctx, key) }
func (k kv) Set(ctx context.Context, key, value string, ttl time.Duration) error {
	return k.s.KVSet(ctx, key, value, ttl)
}
func (k kv) Add(ctx context.Context, key, value string, ttl time.Duration) (bool, error) {
	return k.s.KVAdd(ctx, key, value, ttl)
}

// handoffTarget returns how to hand a customer over to c, if c can say.
func handoffTarget(name string, c connectors.Connector) (inbox.HandoffTarget, bool) {
	t := inbox.HandoffTarget{Connector: name}
	switch c := c.(type) {
	case connectors.DeepLinker:
		t.Offer = func(_ context.Context, token string, _ time.Duration) (inbox.Handoff, error) {
			u := c.DeepLink(token)
			if u == "" {
				return inbox.Handoff{}, errors.New("the bot's username is not known yet")
			}
			return inbox.Handoff{Kind: inbox.HandoffURL, URL: u}, nil
		}
	case connectors.QRCoder:
		t.Offer = func(ctx context.Context, token string, ttl time.Duration) (inbox.Handoff, error) {
			u, err := c.TempQRCode(ctx, token, ttl)
			return inbox.Handoff{Kind: inbox.HandoffQR, URL: u}, err
		}
	case connectors.DMTarget:
		t.Offer = func(context.Context, string, time.Duration) (inbox.Handoff, error) {
			n := c.BotName()
			if n == "" {
				return inbox.Handoff{}, errors.New("the bot's name is not known yet")
			}
			return inbox.Handoff{Kind: inbox.HandoffCode, Name: n}, nil
		}
	default:
		return t, false
	}
	return t, true
}

// channelViews lists every registered channel with the configured
// connectors that carry it, in configuration order.
func channelViews(conns []configs.Connector) []models.ChannelView {
	var out []models.ChannelView
	for _, ch := range connectors.Channels() {
		v := models.ChannelView{Name: ch.Name, Title: ch.Title, Connectors: []string{}}
		for _, cc := range conns {
			if t, ok := connectors.Lookup(cc.Type); ok && t.Channel == ch.Name {
				v.Connectors = append(v.Connectors, cc.Name)
			}
		}
		out = append(out, v)
	}
	return out
}

// Listen opens the listener early, so callers can learn the address (with
// port :0) before Run; Run calls it when not done yet.
func (m *Main) Listen() error {
	if m.listener != nil {
		return nil
	}
	l, err := net.Listen("tcp", m.Config.Server.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", m.Config.Server.Listen, err)
	}
	m.listener = l
	return nil
}

// URL is the hub's base URL on its listener.
func (m *Main) URL() string {
	if m.listener == nil {
		return ""
	}
	return "http://" + m.listener.Addr().String()
}

// Run opens the database, builds the connectors and starts serving. It
// returns once the hub is up; Close stops it.
func (m *Main) Run(ctx context.Context) (err error) {
	if m.Logger == nil {
		m.Logger = slog.Default()
	}
	if m.Now == nil {
		m.Now = time.Now
	}
	defer func() {
		if err != nil {
			m.Close()
		}
	}()
	cfg := m.Config
	if err := connectors.Err(); err != nil {
		return err
	}
	if m.Store, err = store.Open(ctx, cfg.Database.Driver, cfg.Database.DSN); err != nil {
		return fmt.Errorf("database: %w", err)
	}
	m.Store.Now = m.Now

	// One fetcher for every connector's attachments: one dialer, one policy.
	fetcher := media.New(media.Policy{AllowPrivate: cfg.Media.AllowPrivateFetch, Timeout: cfg.Media.FetchTimeout})
	m.deps = connectors.Deps{Logger: m.Logger, Now: m.Now, PublicURL: cfg.Server.PublicURL, KV: kv{m.Store}, Media: fetcher}
	set, err := buildSet(cfg, m.deps, nil)
	if err != nil {
		return err
	}
	m.live.Store(set)
	m.Connectors = set.list()
	info := set.info()

	catalog, err := texts.New(cfg.Bot.DefaultLanguage, cfg.Bot.Texts)
	if err != nil {
		return err
	}
	faqIndex, err := cfg.FAQ()
	if err != nil {
		return err
	}
	calendar, err := cfg.Hours()
	if err != nil {
		return err
	}
	policies, err := cfg.SLAPolicies()
	if err != nil {
		return err
	}
	routes, err := cfg.RoutingTable()
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if m.Media, err = blobstore.Open(ctx, cfg.MediaStore()); err != nil {
		return err
	}
	m.Inbox = inbox.New(inbox.Options{
		Media: &inbox.MediaOptions{Store: m.Media, MaxInbound: cfg.Media.MaxInboundBytes,
			MaxUpload: cfg.Media.MaxUploadBytes(), Retention: cfg.Media.Retention, Every: m.MediaEvery},
		Store: m.Store, Logger: m.Logger, Now: m.Now, ReplyWindows: info.ReplyWindows, Registerer: reg,
		Handoffs: info.Handoffs, Titles: info.Titles, ReminderInterval: m.ReminderInterval,
		Texts: catalog, FallbackLanguages: info.FallbackLanguages, Senders: m.sender,
		FAQ: faqIndex, Hours: calendar, SLA: policies, Routing: routes,
		Teams: cfg.TeamList(), PresenceSweep: m.PresenceSweep,
		DefaultTeam: cfg.DefaultTeam, OfflineGrace: cfg.Assignment.OfflineGrace,
	})
	if err := m.Inbox.InitReactions(ctx); err != nil {
		return fmt.Errorf("reactions: %w", err)
	}
	m.supervisor = &connectors.Supervisor{Sink: m.Inbox, Logger: m.Logger, Now: m.Now}
	srv := cfg.Server
	staleAfter := maps.Clone(connectors.DefaultStaleAfter)
	maps.Copy(staleAfter, cfg.Monitoring.StaleAfter)
	states := &connectorStates{sup: m.supervisor, staleAfter: staleAfter, now: m.Now,
		lookup: func(name string) (connectors.Connector, bool) {
			c, ok := m.live.Load().byName[name]
			return c, ok
		}}
	api, err := httpapi.New(httpapi.Options{
		Inbox: m.Inbox, Connectors: states, Logger: m.Logger, Registry: reg, Now: m.Now,
		Monitoring:  httpapi.Monitoring{Token: cfg.Monitoring.Token, LoopbackOnly: cfg.Monitoring.LoopbackOnly},
		Channels:    channelViews(cfg.Connectors),
		Console:     web.Handler(),
		BodyTimeout: srv.BodyTimeout, WriteTimeout: srv.WriteTimeout,
		MaxStreams: srv.MaxEventStreams, MaxStreamsPerToken: srv.MaxEventStreamsPerToken,
		Webhooks: m.webhook, Reload: m.Reload,
		MaxUploadBytes: cfg.Media.MaxUploadBytes(),
	})
	if err != nil {
		return err
	}
	m.api = api
	var handler http.Handler = api
	if m.Extra != nil {
		mux := http.NewServeMux()
		mux.Handle("/sandbox/", m.Extra)
		mux.Handle("/", api)
		handler = mux
	}
	if err := m.Listen(); err != nil {
		return err
	}
	// Server-wide deadlines are the backstop for every route; the API sets
	// its own per route (bodies, answers) and lifts them for event streams.
	// A configuration built in code may leave them zero: the defaults apply.
	or := func(d, def time.Duration) time.Duration {
		if d > 0 {
			return d
		}
		return def
	}
	readHeader := or(srv.ReadHeaderTimeout, configs.DefaultReadHeaderTimeout)
	m.server = &http.Server{Handler: handler,
		ReadHeaderTimeout: readHeader,
		ReadTimeout:       readHeader + or(srv.BodyTimeout, configs.DefaultBodyTimeout),
		WriteTimeout:      or(srv.WriteTimeout, configs.DefaultWriteTimeout),
		IdleTimeout:       or(srv.IdleTimeout, configs.DefaultIdleTimeout),
		ErrorLog:          slog.NewLogLogger(m.Logger.Handler(), slog.LevelDebug)}

	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	m.cancel = cancel
	for _, cc := range set.conns { // started here, so a reload finds them running
		if err := m.supervisor.Start(runCtx, set.byName[cc.Name], cc.Type); err != nil {
			return err
		}
	}
	m.runCtx = runCtx
	for _, run := range []func(){
		func() {
			if err := m.server.Serve(m.listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
				m.Logger.Error("http server stopped", "err", err)
			}
		},
		func() { m.supervisor.Run(runCtx, nil, nil) }, // and those a reload starts
		func() { _ = m.Inbox.RunOutbox(runCtx) },
		func() { m.Inbox.RunReactions(runCtx) },
		func() { _ = m.Inbox.RunEventListener(runCtx) }, // other replicas' events (PostgreSQL)
		func() { m.Inbox.RunPresence(runCtx) },          // agents whose streams expired
	} {
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			run()
		}()
	}
	m.Logger.Info("hub started", "url", m.URL(), "connectors", len(m.Connectors), "database", cfg.Database.Driver)
	return nil
}

var _ httpapi.MediaInbox = (*inbox.Service)(nil)

// connectorStates reports the supervisor's connector states with each
// connector's progress, marking stale ones (see connectors.AddProgress).
type connectorStates struct {
	sup        *connectors.Supervisor
	lookup     func(name string) (connectors.Connector, bool) // the live connectors
	staleAfter map[string]time.Duration
	now        func() time.Time
}

func (s *connectorStates) States() []models.ConnectorState {
	st := s.sup.States()
	connectors.AddProgress(st, s.lookup, s.now(), s.staleAfter)
	return st
}

// States reports connector states.
func (m *Main) States() []models.ConnectorState {
	if m.supervisor == nil {
		return nil
	}
	return m.supervisor.States()
}

// Close stops serving (letting requests in flight finish), stops the
// connectors and the outbox, and closes the database.
func (m *Main) Close() error {
	var errs []error
	if m.server != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		errs = append(errs, m.server.Shutdown(ctx))
		cancel()
	} else if m.listener != nil {
		m.listener.Close()
	}
	if m.cancel != nil {
		m.cancel()
	}
	m.wg.Wait()
	m.reloadMu.Lock() // no reload half-way
	defer m.reloadMu.Unlock()
	for _, c := range m.Connectors {
		if s, ok := c.(connectors.Shutdowner); ok {
			errs = append(errs, s.Close())
		}
	}
	if m.Inbox != nil {
		m.Inbox.Close()
	}
	if m.Store != nil {
		errs = append(errs, m.Store.Close())
	}
	if m.Media != nil {
		errs = append(errs, m.Media.Close())
		m.Media = nil
	}
	return errors.Join(errs...)
}
