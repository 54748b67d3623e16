// Package inbox is the support inbox: it ingests normalized messages from
// every connector into one timeline per customer, answers what the bot can,
// queues agent replies in a durable outbox, and publishes an event log.
//
// It knows no platform: connectors hand it models.Inbound values and deliver
// its models.Outbound values; per-connector facts (a reply window) arrive as
// plain configuration.
//
// It is made of named parts, a file each:
//
//	ingest.go     the group commit of inbounds: ingest only ingests
//	outbox.go     delivery of queued messages, in order per chat, with retries
//	reply.go      agents' replies and notes, and the channel a reply takes
//	bot.go        the bot: a reaction that answers customers after the commit
//	linking.go    link codes and tokens, offers, redemptions, merges
//	reminders.go  a reaction on a schedule: offers a link before a window closes
//	progress.go   where a ticket stands: /status, and pushes when an agent acts
//	routing.go    a reaction that routes each new conversation (team, priority, labels)
//	service.go    wiring, the event log, queries and the agents' actions
//
// Pure logic lives in small packages beside it: texts (what customers
// read, and their language), faq (the answer ranker), hours (business
// hours), react (the reaction runner), routing (the routing rules).
package inbox

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tongdao/hub/inbox/faq"
	"github.com/tongdao/hub/inbox/hours"
	"github.com/tongdao/hub/inbox/react"
	"github.com/tongdao/hub/inbox/routing"
	"github.com/tongdao/hub/inbox/sla"
	"github.com/tongdao/hub/inbox/store"
	"github.com/tongdao/hub/inbox/texts"
	"github.com/tongdao/hub/models"
)

// Sender delivers outbound messages for one connector.
type Sender interface {
	Send(ctx context.Context, out models.Outbound) (models.SendResult, error)
}

// Options configure a Service.
type Options struct {
	Store  *store.Store
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Senders finds the sender of a connector by name.
	Senders func(connector string) (Sender, bool)
	// ReplyWindows gives each connector's reply window (WeChat: 48 h).
	ReplyWindows map[string]time.Duration
	// Registerer receives the inbox metrics (optional).
	Registerer prometheus.Registerer
	// MaxBatch bounds a group commit (default 256).
	MaxBatch int
	// Writers is how many group commits may run at once: 1 on SQLite (one
	// writer at a time anyway), 4 on PostgreSQL by default.
	Writers int
	// OutboxPoll is the longest the outbox sleeps between scans (default 1 s).
	OutboxPoll time.Duration
	// OutboxConcurrency bounds deliveries in flight (default 16).
	OutboxConcurrency int
	// OutboxLease is how long a delivery attempt holds its message without
	// renewal (default 10 s; renewed every third of it while the send is in
	// flight): a replica that crashed mid-send has its message retried
	// after about this long.
	OutboxLease time.Duration
	// Handoffs lists, in order, the connectors a customer can continue on
	// and how (cmd/hub builds them from connector capabilities).
	Handoffs []HandoffTarget
	// Titles names each connector's platform for customers ("WeChat").
	Titles map[string]string
	// ReminderInterval is how often the reminder reaction looks for reply
	// windows about to close (default 5 minutes).
	ReminderInterval time.Duration
	// Texts is what the bot says, per language (default: the built-in
	// catalog, English by default).
	Texts *texts.Catalog
	// FallbackLanguages gives, per connector, the languages to answer a
	// customer in when theirs is unknown (cmd/hub fills it from connectors
	// that say, such as WeChat: Chinese, then English).
	FallbackLanguages map[string][]string
	// FAQ is the knowledge base of the 7×24 answers (nil: none; every
	// question goes to a human).
	FAQ *faq.Index
	// Hours are the agents' business hours (nil: always in).
	Hours *hours.Calendar
	// Routing are the routing rules and default team of new conversations
	// (nil or empty: conversations stay without team, priority normal).
	Routing *routing.Table
	// SLA are the service-level policies (nil: no SLA clocks).
	SLA *sla.Policies
	// SLAEvery is how often the SLA clocks are checked for warnings and
	// breaches (default 5 s).
	SLAEvery time.Duration
	// ReactionLease is how long a replica owns a reaction without renewing
	// (default 20 s).
	ReactionLease time.Duration

	// Agents and teams (agents.go).
	// Teams are the configured teams (SetTeams replaces them).
	Teams []models.Team
	// PresenceTTL is how long an event stream counts as live without a
	// refresh (default 45 s; refreshed every third of it): an agent whose
	// streams all ended is offline after about this long.
	PresenceTTL time.Duration
	// PresenceSweep is how often expired streams are looked for (default
	// 10 s).
	PresenceSweep time.Duration

	// Automatic assignment (assign.go).
	// DefaultTeam is the team a new conversation without one gets.
	DefaultTeam string
	// OfflineGrace is how long an agent may be offline before their
	// unanswered conversations go back to the queue (default 5 min).
	OfflineGrace time.Duration
	// AssignEvery is how often the hand-back is checked (default 15 s).
	AssignEvery time.Duration

	// Media is the media store and its limits (media.go; nil: the hub
	// keeps no files).
	Media *MediaOptions
}

