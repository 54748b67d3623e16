package tgfake

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tongdao/hub/sandbox/samples"
)

// SendText sends a text message from the customer u to the bot. The message
// is delivered to the webhook when one is set (SendText then returns once the
// webhook accepted it, or with an error after the last retry), otherwise it
// is queued for getUpdates. A text starting with "/" carries a bot_command
// entity, so "/start xyz" is a deep-link start.
func (s *Server) SendText(ctx context.Context, u User, text string) (Update, error) {
	return s.SendMessage(ctx, u, Message{Text: text})
}

// SendMessage sends any message from the customer u: set Text, Caption,
// Photo, Document, Location or Contact on m; the ids, chat, sender and date
// are filled in.
func (s *Server) SendMessage(ctx context.Context, u User, m Message) (Update, error) {
	if u.ID <= 0 {
		return Update{}, errors.New("tgfake: user id must be positive")
	}
	s.mu.Lock()
	c := s.chat(u)
	c.nextMessageID++
	m.MessageID = c.nextMessageID
	from := c.user
	m.From = &from
	m.Chat = privateChat(c.user)
	m.Date = s.opts.Now().Unix()
	if strings.HasPrefix(m.Text, "/") && len(m.Entities) == 0 {
		end := strings.IndexAny(m.Text, " \n\t")
		if end < 0 {
			end = len(m.Text)
		}
		m.Entities = []MessageEntity{{Type: "bot_command", Offset: 0, Length: utf16Len(m.Text[:end])}}
	}
	up := s.newUpdate()
	up.Message = &m
	s.mu.Unlock()
	return up, s.dispatch(ctx, up)
}

// SendPhoto sends a photo from the customer u, with an optional caption:
// data is a JPEG or PNG (nil: a sample JPEG of a damaged parcel). It arrives
// in two sizes, as from a phone; the bot fetches either with getFile.
func (s *Server) SendPhoto(ctx context.Context, u User, data []byte, caption string) (Update, error) {
	if data == nil {
		data = samples.JPEG(640, 480)
	}
	w, h := imageSize(data)
	if w == 0 {
		return Update{}, errors.New("tgfake: the photo is not a JPEG, PNG or GIF image")
	}
	s.mu.Lock()
	thumb := s.addFile("photo", data, 0, "", "")
	full := s.addFile("photo", data, 0, "", "")
	s.mu.Unlock()
	return s.SendMessage(ctx, u, Message{Caption: caption, Photo: []PhotoSize{
		{FileID: thumb.FileID, FileUniqueID: thumb.FileUniqueID, Width: 90, Height: 90 * h / w, FileSize: thumb.FileSize},
		{FileID: full.FileID, FileUniqueID: full.FileUniqueID, Width: w, Height: h, FileSize: full.FileSize},
	}})
}

// SendVoice sends a voice note of duration seconds from the customer u:
// data is Ogg Opus (nil: a sample of silence).
func (s *Server) SendVoice(ctx context.Context, u User, data []byte, duration int) (Update, error) {
	if duration < 1 {
		duration = 2
	}
	if data == nil {
		data = samples.OggOpus(duration)
	}
	s.mu.Lock()
	f := s.addFile("voice", data, 0, "", "audio/ogg")
	s.mu.Unlock()
	return s.SendMessage(ctx, u, Message{Voice: &Voice{FileID: f.FileID, FileUniqueID: f.FileUniqueID,
		Duration: duration, MimeType: "audio/ogg", FileSize: f.FileSize}})
}

// SendDocument sends a file from the customer u (nil data: a sample PDF
// invoice named name, default "invoice.pdf").
func (s *Server) SendDocument(ctx context.Context, u User, data []byte, name, mime, caption string) (Update, error) {
	if name == "" {
		name = "invoice.pdf"
	}
	if data == nil {
		data, mime = samples.PDF("Invoice 42 - Tongdao sandbox"), "application/pdf"
	}
	if mime == "" {
		mime = http.DetectContentType(data)
	}
	s.mu.Lock()
	f := s.addFile("document", data, 0, name, mime)
	s.mu.Unlock()
	return s.SendMessage(ctx, u, Message{Caption: caption, Document: &Document{FileID: f.FileID,
		FileUniqueID: f.FileUniqueID, FileName: name, MimeType: mime, FileSize: f.FileSize}})
}

