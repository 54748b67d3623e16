package wechat

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/silenceper/wechat/v2/credential"
	"github.com/silenceper/wechat/v2/officialaccount"
	"github.com/silenceper/wechat/v2/officialaccount/basic"
	oaconfig "github.com/silenceper/wechat/v2/officialaccount/config"
	"github.com/silenceper/wechat/v2/officialaccount/material"
	"github.com/silenceper/wechat/v2/officialaccount/message"

	"github.com/tongdao/hub/connectors"
	"github.com/tongdao/hub/connectors/media"
	"github.com/tongdao/hub/models"
)

func init() {
	connectors.Register(connectors.Type{Name: "wechat", Channel: models.ChannelWeChat, Title: "WeChat", Factory: New})
}

// Capabilities, checked at compile time.
var (
	_ connectors.WebhookHandler = (*Connector)(nil)
	_ connectors.ReplyWindower  = (*Connector)(nil)
	_ connectors.QRCoder        = (*Connector)(nil)
	_ connectors.Shutdowner     = (*Connector)(nil)
	_ connectors.Languager      = (*Connector)(nil)
)

// Compile-time checks of the capabilities the hub looks for.
var (
	_ connectors.WebhookHandler = (*Connector)(nil)
	_ connectors.Shutdowner     = (*Connector)(nil)
	_ connectors.Languager      = (*Connector)(nil)
)

const (
	// replyWindow is how long after a customer's last message or event the
	// account may send customer-service messages.
	replyWindow = 48 * time.Hour
	// officialQRHost serves QR images (the SDK's basic.ShowQRCode).
	officialQRBase = "https://mp.weixin.qq.com"
	// maxQRTTL is WeChat's limit for temporary QR codes (30 days).
	maxQRTTL = 30 * 24 * time.Hour
	// warmupTimeout bounds the access-token check Run does at start.
	warmupTimeout = 10 * time.Second
)

// Connector is one WeChat Official Account. It receives pushes through its
// webhook (ServeHTTP) and sends customer-service messages.
type Connector struct {
	name     string
	settings Settings
	base     string   // effective API base URL
	baseURL  *url.URL // nil when base is the official host
	log      *slog.Logger
	now      func() time.Time
	kv       connectors.KV
	oa       *officialaccount.OfficialAccount
	// The SDK creates these lazily without a lock; they are built once in
	// New so concurrent Sends do not race.
	qr        *basic.Basic
	material  *material.Material
	messages  *message.Manager
	router    *apiRouter
	routeOnce sync.Once
	cacheKey  string // the SDK's access-token cache key

	// ingestTimeout bounds sink.Ingest so that WeChat gets its answer within
	// its 5 s limit; a timeout answers 500 and WeChat re-posts.
	ingestTimeout time.Duration
	// fetch downloads agent attachments before upload.
	fetch *media.Fetcher
	// maxImageBytes caps an attachment download (WeChat: 10 MB for images).
	maxImageBytes int64

	mu   sync.RWMutex
	sink connectors.Sink
}

// New builds a wechat connector from its settings without doing I/O. It
// returns every settings problem joined, each naming its key.
func New(cfg connectors.Config) (connectors.Connector, error) {
	if cfg.Decode == nil {
		return nil, errors.New("wechat: no settings decoder")
	}
	var s Settings
	if err := cfg.Decode(&s); err != nil {
		return nil, err
	}
	base, err := s.validate()
	if err != nil {
		return nil, err
	}
	logger := cfg.Deps.Logger
	if logger == nil {
		logger = slog.Default().With("connector", cfg.Name)
	}
	now := cfg.Deps.Now
	if now == nil {
		now = time.Now
	}
	kv := cfg.Deps.KV
	if kv == nil {
		kv = newMemKV(now)
	}
	c := &Connector{
		name:          cfg.Name,
		settings:      s,
		base:          base,
		log:           logger,
		now:           now,
		kv:            kv,
		router:        sharedRouter(),
		cacheKey:      fmt.Sprintf("%s_access_token_%s", credential.CacheKeyOfficialAccountPrefix, s.AppID),
		ingestTimeout: 4 * time.Second,
		fetch:         cfg.Deps.Media,
		maxImageBytes: 10 << 20,
	}
	if c.fetch == nil {
		c.fetch = media.New(media.Policy{})
	}
	if base != DefaultAPIURL {
		c.baseURL, _ = url.Parse(base)
	}
	tc := &tokenCache{kv: kv, log: logger, onToken: func(tok string) { c.router.learnToken(s.AppID, tok) }}
	c.oa = officialaccount.NewOfficialAccount(&oaconfig.Config{
		AppID:          s.AppID,
		AppSecret:      s.AppSecret,
		Token:          s.Token,
		EncodingAESKey: s.EncodingAESKey,
		Cache:          tc,
	})
	c.qr, c.material, c.messages = c.oa.GetBasic(), c.oa.GetMaterial(), c.oa.GetCustomerMessageManager()
	return c, nil
}