// Service is the inbox.
type Service struct {
	store   *store.Store
	log     *slog.Logger
	now     func() time.Time
	senders func(string) (Sender, bool)
	// conns is what the inbox knows of the configured connectors (reply
	// windows, titles, handoffs, fallback languages), replaced whole by
	// SetConnectors.
	conns atomic.Pointer[ConnectorInfo]

	maxBatch    int
	outboxPoll  time.Duration
	concurrency int
	outboxLease time.Duration

	reminderEvery time.Duration

	ingestQ chan *ingestReq
	stop    chan struct{}
	done    chan struct{}

	notifyMu sync.Mutex
	notifyCh chan struct{}

	outboxWake chan struct{}

	touchMu sync.Mutex
	touched map[int64]time.Time

	texts    *texts.Catalog
	faq      *faq.Index
	hours    *hours.Calendar
	sla      *sla.Policies
	slaEvery time.Duration

	// estimate caches the wait estimate quoted at each handoff.
	estimate struct {
		mu     sync.Mutex
		at     time.Time
		median time.Duration
		known  bool
	}

	runner    *react.Runner
	reactions []react.Reaction

	// Agents and teams (agents.go).
	teams         atomic.Pointer[[]models.Team]
	presenceTTL   time.Duration
	presenceSweep time.Duration

	// Automatic assignment (assign.go).
	defaultTeam  string
	offlineGrace time.Duration
	assignEvery  time.Duration

	// Media (media.go).
	media *MediaOptions

	m metrics
}

type metrics struct {
	ingested, duplicates prometheus.Counter
	batchSize            prometheus.Histogram
	commitWait           prometheus.Histogram
	delivered            *prometheus.CounterVec
	// The live view of the reports (README, Reports).
	firstResponse, resolution prometheus.Histogram
}

