package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	tele "gopkg.in/telebot.v3"

	"github.com/tongdao/hub/connectors"
	"github.com/tongdao/hub/internal/backoff"
	"github.com/tongdao/hub/models"
)

func init() {
	connectors.Register(connectors.Type{Name: "telegram", Channel: models.ChannelTelegram, Title: "Telegram", Factory: New})
}

// Capabilities, checked at compile time.
var (
	_ connectors.WebhookHandler = (*Connector)(nil)
	_ connectors.DeepLinker     = (*Connector)(nil)
)

// Compile-time guards for the capabilities this connector offers.
var (
	_ connectors.Connector      = (*Connector)(nil)
	_ connectors.WebhookHandler = (*Connector)(nil)
)

// allowedUpdates are the update kinds the connector asks Telegram for.
var allowedUpdates = []string{"message", "edited_message", "callback_query"}

// Connector is one Telegram bot.
type Connector struct {
	name     string
	settings Settings
	secret   []byte
	log      *slog.Logger
	now      func() time.Time
	deps     connectors.Deps
	api      *apiClient
	limits   *limiter

	// sleep waits between retries and for the rate limiter; tests shorten it.
	sleep func(ctx context.Context, d time.Duration) error
	// pollTimeout is getUpdates' long-poll timeout.
	pollTimeout time.Duration

	username atomic.Pointer[string]
	run      atomic.Pointer[runState]
	// running prevents two concurrent Runs of one connector.
	running atomic.Bool
	// progress is when polling last made progress (Unix nanoseconds by
	// c.now; 0 before the first Run in polling mode).
	progress atomic.Int64
}

var _ connectors.ProgressReporter = (*Connector)(nil)

// Progress returns when polling last made progress: the start of Run, then
// each getUpdates answered and handled in full. A webhook bot cannot tell
// (ok false): Telegram pushes only when customers write.
func (c *Connector) Progress() (time.Time, bool) {
	if c.settings.Mode != ModePolling {
		return time.Time{}, false
	}
	n := c.progress.Load()
	if n == 0 {
		return time.Time{}, false
	}
	return time.Unix(0, n), true
}

func (c *Connector) madeProgress() { c.progress.Store(c.now().UnixNano()) }

// runState is what Run hands the webhook handler.
type runState struct {
	ctx  context.Context
	sink connectors.Sink

	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup // background callback answers
}

// spawn runs fn in the background unless Run is ending.
func (st *runState) spawn(fn func()) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.closed {
		return
	}
	st.wg.Add(1)
	go func() {
		defer st.wg.Done()
		fn()
	}()
}

// close stops new background work and waits for what runs.
func (st *runState) close() {
	st.mu.Lock()
	st.closed = true
	st.mu.Unlock()
	st.wg.Wait()
}

