package dcfake

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Seed ids used when Options.Guilds is empty. The sandbox configures its
// connector's support_channels with DefaultSupportChannelID.
const (
	DefaultGuildID          = "1300000000000000001"
	DefaultSupportChannelID = "1300000000000000010"
	DefaultGeneralChannelID = "1300000000000000011"
	DefaultBotUserID        = "1300000000000000100"
	DefaultBotUsername      = "tongdao-support"
)

// discordEpochMS is the first second of 2015 in Unix milliseconds, the epoch of
// Discord snowflakes.
const discordEpochMS = 1420070400000

// Channel types as Discord numbers them.
const (
	channelGuildText    = 0
	channelDM           = 1
	channelPublicThread = 11
)

// Gateway intents the stand-in enforces.
const (
	intentGuilds         = 1 << 0
	intentGuildMessages  = 1 << 9
	intentDirectMessages = 1 << 12
	intentMessageContent = 1 << 15
)

// Options configure a Server. Zero values get sensible defaults.
type Options struct {
	// BotToken is the token clients must present, without the "Bot " prefix.
	BotToken string
	// BotUserID and BotUsername describe the bot account (defaults
	// DefaultBotUserID and DefaultBotUsername).
	BotUserID   string
	BotUsername string
	// Guilds seeds the guilds the bot is in. Empty means one guild with a
	// support channel (DefaultSupportChannelID) and a general channel.
	Guilds []Guild
	// HeartbeatInterval is sent in HELLO (default 41.25 s, as Discord does).
	HeartbeatInterval time.Duration
	// InteractionDeadline is how long after dispatch an interaction may be
	// answered (default 3 s).
	InteractionDeadline time.Duration
	// DisallowMessageContent makes IDENTIFY with the privileged
	// MESSAGE_CONTENT intent fail with close code 4014, as when the intent is
	// not enabled in the developer portal.
	DisallowMessageContent bool
	// Logger receives debug logs (default: discard).
	Logger *slog.Logger
	// Now is the clock for timestamps, snowflakes and interaction deadlines.
	Now func() time.Time
}

// Guild is a seeded guild.
type Guild struct {
	ID       string
	Name     string
	Channels []Channel
}

// Channel is a seeded guild text channel.
type Channel struct {
	ID   string
	Name string
	// Support marks a channel where customers open conversations; PostInChannel
	// defaults to the first one.
	Support bool
}

// User is a customer (or another bot) as the stand-in knows them.
type User struct {
	ID         string `json:"user_id"`
	Username   string `json:"username,omitempty"`
	GlobalName string `json:"global_name,omitempty"`
	Bot        bool   `json:"bot,omitempty"`
	Locale     string `json:"locale,omitempty"`
}

// Attachment is a file on a customer message.
type Attachment struct {
	ID          string `json:"id,omitempty"`
	Filename    string `json:"filename"`
	ContentType string `json:"content_type,omitempty"`
	Size        int64  `json:"size,omitempty"`
	URL         string `json:"url,omitempty"`
	// DurationSecs is a voice message's length.
	DurationSecs float64 `json:"duration_secs,omitempty"`
	// Data is the file's bytes when a customer sends them (base64 in
	// JSON); the stand-in then serves them at URL, a CDN URL. It is never
	// echoed back.
	Data []byte `json:"data,omitempty"`
}

// Button is a button component of a bot message.
type Button struct {
	Row      int    `json:"row"`
	Style    int    `json:"style"`
	Label    string `json:"label"`
	CustomID string `json:"custom_id,omitempty"`
	URL      string `json:"url,omitempty"`
}

// Embed is the subset of an embed the stand-in keeps.
type Embed struct {
	Type        string `json:"type,omitempty"`
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
	URL         string `json:"url,omitempty"`
	ImageURL    string `json:"image_url,omitempty"`
}

// Message is a message as stored by the stand-in.
type Message struct {
	ID          string       `json:"id"`
	ChannelID   string       `json:"channel_id"`
	GuildID     string       `json:"guild_id,omitempty"`
	AuthorID    string       `json:"author_id"`
	Content     string       `json:"content"`
	Attachments []Attachment `json:"attachments,omitempty"`
	Buttons     []Button     `json:"buttons,omitempty"`
	Embeds      []Embed      `json:"embeds,omitempty"`
	Nonce       string       `json:"nonce,omitempty"`
	Timestamp   time.Time    `json:"timestamp"`
}

