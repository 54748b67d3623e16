package dcfake

import (
	"bytes"
	"compress/zlib"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Gateway opcodes.
const (
	opDispatch       = 0
	opHeartbeat      = 1
	opIdentify       = 2
	opPresenceUpdate = 3
	opVoiceState     = 4
	opResume         = 6
	opReconnect      = 7
	opRequestMembers = 8
	opInvalidSession = 9
	opHello          = 10
	opHeartbeatACK   = 11
)

// Gateway close codes.
const (
	CloseUnknownError         = 4000
	CloseUnknownOpcode        = 4001
	CloseDecodeError          = 4002
	CloseNotAuthenticated     = 4003
	CloseAuthenticationFail   = 4004
	CloseAlreadyAuthenticated = 4005
	CloseInvalidSeq           = 4007
	CloseRateLimited          = 4008
	CloseSessionTimedOut      = 4009
	CloseInvalidShard         = 4010
	CloseShardingRequired     = 4011
	CloseInvalidAPIVersion    = 4012
	CloseInvalidIntents       = 4013
	CloseDisallowedIntents    = 4014
)

var closeReasons = map[int]string{
	CloseUnknownError:         "Unknown error.",
	CloseUnknownOpcode:        "Unknown opcode.",
	CloseDecodeError:          "Error while decoding payload.",
	CloseNotAuthenticated:     "Not authenticated.",
	CloseAuthenticationFail:   "Authentication failed.",
	CloseAlreadyAuthenticated: "Already authenticated.",
	CloseInvalidSeq:           "Invalid seq.",
	CloseRateLimited:          "Rate limited.",
	CloseSessionTimedOut:      "Session timed out.",
	CloseInvalidShard:         "Invalid shard.",
	CloseShardingRequired:     "Sharding required.",
	CloseInvalidAPIVersion:    "Invalid API version.",
	CloseInvalidIntents:       "Invalid intent(s).",
	CloseDisallowedIntents:    "Disallowed intent(s).",
}

// fatalClose reports close codes after which Discord refuses to resume or
// identify again until something is fixed by a human.
func fatalClose(code int) bool {
	switch code {
	case CloseAuthenticationFail, CloseInvalidShard, CloseShardingRequired,
		CloseInvalidAPIVersion, CloseInvalidIntents, CloseDisallowedIntents:
		return true
	}
	return false
}

const maxHistory = 10000

type frame struct {
	seq     int64
	payload []byte
}

type session struct {
	id       string
	seq      int64
	intents  int64
	compress bool
	history  []frame
	conn     *gwConn
}

// pendingEvent is a dispatch waiting for a session; build renders it for the
// session's intents (ok=false: the intents exclude it).
type pendingEvent struct {
	t     string
	build func(intents int64) (any, bool)
}

type gateway struct {
	sess       *session
	pending    []pendingEvent
	conns      map[*gwConn]struct{}
	rejectCode int
	stats      GatewayStats
}

func (g *gateway) init() { g.conns = map[*gwConn]struct{}{} }

func (g *gateway) allConns() []*gwConn {
	out := make([]*gwConn, 0, len(g.conns))
	for c := range g.conns {
		out = append(out, c)
	}
	return out
}

// GatewayStats describes what happened on the gateway so far.
type GatewayStats struct {
	// Connected is true while a client connection is attached to the session.
	Connected bool
	SessionID string
	// Seq is the session's last sequence number.
	Seq        int64
	Identifies int
	Resumes    int
	Heartbeats int
	// Intents and Compress are what the last IDENTIFY asked for.
	Intents  int64
	Compress bool
	// ClientCloseCodes are the close codes clients sent, in order.
	ClientCloseCodes []int
}

// gwConn is one websocket connection; writes are serialized by wmu.
type gwConn struct {
	ws     *websocket.Conn
	wmu    sync.Mutex
	authed bool // guarded by Server.mu
}

func (c *gwConn) write(mt int, data []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return c.ws.WriteMessage(mt, data)
}

func (c *gwConn) writeJSON(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return c.write(websocket.TextMessage, b)
}

// sendPayload writes a dispatch, zlib-compressed in a binary frame when the
// session asked for compression.
func (c *gwConn) sendPayload(payload []byte, compress bool) error {
	if !compress {
		return c.write(websocket.TextMessage, payload)
	}
	var buf bytes.Buffer
	zw := zlib.NewWriter(&buf)
	if _, err := zw.Write(payload); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return c.write(websocket.BinaryMessage, buf.Bytes())
}

// closeWith sends a close frame with code and closes the connection.
func (c *gwConn) closeWith(code int) {
	reason := closeReasons[code]
	c.wmu.Lock()
	_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
	c.wmu.Unlock()
	_ = c.ws.Close()
}

// drop closes the TCP connection without a close frame.
func (c *gwConn) drop() { _ = c.ws.NetConn().Close() }

type gatewayPayload struct {
	Op int             `json:"op"`
	D  json.RawMessage `json:"d"`
	S  *int64          `json:"s"`
	T  *string         `json:"t"`
}

func (s *Server) serveGateway(w http.ResponseWriter, r *http.Request) {
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	ws, err := up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := &gwConn{ws: ws}
	s.mu.Lock()
	s.gw.conns[c] = struct{}{}
	s.mu.Unlock()
	code := 0
	defer func() {
		s.mu.Lock()
		delete(s.gw.conns, c)
		if sess := s.gw.sess; sess != nil && sess.conn == c {
			sess.conn = nil
			// A client closing with 1000 or 1001 ends its session, as on Discord.
			if code == websocket.CloseNormalClosure || code == websocket.CloseGoingAway {
				s.gw.sess = nil
			}
		}
		s.mu.Unlock()
		_ = ws.Close()
	}()

	q := r.URL.Query()
	switch {
	case q.Get("v") != "" && q.Get("v") != "9":
		c.closeWith(CloseInvalidAPIVersion)
		return
	case q.Get("encoding") != "" && q.Get("encoding") != "json":
		c.closeWith(CloseDecodeError)
		return
	case q.Get("compress") != "":
		// zlib-stream transport compression is not implemented here.
		c.closeWith(CloseDecodeError)
		return
	}
	interval := s.opts.HeartbeatInterval
	if err := c.writeJSON(map[string]any{"op": opHello, "d": map[string]any{"heartbeat_interval": interval.Milliseconds()}, "s": nil, "t": nil}); err != nil {
		return
	}
	for {
		_ = ws.SetReadDeadline(time.Now().Add(3*interval + 5*time.Second))
		_, data, err := ws.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				code = ce.Code
				s.mu.Lock()
				s.gw.stats.ClientCloseCodes = append(s.gw.stats.ClientCloseCodes, ce.Code)
				s.mu.Unlock()
			}
			return
		}
		var p gatewayPayload
		if err := json.Unmarshal(data, &p); err != nil {
			c.closeWith(CloseDecodeError)
			return
		}
		if !s.handleOp(c, p) {
			return
		}
	}
}

