package tgfake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options configure a Server.
type Options struct {
	// Token is the bot token the server accepts, "<bot_id>:<secret>".
	// Requests with any other token get 401 Unauthorized.
	Token string
	// BotUsername is the bot's username (without @); default "tongdao_sandbox_bot".
	BotUsername string
	// BotName is the bot's first name; default "Tongdao Sandbox".
	BotName string
	// Logger receives the server's logs; default slog.Default().
	Logger *slog.Logger
	// Now is the clock used for message dates; default time.Now.
	Now func() time.Time
	// Client posts updates to the webhook; default a client with a 10 s timeout.
	Client *http.Client
	// MaxDeliveryAttempts bounds webhook delivery tries per update; default 5.
	MaxDeliveryAttempts int
	// RetryDelay is the wait before delivery attempt n+1 after attempt n
	// failed; default 200 ms doubling, capped at 5 s.
	RetryDelay func(attempt int) time.Duration
	// FirstUpdateID is the first update_id handed out; default 100000.
	FirstUpdateID int
}

// Server is a Telegram Bot API stand-in for one bot.
type Server struct {
	opts Options
	log  *slog.Logger
	bot  User

	ln   net.Listener
	srv  *http.Server
	url  string
	done chan struct{}

	mu           sync.Mutex
	webhook      WebhookInfo
	secret       string
	pending      []queued      // updates not yet confirmed through getUpdates
	updNotify    chan struct{} // closed and replaced when pending grows
	sentNotify   chan struct{} // closed and replaced when a message is sent
	nextUpdateID int
	chats        map[int64]*chatState
	recent       []json.RawMessage
	blocked      map[int64]bool
	faults       map[string][]apiError
	callbacks    map[string]*callbackState
	nextCallback int
	calls        map[string]int
	files        map[string]*storedFile
	nextFile     int
	downloads    int
}

type chatState struct {
	user          User
	nextMessageID int
	sent          []SentMessage
}

type callbackState struct {
	userID   int64
	answered bool
	text     string
}

// apiError is a Bot API error answer.
type apiError struct {
	code        int
	description string
	retryAfter  int
}

const recentUpdates = 100

// New returns a Server; Start makes it listen.
func New(opts Options) *Server {
	if opts.BotUsername == "" {
		opts.BotUsername = "tongdao_sandbox_bot"
	}
	if opts.BotName == "" {
		opts.BotName = "Tongdao Sandbox"
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if opts.MaxDeliveryAttempts <= 0 {
		opts.MaxDeliveryAttempts = 5
	}
	if opts.RetryDelay == nil {
		opts.RetryDelay = defaultRetryDelay
	}
	if opts.FirstUpdateID <= 0 {
		opts.FirstUpdateID = 100000
	}
	botID, _ := strconv.ParseInt(strings.SplitN(opts.Token, ":", 2)[0], 10, 64)
	if botID <= 0 {
		botID = 1
	}
	return &Server{
		opts: opts,
		log:  opts.Logger.With("component", "tgfake"),
		bot: User{
			ID: botID, IsBot: true, FirstName: opts.BotName, Username: opts.BotUsername,
			CanJoinGroups: true,
		},
		done:         make(chan struct{}),
		updNotify:    make(chan struct{}),
		sentNotify:   make(chan struct{}),
		nextUpdateID: opts.FirstUpdateID,
		chats:        map[int64]*chatState{},
		blocked:      map[int64]bool{},
		faults:       map[string][]apiError{},
		callbacks:    map[string]*callbackState{},
		nextCallback: 1,
		calls:        map[string]int{},
		files:        map[string]*storedFile{},
	}
}

func defaultRetryDelay(attempt int) time.Duration {
	d := 200 * time.Millisecond << (attempt - 1)
	if d <= 0 || d > 5*time.Second {
		d = 5 * time.Second
	}
	return d
}

// Start listens on 127.0.0.1 on a free port and serves until ctx ends or
// Close is called.
func (s *Server) Start(ctx context.Context) error {
	if s.opts.Token == "" {
		return errors.New("tgfake: Options.Token is required")
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("tgfake: listen: %w", err)
	}
	s.ln = ln
	s.url = "http://" + ln.Addr().String()
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("serve", "err", err)
		}
	}()
	go func() {
		select {
		case <-ctx.Done():
			s.Close()
		case <-s.done:
		}
	}()
	return nil
}

// URL is the server's base URL, to use as a Telegram connector's api_url.
func (s *Server) URL() string { return s.url }

// Bot is the bot's own user, as getMe returns it.
func (s *Server) Bot() User { return s.bot }

// Close stops the server and wakes every long poll.
func (s *Server) Close() {
	s.mu.Lock()
	select {
	case <-s.done:
		s.mu.Unlock()
		return
	default:
		close(s.done)
	}
	s.mu.Unlock()
	if s.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = s.srv.Shutdown(ctx)
	}
}

