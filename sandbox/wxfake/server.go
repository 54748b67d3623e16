package wxfake

import (
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// Account is one Official Account the stand-in hosts.
type Account struct {
	// AppID and AppSecret are the credentials the connector uses.
	AppID     string
	AppSecret string
	// Token signs pushes; EncodingAESKey encrypts them in safe mode.
	Token          string
	EncodingAESKey string
	// WebhookURL is the hub's /webhooks/{name} for this account. It can be
	// set later with SetWebhookURL.
	WebhookURL string
	// Mode is the account's message encryption mode, as chosen in WeChat's
	// admin console: ModePlain (plaintext pushes and replies), ModeCompatible
	// (pushes carry the plaintext fields and their encryption, with
	// encrypt_type=aes and msg_signature; replies may be either) or
	// ModeSafe (pushes are only the encryption; replies must be encrypted).
	// Empty: ModeSafe when SafeMode is set, else ModePlain.
	Mode string
	// SafeMode is the older spelling of Mode: ModeSafe.
	SafeMode bool
	// OriginalID is the account's gh_ id (ToUserName of pushes). Default:
	// derived from AppID.
	OriginalID string
}

// The message encryption modes (Account.Mode), named as in the hub's
// configuration.
const (
	ModePlain      = "plain"
	ModeCompatible = "compatible"
	ModeSafe       = "safe"
)

// mode returns the account's effective Mode.
func (a Account) mode() string {
	switch {
	case a.Mode != "":
		return a.Mode
	case a.SafeMode:
		return ModeSafe
	}
	return ModePlain
}

// Options configure a Server.
type Options struct {
	// Accounts hosted; the first is the default when an app_id is omitted.
	Accounts []Account
	// Logger receives debug logs (default slog.Default()).
	Logger *slog.Logger
	// Now is the clock for tokens, reply windows, quotas and CreateTime.
	Now func() time.Time
	// PushTimeout is how long WeChat waits for the hub's answer to a push
	// before re-posting it (default 5 s, as WeChat).
	PushTimeout time.Duration
	// PushAttempts is how many times a push is posted in all (default 3).
	PushAttempts int
}

// Server plays WeChat's Official Account servers on 127.0.0.1: the API the
// connector calls, and the pushes a customer's actions cause.
type Server struct {
	log          *slog.Logger
	now          func() time.Time
	pushTimeout  time.Duration
	pushAttempts int
	client       *http.Client

	mu       sync.Mutex
	accounts map[string]*account
	first    string
	tokens   map[string]*tokenInfo
	stable   map[string]*tokenInfo // appID → stable token
	tickets  map[string]*qrTicket
	media    map[string]*mediaItem
	// uploads are the media_ids the connector uploaded, in order;
	// mediaGets counts media/get answers that served a file.
	uploads   []string
	mediaGets int
	failNext  []int64
	slow      time.Duration
	msgSeq    int64
	lastPush  map[string]*lastPush // appID → last push, for Repost
	// attempts are the push attempts awaiting the hub's answer;
	// attemptStarted is closed (and replaced) when one starts.
	attempts       map[int64]context.CancelCauseFunc
	attemptSeq     int64
	attemptStarted chan struct{}

	srv  *http.Server
	ln   net.Listener
	base string
	done chan struct{}
}

type account struct {
	Account
	users        map[string]*user
	tokenFetches int
}

// user is a customer as WeChat sees them for one account.
type user struct {
	followed bool
	// lastMsg and lastEvent open the customer-service windows; sinceMsg and
	// sinceEvent count kefu messages sent inside each.
	lastMsg, lastEvent   time.Time
	sinceMsg, sinceEvent int
	sent                 []Sent
}

type tokenInfo struct {
	appID   string
	expires time.Time
}

type qrTicket struct {
	appID   string
	scene   string
	expires time.Time // zero: permanent
}

type mediaItem struct {
	appID   string
	kind    string
	data    []byte
	name    string
	created time.Time
}

type lastPush struct {
	openid string
	xml    []byte
}

// Sent is a message the account sent to a customer.
type Sent struct {
	AppID  string `json:"app_id"`
	OpenID string `json:"openid"`
	// Kind is "kefu" (customer-service API) or "passive" (push reply).
	Kind string `json:"kind"`
	// MsgType is text, image, voice or video.
	MsgType string `json:"msg_type"`
	Text    string `json:"text,omitempty"`
	MediaID string `json:"media_id,omitempty"`
	// Title is a video message's title.
	Title string    `json:"title,omitempty"`
	At    time.Time `json:"at"`
}

// New returns a Server for opts; Start makes it listen.
func New(opts Options) *Server {
	s := &Server{
		log:            opts.Logger,
		now:            opts.Now,
		pushTimeout:    opts.PushTimeout,
		pushAttempts:   opts.PushAttempts,
		client:         &http.Client{},
		accounts:       map[string]*account{},
		tokens:         map[string]*tokenInfo{},
		stable:         map[string]*tokenInfo{},
		tickets:        map[string]*qrTicket{},
		media:          map[string]*mediaItem{},
		lastPush:       map[string]*lastPush{},
		attempts:       map[int64]context.CancelCauseFunc{},
		attemptStarted: make(chan struct{}),
		msgSeq:         24_300_000_000_000_000,
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.log = s.log.With("component", "wxfake")
	if s.now == nil {
		s.now = time.Now
	}
	if s.pushTimeout <= 0 {
		s.pushTimeout = 5 * time.Second
	}
	if s.pushAttempts <= 0 {
		s.pushAttempts = 3
	}
	for _, a := range opts.Accounts {
		if a.OriginalID == "" {
			h := sha1.Sum([]byte(a.AppID))
			a.OriginalID = "gh_" + hex.EncodeToString(h[:6])
		}
		s.accounts[a.AppID] = &account{Account: a, users: map[string]*user{}}
		if s.first == "" {
			s.first = a.AppID
		}
	}
	return s
}

// Start listens on 127.0.0.1 on a free port and serves until Close or ctx
// ends.
func (s *Server) Start(ctx context.Context) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("wxfake: listen: %w", err)
	}
	s.mu.Lock()
	s.ln = ln
	s.base = "http://" + ln.Addr().String()
	s.srv = &http.Server{Handler: s.apiHandler(), ReadHeaderTimeout: 10 * time.Second}
	s.done = make(chan struct{})
	srv, done := s.srv, s.done
	s.mu.Unlock()
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("wxfake: serve", "err", err)
		}
	}()
	go func() {
		select {
		case <-ctx.Done():
			_ = s.Close()
		case <-done:
		}
	}()
	return nil
}