// New builds a Telegram connector from its settings without doing I/O.
func New(cfg connectors.Config) (connectors.Connector, error) {
	var s Settings
	var errs []error
	if cfg.Decode == nil {
		errs = append(errs, errors.New("settings: missing"))
	} else if err := cfg.Decode(&s); err != nil {
		errs = append(errs, err)
	}
	if err := s.normalize(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	deps := cfg.Deps
	if deps.Logger == nil {
		deps.Logger = slog.Default().With("connector", cfg.Name)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 32
	c := &Connector{
		name:        cfg.Name,
		settings:    s,
		secret:      []byte(s.WebhookSecret),
		log:         deps.Logger,
		now:         deps.Now,
		deps:        deps,
		api:         &apiClient{url: s.APIURL, token: s.Token, transport: transport, timeout: 30 * time.Second},
		limits:      newLimiter(),
		sleep:       sleepCtx,
		pollTimeout: 25 * time.Second,
	}
	if s.BotUsername != "" {
		u := s.BotUsername
		c.username.Store(&u)
	}
	return c, nil
}

// Name is the configured connector name.
func (c *Connector) Name() string { return c.name }

// BotUsername is the bot's username without "@": from the settings, or
// learned from getMe once Run has started; "" until known.
func (c *Connector) BotUsername() string {
	if p := c.username.Load(); p != nil {
		return *p
	}
	return ""
}

var deepLinkPayloadRx = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// DeepLink returns https://t.me/<bot>?start=<payload>, which opens the chat
// with the bot and sends "/start <payload>" (it arrives as Command "start",
// Payload payload). It returns "" while the bot's username is unknown or when
// payload is not 1-64 characters of A-Z a-z 0-9 _ - (Telegram's rule).
func (c *Connector) DeepLink(payload string) string {
	bot := c.BotUsername()
	if bot == "" || !deepLinkPayloadRx.MatchString(payload) {
		return ""
	}
	return "https://t.me/" + bot + "?start=" + payload
}

// Run starts receiving updates and hands each to sink. It blocks until ctx
// ends (returning nil); it returns an error when Telegram refuses the token.
func (c *Connector) Run(ctx context.Context, sink connectors.Sink) error {
	if sink == nil {
		return errors.New("telegram: Run needs a sink")
	}
	if !c.running.CompareAndSwap(false, true) {
		return errors.New("telegram: connector is already running")
	}
	defer c.running.Store(false)

	if c.settings.Mode == ModePolling {
		c.madeProgress() // staleness counts from the start
	}
	st := &runState{ctx: ctx, sink: sink}
	c.run.Store(st)
	defer func() {
		c.run.CompareAndSwap(st, nil)
		st.close()
	}()

	var me tele.User
	if err := c.retry(ctx, "getMe", func() error { return c.api.call(ctx, "getMe", nil, &me) }); err != nil {
		return c.runError(ctx, err)
	}
	if me.Username != "" {
		u := me.Username
		c.username.Store(&u)
	}
	c.log.Info("telegram bot connected", "bot", me.Username, "mode", c.settings.Mode)

	if c.settings.Mode == ModePolling {
		// deleteWebhook keeps pending updates: getUpdates picks them up.
		if err := c.retry(ctx, "deleteWebhook", func() error {
			return c.api.call(ctx, "deleteWebhook", map[string]string{"drop_pending_updates": "false"}, nil)
		}); err != nil {
			return c.runError(ctx, err)
		}
		return c.poll(ctx, st)
	}

	if c.deps.PublicURL != "" {
		hook := trimSlash(c.deps.PublicURL) + "/webhooks/" + c.name
		allowed, _ := json.Marshal(allowedUpdates)
		params := map[string]string{
			"url":             hook,
			"secret_token":    c.settings.WebhookSecret,
			"allowed_updates": string(allowed),
		}
		if err := c.retry(ctx, "setWebhook", func() error { return c.api.call(ctx, "setWebhook", params, nil) }); err != nil {
			return c.runError(ctx, err)
		}
		c.log.Info("telegram webhook registered", "url", hook)
	} else {
		c.log.Warn("server.public_url is empty: the webhook is not registered with Telegram; set it or register it yourself")
	}
	<-ctx.Done()
	return nil
}

func trimSlash(s string) string {
	for len(s) > 0 && s[len(s)-1] == '/' {
		s = s[:len(s)-1]
	}
	return s
}

// runError turns a startup failure into Run's result: nil when ctx ended.
func (c *Connector) runError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// retryBackoff is the wait before retry n: 1 s doubling, capped at 30 s,
// ±20%.
var retryBackoff = backoff.Policy{Min: time.Second, Max: 30 * time.Second, Jitter: 0.2}

// retry runs op until it succeeds, ctx ends, or it fails for good (the token
// is refused). Transient failures are retried with backoff.
func (c *Connector) retry(ctx context.Context, what string, op func() error) error {
	for n := 1; ; n++ {
		err := op()
		if err == nil {
			return nil
		}
		if isAuthError(err) {
			return fmt.Errorf("telegram %s: the bot token was refused: %w", what, err)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		c.log.Warn("telegram call failed; retrying", "call", what, "err", err, "attempt", n)
		if err := c.sleep(ctx, retryBackoff.Wait(n)); err != nil {
			return err
		}
	}
}

// poll long-polls getUpdates. The offset advances only past updates that
// were committed (or ignored), so an update whose Ingest failed is fetched
// again after a backoff.
func (c *Connector) poll(ctx context.Context, st *runState) error {
	offset := 0
	failures := 0
	for ctx.Err() == nil {
		var batch []json.RawMessage
		params := map[string]string{
			"offset":          strconv.Itoa(offset),
			"timeout":         strconv.Itoa(int(c.pollTimeout / time.Second)),
			"allowed_updates": `["message","edited_message","callback_query"]`,
		}
		callCtx, cancel := context.WithTimeout(ctx, c.pollTimeout+15*time.Second)
		err := c.api.call(callCtx, "getUpdates", params, &batch)
		cancel()
		if err == nil {
			var next int
			next, err = c.handleBatch(ctx, st, batch, offset)
			offset = next
		}
		if err == nil {
			c.madeProgress()
			failures = 0
			continue
		}
		if ctx.Err() != nil {
			break
		}
		if isAuthError(err) {
			return fmt.Errorf("telegram getUpdates: the bot token was refused: %w", err)
		}
		failures++
		c.log.Warn("telegram polling failed; backing off", "err", err, "attempt", failures)
		if c.sleep(ctx, retryBackoff.Wait(failures)) != nil {
			break
		}
	}
	return nil
}

// handleBatch ingests updates in order and returns the next offset. It stops
// at the first update whose ingest fails, leaving it unconfirmed.
func (c *Connector) handleBatch(ctx context.Context, st *runState, batch []json.RawMessage, offset int) (int, error) {
	for _, raw := range batch {
		u, err := decodeUpdate(raw)
		if err != nil {
			// Malformed updates cannot improve on a refetch: skip past them.
			c.log.Warn("telegram: skipping an undecodable update", "err", err)
			if id := probeUpdateID(raw); id >= offset {
				offset = id + 1
			}
			continue
		}
		if err := c.process(ctx, st, &u); err != nil {
			return offset, err
		}
		if u.ID >= offset {
			offset = u.ID + 1
		}
	}
	return offset, nil
}

func probeUpdateID(raw []byte) int {
	var p struct {
		ID int `json:"update_id"`
	}
	_ = json.Unmarshal(raw, &p)
	return p.ID
}

// process normalizes one update and ingests it; ignored updates return nil.
// After a successful first commit of a callback query it answers the query
// in the background (best effort: the spinner on the customer's button).
func (c *Connector) process(ctx context.Context, st *runState, u *update) error {
	in, ok := c.normalize(u)
	if !ok {
		return nil
	}
	res, err := st.sink.Ingest(ctx, in)
	if models.ErrorCode(err) == models.EINVALID {
		// Permanent (the inbox recorded it as skipped): acknowledge it so
		// that the updates after it flow.
		c.log.Warn("telegram: update refused by the inbox; skipped", "update_id", u.ID, "err", err)
		return nil
	}
	if err != nil {
		return err
	}
	if u.Callback != nil && !res.Duplicate {
		id := u.Callback.ID
		st.spawn(func() {
			actx, cancel := context.WithTimeout(st.ctx, 10*time.Second)
			defer cancel()
			if err := c.api.call(actx, "answerCallbackQuery", map[string]string{"callback_query_id": id}, nil); err != nil {
				c.log.Debug("telegram: answering a callback query failed", "err", err)
			}
		})
	}
	return nil
}