// handleOp processes one client payload; false ends the connection.
func (s *Server) handleOp(c *gwConn, p gatewayPayload) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch p.Op {
	case opHeartbeat:
		s.gw.stats.Heartbeats++
		return c.writeJSON(map[string]any{"op": opHeartbeatACK, "d": nil}) == nil
	case opIdentify:
		return s.identifyLocked(c, p.D)
	case opResume:
		return s.resumeLocked(c, p.D)
	case opPresenceUpdate, opVoiceState, opRequestMembers:
		if !c.authed {
			c.closeWith(CloseNotAuthenticated)
			return false
		}
		return true
	default:
		c.closeWith(CloseUnknownOpcode)
		return false
	}
}

func (s *Server) tokenOK(tok string) bool {
	tok = strings.TrimPrefix(tok, "Bot ")
	return subtle.ConstantTimeCompare([]byte(tok), []byte(s.opts.BotToken)) == 1
}

func (s *Server) identifyLocked(c *gwConn, raw json.RawMessage) bool {
	var d struct {
		Token    string `json:"token"`
		Intents  int64  `json:"intents"`
		Compress bool   `json:"compress"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		c.closeWith(CloseDecodeError)
		return false
	}
	if c.authed {
		c.closeWith(CloseAlreadyAuthenticated)
		return false
	}
	if !s.tokenOK(d.Token) {
		c.closeWith(CloseAuthenticationFail)
		return false
	}
	if s.gw.rejectCode != 0 {
		c.closeWith(s.gw.rejectCode)
		return false
	}
	if d.Intents < 0 || d.Intents >= 1<<26 {
		c.closeWith(CloseInvalidIntents)
		return false
	}
	if s.opts.DisallowMessageContent && d.Intents&intentMessageContent != 0 {
		c.closeWith(CloseDisallowedIntents)
		return false
	}
	if old := s.gw.sess; old != nil && old.conn != nil && old.conn != c {
		old.conn = nil
	}
	sess := &session{id: randomHex(16), intents: d.Intents, compress: d.Compress, conn: c}
	s.gw.sess = sess
	c.authed = true
	s.gw.stats.Identifies++
	s.gw.stats.Intents = d.Intents
	s.gw.stats.Compress = d.Compress

	guilds := make([]any, 0, len(s.opts.Guilds))
	for _, g := range s.opts.Guilds {
		guilds = append(guilds, map[string]any{"id": g.ID, "unavailable": true})
	}
	ready := map[string]any{
		"v":                  9,
		"user":               s.userJSONLocked(s.opts.BotUserID),
		"guilds":             guilds,
		"session_id":         sess.id,
		"resume_gateway_url": s.GatewayURL(),
		"session_type":       "normal",
		"private_channels":   []any{},
		"application":        map[string]any{"id": s.opts.BotUserID, "flags": 0},
		"shard":              []int{0, 1},
	}
	s.sendDispatchLocked(sess, "READY", func(int64) (any, bool) { return ready, true })
	for _, g := range s.opts.Guilds {
		s.sendDispatchLocked(sess, "GUILD_CREATE", func(intents int64) (any, bool) {
			if intents&intentGuilds == 0 {
				return nil, false
			}
			return s.guildJSONLocked(g), true
		})
	}
	pending := s.gw.pending
	s.gw.pending = nil
	for _, e := range pending {
		s.sendDispatchLocked(sess, e.t, e.build)
	}
	return true
}

func (s *Server) guildJSONLocked(g Guild) map[string]any {
	var channels, threads []any
	for _, id := range s.channelOrder {
		c := s.channels[id]
		if c.GuildID != g.ID {
			continue
		}
		if c.Type == channelPublicThread {
			threads = append(threads, s.channelJSONLocked(c))
		} else {
			channels = append(channels, s.channelJSONLocked(c))
		}
	}
	return map[string]any{
		"id":           g.ID,
		"name":         g.Name,
		"icon":         nil,
		"owner_id":     s.opts.BotUserID,
		"unavailable":  false,
		"large":        false,
		"member_count": 1,
		"joined_at":    discordTime(s.now()),
		"channels":     channels,
		"threads":      threads,
		"members":      []any{},
		"roles":        []any{},
		"emojis":       []any{},
		"features":     []any{},
		"voice_states": []any{},
		"presences":    []any{},
	}
}

func (s *Server) resumeLocked(c *gwConn, raw json.RawMessage) bool {
	var d struct {
		Token     string `json:"token"`
		SessionID string `json:"session_id"`
		Seq       int64  `json:"seq"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		c.closeWith(CloseDecodeError)
		return false
	}
	if !s.tokenOK(d.Token) {
		c.closeWith(CloseAuthenticationFail)
		return false
	}
	if s.gw.rejectCode != 0 {
		c.closeWith(s.gw.rejectCode)
		return false
	}
	sess := s.gw.sess
	if sess == nil || subtle.ConstantTimeCompare([]byte(sess.id), []byte(d.SessionID)) != 1 ||
		d.Seq > sess.seq || (len(sess.history) > 0 && sess.history[0].seq > d.Seq+1) {
		// Not resumable: the client must identify again.
		return c.writeJSON(map[string]any{"op": opInvalidSession, "d": false}) == nil
	}
	sess.conn = c
	c.authed = true
	s.gw.stats.Resumes++
	for _, f := range sess.history {
		if f.seq <= d.Seq {
			continue
		}
		if err := c.sendPayload(f.payload, sess.compress); err != nil {
			sess.conn = nil
			return false
		}
	}
	s.sendDispatchLocked(sess, "RESUMED", func(int64) (any, bool) { return map[string]any{}, true })
	return true
}