// URL is the stand-in's base URL: the connector's api_url.
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.base
}

// Close stops the server.
func (s *Server) Close() error {
	s.mu.Lock()
	srv, done := s.srv, s.done
	s.srv = nil
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := srv.Shutdown(ctx)
	if err != nil {
		err = srv.Close()
	}
	<-done
	return err
}

// SetWebhookURL sets where pushes for appID go.
func (s *Server) SetWebhookURL(appID, url string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.accountLocked(appID)
	if err != nil {
		return err
	}
	a.WebhookURL = url
	return nil
}

// SetSlow delays every API answer by d (0 turns it off), to test callers'
// timeouts.
func (s *Server) SetSlow(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.slow = d
}

// ExpireToken expires every access token issued so far: the next API call
// with one gets errcode 42001.
func (s *Server) ExpireToken() {
	s.mu.Lock()
	defer s.mu.Unlock()
	past := s.now().Add(-time.Second)
	for _, t := range s.tokens {
		t.expires = past
	}
	for _, t := range s.stable {
		t.expires = past
	}
}

// FailNext makes the next API call other than a token request answer with
// errcode. Calls are queued: each API call takes one entry, and an entry of 0
// lets that call through, so a test can fail the third call with
// FailNext(0); FailNext(0); FailNext(code).
func (s *Server) FailNext(errcode int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext = append(s.failNext, errcode)
}

// TokenFetches is how many access tokens appID has obtained.
func (s *Server) TokenFetches(appID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, err := s.accountLocked(appID); err == nil {
		return a.tokenFetches
	}
	return 0
}

// Sent returns what appID sent to openid (kefu messages and passive
// replies), oldest first. An empty appID means the first account.
func (s *Server) Sent(appID, openid string) []Sent {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.accountLocked(appID)
	if err != nil {
		return nil
	}
	if u := a.users[openid]; u != nil {
		return append([]Sent(nil), u.sent...)
	}
	return nil
}

// Media returns the bytes of an uploaded media_id.
func (s *Server) Media(mediaID string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.media[mediaID]
	if !ok {
		return nil, false
	}
	return append([]byte(nil), m.data...), true
}

// OriginalID returns an account's gh_ id.
func (s *Server) OriginalID(appID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, err := s.accountLocked(appID); err == nil {
		return a.OriginalID
	}
	return ""
}

// accountLocked finds an account; "" is the first one. s.mu must be held.
func (s *Server) accountLocked(appID string) (*account, error) {
	if appID == "" {
		appID = s.first
	}
	a, ok := s.accounts[appID]
	if !ok {
		return nil, fmt.Errorf("wxfake: unknown app_id %q", appID)
	}
	return a, nil
}

// userLocked returns (creating) a's user openid. s.mu must be held.
func (a *account) userLocked(openid string) *user {
	u := a.users[openid]
	if u == nil {
		u = &user{}
		a.users[openid] = u
	}
	return u
}

// randomString returns n random characters of alphabet.
func randomString(n int, alphabet string) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