// ServeHTTP serves the Bot API, {URL}/bot<token>/<method>, and files,
// {URL}/file/bot<token>/<file_path>.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if rest, ok := strings.CutPrefix(r.URL.Path, "/file/bot"); ok {
		s.serveFile(w, r, rest)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/bot")
	token, method, ok2 := strings.Cut(rest, "/")
	if !ok || !ok2 || method == "" || strings.Contains(method, "/") {
		writeError(w, apiError{code: 404, description: "Not Found"})
		return
	}
	if token != s.opts.Token {
		writeError(w, apiError{code: 401, description: "Unauthorized"})
		return
	}
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		writeError(w, apiError{code: 405, description: "Method Not Allowed"})
		return
	}
	p, uploads, err := readParams(w, r)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeError(w, apiError{code: 413, description: "Request Entity Too Large"})
			return
		}
		writeError(w, apiError{code: 400, description: "Bad Request: " + err.Error()})
		return
	}
	name := strings.ToLower(method)
	handler, known := s.methods()[name]
	if !known {
		writeError(w, apiError{code: 404, description: "Not Found"})
		return
	}
	s.mu.Lock()
	s.calls[name]++
	var fault *apiError
	if q := s.faults[name]; len(q) > 0 {
		fault = &q[0]
		s.faults[name] = q[1:]
	}
	s.mu.Unlock()
	if fault != nil {
		writeError(w, *fault)
		return
	}
	result, aerr := handler(context.WithValue(r.Context(), uploadsKey{}, uploads), p)
	if aerr != nil {
		writeError(w, *aerr)
		return
	}
	writeResult(w, result, "")
}

type methodFunc func(ctx context.Context, p params) (any, *apiError)

func (s *Server) methods() map[string]methodFunc {
	return map[string]methodFunc{
		"getme":                  s.getMe,
		"setwebhook":             s.setWebhook,
		"deletewebhook":          s.deleteWebhook,
		"getwebhookinfo":         s.getWebhookInfo,
		"getupdates":             s.getUpdates,
		"sendmessage":            s.sendMessage,
		"sendphoto":              s.sendPhoto,
		"senddocument":           s.sendDocument,
		"sendvoice":              s.sendVoice,
		"sendaudio":              s.sendAudio,
		"sendvideo":              s.sendVideo,
		"getfile":                s.getFile,
		"answercallbackquery":    s.answerCallbackQuery,
		"editmessagereplymarkup": s.editMessageReplyMarkup,
	}
}

func writeResult(w http.ResponseWriter, result any, description string) {
	body := struct {
		OK          bool   `json:"ok"`
		Result      any    `json:"result"`
		Description string `json:"description,omitempty"`
	}{true, result, description}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(body)
}

func writeError(w http.ResponseWriter, e apiError) {
	body := struct {
		OK          bool           `json:"ok"`
		ErrorCode   int            `json:"error_code"`
		Description string         `json:"description"`
		Parameters  map[string]int `json:"parameters,omitempty"`
	}{false, e.code, e.description, nil}
	if e.retryAfter > 0 {
		body.Parameters = map[string]int{"retry_after": e.retryAfter}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.code)
	_ = json.NewEncoder(w).Encode(body)
}

// FailNext makes the next call of method (e.g. "sendMessage") fail with the
// given error code and description; retryAfter > 0 adds
// parameters.retry_after as Telegram does for 429. Calls queue up.
func (s *Server) FailNext(method string, code int, description string, retryAfter int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	name := strings.ToLower(method)
	s.faults[name] = append(s.faults[name], apiError{code: code, description: description, retryAfter: retryAfter})
}

// Block makes the user block the bot: sends to them fail with 403.
func (s *Server) Block(userID int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.blocked[userID] = true
}

// Unblock undoes Block.
func (s *Server) Unblock(userID int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.blocked, userID)
}

// Calls reports how many times the bot called method (any letter case).
func (s *Server) Calls(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[strings.ToLower(method)]
}

// Webhook returns the current webhook state, as getWebhookInfo would.
func (s *Server) Webhook() WebhookInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	info := s.webhook
	info.PendingUpdateCount = len(s.pending)
	return info
}

// readParams collects a Bot API request's parameters from the query string
// and from a JSON, form-encoded or multipart body, and the multipart body's
// files by part name. JSON values that are not strings are kept as their
// JSON text, so `"chat_id": 5` and `"chat_id": "5"` read alike and
// reply_markup may be an object or a string.
func readParams(w http.ResponseWriter, r *http.Request) (params, map[string]upload, error) {
	p := params{}
	for k, v := range r.URL.Query() {
		if len(v) > 0 {
			p[k] = v[0]
		}
	}
	if r.Body == nil {
		return p, nil, nil
	}
	var uploads map[string]upload
	// Room for a 50 MB file and the form around it.
	r.Body = http.MaxBytesReader(w, r.Body, MaxUploadSize+1<<20)
	ct := r.Header.Get("Content-Type")
	switch {
	case strings.HasPrefix(ct, "multipart/form-data"):
		var err error
		if uploads, err = readMultipart(r, p); err != nil {
			return nil, nil, err
		}
	case strings.HasPrefix(ct, "application/x-www-form-urlencoded"):
		if err := r.ParseForm(); err != nil {
			return nil, nil, fmt.Errorf("can't parse form: %v", err)
		}
		for k, v := range r.PostForm {
			if len(v) > 0 {
				p[k] = v[0]
			}
		}
	default:
		data, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, nil, fmt.Errorf("can't read body: %v", err)
		}
		trimmed := strings.TrimSpace(string(data))
		if trimmed == "" || trimmed == "null" {
			return p, nil, nil
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(data, &m); err != nil {
			return nil, nil, errors.New("can't parse JSON object")
		}
		for k, raw := range m {
			var str string
			if len(raw) > 0 && raw[0] == '"' && json.Unmarshal(raw, &str) == nil {
				p[k] = str
				continue
			}
			if string(raw) == "null" {
				continue
			}
			p[k] = string(raw)
		}
	}
	return p, uploads, nil
}

// params are a request's parameters as strings.
type params map[string]string

func (p params) int64(name string) (int64, bool) {
	v, err := strconv.ParseInt(strings.TrimSpace(p[name]), 10, 64)
	return v, err == nil
}

func (p params) bool(name string) bool {
	v, _ := strconv.ParseBool(strings.TrimSpace(p[name]))
	return v
}