// sendDispatchLocked numbers a dispatch, keeps it for RESUME and writes it to
// the attached connection, if any.
func (s *Server) sendDispatchLocked(sess *session, t string, build func(int64) (any, bool)) {
	d, ok := build(sess.intents)
	if !ok {
		return
	}
	sess.seq++
	payload, err := json.Marshal(map[string]any{"op": opDispatch, "s": sess.seq, "t": t, "d": d})
	if err != nil {
		s.log.Error("marshal dispatch", "t", t, "err", err)
		return
	}
	sess.history = append(sess.history, frame{seq: sess.seq, payload: payload})
	if len(sess.history) > maxHistory {
		sess.history = append([]frame(nil), sess.history[len(sess.history)-maxHistory:]...)
	}
	if sess.conn != nil {
		if err := sess.conn.sendPayload(payload, sess.compress); err != nil {
			s.log.Debug("dispatch write failed; queued for resume", "t", t, "err", err)
			sess.conn = nil
		}
	}
}

// emitLocked dispatches an event to the session, or holds it until one exists.
func (s *Server) emitLocked(t string, build func(int64) (any, bool)) {
	if s.gw.sess == nil {
		s.gw.pending = append(s.gw.pending, pendingEvent{t: t, build: build})
		return
	}
	s.sendDispatchLocked(s.gw.sess, t, build)
}

