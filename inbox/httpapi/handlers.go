package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/tongdao/hub/inbox/routing"
	"github.com/tongdao/hub/models"
)

// actorKey holds the authenticated models.Actor in the gin context.
const actorKey = "httpapi.actor"

// authenticate requires a valid bearer token and stores its actor.
func (s *Server) authenticate(c *gin.Context) {
	token, ok := bearerToken(c.GetHeader("Authorization"))
	if !ok {
		c.Header("WWW-Authenticate", "Bearer")
		s.writeError(c, models.Errorf(models.EUNAUTHORIZED, "missing bearer token: send Authorization: Bearer TOKEN"))
		return
	}
	actor, err := s.inbox.Authenticate(c.Request.Context(), token)
	if err != nil {
		if models.ErrorCode(err) == models.EUNAUTHORIZED {
			c.Header("WWW-Authenticate", `Bearer error="invalid_token"`)
			s.writeError(c, models.Errorf(models.EUNAUTHORIZED, "invalid bearer token"))
			return
		}
		s.writeError(c, err)
		return
	}
	c.Set(actorKey, actor)
	c.Next()
}

// bearerToken extracts the token of an "Authorization: Bearer TOKEN" header;
// the scheme is case-insensitive.
func bearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	if token == "" || strings.ContainsAny(token, " \t") {
		return "", false
	}
	return token, true
}

func actorOf(c *gin.Context) models.Actor {
	if v, ok := c.Get(actorKey); ok {
		if a, ok := v.(models.Actor); ok {
			return a
		}
	}
	return models.Actor{}
}

// nullable turns an empty cursor into JSON null.
func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

type conversationList struct {
	Conversations []models.ConversationView `json:"conversations"`
	NextCursor    *string                   `json:"next_cursor"`
}

type messageList struct {
	Messages   []models.MessageView `json:"messages"`
	NextCursor *string              `json:"next_cursor"`
}

func (s *Server) listConversations(c *gin.Context) {
	q, err := queryParams(c, "status", "assignee", "team", "channel", "label", "q", "cursor", "limit", "view", "priority")
	if err != nil {
		s.writeError(c, err)
		return
	}
	f := models.ConversationFilter{
		Status:   q.Get("status"),
		Assignee: q.Get("assignee"),
		Team:     q.Get("team"),
		Priority: q.Get("priority"),
		Channel:  q.Get("channel"),
		Query:    strings.TrimSpace(q.Get("q")),
		Cursor:   q.Get("cursor"),
		View:     q.Get("view"),
		Me:       actorOf(c).Name,
	}
	f.Limit, err = parseLimit(q.Get("limit"), conversationsDefaultLimit, conversationsMaxLimit)
	if err == nil {
		err = oneOf("view", f.View, models.Views...)
	}
	if err == nil {
		err = oneOf("status", f.Status, models.StatusOpen, models.StatusPending, models.StatusSnoozed, models.StatusResolved)
	}
	if err == nil {
		err = oneOf("priority", f.Priority, routing.Priorities...)
	}
	if err == nil {
		err = s.checkChannel(f.Channel)
	}
	if err == nil {
		err = checkName("assignee", f.Assignee)
	}
	if err == nil {
		err = checkName("team", f.Team)
	}
	if err == nil && q.Has("label") {
		if f.Label, err = models.NormalizeLabel(q.Get("label")); err != nil {
			err = invalid("label: %s", models.ErrorMessage(err))
		}
	}
	if err == nil && utf8.RuneCountInString(f.Query) > maxQueryLen {
		err = invalid("q must be at most %d characters", maxQueryLen)
	}
	if err == nil {
		err = checkCursor(f.Cursor)
	}
	if err != nil {
		s.writeError(c, err)
		return
	}
	items, next, err := s.inbox.ListConversations(c.Request.Context(), f)
	if err != nil {
		s.writeError(c, err)
		return
	}
	if items == nil {
		items = []models.ConversationView{}
	}
	c.JSON(http.StatusOK, conversationList{Conversations: items, NextCursor: nullable(next)})
}