// EditText edits the text of the customer's earlier message messageID.
func (s *Server) EditText(ctx context.Context, u User, messageID int, text string) (Update, error) {
	s.mu.Lock()
	c := s.chat(u)
	if messageID <= 0 || messageID > c.nextMessageID {
		s.mu.Unlock()
		return Update{}, fmt.Errorf("tgfake: no message %d in chat %d", messageID, u.ID)
	}
	from := c.user
	now := s.opts.Now().Unix()
	up := s.newUpdate()
	up.EditedMessage = &Message{
		MessageID: messageID, From: &from, Chat: privateChat(c.user), Date: now, EditDate: now, Text: text,
	}
	s.mu.Unlock()
	return up, s.dispatch(ctx, up)
}

// Click presses the inline button carrying data on the bot's message
// messageID in the chat with u, producing a callback_query update.
func (s *Server) Click(ctx context.Context, u User, messageID int, data string) (Update, error) {
	s.mu.Lock()
	c := s.chats[u.ID]
	if c == nil {
		s.mu.Unlock()
		return Update{}, fmt.Errorf("tgfake: user %d has no chat with the bot", u.ID)
	}
	var msg *SentMessage
	for i := range c.sent {
		if c.sent[i].MessageID == messageID {
			msg = &c.sent[i]
		}
	}
	if msg == nil || !hasButton(msg.Buttons, data) {
		s.mu.Unlock()
		return Update{}, fmt.Errorf("tgfake: bot message %d in chat %d has no button with data %q", messageID, u.ID, data)
	}
	id := strconv.FormatInt(s.bot.ID, 10) + strconv.Itoa(1000000+s.nextCallback)
	s.nextCallback++
	s.callbacks[id] = &callbackState{userID: u.ID}
	bot := s.bot
	markup := &InlineKeyboardMarkup{}
	for _, row := range msg.Buttons {
		var r []InlineKeyboardButton
		for _, b := range row {
			r = append(r, InlineKeyboardButton{Text: b.Text, CallbackData: b.Data, URL: b.URL})
		}
		markup.InlineKeyboard = append(markup.InlineKeyboard, r)
	}
	up := s.newUpdate()
	up.CallbackQuery = &CallbackQuery{
		ID: id, From: c.user, ChatInstance: "-" + strconv.FormatInt(u.ID*7919, 10), Data: data,
		Message: &Message{
			MessageID: msg.MessageID, From: &bot, Chat: privateChat(c.user), Date: msg.Date,
			Text: msg.Text, Caption: msg.Caption, ReplyMarkup: markup,
		},
	}
	s.mu.Unlock()
	return up, s.dispatch(ctx, up)
}

// CallbackAnswered reports whether the bot answered the callback query id.
func (s *Server) CallbackAnswered(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	cb := s.callbacks[id]
	return cb != nil && cb.answered
}

func hasButton(rows [][]Button, data string) bool {
	for _, row := range rows {
		for _, b := range row {
			if b.Data != "" && b.Data == data {
				return true
			}
		}
	}
	return false
}

// Resend delivers the same update again, update_id unchanged, as Telegram
// does when it did not get a 2xx answer in time.
func (s *Server) Resend(ctx context.Context, up Update) error {
	raw, err := json.Marshal(up)
	if err != nil {
		return err
	}
	return s.deliver(ctx, queued{id: up.UpdateID, raw: raw})
}