// New creates the service and starts its group-commit writer; Close stops it.
func New(o Options) *Service {
	s := &Service{
		store: o.Store, log: o.Logger, now: o.Now, senders: o.Senders,
		maxBatch: o.MaxBatch, outboxPoll: o.OutboxPoll, concurrency: o.OutboxConcurrency,
		outboxLease: cmp.Or(o.OutboxLease, defaultOutboxLease),
		ingestQ:     make(chan *ingestReq, 4096), stop: make(chan struct{}), done: make(chan struct{}),
		notifyCh: make(chan struct{}), outboxWake: make(chan struct{}, 1), touched: map[int64]time.Time{},
		reminderEvery: o.ReminderInterval, texts: o.Texts, faq: o.FAQ, hours: o.Hours,
		sla: o.SLA, slaEvery: cmp.Or(o.SLAEvery, 5*time.Second),
	}
	s.SetConnectors(ConnectorInfo{ReplyWindows: o.ReplyWindows, Handoffs: o.Handoffs, Titles: o.Titles,
		FallbackLanguages: o.FallbackLanguages})
	if s.texts == nil {
		s.texts, _ = texts.New("", nil) // the built-in catalog: cannot fail
	}
	if s.reminderEvery <= 0 {
		s.reminderEvery = 5 * time.Minute
	}
	s.SetTeams(o.Teams)
	s.presenceTTL = cmp.Or(o.PresenceTTL, defaultPresenceTTL)
	s.presenceSweep = cmp.Or(o.PresenceSweep, defaultPresenceSweep)
	s.defaultTeam = o.DefaultTeam
	if !o.Routing.Empty() {
		// The routing reaction gives new conversations the default team;
		// assignment must not race it.
		s.defaultTeam = ""
	}
	s.offlineGrace = cmp.Or(o.OfflineGrace, defaultOfflineGrace)
	s.assignEvery = cmp.Or(o.AssignEvery, defaultAssignEvery)
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.senders == nil {
		s.senders = func(string) (Sender, bool) { return nil, false }
	}
	if s.maxBatch <= 0 {
		s.maxBatch = 256
	}
	if s.outboxPoll <= 0 {
		s.outboxPoll = time.Second
	}
	if s.concurrency <= 0 {
		s.concurrency = 16
	}
	s.store.Now = s.now
	s.store.ReplyWindow = s.window
	s.runner = &react.Runner{Store: s.store, Now: s.now, Wake: s.EventsNotify, Logger: s.log, Lease: o.ReactionLease,
		AfterCommit: func() {
			s.notify()
			s.wakeOutbox()
		}}
	// Every feature that reacts to what happened is a reaction here, never
	// code inside ingest.
	s.reactions = []react.Reaction{&botReaction{s: s}, reminderReaction{s}, progressReaction{s}, csatReaction{s}, &slaReaction{s: s}, assignReaction{s}, reportReaction{s}}
	if !o.Routing.Empty() {
		s.reactions = append(s.reactions, &routingReaction{s: s, table: o.Routing})
	}
	if o.Media != nil && o.Media.Store != nil {
		s.media = o.Media.withDefaults()
		s.reactions = append(s.reactions, mediaReaction{s})
	}
	s.m = metrics{
		ingested:   prometheus.NewCounter(prometheus.CounterOpts{Name: "tongdao_inbound_messages_total", Help: "Inbound messages committed."}),
		duplicates: prometheus.NewCounter(prometheus.CounterOpts{Name: "tongdao_inbound_duplicates_total", Help: "Inbound platform retries dropped as duplicates."}),
		commitWait: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "tongdao_ingest_commit_seconds",
			Help:    "Time from an inbound's arrival at the inbox to its commit (queueing and group commit).",
			Buckets: []float64{.0005, .001, .002, .004, .008, .016, .032, .064, .128, .256, .512, 1}}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "tongdao_ingest_batch_size", Help: "Inbounds per group commit.",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256}}),
		delivered: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tongdao_outbound_deliveries_total", Help: "Outbound delivery attempts by outcome."}, []string{"connector", "outcome"}),
		firstResponse: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "tongdao_first_response_seconds",
			Help:    "From a conversation's start or reopen to the first agent reply that is not a private note (bot messages never count).",
			Buckets: []float64{30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 28800, 86400}}),
		resolution: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "tongdao_resolution_seconds",
			Help:    "From a conversation's start or reopen to its resolve.",
			Buckets: []float64{60, 300, 900, 1800, 3600, 7200, 14400, 28800, 86400, 259200, 604800}}),
	}
	if o.Registerer != nil {
		for _, c := range []prometheus.Collector{s.m.ingested, s.m.duplicates, s.m.batchSize, s.m.commitWait, s.m.delivered, s.m.firstResponse, s.m.resolution} {
			if err := o.Registerer.Register(c); err != nil {
				s.log.Warn("register metric", "err", err)
			}
		}
	}
	if s.media != nil && o.Registerer != nil {
		s.registerMediaMetrics(o.Registerer)
	}
	if o.Registerer != nil {
		for _, c := range []prometheus.Collector{reactionLag{s}, writerTime{s}} {
			if err := o.Registerer.Register(c); err != nil {
				s.log.Warn("register metric", "err", err)
			}
		}
	}
	writers := o.Writers
	if writers <= 0 {
		writers = 1
		if o.Store.Driver == store.DriverPostgres {
			writers = 4
		}
	}
	var wg sync.WaitGroup
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.writer()
		}()
	}
	go func() {
		wg.Wait()
		close(s.done)
	}()
	return s
}

