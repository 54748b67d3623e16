package wxfake

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// WeChat's error messages for the codes the stand-in returns.
var errMessages = map[int64]string{
	-1:    "system error",
	40001: "invalid credential, access_token is invalid or not latest",
	40002: "invalid grant_type",
	40003: "invalid openid",
	40004: "invalid media type",
	40005: "invalid file type",
	40007: "invalid media_id",
	40008: "invalid message type",
	40009: "invalid image size",
	40013: "invalid appid",
	40052: "invalid action name",
	40053: "invalid action info, please check document",
	40125: "invalid appsecret",
	41001: "access_token missing",
	41005: "media data missing",
	42001: "access_token expired",
	43004: "require subscribe",
	44002: "empty post data",
	44004: "empty content",
	45002: "content size out of limit",
	45009: "reach max api daily quota limit",
	45015: "response out of time limit or subscription is canceled",
	45047: "out of response count limit",
	47001: "data format error",
}

const (
	tokenTTL        = 7200 * time.Second
	oldTokenGrace   = 5 * time.Minute
	maxTextBytes    = 2048
	kefuWindow      = 48 * time.Hour
	kefuAfterMsg    = 5
	eventWindow     = time.Minute
	kefuAfterEvent  = 3
	maxQRExpire     = 2592000
	maxAPIBodyBytes = 20 << 20
)

// apiHandler serves the Official Account API.
func (s *Server) apiHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /cgi-bin/token", s.handleToken)
	mux.HandleFunc("POST /cgi-bin/stable_token", s.handleStableToken)
	mux.HandleFunc("POST /cgi-bin/message/custom/send", s.handleCustomSend)
	mux.HandleFunc("POST /cgi-bin/qrcode/create", s.handleQRCreate)
	mux.HandleFunc("GET /cgi-bin/showqrcode", s.handleShowQR)
	mux.HandleFunc("POST /cgi-bin/media/upload", s.handleMediaUpload)
	mux.HandleFunc("GET /cgi-bin/media/get", s.handleMediaGet)
	mux.HandleFunc("GET /mmbiz/{id}", s.handleMmbiz)
	mux.HandleFunc("GET /mmbiz_video/{id}", s.handleVideo)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]any{"errcode": 48001, "errmsg": "api unauthorized"})
	})
	return s.slowDown(mux)
}

// slowDown applies SetSlow's delay.
func (s *Server) slowDown(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		d := s.slow
		s.mu.Unlock()
		if d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; encoding=utf-8")
	_ = json.NewEncoder(w).Encode(v)
}

// writeErr answers WeChat's error shape (always HTTP 200, as WeChat does).
func writeErr(w http.ResponseWriter, code int64) {
	msg := errMessages[code]
	if msg == "" {
		msg = "error"
	}
	writeJSON(w, map[string]any{"errcode": code, "errmsg": msg + " rid: " + randomString(8, "0123456789abcdef")})
}

// takeFailure pops a FailNext code. s.mu must be held.
func (s *Server) takeFailureLocked() int64 {
	if len(s.failNext) == 0 {
		return 0
	}
	code := s.failNext[0]
	s.failNext = s.failNext[1:]
	return code
}

// authLocked checks access_token and returns its account, or an errcode.
// s.mu must be held.
func (s *Server) authLocked(r *http.Request) (*account, int64) {
	if code := s.takeFailureLocked(); code != 0 {
		return nil, code
	}
	tok := r.URL.Query().Get("access_token")
	if tok == "" {
		return nil, 41001
	}
	t, ok := s.tokens[tok]
	if !ok {
		return nil, 40001
	}
	if !s.now().Before(t.expires) {
		return nil, 42001
	}
	return s.accounts[t.appID], 0
}

// issueTokenLocked creates a new access token for a, shortening the life of
// older ones to 5 minutes. s.mu must be held.
func (s *Server) issueTokenLocked(a *account) string {
	now := s.now()
	for _, t := range s.tokens {
		if t.appID == a.AppID && t.expires.After(now.Add(oldTokenGrace)) {
			t.expires = now.Add(oldTokenGrace)
		}
	}
	tok := randomString(136, alnum+"_-")
	s.tokens[tok] = &tokenInfo{appID: a.AppID, expires: now.Add(tokenTTL)}
	a.tokenFetches++
	return tok
}