// PushRaw delivers an update given as raw JSON exactly as is (a payload
// captured from Telegram, or a malformed one for tests). Its update_id is
// read when present.
func (s *Server) PushRaw(ctx context.Context, raw []byte) error {
	var probe struct {
		UpdateID int `json:"update_id"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		s.mu.Lock()
		hook := s.webhook.URL
		s.mu.Unlock()
		if hook == "" {
			return fmt.Errorf("tgfake: PushRaw: invalid JSON can only go to a webhook: %w", err)
		}
	}
	return s.deliver(ctx, queued{id: probe.UpdateID, raw: append(json.RawMessage(nil), raw...)})
}

// Sent returns the messages the bot sent to the user, oldest first.
func (s *Server) Sent(userID int64) []SentMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.chats[userID]
	if c == nil {
		return nil
	}
	return append([]SentMessage(nil), c.sent...)
}

// WaitSent waits until the bot has sent at least n messages to the user and
// returns them all, or returns ctx's error.
func (s *Server) WaitSent(ctx context.Context, userID int64, n int) ([]SentMessage, error) {
	for {
		s.mu.Lock()
		var got []SentMessage
		if c := s.chats[userID]; c != nil {
			got = append(got, c.sent...)
		}
		wake := s.sentNotify
		s.mu.Unlock()
		if len(got) >= n {
			return got, nil
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return got, fmt.Errorf("tgfake: waiting for %d messages to user %d, have %d: %w", n, userID, len(got), ctx.Err())
		}
	}
}

// Updates returns the most recent updates (up to 100), oldest first.
func (s *Server) Updates() []json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]json.RawMessage(nil), s.recent...)
}

// chat returns (creating) the private chat with u; later calls refresh the
// user's profile. s.mu must be held.
func (s *Server) chat(u User) *chatState {
	c := s.chats[u.ID]
	if c == nil {
		c = &chatState{}
		s.chats[u.ID] = c
	}
	if u.FirstName != "" {
		u.IsBot = false
		c.user = u
	}
	if c.user.ID == 0 {
		c.user = User{ID: u.ID, FirstName: "Customer"}
	}
	return c
}

// newUpdate allocates the next update_id. s.mu must be held.
func (s *Server) newUpdate() Update {
	id := s.nextUpdateID
	s.nextUpdateID++
	return Update{UpdateID: id}
}

func (s *Server) dispatch(ctx context.Context, up Update) error {
	raw, err := json.Marshal(up)
	if err != nil {
		return err
	}
	return s.deliver(ctx, queued{id: up.UpdateID, raw: raw})
}

// deliver posts an update to the webhook with bounded retries, or queues it
// for getUpdates when no webhook is set. An update the webhook never
// accepted stays pending, as on Telegram.
func (s *Server) deliver(ctx context.Context, q queued) error {
	s.mu.Lock()
	s.recent = append(s.recent, q.raw)
	if len(s.recent) > recentUpdates {
		s.recent = s.recent[len(s.recent)-recentUpdates:]
	}
	hook, secret := s.webhook.URL, s.secret
	if hook == "" {
		s.enqueue(q)
		s.mu.Unlock()
		return nil
	}
	s.mu.Unlock()

	var lastErr error
	for attempt := 1; attempt <= s.opts.MaxDeliveryAttempts; attempt++ {
		lastErr = s.post(ctx, hook, secret, q.raw)
		if lastErr == nil {
			return nil
		}
		s.mu.Lock()
		s.webhook.LastErrorDate = s.opts.Now().Unix()
		s.webhook.LastErrorMessage = lastErr.Error()
		s.mu.Unlock()
		if attempt == s.opts.MaxDeliveryAttempts || ctx.Err() != nil {
			break
		}
		t := time.NewTimer(s.opts.RetryDelay(attempt))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		case <-s.done:
			t.Stop()
		}
	}
	s.mu.Lock()
	s.enqueue(q)
	s.mu.Unlock()
	return fmt.Errorf("tgfake: webhook did not accept update %d: %w", q.id, lastErr)
}

// enqueue adds an update to the pending list in update_id order. s.mu must
// be held.
func (s *Server) enqueue(q queued) {
	for _, p := range s.pending {
		if p.id == q.id && q.id != 0 {
			return // already pending
		}
	}
	i := len(s.pending)
	for i > 0 && s.pending[i-1].id > q.id {
		i--
	}
	s.pending = append(s.pending, queued{})
	copy(s.pending[i+1:], s.pending[i:])
	s.pending[i] = q
	close(s.updNotify)
	s.updNotify = make(chan struct{})
}

func (s *Server) post(ctx context.Context, hook, secret string, raw []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, hook, bytes.NewReader(raw))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if secret != "" {
		req.Header.Set("X-Telegram-Bot-Api-Secret-Token", secret)
	}
	resp, err := s.opts.Client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("wrong response from the webhook: %s", resp.Status)
	}
	return nil
}

// CustomerAPI is a JSON API to play the customer, for the sandbox UI; mount
// it under a prefix (it routes on the last path segment):
//
//	POST /send   {"user_id":1001,"name":"Ana Li","username":"ana","language":"en","text":"hi"}
//	             optional "location":{"latitude":..,"longitude":..},
//	             "contact":{"phone_number":"..","first_name":"..","user_id":..}, or a file
//	             (the text is its caption; "data" is base64, left out for a sample file):
//	             "photo":{"data":".."}, "voice":{"data":"..","duration":3},
//	             "document":{"data":"..","name":"invoice.pdf","mime_type":"application/pdf"}
//	POST /edit   {"user_id":1001,"message_id":3,"text":"..."}
//	POST /click  {"user_id":1001,"message_id":4,"data":"yes"}
//	GET  /sent?user_id=1001
//	GET  /file?file_id=...     the bytes of a file (one the bot uploaded, as listed by /sent)
//	GET  /updates
func (s *Server) CustomerAPI() http.Handler {
	return http.HandlerFunc(s.serveCustomer)
}

type customerRequest struct {
	UserID    int64        `json:"user_id"`
	Name      string       `json:"name"`
	Username  string       `json:"username"`
	Language  string       `json:"language"`
	Text      string       `json:"text"`
	MessageID int          `json:"message_id"`
	Data      string       `json:"data"`
	Photo     *fileRequest `json:"photo"`
	Voice     *fileRequest `json:"voice"`
	Document  *fileRequest `json:"document"`
	Caption   string       `json:"caption"`
	Location  *Location    `json:"location"`
	Contact   *Contact     `json:"contact"`
}

// fileRequest is a file in a customer request; Data is base64 in JSON.
type fileRequest struct {
	Data     []byte `json:"data"`
	Name     string `json:"name"`
	MimeType string `json:"mime_type"`
	Duration int    `json:"duration"`
}

// maxCustomerBody bounds a customer API request: a file of up to 20 MB in
// base64 and the rest.
const maxCustomerBody = 28 << 20

func (r customerRequest) user() User {
	first, last, _ := strings.Cut(strings.TrimSpace(r.Name), " ")
	return User{ID: r.UserID, FirstName: first, LastName: strings.TrimSpace(last), Username: r.Username, LanguageCode: r.Language}
}

func (s *Server) serveCustomer(w http.ResponseWriter, r *http.Request) {
	action := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
	switch {
	case r.Method == http.MethodGet && action == "sent":
		id, err := strconv.ParseInt(r.URL.Query().Get("user_id"), 10, 64)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "user_id must be a number"})
			return
		}
		msgs := s.Sent(id)
		if msgs == nil {
			msgs = []SentMessage{}
		}
		writeJSON(w, http.StatusOK, map[string]any{"messages": msgs})
		return
	case r.Method == http.MethodGet && action == "updates":
		writeJSON(w, http.StatusOK, map[string]any{"updates": s.Updates()})
		return
	case r.Method == http.MethodGet && action == "file":
		data, ok := s.FileData(r.URL.Query().Get("file_id"))
		if !ok {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such file_id"})
			return
		}
		w.Header().Set("Content-Type", http.DetectContentType(data))
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Content-Disposition", "attachment")
		_, _ = w.Write(data)
		return
	case r.Method != http.MethodPost || (action != "send" && action != "click" && action != "edit"):
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "not found"})
		return
	}
	var req customerRequest
	dec := json.NewDecoder(io.LimitReader(r.Body, maxCustomerBody))
	if err := dec.Decode(&req); err != nil || req.UserID <= 0 {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "a JSON body with a positive user_id is required"})
		return
	}
	var (
		up  Update
		err error
	)
	switch action {
	case "send":
		caption := req.Text
		if req.Caption != "" {
			caption = req.Caption
		}
		if msg := req.fileProblem(); msg != "" {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": msg})
			return
		}
		switch {
		case req.Photo != nil:
			up, err = s.SendPhoto(r.Context(), req.user(), req.Photo.Data, caption)
		case req.Voice != nil:
			up, err = s.SendVoice(r.Context(), req.user(), req.Voice.Data, req.Voice.Duration)
		case req.Document != nil:
			up, err = s.SendDocument(r.Context(), req.user(), req.Document.Data, req.Document.Name, req.Document.MimeType, caption)
		case req.Text == "" && req.Location == nil && req.Contact == nil:
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "nothing to send: give text, photo, voice, document, location or contact"})
			return
		default:
			up, err = s.SendMessage(r.Context(), req.user(), Message{Text: req.Text, Location: req.Location, Contact: req.Contact})
		}
	case "edit":
		up, err = s.EditText(r.Context(), req.user(), req.MessageID, req.Text)
	case "click":
		s.mu.Lock()
		var u User
		if c := s.chats[req.UserID]; c != nil {
			u = c.user
		}
		s.mu.Unlock()
		if u.ID == 0 {
			u = req.user()
		}
		up, err = s.Click(r.Context(), u, req.MessageID, req.Data)
		if err != nil && up.UpdateID == 0 {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
	}
	if err != nil && up.UpdateID == 0 {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	if err != nil {
		writeJSON(w, http.StatusBadGateway, map[string]any{"update": up, "delivered": false, "error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"update": up, "delivered": true})
}

// fileProblem checks the files of a send request: at most one, not empty
// when given, within Telegram's 20 MB for files bots can fetch.
func (r customerRequest) fileProblem() string {
	n := 0
	for _, f := range []*fileRequest{r.Photo, r.Voice, r.Document} {
		if f == nil {
			continue
		}
		n++
		switch {
		case f.Data != nil && len(f.Data) == 0:
			return "the file's data is empty (leave data out for a sample file)"
		case len(f.Data) > MaxDownloadSize:
			return "the file is larger than 20 MB"
		}
	}
	if n > 1 {
		return "send one file at a time: photo, voice or document"
	}
	return ""
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
