package tgfake

import (
	"context"
	"encoding/json"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
)

var secretTokenRx = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)

func badRequest(desc string) *apiError {
	return &apiError{code: 400, description: "Bad Request: " + desc}
}

func (s *Server) getMe(context.Context, params) (any, *apiError) {
	return s.bot, nil
}

func (s *Server) setWebhook(ctx context.Context, p params) (any, *apiError) {
	raw := strings.TrimSpace(p["url"])
	if raw == "" {
		return s.deleteWebhook(ctx, p)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, badRequest("bad webhook: invalid webhook URL specified")
	}
	if !isLoopback(u.Hostname()) {
		return nil, badRequest("bad webhook: this stand-in delivers to loopback addresses only")
	}
	secret := p["secret_token"]
	if secret != "" && !secretTokenRx.MatchString(secret) {
		return nil, badRequest("secret token contains unallowed characters")
	}
	var allowed []string
	if a := p["allowed_updates"]; a != "" {
		if err := json.Unmarshal([]byte(a), &allowed); err != nil {
			return nil, badRequest("can't parse allowed updates JSON array")
		}
	}
	maxConn := 40
	if n, ok := p.int64("max_connections"); ok && n > 0 {
		maxConn = int(n)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.bool("drop_pending_updates") {
		s.pending = nil
	}
	s.webhook = WebhookInfo{URL: u.String(), MaxConnections: maxConn, AllowedUpdates: allowed}
	s.secret = secret
	return true, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (s *Server) deleteWebhook(_ context.Context, p params) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.bool("drop_pending_updates") {
		s.pending = nil
	}
	s.webhook = WebhookInfo{}
	s.secret = ""
	return true, nil
}

func (s *Server) getWebhookInfo(context.Context, params) (any, *apiError) {
	return s.Webhook(), nil
}

func (s *Server) getUpdates(ctx context.Context, p params) (any, *apiError) {
	offset, _ := p.int64("offset")
	limit := int64(100)
	if n, ok := p.int64("limit"); ok && n >= 1 && n <= 100 {
		limit = n
	}
	timeout, _ := p.int64("timeout")
	if timeout < 0 {
		timeout = 0
	}
	var deadline <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(time.Duration(timeout) * time.Second)
		defer t.Stop()
		deadline = t.C
	}
	for {
		s.mu.Lock()
		if s.webhook.URL != "" {
			s.mu.Unlock()
			return nil, &apiError{code: 409, description: "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"}
		}
		s.confirm(offset)
		if len(s.pending) > 0 || deadline == nil {
			n := min(int(limit), len(s.pending))
			out := make([]json.RawMessage, n)
			for i := range n {
				out[i] = s.pending[i].raw
			}
			s.mu.Unlock()
			return out, nil
		}
		wake := s.updNotify
		s.mu.Unlock()
		select {
		case <-wake:
		case <-deadline:
			deadline = nil // answer with what there is (nothing)
		case <-ctx.Done():
			return []json.RawMessage{}, nil
		case <-s.done:
			return []json.RawMessage{}, nil
		}
	}
}

// confirm drops pending updates as Telegram does for a getUpdates offset:
// a positive offset confirms every update below it; a negative one keeps
// only the last -offset updates. s.mu must be held.
func (s *Server) confirm(offset int64) {
	switch {
	case offset > 0:
		i := 0
		for i < len(s.pending) && int64(s.pending[i].id) < offset {
			i++
		}
		s.pending = s.pending[i:]
	case offset < 0:
		if keep := int(-offset); keep < len(s.pending) {
			s.pending = s.pending[len(s.pending)-keep:]
		}
	}
}

// target resolves chat_id to a chat the bot may write to.
func (s *Server) target(p params) (*chatState, *apiError) {
	id, ok := p.int64("chat_id")
	if !ok {
		return nil, badRequest("chat not found")
	}
	c := s.chats[id]
	if c == nil {
		return nil, badRequest("chat not found")
	}
	if s.blocked[id] {
		return nil, &apiError{code: 403, description: "Forbidden: bot was blocked by the user"}
	}
	return c, nil
}

func utf16Len(s string) int { return len(utf16.Encode([]rune(s))) }

