package httpapi

import (
	"bytes"
	"cmp"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tongdao/hub/models"
)

// fakeInbox is an in-memory Inbox for unit tests of the HTTP layer only; the
// end-to-end tests run the real inbox on SQLite.
type fakeInbox struct {
	mu sync.Mutex

	tokens  map[string]models.Actor
	authErr error // returned by Authenticate for every token when set
	err     error // returned by every data method when set
	ready   error

	convs    map[int64]models.ConversationView
	contacts map[int64]models.ContactView
	nextCur  string
	messages []models.MessageView

	// Last arguments seen.
	filter    models.ConversationFilter
	msgConv   int64
	msgCursor string
	msgLimit  int
	replies   []models.ReplyRequest
	statusSet []string
	assignee  *string
	team      *string
	assigned  bool
	byActor   models.Actor
	merged    [][2]int64
	undone    []int64
	unlinked  []int64

	helpers fakeHelpers
	reports []models.ReportFilter
	reads   []string // read marks given: "agent:conversation"

	events      []models.EventView
	notify      chan struct{}
	eventsErr   error
	eventText   string // the text of the events addEvents makes (default two lines)
	afterCalls  int
	latestCalls int
}

func newFakeInbox() *fakeInbox {
	conv := models.ConversationView{
		ID: "1", Status: models.StatusOpen, Priority: "normal",
		Contact: models.ContactView{ID: "10", Name: "Li Wei", Identities: []models.IdentityView{}},
		Labels:  []string{}, SLABreaches: []string{},
	}
	return &fakeInbox{
		tokens: map[string]models.Actor{
			"good-token":  {TokenID: 1, Name: "alice", Role: models.RoleAgent},
			"admin-token": {TokenID: 2, Name: "root", Role: models.RoleAdmin},
		},
		convs:    map[int64]models.ConversationView{1: conv},
		contacts: map[int64]models.ContactView{10: conv.Contact},
		notify:   make(chan struct{}),
	}
}

func (f *fakeInbox) Authenticate(_ context.Context, token string) (models.Actor, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.authErr != nil {
		return models.Actor{}, f.authErr
	}
	a, ok := f.tokens[token]
	if !ok {
		return models.Actor{}, models.Errorf(models.EUNAUTHORIZED, "unknown token %s", token)
	}
	return a, nil
}

func (f *fakeInbox) CountViews(_ context.Context, me string) (models.ViewsView, error) {
	v := models.ViewsView{Me: me}
	for _, id := range models.Views {
		v.Views = append(v.Views, models.ViewCount{ID: id})
	}
	return v, nil
}

func (f *fakeInbox) ListConversations(_ context.Context, filter models.ConversationFilter) ([]models.ConversationView, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.filter = filter
	if f.err != nil {
		return nil, "", f.err
	}
	var out []models.ConversationView
	for _, c := range f.convs {
		out = append(out, c)
	}
	return out, f.nextCur, nil
}

func (f *fakeInbox) GetConversation(_ context.Context, id int64) (models.ConversationView, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return models.ConversationView{}, f.err
	}
	c, ok := f.convs[id]
	if !ok {
		return c, models.Errorf(models.ENOTFOUND, "conversation %d not found", id)
	}
	return c, nil
}

func (f *fakeInbox) ListMessages(_ context.Context, id int64, cursor string, limit int) ([]models.MessageView, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.msgConv, f.msgCursor, f.msgLimit = id, cursor, limit
	if f.err != nil {
		return nil, "", f.err
	}
	return f.messages, f.nextCur, nil
}

func (f *fakeInbox) Reply(_ context.Context, req models.ReplyRequest) (models.MessageView, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.replies = append(f.replies, req)
	if f.err != nil {
		return models.MessageView{}, f.err
	}
	atts := []models.AttachmentView{}
	for _, a := range req.Attachments {
		sa := models.StoredAttachment{Attachment: a}
		atts = append(atts, sa.View())
	}
	return models.MessageView{
		ID: "99", ConversationID: strconv.FormatInt(req.ConversationID, 10), Direction: models.DirectionOut,
		Text: req.Text, Private: req.Private, Attachments: atts, Buttons: req.Buttons,
		Sender:   models.SenderView{Type: models.SenderAgent, Name: req.Actor.Name},
		Delivery: models.DeliveryView{Status: models.DeliveryQueued},
	}, nil
}