// route registers the connector's API base URL in the shared router on
// first use (Run, Send, a QR code), never at construction: validating a
// configuration (check-config, a rejected reload) builds connectors that
// must not redirect a running connector's requests.
func (c *Connector) route() {
	c.routeOnce.Do(func() { c.router.registerApp(c.settings.AppID, c.baseURL, c) })
}

// Name returns the configured connector name.
func (c *Connector) Name() string { return c.name }

// ReplyWindow is how long after a customer's last message the account may
// still write to them (WeChat's 48-hour customer-service window). The inbox
// refuses agent replies outside it.
func (c *Connector) ReplyWindow() time.Duration { return replyWindow }

// DefaultLanguages answers customers whose language is unknown (WeChat
// sends none with a message) in Chinese, then English.
func (c *Connector) DefaultLanguages() []string { return []string{"zh", "en"} }

// Run makes the webhook accept pushes and hands them to sink until ctx ends.
// WeChat pushes to us, so Run itself only checks the credentials once (a
// failure is logged, not fatal: pushes still work and Send retries).
func (c *Connector) Run(ctx context.Context, sink connectors.Sink) error {
	if sink == nil {
		return errors.New("wechat: Run without a sink")
	}
	c.route()
	c.mu.Lock()
	c.sink = sink
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.sink = nil
		c.mu.Unlock()
	}()

	wctx, cancel := context.WithTimeout(ctx, warmupTimeout)
	if _, err := c.oa.GetAccessTokenContext(wctx); err != nil && ctx.Err() == nil {
		c.log.Warn("wechat: cannot obtain an access token; check app_id, app_secret, api_url and the account's IP whitelist",
			"err", redact(err))
	}
	cancel()

	<-ctx.Done()
	return nil
}

// Close releases the connector's API route.
func (c *Connector) Close() error {
	c.router.unregisterApp(c.settings.AppID, c)
	return nil
}

// currentSink returns the sink given by Run, or nil.
func (c *Connector) currentSink() connectors.Sink {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.sink
}

// TempQRCode creates a temporary QR code whose scan (or follow by scan)
// arrives as an Inbound with Payload = scene, and returns its image URL. The
// image is served by the official QR host, or under api_url when one is set.
// scene is 1 to 64 characters; ttl is clamped to WeChat's 60 s – 30 days.
func (c *Connector) TempQRCode(ctx context.Context, scene string, ttl time.Duration) (string, error) {
	c.route()
	if scene == "" || len(scene) > 64 {
		return "", models.Errorf(models.EINVALID, "QR scene must be 1 to 64 characters")
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	ttl = min(max(ttl, time.Minute), maxQRTTL)
	tk, err := c.qr.GetQRTicket(basic.NewTmpQrRequest(ttl, scene))
	if err != nil {
		return "", c.classify(err)
	}
	if tk == nil || tk.Ticket == "" {
		return "", &models.DeliveryError{Reason: "WeChat returned no QR ticket"}
	}
	return c.qrImageURL(basic.ShowQRCode(tk), tk.Ticket), nil
}

// qrImageURL fixes the SDK's ShowQRCode URL: the SDK pastes the ticket
// unescaped (tickets are base64 and contain + / =) and always names the
// official host; the image is fetched from api_url when one is set.
func (c *Connector) qrImageURL(sdkURL, ticket string) string {
	base := officialQRBase
	if c.baseURL != nil {
		base = c.base
	}
	if u, err := url.Parse(sdkURL); err == nil && u.Path != "" {
		return base + u.Path + "?ticket=" + url.QueryEscape(ticket)
	}
	return base + "/cgi-bin/showqrcode?ticket=" + url.QueryEscape(ticket)
}

// dropToken forgets the cached access token (after 40001/42001).
func (c *Connector) dropToken() {
	ctx, cancel := context.WithTimeout(context.Background(), kvTimeout)
	defer cancel()
	if err := c.kv.Set(ctx, kvKey(c.cacheKey), "", time.Second); err != nil {
		c.log.Warn("wechat: dropping the cached access token failed", "err", err)
	}
}

// redact removes credentials from SDK error texts, which embed request URLs
// with access_token= and secret= in them.
func redact(err error) string {
	if err == nil {
		return ""
	}
	return redactString(err.Error())
}

func redactString(s string) string {
	for _, key := range []string{"access_token=", "secret="} {
		var b strings.Builder
		rest := s
		for {
			i := strings.Index(rest, key)
			if i < 0 {
				b.WriteString(rest)
				break
			}
			b.WriteString(rest[:i+len(key)])
			b.WriteString("REDACTED")
			rest = rest[i+len(key):]
			j := strings.IndexAny(rest, "&\" ,\n")
			if j < 0 {
				rest = ""
			} else {
				rest = rest[j:]
			}
		}
		s = b.String()
	}
	return s
}