func (s *Server) getConversation(c *gin.Context) {
	id, err := pathID(c, "id", "conversation")
	if err != nil {
		s.writeError(c, err)
		return
	}
	conv, err := s.inbox.GetConversation(c.Request.Context(), id)
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, conv)
}

func (s *Server) listMessages(c *gin.Context) {
	id, err := pathID(c, "id", "conversation")
	if err != nil {
		s.writeError(c, err)
		return
	}
	q, err := queryParams(c, "cursor", "limit")
	if err != nil {
		s.writeError(c, err)
		return
	}
	cursor := q.Get("cursor")
	limit, err := parseLimit(q.Get("limit"), messagesDefaultLimit, messagesMaxLimit)
	if err == nil {
		err = checkCursor(cursor)
	}
	if err != nil {
		s.writeError(c, err)
		return
	}
	items, next, err := s.inbox.ListMessages(c.Request.Context(), id, cursor, limit)
	if err != nil {
		s.writeError(c, err)
		return
	}
	if items == nil {
		items = []models.MessageView{}
	}
	c.JSON(http.StatusOK, messageList{Messages: items, NextCursor: nullable(next)})
}

// replyBody is the body of POST /conversations/{id}/messages.
type replyBody struct {
	Text        string              `json:"text"`
	Private     bool                `json:"private"`
	Via         *string             `json:"via"`
	Attachments []models.Attachment `json:"attachments"`
	Buttons     []models.Button     `json:"buttons"`
	// CannedID sends a canned response instead of text.
	CannedID *string `json:"canned_id"`
}

var attachmentTypes = []string{"image", "audio", "voice", "video", "document", "sticker", "link"}

func (b *replyBody) validate() (via, canned int64, err error) {
	if b.CannedID != nil && *b.CannedID != "" {
		if b.Text != "" {
			return 0, 0, invalid("give text or canned_id, not both")
		}
		id, ok := parseID(*b.CannedID)
		switch {
		case !ok && wellFormedID(*b.CannedID):
			return 0, 0, invalid("canned_id: canned response %s does not exist", *b.CannedID)
		case !ok:
			return 0, 0, invalid("canned_id must be a canned response id (a decimal string), not %q", truncate(*b.CannedID, 40))
		}
		canned = id
	} else if strings.TrimSpace(b.Text) == "" && len(b.Attachments) == 0 {
		return 0, 0, invalid("text is required (or canned_id) unless attachments are given")
	}
	via, err = b.check()
	return via, canned, err
}

// check validates everything but the text's source.
func (b *replyBody) check() (via int64, err error) {
	if n := utf8.RuneCountInString(b.Text); n > maxReplyRunes {
		return 0, invalid("text is %d characters long; at most %d are allowed", n, maxReplyRunes)
	}
	if b.Via != nil && *b.Via != "" {
		id, ok := parseID(*b.Via)
		switch {
		case !ok && wellFormedID(*b.Via):
			// Beyond int64: no identity has it, as the inbox would say.
			return 0, invalid("via: identity %s does not belong to this conversation's contact", *b.Via)
		case !ok:
			return 0, invalid("via must be an identity id (a decimal string), not %q", truncate(*b.Via, 40))
		}
		via = id
	}
	if len(b.Attachments) > maxAttachments {
		return 0, invalid("at most %d attachments are allowed", maxAttachments)
	}
	for i, a := range b.Attachments {
		if err := oneOf(fmt.Sprintf("attachments[%d].type", i), a.Type, attachmentTypes...); err != nil {
			return 0, err
		}
		if a.Type == "" {
			return 0, invalid("attachments[%d].type is required", i)
		}
		if a.URL == "" && a.FileID == "" {
			return 0, invalid("attachments[%d] needs a url or a file_id", i)
		}
		if a.URL != "" {
			u, err := url.Parse(a.URL)
			if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				return 0, invalid("attachments[%d].url must be an absolute http or https URL", i)
			}
		}
		if a.Size < 0 || a.Duration < 0 {
			return 0, invalid("attachments[%d]: size and duration must not be negative", i)
		}
	}
	if len(b.Buttons) > 0 && b.Private {
		return 0, invalid("buttons cannot be offered in a private note")
	}
	if len(b.Buttons) > maxButtons {
		return 0, invalid("at most %d buttons are allowed", maxButtons)
	}
	seen := make(map[string]bool, len(b.Buttons))
	for i, btn := range b.Buttons {
		switch {
		case !buttonID(btn.ID):
			return 0, invalid("buttons[%d].id must be 1 to %d printable ASCII characters", i, maxButtonIDBytes)
		case seen[btn.ID]:
			return 0, invalid("buttons[%d].id %q is used twice", i, truncate(btn.ID, 40))
		case strings.TrimSpace(btn.Label) == "" || utf8.RuneCountInString(btn.Label) > maxButtonLabelRunes:
			return 0, invalid("buttons[%d].label must be 1 to %d characters", i, maxButtonLabelRunes)
		}
		seen[btn.ID] = true
	}
	return via, nil
}

