package dcfake

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

const apiPrefix = "/api/v9"

// Discord's documented limits.
const (
	maxContent      = 2000
	maxRows         = 5
	maxRowButtons   = 5
	maxCustomID     = 100
	maxButtonLabel  = 80
	maxEmbeds       = 10
	maxNonce        = 25
	maxThreadName   = 100
	nonceWindow     = 5 * time.Minute
	maxRequestBytes = 1 << 20
)

func (s *Server) routes(mux *http.ServeMux) {
	api := http.NewServeMux()
	api.HandleFunc("GET /gateway", s.handleGateway)
	api.HandleFunc("GET /gateway/bot", s.handleGatewayBot)
	api.HandleFunc("GET /users/@me", s.handleMe)
	api.HandleFunc("POST /users/@me/channels", s.handleOpenDM)
	api.HandleFunc("GET /channels/{id}", s.handleGetChannel)
	api.HandleFunc("POST /channels/{id}/messages", s.handleCreateMessage)
	api.HandleFunc("POST /channels/{id}/messages/{mid}/threads", s.handleStartThread)
	api.HandleFunc("POST /interactions/{id}/{token}/callback", s.handleInteractionCallback)
	api.HandleFunc("POST /attachments/refresh-urls", s.handleRefreshURLs)
	api.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, apiError{Code: 0, Message: "404: Not Found"})
	})
	mux.Handle(apiPrefix+"/", s.restMiddleware(http.StripPrefix(apiPrefix, api)))
	mux.HandleFunc("GET /attachments/{channel}/{id}/{name}", s.serveCDN)
	mux.HandleFunc("/gateway", s.serveGateway)
	mux.HandleFunc("/gateway/", s.serveGateway)
}

// recorder keeps the status for the request log.
type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (s *Server) restMiddleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Room for MaxUploadSize of files and the form around them.
		body, err := io.ReadAll(io.LimitReader(r.Body, MaxUploadSize+maxRequestBytes+1))
		if err != nil {
			writeJSON(w, http.StatusBadRequest, apiError{Message: "could not read body"})
			return
		}
		multipart := strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/")
		if len(body) > MaxUploadSize+maxRequestBytes || (!multipart && len(body) > maxRequestBytes) {
			tooLarge(w)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		path := strings.TrimPrefix(r.URL.Path, apiPrefix)
		logged := string(body)
		if multipart {
			logged = "(multipart body, " + strconv.Itoa(len(body)) + " bytes)"
		}
		defer func() {
			s.mu.Lock()
			s.requests = append(s.requests, Request{Method: r.Method, Path: path, Status: rec.status, Body: logged})
			s.mu.Unlock()
			s.log.Debug("rest", "method", r.Method, "path", path, "status", rec.status)
		}()
		// The interaction callback is authenticated by its token in the URL.
		if !strings.HasPrefix(path, "/interactions/") {
			want := "Bot " + s.opts.BotToken
			if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte(want)) != 1 {
				writeJSON(rec, http.StatusUnauthorized, apiError{Code: 0, Message: "401: Unauthorized"})
				return
			}
		}
		if f, ok := s.takeFailure(r.Method, path); ok {
			s.writeFailure(rec, f)
			return
		}
		next.ServeHTTP(rec, r)
	})
}

func (s *Server) takeFailure(method, path string) (Failure, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.failures {
		if (f.Method == "" || strings.EqualFold(f.Method, method)) && strings.HasPrefix(path, f.Path) {
			s.failures = append(s.failures[:i], s.failures[i+1:]...)
			return f, true
		}
	}
	return Failure{}, false
}