// Close stops the writer; pending ingests fail with unavailable.
func (s *Service) Close() {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	<-s.done
}

func (s *Service) window(connector string) time.Duration { return s.info().ReplyWindows[connector] }

// EventsNotify returns a channel closed at the next committed event.
func (s *Service) EventsNotify() <-chan struct{} {
	s.notifyMu.Lock()
	defer s.notifyMu.Unlock()
	return s.notifyCh
}

func (s *Service) notify() {
	s.notifyMu.Lock()
	close(s.notifyCh)
	s.notifyCh = make(chan struct{})
	s.notifyMu.Unlock()
}

// InitReactions gives every reaction its cursor (at the newest event for a
// new one). Call it before the connectors start.
func (s *Service) InitReactions(ctx context.Context) error {
	return s.runner.Init(ctx, s.reactions...)
}

// RunReactions runs the reactions (the bot, reminders, progress) until ctx
// ends; with several replicas, each runs on one of them at a time.
func (s *Service) RunReactions(ctx context.Context) {
	s.runner.Run(ctx, s.reactions...)
}

// RunEventListener wakes this replica's event streams when another replica
// commits events (PostgreSQL LISTEN/NOTIFY), until ctx ends.
func (s *Service) RunEventListener(ctx context.Context) error {
	return s.store.ListenEvents(ctx, s.notify)
}

// EventsAfter returns events newer than after.
func (s *Service) EventsAfter(ctx context.Context, after int64, limit int) ([]models.EventView, error) {
	if limit <= 0 || limit > 1000 {
		limit = 500
	}
	return s.store.EventsAfter(ctx, after, limit)
}

// LatestEventID returns the newest event id.
func (s *Service) LatestEventID(ctx context.Context) (int64, error) {
	return s.store.LatestEventID(ctx)
}

// Ready reports whether the database works: it answers, its file is the
// one opened at start (SQLite), and it takes a small write.
func (s *Service) Ready(ctx context.Context) error {
	if err := s.store.Ping(ctx); err != nil {
		return models.Errorf(models.EUNAVAILABLE, "database unreachable")
	}
	if err := s.store.Health(ctx); err != nil {
		s.log.Warn("database health check failed", "err", err)
		switch {
		case errors.Is(err, store.ErrFileReplaced):
			return models.Errorf(models.EUNAVAILABLE, "%s", store.ErrFileReplaced.Error())
		case errors.Is(err, store.ErrNotWritable):
			return models.Errorf(models.EUNAVAILABLE, "%s", store.ErrNotWritable.Error())
		}
		return models.Errorf(models.EUNAVAILABLE, "database unreachable")
	}
	return nil
}

// Authenticate resolves a bearer token.
func (s *Service) Authenticate(ctx context.Context, token string) (models.Actor, error) {
	if token == "" {
		return models.Actor{}, models.Errorf(models.EUNAUTHORIZED, "missing API token")
	}
	t, err := s.store.TokenByHash(ctx, store.HashToken(token))
	if err != nil {
		return models.Actor{}, err
	}
	now := s.now()
	s.touchMu.Lock()
	stale := now.Sub(s.touched[t.ID]) > time.Minute
	if stale {
		s.touched[t.ID] = now
	}
	s.touchMu.Unlock()
	if stale {
		if err := s.store.TouchToken(ctx, t.ID, now); err != nil {
			s.log.Warn("record token use", "err", err)
		}
	}
	return models.Actor{TokenID: t.ID, Name: t.Name, Role: t.Role}, nil
}