// InteractionRecord is a dispatched interaction and how it was answered.
type InteractionRecord struct {
	ID           string    `json:"id"`
	UserID       string    `json:"user_id"`
	MessageID    string    `json:"message_id"`
	CustomID     string    `json:"custom_id"`
	DispatchedAt time.Time `json:"dispatched_at"`
	// Answered is true once a callback was accepted; AnsweredAt and
	// CallbackType describe it.
	Answered     bool      `json:"answered"`
	AnsweredAt   time.Time `json:"answered_at,omitzero"`
	CallbackType int       `json:"callback_type,omitempty"`
	// Late is true when a callback arrived after the deadline (it was refused
	// with 10062 Unknown interaction, as Discord does).
	Late  bool          `json:"late"`
	Delay time.Duration `json:"delay"`
	token string
}

// Request is one REST request the stand-in answered.
type Request struct {
	Method string
	Path   string
	Status int
	// Body is the request body (JSON).
	Body string
}

// Failure is an injected REST failure, used once by the next matching request.
type Failure struct {
	// Method and Path select the request ("" matches any); Path is a prefix
	// of the path under /api/v9, e.g. "/channels/".
	Method string
	Path   string
	// Status is the HTTP status (default: Discord's for Code, else 500).
	Status int
	// Code and Message form the JSON error body.
	Code    int
	Message string
	// RetryAfter is sent with status 429 as retry_after and in the
	// X-RateLimit-Reset-After and Retry-After headers.
	RetryAfter time.Duration
	// Global marks a 429 as a global rate limit.
	Global bool
}

type channel struct {
	ID          string
	Type        int
	GuildID     string
	ParentID    string
	Name        string
	OwnerID     string
	RecipientID string
	// StarterID is the user who wrote a thread's starter message.
	StarterID string
	Support   bool
	CreatedAt time.Time
}

type message struct {
	Message
	hasThread bool
	// rows is the wire JSON of the components as sent.
	rows []any
	// flags are the message flags (IS_VOICE_MESSAGE).
	flags int
}

// Server is the Discord stand-in. Create it with New, then Start it.
type Server struct {
	opts Options
	log  *slog.Logger

	ln        net.Listener
	http      *http.Server
	url       string
	done      chan struct{}
	closeOnce sync.Once

	mu           sync.Mutex
	lastID       uint64
	users        map[string]*User
	closedDMs    map[string]bool
	channels     map[string]*channel
	channelOrder []string
	dmByUser     map[string]string
	messages     map[string]*message
	order        []string
	interactions map[string]*InteractionRecord
	ixOrder      []string
	failures     []Failure
	requests     []Request
	gw           gateway
	// files are attachments' bytes by attachment id; cdnGets counts the
	// CDN downloads served.
	files map[string][]byte
	// links are the valid signatures (hm) of each attachment's CDN URLs.
	links   map[string]map[string]bool
	cdnGets int
}

// New returns an unstarted Server.
func New(opts Options) *Server {
	if opts.BotUserID == "" {
		opts.BotUserID = DefaultBotUserID
	}
	if opts.BotUsername == "" {
		opts.BotUsername = DefaultBotUsername
	}
	if opts.HeartbeatInterval <= 0 {
		opts.HeartbeatInterval = 41250 * time.Millisecond
	}
	if opts.InteractionDeadline <= 0 {
		opts.InteractionDeadline = 3 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if len(opts.Guilds) == 0 {
		opts.Guilds = []Guild{{
			ID:   DefaultGuildID,
			Name: "Tongdao Sandbox",
			Channels: []Channel{
				{ID: DefaultSupportChannelID, Name: "support", Support: true},
				{ID: DefaultGeneralChannelID, Name: "general"},
			},
		}}
	}
	s := &Server{
		opts:         opts,
		log:          opts.Logger.With("component", "dcfake"),
		users:        map[string]*User{},
		closedDMs:    map[string]bool{},
		channels:     map[string]*channel{},
		dmByUser:     map[string]string{},
		messages:     map[string]*message{},
		interactions: map[string]*InteractionRecord{},
		files:        map[string][]byte{},
		links:        map[string]map[string]bool{},
		done:         make(chan struct{}),
	}
	s.users[opts.BotUserID] = &User{ID: opts.BotUserID, Username: opts.BotUsername, Bot: true}
	for _, g := range opts.Guilds {
		for _, c := range g.Channels {
			s.addChannelLocked(&channel{ID: c.ID, Type: channelGuildText, GuildID: g.ID, Name: c.Name, Support: c.Support})
		}
	}
	s.gw.init()
	return s
}

func (s *Server) addChannelLocked(c *channel) {
	if _, ok := s.channels[c.ID]; !ok {
		s.channelOrder = append(s.channelOrder, c.ID)
	}
	s.channels[c.ID] = c
}

// Start listens on 127.0.0.1 with an ephemeral port and serves until ctx
// ends or Close is called.
func (s *Server) Start(ctx context.Context) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("dcfake: listen: %w", err)
	}
	s.ln = ln
	s.url = "http://" + ln.Addr().String()
	mux := http.NewServeMux()
	s.routes(mux)
	s.http = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("serve", "err", err)
		}
	}()
	go func() {
		select {
		case <-ctx.Done():
			_ = s.Close()
		case <-s.done:
		}
	}()
	return nil
}