// parseMarkup reads reply_markup; only inline keyboards are kept.
func parseMarkup(raw string) (*InlineKeyboardMarkup, *apiError) {
	if strings.TrimSpace(raw) == "" {
		return nil, nil
	}
	var m struct {
		InlineKeyboard [][]InlineKeyboardButton `json:"inline_keyboard"`
	}
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		return nil, badRequest("can't parse reply keyboard markup JSON object")
	}
	if m.InlineKeyboard == nil {
		return nil, nil // a reply keyboard or a removal: not modelled
	}
	for _, row := range m.InlineKeyboard {
		for _, b := range row {
			if b.Text == "" {
				return nil, badRequest("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard")
			}
			if b.URL == "" && (len(b.CallbackData) < 1 || len(b.CallbackData) > 64) {
				return nil, badRequest("BUTTON_DATA_INVALID")
			}
		}
	}
	return &InlineKeyboardMarkup{InlineKeyboard: m.InlineKeyboard}, nil
}

func buttonsOf(m *InlineKeyboardMarkup) [][]Button {
	if m == nil {
		return nil
	}
	out := make([][]Button, len(m.InlineKeyboard))
	for i, row := range m.InlineKeyboard {
		for _, b := range row {
			out[i] = append(out[i], Button{Text: b.Text, Data: b.CallbackData, URL: b.URL})
		}
	}
	return out
}

// record stores a bot message and returns it as the API's Message. s.mu
// must be held.
func (s *Server) record(c *chatState, sm SentMessage, markup *InlineKeyboardMarkup) Message {
	c.nextMessageID++
	sm.MessageID = c.nextMessageID
	sm.ChatID = c.user.ID
	sm.Date = s.opts.Now().Unix()
	sm.Buttons = buttonsOf(markup)
	c.sent = append(c.sent, sm)
	close(s.sentNotify)
	s.sentNotify = make(chan struct{})
	bot := s.bot
	return Message{
		MessageID: sm.MessageID, From: &bot, Date: sm.Date, Chat: privateChat(c.user),
		Text: sm.Text, Caption: sm.Caption, ReplyMarkup: markup,
	}
}

func privateChat(u User) Chat {
	return Chat{ID: u.ID, Type: "private", FirstName: u.FirstName, LastName: u.LastName, Username: u.Username}
}

func (s *Server) sendMessage(_ context.Context, p params) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, aerr := s.target(p)
	if aerr != nil {
		return nil, aerr
	}
	text := p["text"]
	if strings.TrimSpace(text) == "" {
		return nil, badRequest("message text is empty")
	}
	if utf16Len(text) > 4096 {
		return nil, badRequest("message is too long")
	}
	markup, aerr := parseMarkup(p["reply_markup"])
	if aerr != nil {
		return nil, aerr
	}
	return s.record(c, SentMessage{Method: "sendMessage", Text: text, ParseMode: p["parse_mode"]}, markup), nil
}

func (s *Server) sendPhoto(ctx context.Context, p params) (any, *apiError) {
	return s.sendFile(ctx, p, "photo")
}

func (s *Server) sendDocument(ctx context.Context, p params) (any, *apiError) {
	return s.sendFile(ctx, p, "document")
}

func (s *Server) sendVoice(ctx context.Context, p params) (any, *apiError) {
	return s.sendFile(ctx, p, "voice")
}

func (s *Server) sendAudio(ctx context.Context, p params) (any, *apiError) {
	return s.sendFile(ctx, p, "audio")
}

func (s *Server) sendVideo(ctx context.Context, p params) (any, *apiError) {
	return s.sendFile(ctx, p, "video")
}