func (s *Server) writeFailure(w http.ResponseWriter, f Failure) {
	status := f.Status
	if status == 0 {
		if st, ok := errorStatus[f.Code]; ok {
			status = st
		} else {
			status = http.StatusInternalServerError
		}
	}
	if status == http.StatusTooManyRequests {
		secs := f.RetryAfter.Seconds()
		scope := "user"
		if f.Global {
			scope = "global"
			w.Header().Set("X-RateLimit-Global", "true")
		}
		reset := float64(s.now().UnixMilli())/1000 + secs
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(secs))))
		w.Header().Set("X-RateLimit-Limit", "5")
		w.Header().Set("X-RateLimit-Remaining", "0")
		w.Header().Set("X-RateLimit-Reset", strconv.FormatFloat(reset, 'f', 3, 64))
		w.Header().Set("X-RateLimit-Reset-After", strconv.FormatFloat(secs, 'f', 3, 64))
		w.Header().Set("X-RateLimit-Bucket", "c0ffee"+randomHex(4))
		w.Header().Set("X-RateLimit-Scope", scope)
		writeJSON(w, status, map[string]any{
			"message":     "You are being rate limited.",
			"retry_after": secs,
			"global":      f.Global,
			"code":        0,
		})
		return
	}
	msg := f.Message
	if msg == "" {
		msg = errorText[f.Code]
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	writeJSON(w, status, apiError{Code: f.Code, Message: msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeCode(w http.ResponseWriter, code int) {
	writeJSON(w, errorStatus[code], apiError{Code: code, Message: errorText[code]})
}

func writeFormError(w http.ResponseWriter, field, code, text string) {
	writeJSON(w, http.StatusBadRequest, apiError{
		Code:    50035,
		Message: errorText[50035],
		Errors: map[string]any{field: map[string]any{
			"_errors": []any{map[string]any{"code": code, "message": text}},
		}},
	})
}

func (s *Server) handleGateway(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"url": s.GatewayURL()})
}

func (s *Server) handleGatewayBot(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"url":    s.GatewayURL(),
		"shards": 1,
		"session_start_limit": map[string]any{
			"total": 1000, "remaining": 999, "reset_after": 14400000, "max_concurrency": 1,
		},
	})
}

func (s *Server) handleMe(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	u := s.userJSONLocked(s.opts.BotUserID)
	s.mu.Unlock()
	u["verified"] = true
	u["flags"] = 0
	writeJSON(w, http.StatusOK, u)
}