// URL is the base URL to configure as the connector's api_url
// (http://127.0.0.1:PORT).
func (s *Server) URL() string { return s.url }

// GatewayURL is the websocket URL that GET /api/v9/gateway returns.
func (s *Server) GatewayURL() string {
	if s.ln == nil {
		return ""
	}
	return "ws://" + s.ln.Addr().String() + "/gateway"
}

// Close stops the server and drops every gateway connection.
func (s *Server) Close() error {
	s.closeOnce.Do(func() { close(s.done) })
	s.mu.Lock()
	conns := s.gw.allConns()
	s.mu.Unlock()
	for _, c := range conns {
		c.drop()
	}
	if s.http == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return s.http.Shutdown(ctx)
}

// BotUserID is the bot's user id.
func (s *Server) BotUserID() string { return s.opts.BotUserID }

// SupportChannelIDs lists the seeded support channels.
func (s *Server) SupportChannelIDs() []string {
	var ids []string
	for _, g := range s.opts.Guilds {
		for _, c := range g.Channels {
			if c.Support {
				ids = append(ids, c.ID)
			}
		}
	}
	return ids
}

// FailNext makes the next request matching f fail as f describes.
func (s *Server) FailNext(f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = append(s.failures, f)
}

// Requests returns the REST requests answered so far, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Interactions returns every dispatched interaction, oldest first.
func (s *Server) Interactions() []InteractionRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]InteractionRecord, 0, len(s.ixOrder))
	for _, id := range s.ixOrder {
		out = append(out, *s.interactions[id])
	}
	return out
}

// Message returns a stored message by id.
func (s *Server) Message(id string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.messages[id]
	if !ok {
		return Message{}, false
	}
	return cloneMessage(m.Message), true
}

// Thread describes a thread created through the REST API.
type Thread struct {
	ID        string `json:"id"`
	ParentID  string `json:"parent_id"`
	Name      string `json:"name"`
	StarterID string `json:"starter_user_id"`
}

// Threads lists the threads created so far.
func (s *Server) Threads() []Thread {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Thread
	for _, id := range s.channelOrder {
		c := s.channels[id]
		if c.Type == channelPublicThread {
			out = append(out, Thread{ID: c.ID, ParentID: c.ParentID, Name: c.Name, StarterID: c.StarterID})
		}
	}
	return out
}

func cloneMessage(m Message) Message {
	m.Attachments = append([]Attachment(nil), m.Attachments...)
	m.Buttons = append([]Button(nil), m.Buttons...)
	m.Embeds = append([]Embed(nil), m.Embeds...)
	return m
}

func (s *Server) now() time.Time { return s.opts.Now().UTC() }

// newIDLocked returns a snowflake for the current time, strictly increasing.
func (s *Server) newIDLocked() string {
	ms := uint64(s.now().UnixMilli() - discordEpochMS)
	id := ms << 22
	if id <= s.lastID {
		id = s.lastID + 1
	}
	s.lastID = id
	return strconv.FormatUint(id, 10)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (s *Server) userLocked(u User) *User {
	cur, ok := s.users[u.ID]
	if !ok {
		cp := u
		if cp.Username == "" {
			cp.Username = "user" + u.ID
		}
		s.users[u.ID] = &cp
		return &cp
	}
	if u.Username != "" {
		cur.Username = u.Username
	}
	if u.GlobalName != "" {
		cur.GlobalName = u.GlobalName
	}
	if u.Locale != "" {
		cur.Locale = u.Locale
	}
	cur.Bot = cur.Bot || u.Bot
	return cur
}

// dmChannelLocked returns the DM channel between the bot and userID,
// creating it when needed.
func (s *Server) dmChannelLocked(userID string) *channel {
	if id, ok := s.dmByUser[userID]; ok {
		return s.channels[id]
	}
	c := &channel{ID: s.newIDLocked(), Type: channelDM, RecipientID: userID, CreatedAt: s.now()}
	s.addChannelLocked(c)
	s.dmByUser[userID] = c.ID
	return c
}