// sendFile sends a photo, document, voice note, audio or video given by
// URL, by file_id or uploaded in a multipart body (kept, and described in
// the returned message like any file).
func (s *Server) sendFile(ctx context.Context, p params, field string) (any, *apiError) {
	up, isUpload, aerr := uploadFor(ctx, p, field)
	if aerr != nil {
		return nil, aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, aerr := s.target(p)
	if aerr != nil {
		return nil, aerr
	}
	ref := p[field]
	if !isUpload && ref == "" {
		return nil, badRequest("there is no " + field + " in the request")
	}
	if utf16Len(p["caption"]) > 1024 {
		return nil, badRequest("message caption is too long")
	}
	markup, aerr := parseMarkup(p["reply_markup"])
	if aerr != nil {
		return nil, aerr
	}
	sm := SentMessage{Method: "send" + strings.ToUpper(field[:1]) + field[1:], Caption: p["caption"], ParseMode: p["parse_mode"]}
	var f File
	var data []byte
	name, mime := "", ""
	switch stored := s.files[ref]; {
	case isUpload:
		var u *Upload
		if f, u, aerr = s.storeUpload(field, up); aerr != nil {
			return nil, aerr
		}
		ref, data, name, mime, sm.Upload = "upload", up.data, up.name, u.ContentType, u
	case stored != nil:
		f, data, name, mime = stored.File, stored.data, stored.name, stored.mime
	default: // a URL Telegram would fetch: described, not fetched
		f = File{FileID: "fake-" + field + "-" + strconv.Itoa(c.nextMessageID+1) + "-" + strconv.FormatInt(c.user.ID, 10), FileSize: 1024}
		f.FileUniqueID = f.FileID
		if i := strings.LastIndex(ref, "/"); i >= 0 {
			name = ref[i+1:]
		}
	}
	if name == "" {
		name = p["file_name"]
	}
	switch field {
	case "photo":
		sm.Photo = ref
	case "document":
		sm.Document = ref
	case "voice":
		sm.Voice = ref
	case "audio":
		sm.Audio = ref
	case "video":
		sm.Video = ref
	}
	msg := s.record(c, sm, markup)
	switch field {
	case "photo":
		w, h := imageSize(data)
		if w == 0 {
			w, h = 800, 800
		}
		msg.Photo = []PhotoSize{
			{FileID: f.FileID + "-s", FileUniqueID: f.FileUniqueID + "-s", Width: 90, Height: 90 * h / max(w, 1), FileSize: 1200},
			{FileID: f.FileID, FileUniqueID: f.FileUniqueID, Width: w, Height: h, FileSize: f.FileSize},
		}
	case "voice":
		msg.Voice = &Voice{FileID: f.FileID, FileUniqueID: f.FileUniqueID, MimeType: "audio/ogg", FileSize: f.FileSize, Duration: 1}
	case "audio":
		msg.Audio = &Audio{FileID: f.FileID, FileUniqueID: f.FileUniqueID, FileName: name, MimeType: mime, FileSize: f.FileSize, Duration: 1}
	case "video":
		msg.Video = &Video{FileID: f.FileID, FileUniqueID: f.FileUniqueID, FileName: name, MimeType: mime, FileSize: f.FileSize, Duration: 1}
	default:
		msg.Document = &Document{FileID: f.FileID, FileUniqueID: f.FileUniqueID, FileName: name, MimeType: mime, FileSize: f.FileSize}
	}
	return msg, nil
}

func (s *Server) answerCallbackQuery(_ context.Context, p params) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cb := s.callbacks[p["callback_query_id"]]
	if cb == nil || cb.answered {
		return nil, badRequest("query is too old and response timeout expired or query ID is invalid")
	}
	cb.answered = true
	cb.text = p["text"]
	return true, nil
}

func (s *Server) editMessageReplyMarkup(_ context.Context, p params) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, aerr := s.target(p)
	if aerr != nil {
		return nil, aerr
	}
	id, ok := p.int64("message_id")
	if !ok {
		return nil, badRequest("message identifier is not specified")
	}
	markup, aerr := parseMarkup(p["reply_markup"])
	if aerr != nil {
		return nil, aerr
	}
	for i := range c.sent {
		sm := &c.sent[i]
		if int64(sm.MessageID) != id {
			continue
		}
		buttons := buttonsOf(markup)
		if equalButtons(sm.Buttons, buttons) {
			return nil, badRequest("message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message")
		}
		sm.Buttons = buttons
		sm.EditDate = s.opts.Now().Unix()
		bot := s.bot
		return Message{
			MessageID: sm.MessageID, From: &bot, Date: sm.Date, EditDate: sm.EditDate,
			Chat: privateChat(c.user), Text: sm.Text, Caption: sm.Caption, ReplyMarkup: markup,
		}, nil
	}
	return nil, badRequest("message to edit not found")
}

func equalButtons(a, b [][]Button) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if len(a[i]) != len(b[i]) {
			return false
		}
		for j := range a[i] {
			if a[i][j] != b[i][j] {
				return false
			}
		}
	}
	return true
}