func (f *fakeInbox) SetStatus(_ context.Context, id int64, status string, by models.Actor) (models.ConversationView, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.statusSet = append(f.statusSet, status)
	f.byActor = by
	if f.err != nil {
		return models.ConversationView{}, f.err
	}
	c, ok := f.convs[id]
	if !ok {
		return c, models.Errorf(models.ENOTFOUND, "conversation %d not found", id)
	}
	c.Status = status
	return c, nil
}

func (f *fakeInbox) Assign(_ context.Context, id int64, assignee, team *string, by models.Actor) (models.ConversationView, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.assignee, f.team, f.assigned, f.byActor = assignee, team, true, by
	if f.err != nil {
		return models.ConversationView{}, f.err
	}
	c, ok := f.convs[id]
	if !ok {
		return c, models.Errorf(models.ENOTFOUND, "conversation %d not found", id)
	}
	return c, nil
}

func (f *fakeInbox) GetContact(_ context.Context, id int64) (models.ContactView, error) {
	if id == 666 {
		panic("fake inbox: boom")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return models.ContactView{}, f.err
	}
	c, ok := f.contacts[id]
	if !ok {
		return c, models.Errorf(models.ENOTFOUND, "contact %d not found", id)
	}
	return c, nil
}

func (f *fakeInbox) MergeContacts(_ context.Context, into, from int64, by models.Actor) (models.MergeView, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.merged = append(f.merged, [2]int64{into, from})
	f.byActor = by
	if f.err != nil {
		return models.MergeView{}, f.err
	}
	c, ok := f.contacts[into]
	if !ok {
		return models.MergeView{}, models.Errorf(models.ENOTFOUND, "contact %d not found", into)
	}
	return models.MergeView{ID: "5", ContactID: c.ID, FromContactID: strconv.FormatInt(from, 10), Method: models.MergeByAgent,
		By: by.Name, IdentityIDs: []string{}, ConversationIDs: []string{}, Contact: c}, nil
}

func (f *fakeInbox) UndoMerge(_ context.Context, id int64, by models.Actor) (models.MergeView, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.undone = append(f.undone, id)
	f.byActor = by
	if f.err != nil {
		return models.MergeView{}, f.err
	}
	if id != 5 {
		return models.MergeView{}, models.Errorf(models.ENOTFOUND, "merge %d not found", id)
	}
	by2 := by.Name
	return models.MergeView{ID: "5", Method: models.MergeByAgent, UndoneBy: &by2, IdentityIDs: []string{}, ConversationIDs: []string{}}, nil
}

func (f *fakeInbox) UnlinkIdentity(_ context.Context, id int64, by models.Actor) (models.ContactView, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.unlinked = append(f.unlinked, id)
	f.byActor = by
	if f.err != nil {
		return models.ContactView{}, f.err
	}
	return models.ContactView{ID: "11", Name: "split", Identities: []models.IdentityView{}}, nil
}

func (f *fakeInbox) Suggestions(_ context.Context, id int64) ([]models.SuggestionView, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	if _, ok := f.contacts[id]; !ok {
		return nil, models.Errorf(models.ENOTFOUND, "contact %d not found", id)
	}
	return nil, nil
}

func (f *fakeInbox) EventsAfter(_ context.Context, after int64, limit int) ([]models.EventView, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.afterCalls++
	if f.eventsErr != nil {
		return nil, f.eventsErr
	}
	var out []models.EventView
	for _, ev := range f.events {
		id, _ := strconv.ParseInt(ev.ID, 10, 64)
		if id > after && len(out) < limit {
			out = append(out, ev)
		}
	}
	return out, nil
}

func (f *fakeInbox) LatestEventID(context.Context) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.latestCalls++
	if len(f.events) == 0 {
		return 0, nil
	}
	return strconv.ParseInt(f.events[len(f.events)-1].ID, 10, 64)
}

func (f *fakeInbox) EventsNotify() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.notify
}

// Agents, tokens and presence: the fake knows its two tokens; the real
// behaviour is tested on the real inbox (cmd/hub, inbox).
func (f *fakeInbox) IssueToken(_ context.Context, name, role string, _ models.Actor) (models.NewTokenView, error) {
	return models.NewTokenView{ID: "3", Name: name, Role: role, Token: "tdk_new"}, f.err
}

func (f *fakeInbox) ListTokens(context.Context) ([]models.TokenView, error) {
	return []models.TokenView{{ID: "1", Name: "alice", Role: models.RoleAgent}}, f.err
}

func (f *fakeInbox) RevokeToken(_ context.Context, id int64, _ models.Actor) (models.TokenView, error) {
	return models.TokenView{ID: models.ID(id), Name: "alice", Role: models.RoleAgent}, f.err
}