func (s *Server) dispatchMessageLocked(m *message) {
	c := s.channels[m.ChannelID]
	isDM := c != nil && c.Type == channelDM
	isOwn := m.AuthorID == s.opts.BotUserID
	s.emitLocked("MESSAGE_CREATE", func(intents int64) (any, bool) {
		if isDM && intents&intentDirectMessages == 0 {
			return nil, false
		}
		if !isDM && intents&intentGuildMessages == 0 {
			return nil, false
		}
		// Apps always see the content of DMs and of their own messages.
		contentOK := isDM || isOwn || intents&intentMessageContent != 0
		d := s.messageJSONLocked(m, contentOK)
		if !isDM {
			d["member"] = memberJSON(m.Timestamp)
		}
		return d, true
	})
}

func (s *Server) dispatchThreadCreateLocked(th *channel) {
	s.emitLocked("THREAD_CREATE", func(intents int64) (any, bool) {
		if intents&intentGuilds == 0 {
			return nil, false
		}
		d := s.channelJSONLocked(th)
		d["newly_created"] = true
		return d, true
	})
}

// ErrNotConnected is returned by failure tools when no client is connected.
var ErrNotConnected = errors.New("dcfake: no gateway client connected")

func (s *Server) attachedLocked() (*session, *gwConn, error) {
	sess := s.gw.sess
	if sess == nil || sess.conn == nil {
		return nil, nil, ErrNotConnected
	}
	return sess, sess.conn, nil
}

// Reconnect sends op 7 RECONNECT to the connected client. Dispatches emitted
// from now on wait for the client's RESUME.
func (s *Server) Reconnect() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, c, err := s.attachedLocked()
	if err != nil {
		return err
	}
	sess.conn = nil
	return c.writeJSON(map[string]any{"op": opReconnect, "d": nil})
}

// InvalidateSession sends op 9 INVALID_SESSION. When resumable is false the
// session ends; either way the client must IDENTIFY or RESUME again.
func (s *Server) InvalidateSession(resumable bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, c, err := s.attachedLocked()
	if err != nil {
		return err
	}
	sess.conn = nil
	c.authed = false
	if !resumable {
		s.gw.sess = nil
	}
	return c.writeJSON(map[string]any{"op": opInvalidSession, "d": resumable})
}

// CloseWith closes the client connection with a gateway close code. After a
// fatal code (4004, 4010-4014) later IDENTIFY and RESUME attempts are closed
// with the same code until RejectHandshakes(0); after 4007 or 4009 the
// session cannot be resumed.
func (s *Server) CloseWith(code int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, c, err := s.attachedLocked()
	if err != nil {
		return err
	}
	sess.conn = nil
	switch {
	case fatalClose(code):
		s.gw.rejectCode = code
		s.gw.sess = nil
	case code == CloseInvalidSeq || code == CloseSessionTimedOut:
		s.gw.sess = nil
	}
	c.closeWith(code)
	return nil
}

// RejectHandshakes makes every IDENTIFY and RESUME fail with close code
// (0 accepts them again).
func (s *Server) RejectHandshakes(code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gw.rejectCode = code
}

// DropConnection closes the client's TCP connection without a close frame;
// the session stays resumable.
func (s *Server) DropConnection() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, c, err := s.attachedLocked()
	if err != nil {
		return err
	}
	sess.conn = nil
	c.drop()
	return nil
}

// Stats returns the gateway counters.
func (s *Server) Stats() GatewayStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.gw.stats
	st.ClientCloseCodes = append([]int(nil), st.ClientCloseCodes...)
	if sess := s.gw.sess; sess != nil {
		st.SessionID = sess.id
		st.Seq = sess.seq
		st.Connected = sess.conn != nil
	}
	return st
}

// WaitConnected waits until a client has an attached, identified connection.
func (s *Server) WaitConnected(ctx context.Context) error {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		if s.Stats().Connected {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}
