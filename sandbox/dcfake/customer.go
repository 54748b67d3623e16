package dcfake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path"
	"strconv"
	"strings"

	"github.com/tongdao/hub/sandbox/samples"
)

// CustomerMessage is a message a customer (or another bot) writes.
type CustomerMessage struct {
	// ChannelID is where it is written: a guild channel or a thread. Empty
	// with DM false means the first support channel.
	ChannelID string
	// DM writes into the user's DM channel with the bot instead.
	DM          bool
	User        User
	Text        string
	Attachments []Attachment
	// Voice makes the message a voice message (flag IS_VOICE_MESSAGE): one
	// Ogg Opus attachment with its duration, as Discord's apps send.
	Voice bool
}

// Errors of customer play.
var (
	ErrUnknownUser    = errors.New("dcfake: user_id is required")
	ErrUnknownChannel = errors.New("dcfake: unknown channel")
	ErrNoSupport      = errors.New("dcfake: no support channel is seeded")
	ErrUnknownMessage = errors.New("dcfake: unknown message")
	ErrNoSuchButton   = errors.New("dcfake: the message has no button with that custom_id")
)

// Post stores a customer message and dispatches MESSAGE_CREATE.
func (s *Server) Post(ctx context.Context, cm CustomerMessage) (Message, error) {
	if err := ctx.Err(); err != nil {
		return Message{}, err
	}
	if cm.User.ID == "" {
		return Message{}, ErrUnknownUser
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.userLocked(cm.User)
	var c *channel
	switch {
	case cm.DM:
		c = s.dmChannelLocked(u.ID)
	case cm.ChannelID == "":
		for _, id := range s.channelOrder {
			if ch := s.channels[id]; ch.Support {
				c = ch
				break
			}
		}
		if c == nil {
			return Message{}, ErrNoSupport
		}
	default:
		c = s.channels[cm.ChannelID]
		if c == nil {
			return Message{}, fmt.Errorf("%w %s", ErrUnknownChannel, cm.ChannelID)
		}
	}
	m := &message{Message: Message{
		ID:        s.newIDLocked(),
		ChannelID: c.ID,
		GuildID:   c.GuildID,
		AuthorID:  u.ID,
		Content:   cm.Text,
		Timestamp: s.now(),
	}}
	if cm.Voice {
		m.flags |= flagVoiceMessage
	}
	for _, a := range cm.Attachments {
		a.ID = s.newIDLocked()
		if a.Data != nil {
			s.files[a.ID] = a.Data
			a.Size = int64(len(a.Data))
			if a.ContentType == "" {
				a.ContentType = http.DetectContentType(a.Data)
			}
			a.Data = nil
		}
		if a.URL == "" {
			a.URL = s.cdnURLLocked(c.ID, a.ID, a.Filename)
		}
		m.Attachments = append(m.Attachments, a)
	}
	s.messages[m.ID] = m
	s.order = append(s.order, m.ID)
	s.dispatchMessageLocked(m)
	return cloneMessage(m.Message), nil
}

// SendDM is a customer's direct message to the bot.
func (s *Server) SendDM(ctx context.Context, u User, text string) (Message, error) {
	return s.Post(ctx, CustomerMessage{DM: true, User: u, Text: text})
}

// PostInChannel is a customer's message in a guild channel or thread (""
// means the first support channel).
func (s *Server) PostInChannel(ctx context.Context, channelID string, u User, text string) (Message, error) {
	return s.Post(ctx, CustomerMessage{ChannelID: channelID, User: u, Text: text})
}

// Click dispatches INTERACTION_CREATE for a click on a button of a bot message.
func (s *Server) Click(ctx context.Context, userID, messageID, customID string) (InteractionRecord, error) {
	if err := ctx.Err(); err != nil {
		return InteractionRecord{}, err
	}
	if userID == "" {
		return InteractionRecord{}, ErrUnknownUser
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.messages[messageID]
	if !ok || m.AuthorID != s.opts.BotUserID {
		return InteractionRecord{}, fmt.Errorf("%w %s", ErrUnknownMessage, messageID)
	}
	found := false
	for _, b := range m.Buttons {
		if b.CustomID == customID && customID != "" {
			found = true
		}
	}
	if !found {
		return InteractionRecord{}, ErrNoSuchButton
	}
	u := s.userLocked(User{ID: userID})
	ix := &InteractionRecord{
		ID:           s.newIDLocked(),
		UserID:       u.ID,
		MessageID:    m.ID,
		CustomID:     customID,
		DispatchedAt: s.now(),
		token:        "aW50ZXJhY3Rpb24" + randomHex(24),
	}
	s.interactions[ix.ID] = ix
	s.ixOrder = append(s.ixOrder, ix.ID)
	locale := u.Locale
	if locale == "" {
		locale = "en-US"
	}
	d := map[string]any{
		"id":              ix.ID,
		"application_id":  s.opts.BotUserID,
		"type":            3,
		"token":           ix.token,
		"version":         1,
		"channel_id":      m.ChannelID,
		"locale":          locale,
		"app_permissions": "2248473465835073",
		"entitlements":    []any{},
		"message":         s.messageJSONLocked(m, true),
		"data":            map[string]any{"custom_id": customID, "component_type": 2},
	}
	if c := s.channels[m.ChannelID]; c != nil {
		d["channel"] = s.channelJSONLocked(c)
		if c.GuildID != "" {
			d["guild_id"] = c.GuildID
			d["guild_locale"] = "en-US"
			d["context"] = 0
			mem := memberJSON(s.now())
			mem["user"] = s.userJSONLocked(u.ID)
			mem["permissions"] = "2248473465835073"
			d["member"] = mem
		} else {
			d["context"] = 1
			d["user"] = s.userJSONLocked(u.ID)
		}
	}
	s.emitLocked("INTERACTION_CREATE", func(int64) (any, bool) { return d, true })
	return *ix, nil
}

// Sent returns what the bot sent that user, oldest first: messages in the
// user's DM channel, in threads started from the user's messages, and bot
// messages in guild channels answering the user (interaction replies).
func (s *Server) Sent(userID string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, id := range s.order {
		m := s.messages[id]
		if m.AuthorID != s.opts.BotUserID {
			continue
		}
		c := s.channels[m.ChannelID]
		if c == nil {
			continue
		}
		if (c.Type == channelDM && c.RecipientID == userID) ||
			(c.Type == channelPublicThread && c.StarterID == userID) {
			out = append(out, cloneMessage(m.Message))
		}
	}
	return out
}

// CloseDMs makes future DMs to the user fail with 50007, as when the user
// turns off DMs from server members or leaves every shared server.
func (s *Server) CloseDMs(userID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closedDMs[userID] = true
}

// CustomerAPI is a JSON API to play customers, mounted by the sandbox under
// /sandbox/discord/ (with or without the prefix stripped):
//
//	POST /dm        {"user_id","username","text"}
//	POST /channel   {"channel_id"?,"user_id","username","text"}
//	                either takes "attachments":[{"filename","content_type"?,"data"}] (data base64),
//	                or one sample file: "photo":{"data"?}, "voice":{"duration"?,"data"?} (a voice
//	                message), "document":{"filename"?,"data"?}
//	GET  /file?attachment_id=   the bytes of an attachment (one the bot uploaded, as listed by /sent)
//	POST /click     {"user_id","message_id","custom_id"}
//	GET  /sent?user_id=
//	POST /close-dms {"user_id"}
func (s *Server) CustomerAPI() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		route := path.Base(path.Clean("/" + r.URL.Path))
		var req struct {
			ChannelID   string       `json:"channel_id"`
			UserID      string       `json:"user_id"`
			Username    string       `json:"username"`
			GlobalName  string       `json:"global_name"`
			Text        string       `json:"text"`
			MessageID   string       `json:"message_id"`
			CustomID    string       `json:"custom_id"`
			Attachments []Attachment `json:"attachments"`
			Photo       *sampleFile  `json:"photo"`
			Voice       *sampleFile  `json:"voice"`
			Document    *sampleFile  `json:"document"`
		}
		if r.Method == http.MethodPost {
			// Room for a 10 MB file in base64.
			r.Body = http.MaxBytesReader(w, r.Body, 14<<20)
			if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
				customerError(w, http.StatusBadRequest, "invalid JSON body: "+err.Error())
				return
			}
		}
		u := User{ID: req.UserID, Username: req.Username, GlobalName: req.GlobalName}
		cm := CustomerMessage{User: u, Text: req.Text, Attachments: req.Attachments}
		if r.Method == http.MethodPost && (route == "dm" || route == "channel") {
			if msg := cm.addSample(req.Photo, req.Voice, req.Document); msg != "" {
				customerError(w, http.StatusBadRequest, msg)
				return
			}
		}
		switch {
		case r.Method == http.MethodPost && route == "dm":
			cm.DM = true
			m, err := s.Post(r.Context(), cm)
			customerResult(w, m, err)
		case r.Method == http.MethodPost && route == "channel":
			cm.ChannelID = req.ChannelID
			m, err := s.Post(r.Context(), cm)
			customerResult(w, m, err)
		case r.Method == http.MethodGet && route == "file":
			data, ok := s.AttachmentData(r.URL.Query().Get("attachment_id"))
			if !ok {
				customerError(w, http.StatusNotFound, "unknown attachment_id")
				return
			}
			w.Header().Set("Content-Type", http.DetectContentType(data))
			w.Header().Set("X-Content-Type-Options", "nosniff")
			w.Header().Set("Content-Disposition", "attachment")
			_, _ = w.Write(data)
		case r.Method == http.MethodPost && route == "click":
			ix, err := s.Click(r.Context(), req.UserID, req.MessageID, req.CustomID)
			customerResult(w, ix, err)
		case r.Method == http.MethodGet && route == "sent":
			uid := r.URL.Query().Get("user_id")
			if uid == "" {
				customerError(w, http.StatusBadRequest, "user_id is required")
				return
			}
			msgs := s.Sent(uid)
			if msgs == nil {
				msgs = []Message{}
			}
			writeJSON(w, http.StatusOK, map[string]any{"messages": msgs})
		case r.Method == http.MethodPost && route == "close-dms":
			if req.UserID == "" {
				customerError(w, http.StatusBadRequest, "user_id is required")
				return
			}
			s.CloseDMs(req.UserID)
			writeJSON(w, http.StatusOK, map[string]any{"user_id": req.UserID, "dms_closed": true})
		default:
			customerError(w, http.StatusNotFound, "unknown route "+strconv.Quote(r.Method+" "+route))
		}
	})
}