func (f *fakeInbox) ListAgents(context.Context) ([]models.AgentView, error) {
	return []models.AgentView{{Name: "alice", Role: models.RoleAgent, Teams: []string{}, Presence: models.PresenceOffline,
		Status: models.PresenceOnline, Capacity: models.DefaultCapacity}}, f.err
}

func (f *fakeInbox) ReportSummary(_ context.Context, rf models.ReportFilter) (models.ReportSummary, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reports = append(f.reports, rf)
	return models.ReportSummary{From: rf.From, To: rf.To, ByChannel: map[string]int{"telegram": 1}, ByConnector: map[string]int{"tg": 1}, ByTeam: map[string]int{"none": 1}, Conversations: 1,
		CSAT:                 models.ReportCSAT{Distribution: map[string]int{"1": 0, "2": 0, "3": 0, "4": 0, "5": 0}},
		ByDay:                []models.ReportDay{{Day: rf.From.UTC().Format(time.DateOnly), Conversations: 1, ByChannel: map[string]int{"telegram": 1}}},
		FirstResponseBuckets: []models.ReportBucket{{Count: 0}}, ResolutionBuckets: []models.ReportBucket{{Count: 0}}}, f.err
}

func (f *fakeInbox) Me(_ context.Context, by models.Actor) (models.AgentView, error) {
	return models.AgentView{Name: by.Name, Role: by.Role, Teams: []string{}, Presence: models.PresenceOffline,
		Status: models.PresenceOnline, Capacity: models.DefaultCapacity}, f.err
}

func (f *fakeInbox) SetPresence(ctx context.Context, status string, by models.Actor) (models.AgentView, error) {
	v, err := f.Me(ctx, by)
	v.Status = status
	return v, err
}

func (f *fakeInbox) StreamStarted(context.Context, models.Actor) error { return nil }

func (f *fakeInbox) Ready(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ready
}

// addEvents appends n events with the next ids and wakes waiting streams.
func (f *fakeInbox) addEvents(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for range n {
		id := len(f.events) + 1
		f.events = append(f.events, models.EventView{
			ID: strconv.Itoa(id), Type: "message.created", ConversationID: "1",
			Data:      map[string]any{"seq": id, "text": cmp.Or(f.eventText, "line one\nline two")},
			CreatedAt: time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC),
		})
	}
	close(f.notify)
	f.notify = make(chan struct{})
}

func (f *fakeInbox) setErr(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

type fakeStates []models.ConnectorState

func (s fakeStates) States() []models.ConnectorState { return s }

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// harness is a Server over a fakeInbox with captured logs.
type harness struct {
	t     *testing.T
	inbox *fakeInbox
	srv   *Server
	logs  *syncBuffer
}

func newHarness(t *testing.T, mutate ...func(*Options)) *harness {
	t.Helper()
	h := &harness{t: t, inbox: newFakeInbox(), logs: &syncBuffer{}}
	opts := Options{
		Inbox:    h.inbox,
		Logger:   slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Registry: prometheus.NewRegistry(),
		Now:      time.Now,
		Channels: []models.ChannelView{
			{Name: "discord", Title: "Discord", Connectors: []string{}},
			{Name: "telegram", Title: "Telegram", Connectors: []string{"tg-main"}},
			{Name: "wechat", Title: "WeChat", Connectors: []string{"wx-oa"}},
		},
	}
	for _, m := range mutate {
		m(&opts)
	}
	srv, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	h.srv = srv
	return h
}

// do sends a request through the handler in memory. body may be "" (none);
// token "" sends no Authorization header.
func (h *harness) do(method, target, token, contentType, body string) *httptest.ResponseRecorder {
	h.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, r)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	h.srv.ServeHTTP(rec, req)
	return rec
}

// api sends an authenticated request; a body is sent as JSON.
func (h *harness) api(method, target, body string) *httptest.ResponseRecorder {
	h.t.Helper()
	ct := ""
	if body != "" {
		ct = "application/json"
	}
	return h.do(method, target, "good-token", ct, body)
}

// admin sends a request with the admin token; a body is sent as JSON.
func (h *harness) admin(method, target, body string) *httptest.ResponseRecorder {
	h.t.Helper()
	ct := ""
	if body != "" {
		ct = "application/json"
	}
	return h.do(method, target, "admin-token", ct, body)
}

var _ http.Handler = (*Server)(nil)