// buttonID reports whether id is a valid button id: 1 to maxButtonIDBytes
// printable ASCII characters (space included). Telegram's callback_data is
// counted in bytes; with ASCII, characters and bytes agree, and so do the
// server and the OpenAPI document's maxLength.
func buttonID(id string) bool {
	if id == "" || len(id) > maxButtonIDBytes {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x20 || id[i] > 0x7e {
			return false
		}
	}
	return true
}

func (s *Server) reply(c *gin.Context) {
	id, err := pathID(c, "id", "conversation")
	if err != nil {
		s.writeError(c, err)
		return
	}
	if isMultipart(c) {
		s.replyMultipart(c, id)
		return
	}
	var body replyBody
	if err := s.decodeJSON(c, &body); err != nil {
		s.writeError(c, err)
		return
	}
	via, canned, err := body.validate()
	if err != nil {
		s.writeError(c, err)
		return
	}
	msg, err := s.inbox.Reply(c.Request.Context(), models.ReplyRequest{
		ConversationID: id,
		Text:           body.Text,
		Private:        body.Private,
		Via:            via,
		Attachments:    body.Attachments,
		Buttons:        body.Buttons,
		Actor:          actorOf(c),
		CannedID:       canned,
	})
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusAccepted, msg)
}

// statusBody is the body of POST /conversations/{id}/status.
type statusBody struct {
	Status string `json:"status"`
}

func (s *Server) setStatus(c *gin.Context) {
	id, err := pathID(c, "id", "conversation")
	if err != nil {
		s.writeError(c, err)
		return
	}
	var body statusBody
	if err := s.decodeJSON(c, &body); err != nil {
		s.writeError(c, err)
		return
	}
	if body.Status == "" {
		s.writeError(c, invalid("status is required"))
		return
	}
	if err := oneOf("status", body.Status, models.StatusOpen, models.StatusPending, models.StatusSnoozed, models.StatusResolved); err != nil {
		s.writeError(c, err)
		return
	}
	conv, err := s.inbox.SetStatus(c.Request.Context(), id, body.Status, actorOf(c))
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, conv)
}

// assignBody is the body of POST /conversations/{id}/assign: an absent field
// is left unchanged; null or "" clears it.
type assignBody struct {
	Assignee optionalString `json:"assignee"`
	Team     optionalString `json:"team"`
}

// change turns an optional field into the Inbox's convention: nil leaves it
// unchanged, "" clears it.
func change(field string, o optionalString) (*string, error) {
	if !o.Set {
		return nil, nil
	}
	v := ""
	if o.Value != nil {
		v = strings.TrimSpace(*o.Value)
	}
	if err := checkName(field, v); err != nil {
		return nil, err
	}
	return &v, nil
}

// checkName validates an assignee or team name.
func checkName(field, v string) error {
	if utf8.RuneCountInString(v) > maxNameLen {
		return invalid("%s must be at most %d characters", field, maxNameLen)
	}
	if strings.IndexFunc(v, unicode.IsControl) >= 0 {
		return invalid("%s must not contain control characters", field)
	}
	return nil
}