// sampleFile is a file in a customer request: its bytes (base64 in JSON,
// left out for a sample), a name, a voice message's length.
type sampleFile struct {
	Data     []byte `json:"data"`
	Filename string `json:"filename"`
	Duration int    `json:"duration"`
}

// addSample adds the one sample file asked for, or says what is wrong.
func (cm *CustomerMessage) addSample(photo, voice, document *sampleFile) string {
	n := 0
	for _, f := range []*sampleFile{photo, voice, document} {
		if f == nil {
			continue
		}
		n++
		if f.Data != nil && len(f.Data) == 0 {
			return "the file's data is empty (leave data out for a sample file)"
		}
	}
	for _, a := range cm.Attachments {
		if a.Data != nil && len(a.Data) == 0 {
			return "an attachment's data is empty"
		}
	}
	switch {
	case n > 1:
		return "send one file at a time: photo, voice or document"
	case photo != nil:
		data := photo.Data
		if data == nil {
			data = samples.JPEG(640, 480)
		} else if !strings.HasPrefix(http.DetectContentType(data), "image/") {
			return "the photo is not an image"
		}
		cm.Attachments = append(cm.Attachments, Attachment{Filename: "photo.jpg", Data: data})
	case voice != nil:
		secs := max(voice.Duration, 1)
		data := voice.Data
		if data == nil {
			data = samples.OggOpus(secs)
		}
		cm.Voice, cm.Text = true, ""
		cm.Attachments = []Attachment{{Filename: "voice-message.ogg", ContentType: "audio/ogg", Data: data, DurationSecs: float64(secs)}}
	case document != nil:
		name, data := document.Filename, document.Data
		if name == "" {
			name = "invoice.pdf"
		}
		if data == nil {
			data = samples.PDF("Invoice 42 - Tongdao sandbox")
		}
		cm.Attachments = append(cm.Attachments, Attachment{Filename: name, Data: data})
	}
	return ""
}

func customerResult(w http.ResponseWriter, v any, err error) {
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, v)
	case errors.Is(err, ErrUnknownChannel), errors.Is(err, ErrUnknownMessage), errors.Is(err, ErrNoSuchButton):
		customerError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, ErrUnknownUser), errors.Is(err, ErrNoSupport):
		customerError(w, http.StatusBadRequest, err.Error())
	default:
		customerError(w, http.StatusInternalServerError, err.Error())
	}
}

func customerError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"error": msg})
}