// credentialsLocked checks appid and secret. s.mu must be held.
func (s *Server) credentialsLocked(appID, secret string) (*account, int64) {
	a, ok := s.accounts[appID]
	if !ok || appID == "" {
		return nil, 40013
	}
	if secret != a.AppSecret {
		return nil, 40125
	}
	return a, 0
}

func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("grant_type") != "client_credential" {
		writeErr(w, 40002)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, code := s.credentialsLocked(q.Get("appid"), q.Get("secret"))
	if code != 0 {
		writeErr(w, code)
		return
	}
	writeJSON(w, map[string]any{"access_token": s.issueTokenLocked(a), "expires_in": int(tokenTTL.Seconds())})
}

func (s *Server) handleStableToken(w http.ResponseWriter, r *http.Request) {
	var req struct {
		GrantType    string `json:"grant_type"`
		AppID        string `json:"appid"`
		Secret       string `json:"secret"`
		ForceRefresh bool   `json:"force_refresh"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&req); err != nil {
		writeErr(w, 47001)
		return
	}
	if req.GrantType != "client_credential" {
		writeErr(w, 40002)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, code := s.credentialsLocked(req.AppID, req.Secret)
	if code != 0 {
		writeErr(w, code)
		return
	}
	now := s.now()
	cur := s.stable[a.AppID]
	var tok string
	for k, t := range s.tokens {
		if t == cur {
			tok = k
		}
	}
	if cur == nil || req.ForceRefresh || !now.Before(cur.expires) || tok == "" {
		tok = randomString(136, alnum+"_-")
		cur = &tokenInfo{appID: a.AppID, expires: now.Add(tokenTTL)}
		s.tokens[tok] = cur
		s.stable[a.AppID] = cur
		a.tokenFetches++
	}
	writeJSON(w, map[string]any{"access_token": tok, "expires_in": int(cur.expires.Sub(now).Seconds())})
}

// kefuMessage is the customer-service message API's body.
type kefuMessage struct {
	ToUser  string `json:"touser"`
	MsgType string `json:"msgtype"`
	Text    *struct {
		Content string `json:"content"`
	} `json:"text"`
	Image *struct {
		MediaID string `json:"media_id"`
	} `json:"image"`
	Voice *struct {
		MediaID string `json:"media_id"`
	} `json:"voice"`
	Video *struct {
		MediaID      string `json:"media_id"`
		ThumbMediaID string `json:"thumb_media_id"`
		Title        string `json:"title"`
		Description  string `json:"description"`
	} `json:"video"`
}

func (s *Server) handleCustomSend(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil || len(bytes.TrimSpace(body)) == 0 {
		writeErr(w, 44002)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, code := s.authLocked(r)
	if code != 0 {
		writeErr(w, code)
		return
	}
	var m kefuMessage
	if err := json.Unmarshal(body, &m); err != nil {
		writeErr(w, 47001)
		return
	}
	sent := Sent{AppID: a.AppID, OpenID: m.ToUser, Kind: "kefu", MsgType: m.MsgType, At: s.now()}
	switch m.MsgType {
	case "text":
		if m.Text == nil || m.Text.Content == "" {
			writeErr(w, 44004)
			return
		}
		if len(m.Text.Content) > maxTextBytes {
			writeErr(w, 45002)
			return
		}
		sent.Text = m.Text.Content
	case "image", "voice", "video":
		var id string
		switch {
		case m.MsgType == "image" && m.Image != nil:
			id = m.Image.MediaID
		case m.MsgType == "voice" && m.Voice != nil:
			id = m.Voice.MediaID
		case m.MsgType == "video" && m.Video != nil:
			id, sent.Title = m.Video.MediaID, m.Video.Title
		}
		if md := s.liveMediaLocked(a, id); md == nil || md.kind != m.MsgType {
			writeErr(w, 40007)
			return
		}
		sent.MediaID = id
	default:
		writeErr(w, 40008)
		return
	}
	u, known := a.users[m.ToUser]
	if !known {
		writeErr(w, 40003)
		return
	}
	if code := s.admitKefuLocked(u); code != 0 {
		writeErr(w, code)
		return
	}
	u.sent = append(u.sent, sent)
	writeJSON(w, map[string]any{"errcode": 0, "errmsg": "ok"})
}

// admitKefuLocked applies WeChat's customer-service rules: unfollowed →
// 43004; 3 messages within a minute after subscribe/scan/click; 5 messages
// within 48 h after a customer message; 45015 when the last interaction is
// older than 48 h; 45047 when a window is open but its quota is used.
func (s *Server) admitKefuLocked(u *user) int64 {
	if !u.followed {
		return 43004
	}
	now := s.now()
	if !u.lastEvent.IsZero() && now.Sub(u.lastEvent) <= eventWindow && u.sinceEvent < kefuAfterEvent {
		u.sinceEvent++
		return 0
	}
	if !u.lastMsg.IsZero() && now.Sub(u.lastMsg) <= kefuWindow && u.sinceMsg < kefuAfterMsg {
		u.sinceMsg++
		return 0
	}
	last := u.lastMsg
	if u.lastEvent.After(last) {
		last = u.lastEvent
	}
	if last.IsZero() || now.Sub(last) > kefuWindow {
		return 45015
	}
	return 45047
}

func (s *Server) handleQRCreate(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	s.mu.Lock()
	defer s.mu.Unlock()
	a, code := s.authLocked(r)
	if code != 0 {
		writeErr(w, code)
		return
	}
	var req struct {
		ExpireSeconds int64  `json:"expire_seconds"`
		ActionName    string `json:"action_name"`
		ActionInfo    struct {
			Scene struct {
				SceneStr string `json:"scene_str"`
				SceneID  int64  `json:"scene_id"`
			} `json:"scene"`
		} `json:"action_info"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		writeErr(w, 47001)
		return
	}
	var scene string
	temporary := true
	switch req.ActionName {
	case "QR_SCENE", "QR_LIMIT_SCENE":
		if req.ActionInfo.Scene.SceneID <= 0 {
			writeErr(w, 40053)
			return
		}
		scene = strconv.FormatInt(req.ActionInfo.Scene.SceneID, 10)
		temporary = req.ActionName == "QR_SCENE"
	case "QR_STR_SCENE", "QR_LIMIT_STR_SCENE":
		scene = req.ActionInfo.Scene.SceneStr
		if scene == "" || len(scene) > 64 {
			writeErr(w, 40053)
			return
		}
		temporary = req.ActionName == "QR_STR_SCENE"
	default:
		writeErr(w, 40052)
		return
	}
	raw := make([]byte, 25)
	_, _ = rand.Read(raw)
	ticket := "gQ" + base64.StdEncoding.EncodeToString(raw)
	t := &qrTicket{appID: a.AppID, scene: scene}
	resp := map[string]any{"ticket": ticket, "url": "http://weixin.qq.com/q/" + randomString(22, alnum)}
	if temporary {
		exp := req.ExpireSeconds
		if exp <= 0 {
			exp = 60
		}
		exp = min(exp, maxQRExpire)
		t.expires = s.now().Add(time.Duration(exp) * time.Second)
		resp["expire_seconds"] = exp
	}
	s.tickets[ticket] = t
	writeJSON(w, resp)
}