// CreateToken creates an API token, returned in plain text once.
func (s *Service) CreateToken(ctx context.Context, name, role string) (string, error) {
	plain, _, err := s.store.CreateToken(ctx, name, role)
	return plain, err
}

// CountViews counts the conversations of each work queue for agent me.
func (s *Service) CountViews(ctx context.Context, me string) (models.ViewsView, error) {
	return s.store.CountViews(ctx, me)
}

// ListConversations lists the inbox.
func (s *Service) ListConversations(ctx context.Context, f models.ConversationFilter) ([]models.ConversationView, string, error) {
	if f.Label != "" {
		l, err := models.NormalizeLabel(f.Label)
		if err != nil {
			return nil, "", models.Errorf(models.EINVALID, "label: %s", models.ErrorMessage(err))
		}
		f.Label = l
	}
	return s.store.ListConversations(ctx, f)
}

// GetConversation returns one conversation.
func (s *Service) GetConversation(ctx context.Context, id int64) (models.ConversationView, error) {
	return s.store.GetConversation(ctx, id)
}

// ListMessages returns a conversation's timeline.
func (s *Service) ListMessages(ctx context.Context, id int64, cursor string, limit int) ([]models.MessageView, string, error) {
	return s.store.ListMessages(ctx, id, cursor, limit)
}

// GetContact returns a contact.
func (s *Service) GetContact(ctx context.Context, id int64) (models.ContactView, error) {
	return s.store.GetContact(ctx, id)
}

// SetStatus changes a conversation's status.
func (s *Service) SetStatus(ctx context.Context, id int64, status string, by models.Actor) (models.ConversationView, error) {
	switch status {
	case models.StatusOpen, models.StatusPending, models.StatusSnoozed, models.StatusResolved:
	default:
		return models.ConversationView{}, models.Errorf(models.EINVALID, "status must be open, pending, snoozed or resolved, not %q", status)
	}
	v, err := s.store.UpdateConversationByAgent(ctx, id, map[string]any{"status": status}, by.Name)
	if err == nil {
		s.notify()
	}
	return v, err
}

// SetPriority changes a conversation's priority (low, normal, high,
// urgent): its place in the queues and the SLA policy its clocks follow.
func (s *Service) SetPriority(ctx context.Context, id int64, priority string, by models.Actor) (models.ConversationView, error) {
	switch priority {
	case "low", "normal", "high", "urgent":
	default:
		return models.ConversationView{}, models.Errorf(models.EINVALID, "priority must be low, normal, high or urgent, not %q", priority)
	}
	v, err := s.store.UpdateConversationByAgent(ctx, id, map[string]any{"priority": priority}, by.Name)
	if err == nil {
		s.notify()
	}
	return v, err
}

// Assign sets a conversation's assignee and/or team.
func (s *Service) Assign(ctx context.Context, id int64, assignee, team *string, by models.Actor) (models.ConversationView, error) {
	fields := map[string]any{}
	if assignee != nil {
		if utf8.RuneCountInString(*assignee) > 200 {
			return models.ConversationView{}, models.Errorf(models.EINVALID, "assignee is longer than 200 characters")
		}
		fields["assignee"] = strings.TrimSpace(*assignee)
	}
	if team != nil {
		if utf8.RuneCountInString(*team) > 200 {
			return models.ConversationView{}, models.Errorf(models.EINVALID, "team is longer than 200 characters")
		}
		fields["team"] = strings.TrimSpace(*team)
	}
	if len(fields) == 0 {
		return models.ConversationView{}, models.Errorf(models.EINVALID, "give assignee and/or team")
	}
	v, err := s.store.UpdateConversationByAgent(ctx, id, fields, by.Name)
	if err == nil {
		s.notify()
	}
	return v, err
}

// ReportSummary computes the summary report of f (README, Reports).
func (s *Service) ReportSummary(ctx context.Context, f models.ReportFilter) (models.ReportSummary, error) {
	return s.store.ReportSummary(ctx, f)
}