func (s *Server) handleOpenDM(w http.ResponseWriter, r *http.Request) {
	var req struct {
		RecipientID string `json:"recipient_id"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.RecipientID == "" {
		writeFormError(w, "recipient_id", "BASE_TYPE_REQUIRED", "This field is required")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[req.RecipientID]; !ok {
		writeCode(w, 10013)
		return
	}
	if s.closedDMs[req.RecipientID] {
		// Discord answers 400 (not 403) on this endpoint since 2020.
		writeJSON(w, http.StatusBadRequest, apiError{Code: 50007, Message: errorText[50007]})
		return
	}
	c := s.dmChannelLocked(req.RecipientID)
	writeJSON(w, http.StatusOK, s.channelJSONLocked(c))
}

func (s *Server) handleGetChannel(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.channels[r.PathValue("id")]
	if !ok {
		writeCode(w, 10003)
		return
	}
	writeJSON(w, http.StatusOK, s.channelJSONLocked(c))
}

// wireComponent is a component as clients send it.
type wireComponent struct {
	Type       int             `json:"type"`
	Style      int             `json:"style"`
	Label      string          `json:"label"`
	CustomID   string          `json:"custom_id"`
	URL        string          `json:"url"`
	Disabled   bool            `json:"disabled"`
	Components []wireComponent `json:"components"`
}

type wireEmbed struct {
	Type        string `json:"type"`
	Title       string `json:"title"`
	Description string `json:"description"`
	URL         string `json:"url"`
	Image       *struct {
		URL string `json:"url"`
	} `json:"image"`
}

func (s *Server) handleCreateMessage(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Content      string            `json:"content"`
		Embeds       []wireEmbed       `json:"embeds"`
		Components   []json.RawMessage `json:"components"`
		Nonce        json.RawMessage   `json:"nonce"`
		EnforceNonce bool              `json:"enforce_nonce"`
	}
	var ups []upload
	var payload io.Reader = r.Body
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/") {
		pj, files, err := readUploads(r)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, apiError{Code: 50035, Message: "Invalid Form Body"})
			return
		}
		total := 0
		for _, u := range files {
			total += len(u.data)
		}
		if total > MaxUploadSize {
			tooLarge(w)
			return
		}
		if len(files) > maxFiles {
			writeFormError(w, "files", "BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length.")
			return
		}
		payload, ups = strings.NewReader(pj), files
	}
	if err := json.NewDecoder(payload).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{Code: 50109, Message: "The request body contains invalid JSON."})
		return
	}
	if n := utf8.RuneCountInString(req.Content); n > maxContent {
		writeFormError(w, "content", "BASE_TYPE_MAX_LENGTH", fmt.Sprintf("Must be %d or fewer in length.", maxContent))
		return
	}
	if len(req.Embeds) > maxEmbeds {
		writeFormError(w, "embeds", "BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length.")
		return
	}
	buttons, rows, ferr := parseComponents(req.Components)
	if ferr != "" {
		writeFormError(w, "components", "COMPONENT_INVALID", ferr)
		return
	}
	nonce, err := parseNonce(req.Nonce)
	if err != "" {
		writeFormError(w, "nonce", "BASE_TYPE_BAD_LENGTH", err)
		return
	}
	if strings.TrimSpace(req.Content) == "" && len(req.Embeds) == 0 && len(rows) == 0 && len(ups) == 0 {
		writeCode(w, 50006)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.channels[r.PathValue("id")]
	if !ok {
		writeCode(w, 10003)
		return
	}
	if c.Type == channelDM && s.closedDMs[c.RecipientID] {
		writeCode(w, 50007)
		return
	}
	if nonce != "" && req.EnforceNonce {
		for i := len(s.order) - 1; i >= 0; i-- {
			m := s.messages[s.order[i]]
			if s.now().Sub(m.Timestamp) > nonceWindow {
				break
			}
			if m.Nonce == nonce && m.AuthorID == s.opts.BotUserID {
				writeJSON(w, http.StatusOK, s.messageJSONLocked(m, true))
				return
			}
		}
	}
	m := &message{Message: Message{
		ID:        s.newIDLocked(),
		ChannelID: c.ID,
		GuildID:   c.GuildID,
		AuthorID:  s.opts.BotUserID,
		Content:   req.Content,
		Buttons:   buttons,
		Nonce:     nonce,
		Timestamp: s.now(),
	}, rows: rows}
	s.attachUploadsLocked(m, ups)
	for _, e := range req.Embeds {
		em := Embed{Type: e.Type, Title: e.Title, Description: e.Description, URL: e.URL}
		if em.Type == "" {
			em.Type = "rich"
		}
		if e.Image != nil {
			em.ImageURL = e.Image.URL
		}
		m.Embeds = append(m.Embeds, em)
	}
	s.messages[m.ID] = m
	s.order = append(s.order, m.ID)
	out := s.messageJSONLocked(m, true)
	s.dispatchMessageLocked(m)
	writeJSON(w, http.StatusOK, out)
}

// parseComponents validates action rows of buttons and returns them flat
// plus their wire JSON.
func parseComponents(raw []json.RawMessage) ([]Button, []any, string) {
	if len(raw) > maxRows {
		return nil, nil, "Must be 5 or fewer in length."
	}
	var buttons []Button
	var rows []any
	seen := map[string]bool{}
	for ri, r := range raw {
		var row wireComponent
		if err := json.Unmarshal(r, &row); err != nil || row.Type != 1 {
			return nil, nil, fmt.Sprintf("components[%d]: expected an action row (type 1)", ri)
		}
		if len(row.Components) == 0 || len(row.Components) > maxRowButtons {
			return nil, nil, fmt.Sprintf("components[%d].components: must hold 1 to 5 buttons", ri)
		}
		var wireRow []any
		for bi, b := range row.Components {
			where := fmt.Sprintf("components[%d].components[%d]", ri, bi)
			if b.Type != 2 {
				return nil, nil, where + ": only buttons (type 2) are supported"
			}
			if b.Style < 1 || b.Style > 6 {
				return nil, nil, where + ".style: invalid button style"
			}
			if utf8.RuneCountInString(b.Label) > maxButtonLabel {
				return nil, nil, where + ".label: Must be 80 or fewer in length."
			}
			if b.Style == 5 {
				if b.URL == "" || b.CustomID != "" {
					return nil, nil, where + ": a link button needs a url and no custom_id"
				}
			} else {
				n := utf8.RuneCountInString(b.CustomID)
				if n == 0 || n > maxCustomID {
					return nil, nil, where + ".custom_id: Must be between 1 and 100 in length."
				}
				if seen[b.CustomID] {
					return nil, nil, where + ".custom_id: Component custom id cannot be duplicated"
				}
				seen[b.CustomID] = true
			}
			buttons = append(buttons, Button{Row: ri, Style: b.Style, Label: b.Label, CustomID: b.CustomID, URL: b.URL})
			wb := map[string]any{"type": 2, "style": b.Style, "label": b.Label}
			if b.CustomID != "" {
				wb["custom_id"] = b.CustomID
			}
			if b.URL != "" {
				wb["url"] = b.URL
			}
			wireRow = append(wireRow, wb)
		}
		rows = append(rows, map[string]any{"type": 1, "components": wireRow})
	}
	return buttons, rows, ""
}

// parseNonce accepts a string or integer nonce of at most 25 characters.
func parseNonce(raw json.RawMessage) (string, string) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", ""
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		var n json.Number
		if err := json.Unmarshal(raw, &n); err != nil {
			return "", "nonce must be a string or an integer"
		}
		s = n.String()
	}
	if len(s) > maxNonce {
		return "", "Must be 25 or fewer in length."
	}
	return s, ""
}

func (s *Server) handleStartThread(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name                string `json:"name"`
		AutoArchiveDuration int    `json:"auto_archive_duration"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{Code: 50109, Message: "The request body contains invalid JSON."})
		return
	}
	if n := utf8.RuneCountInString(req.Name); n == 0 || n > maxThreadName {
		writeFormError(w, "name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
		return
	}
	switch req.AutoArchiveDuration {
	case 0, 60, 1440, 4320, 10080:
	default:
		writeFormError(w, "auto_archive_duration", "BASE_TYPE_CHOICES", "Value must be one of (60, 1440, 4320, 10080).")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	parent, ok := s.channels[r.PathValue("id")]
	if !ok {
		writeCode(w, 10003)
		return
	}
	if parent.Type != channelGuildText {
		writeCode(w, 50024)
		return
	}
	m, ok := s.messages[r.PathValue("mid")]
	if !ok || m.ChannelID != parent.ID {
		writeCode(w, 10008)
		return
	}
	if m.hasThread {
		writeCode(w, 160004)
		return
	}
	m.hasThread = true
	// A thread started from a message has the message's id, as on Discord.
	th := &channel{
		ID:        m.ID,
		Type:      channelPublicThread,
		GuildID:   parent.GuildID,
		ParentID:  parent.ID,
		Name:      req.Name,
		OwnerID:   s.opts.BotUserID,
		StarterID: m.AuthorID,
		CreatedAt: s.now(),
	}
	s.addChannelLocked(th)
	out := s.channelJSONLocked(th)
	s.dispatchThreadCreateLocked(th)
	writeJSON(w, http.StatusCreated, out)
}

func (s *Server) handleInteractionCallback(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Type int `json:"type"`
		Data *struct {
			Content string `json:"content"`
		} `json:"data"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{Code: 50109, Message: "The request body contains invalid JSON."})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ix, ok := s.interactions[r.PathValue("id")]
	if !ok || subtle.ConstantTimeCompare([]byte(ix.token), []byte(r.PathValue("token"))) != 1 {
		writeCode(w, 10062)
		return
	}
	now := s.now()
	delay := now.Sub(ix.DispatchedAt)
	if delay > s.opts.InteractionDeadline {
		ix.Late = true
		ix.Delay = delay
		writeCode(w, 10062)
		return
	}
	if ix.Answered {
		writeCode(w, 40060)
		return
	}
	switch req.Type {
	case 4, 5, 6, 7:
	default:
		writeFormError(w, "type", "BASE_TYPE_CHOICES", "Value must be one of (1, 4, 5, 6, 7, 8, 9, 10, 12).")
		return
	}
	ix.Answered = true
	ix.AnsweredAt = now
	ix.CallbackType = req.Type
	ix.Delay = delay
	if req.Type == 4 && req.Data != nil && req.Data.Content != "" {
		if orig, ok := s.messages[ix.MessageID]; ok {
			m := &message{Message: Message{
				ID: s.newIDLocked(), ChannelID: orig.ChannelID, GuildID: orig.GuildID,
				AuthorID: s.opts.BotUserID, Content: req.Data.Content, Timestamp: now,
			}}
			s.messages[m.ID] = m
			s.order = append(s.order, m.ID)
			s.dispatchMessageLocked(m)
		}
	}
	w.WriteHeader(http.StatusNoContent)
}