func (s *Server) handleShowQR(w http.ResponseWriter, r *http.Request) {
	ticket := r.URL.Query().Get("ticket")
	s.mu.Lock()
	t, ok := s.tickets[ticket]
	valid := ok && (t.expires.IsZero() || s.now().Before(t.expires))
	s.mu.Unlock()
	if !valid {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	_, _ = w.Write(samplePNG(ticket))
}

// samplePNG draws a small black-and-white pattern derived from seed.
func samplePNG(seed string) []byte {
	const n = 21
	img := image.NewGray(image.Rect(0, 0, n, n))
	h := []byte(Signature(seed))
	for y := range n {
		for x := range n {
			c := color.Gray{Y: 255}
			if h[(x*n+y)%len(h)]%2 == 0 {
				c.Y = 0
			}
			img.SetGray(x, y, c)
		}
	}
	var buf bytes.Buffer
	_ = png.Encode(&buf, img)
	return buf.Bytes()
}

// mediaLimits are WeChat's temporary-media size limits per type.
var mediaLimits = map[string]int64{"image": 10 << 20, "voice": 2 << 20, "video": 10 << 20, "thumb": 64 << 10}

func (s *Server) handleMediaUpload(w http.ResponseWriter, r *http.Request) {
	kind := r.URL.Query().Get("type")
	limit, okType := mediaLimits[kind]
	r.Body = http.MaxBytesReader(w, r.Body, maxAPIBodyBytes)
	f, _, ferr := r.FormFile("media")
	var data []byte
	if ferr == nil {
		data, ferr = io.ReadAll(f)
		_ = f.Close()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, code := s.authLocked(r)
	switch {
	case code != 0:
	case !okType:
		code = 40004
	case ferr != nil || len(data) == 0:
		code = 41005
	case int64(len(data)) > limit:
		code = map[string]int64{"image": 40009, "voice": 40010, "video": 40011, "thumb": 40012}[kind]
	case (kind == "image" || kind == "thumb") && !strings.HasPrefix(http.DetectContentType(data), "image/"):
		code = 40005
	}
	if code != 0 {
		writeErr(w, code)
		return
	}
	name := ""
	if _, hdr, err := r.FormFile("media"); err == nil {
		name = hdr.Filename
	}
	id := s.addMediaLocked(a, kind, data, name)
	s.uploads = append(s.uploads, id)
	writeJSON(w, map[string]any{"type": kind, "media_id": id, "created_at": s.media[id].created.Unix()})
}

// handleMediaGet serves temporary media as WeChat does: the bytes with
// their type and a file name, a JSON {"video_url"} for videos, and 40007
// for an unknown id or one older than three days.
func (s *Server) handleMediaGet(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	a, code := s.authLocked(r)
	var m *mediaItem
	id := r.URL.Query().Get("media_id")
	if code == 0 {
		if m = s.liveMediaLocked(a, id); m == nil {
			code = 40007
		}
	}
	if code == 0 {
		s.mediaGets++
	}
	base := s.base
	s.mu.Unlock()
	if code != 0 {
		writeErr(w, code)
		return
	}
	if m.kind == "video" {
		writeJSON(w, map[string]string{"video_url": base + "/mmbiz_video/" + id})
		return
	}
	serveMedia(w, id, m)
}

// handleVideo serves a video's video_url.
func (s *Server) handleVideo(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	m, ok := s.media[r.PathValue("id")]
	s.mu.Unlock()
	if !ok || m.kind != "video" {
		http.NotFound(w, r)
		return
	}
	serveMedia(w, r.PathValue("id"), m)
}

// serveMedia writes a medium's bytes with WeChat's headers.
func serveMedia(w http.ResponseWriter, id string, m *mediaItem) {
	ct, ext := mediaType(m)
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Disposition", `attachment; filename="`+id+ext+`"`)
	w.Header().Set("Content-Length", strconv.Itoa(len(m.data)))
	_, _ = w.Write(m.data)
}

// mediaType is the Content-Type and file extension WeChat gives a medium.
func mediaType(m *mediaItem) (string, string) {
	switch ct := http.DetectContentType(m.data); {
	case strings.HasPrefix(string(m.data), "#!AMR"):
		return "audio/amr", ".amr"
	case ct == "image/jpeg":
		return ct, ".jpg"
	case ct == "image/png":
		return ct, ".png"
	case ct == "image/gif":
		return ct, ".gif"
	case ct == "audio/mpeg":
		return ct, ".mp3"
	case ct == "video/mp4":
		return ct, ".mp4"
	default:
		return ct, ""
	}
}

// handleMmbiz serves the PicUrl of images customers send.
func (s *Server) handleMmbiz(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	m, ok := s.media[r.PathValue("id")]
	s.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", http.DetectContentType(m.data))
	_, _ = w.Write(m.data)
}