func (s *Server) assign(c *gin.Context) {
	id, err := pathID(c, "id", "conversation")
	if err != nil {
		s.writeError(c, err)
		return
	}
	var body assignBody
	if err := s.decodeJSON(c, &body); err != nil {
		s.writeError(c, err)
		return
	}
	if !body.Assignee.Set && !body.Team.Set {
		s.writeError(c, invalid("give assignee and/or team (null or \"\" clears it)"))
		return
	}
	assignee, err := change("assignee", body.Assignee)
	if err != nil {
		s.writeError(c, err)
		return
	}
	team, err := change("team", body.Team)
	if err != nil {
		s.writeError(c, err)
		return
	}
	conv, err := s.inbox.Assign(c.Request.Context(), id, assignee, team, actorOf(c))
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, conv)
}

func (s *Server) getContact(c *gin.Context) {
	id, err := pathID(c, "id", "contact")
	if err != nil {
		s.writeError(c, err)
		return
	}
	contact, err := s.inbox.GetContact(c.Request.Context(), id)
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, contact)
}

func (s *Server) healthz(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

// readiness is the body of /readyz.
// The detail (database, connectors, checked_at) is left out for clients
// that may not see monitoring data.
type readiness struct {
	Status     string                  `json:"status"`
	Database   componentState          `json:"database,omitzero"`
	Connectors []models.ConnectorState `json:"connectors,omitzero"`
	CheckedAt  time.Time               `json:"checked_at,omitzero"`
}

type componentState struct {
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
}

// readyz answers 200 when the database works (it answers, takes a write,
// and on SQLite its file is the one opened at start) and no connector is
// stale (it reports progress and has made none for its type's threshold),
// else 503. Other connector states are listed for information and do not
// decide readiness (a platform refusing the bot must not take the agent API
// out of a load balancer). Clients that may not see monitoring data get the
// status only.
func (s *Server) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), readyTimeout)
	defer cancel()
	body := readiness{
		Status:     "ok",
		Database:   componentState{Status: "ok"},
		Connectors: []models.ConnectorState{},
		CheckedAt:  s.now().UTC(),
	}
	if s.connectors != nil {
		if st := s.connectors.States(); st != nil {
			body.Connectors = st
		}
	}
	status := http.StatusOK
	if err := s.inbox.Ready(ctx); err != nil {
		s.log.LogAttrs(ctx, slog.LevelWarn, "not ready: database check failed", slog.String("error", err.Error()))
		status = http.StatusServiceUnavailable
		body.Status = "unavailable"
		msg := models.ErrorMessage(err)
		if models.ErrorCode(err) == models.EINTERNAL {
			msg = "database unreachable"
		}
		body.Database = componentState{Status: "unavailable", Error: msg}
	}
	for _, st := range body.Connectors {
		if st.Stale {
			status = http.StatusServiceUnavailable
			body.Status = "unavailable"
		}
	}
	if detail, ok := c.Get(detailKey); ok && detail == false {
		c.JSON(status, readiness{Status: body.Status})
		return
	}
	c.JSON(status, body)
}

// webhook hands the request to the named connector's handler. It is the hot
// path: no body copying; only the body size limit and a writer that closes
// the connection after a rejection are added (instrument set the
// deadlines).
func (s *Server) webhook(c *gin.Context) {
	name := c.Param("name")
	var h http.Handler
	ok := false
	if s.webhooks != nil {
		h, ok = s.webhooks(name)
	}
	if !ok || h == nil {
		c.Header("Connection", "close")
		s.writeError(c, models.Errorf(models.ENOTFOUND, "no webhook for connector %q", truncate(name, 100)))
		return
	}
	var w http.ResponseWriter = c.Writer
	if u, ok := w.(interface{ Unwrap() http.ResponseWriter }); ok {
		w = u.Unwrap()
	}
	c.Request.Body = http.MaxBytesReader(w, c.Request.Body, s.maxBody)
	h.ServeHTTP(closeOnReject{c.Writer}, c.Request)
}

func (s *Server) openAPI(c *gin.Context) {
	c.Data(http.StatusOK, "application/json", s.openapi)
}
