package httpapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tongdao/hub/models"
)

func TestReplyStrictBody(t *testing.T) {
	long := strings.Repeat("好", maxReplyRunes+1)
	for _, tc := range []struct {
		name        string
		contentType string
		body        string
		status      int
		msgHas      string
	}{
		{"unknown field", "application/json", `{"text":"hi","bogus":1}`, 400, `unknown field "bogus"`},
		{"unknown nested field", "application/json", `{"attachments":[{"type":"image","url":"https://x.test/a.png","color":"red"}]}`, 400, `unknown field "attachments[0].color"`},
		{"duplicate key", "application/json", `{"text":"hi","text":"bye"}`, 400, `field "text" is given more than once`},
		{"duplicate nested key", "application/json", `{"text":"hi","buttons":[{"id":"a","label":"A","id":"b"}]}`, 400, `field "buttons[0].id" is given more than once`},
		{"field name case", "application/json", `{"Text":"hi"}`, 400, `unknown field "Text" (field names are case-sensitive: "text")`},
		{"nested field name case", "application/json", `{"text":"hi","buttons":[{"ID":"a","label":"A"}]}`, 400, `unknown field "buttons[0].ID"`},
		{"too deep", "application/json", `{"text":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`, 400, "nested more than"},
		{"wrong type", "application/json", `{"text":"hi","private":"yes"}`, 400, `field "private" must be a boolean, not a string`},
		{"via as number", "application/json", `{"text":"hi","via":7}`, 400, `field "via" must be a string, not a number`},
		{"nested wrong type", "application/json", `{"attachments":[{"type":"image","size":"big"}]}`, 400, `field "attachments.size" must be an integer`},
		{"array body", "application/json", `["hi"]`, 400, "must be a JSON object, not an array"},
		{"malformed", "application/json", `{"text":"hi",}`, 400, "malformed JSON"},
		{"truncated", "application/json", `{"text":"hi"`, 400, "truncated"},
		{"empty", "application/json", ``, 400, "empty"},
		{"trailing object", "application/json", `{"text":"hi"}{"text":"again"}`, 400, "single JSON object"},
		{"trailing garbage", "application/json", `{"text":"hi"} x`, 400, "single JSON object"},
		{"text/plain", "text/plain", `{"text":"hi"}`, 415, "Content-Type must be application/json"},
		{"form", "application/x-www-form-urlencoded", `text=hi`, 415, "Content-Type"},
		{"no content type", "", `{"text":"hi"}`, 415, "Content-Type"},
		{"latin1", "application/json; charset=iso-8859-1", `{"text":"hi"}`, 415, "UTF-8"},
		{"oversized", "application/json", `{"text":"` + strings.Repeat("a", 2<<20) + `"}`, 413, "larger than 1048576 bytes"},
		{"no text", "application/json", `{"private":true}`, 400, "text is required"},
		{"blank text", "application/json", `{"text":"  \n "}`, 400, "text is required"},
		{"text too long", "application/json", `{"text":"` + long + `"}`, 400, "4097 characters long; at most 4096"},
		{"bad via", "application/json", `{"text":"hi","via":"abc"}`, 400, "via must be an identity id"},
		{"bad attachment type", "application/json", `{"attachments":[{"type":"gif","url":"https://x.test/a"}]}`, 400, `attachments[0].type`},
		{"attachment without location", "application/json", `{"attachments":[{"type":"image"}]}`, 400, "needs a url or a file_id"},
		{"attachment relative url", "application/json", `{"attachments":[{"type":"image","url":"/etc/passwd"}]}`, 400, "absolute http or https"},
		{"attachment file url", "application/json", `{"attachments":[{"type":"image","url":"file:///etc/passwd"}]}`, 400, "absolute http or https"},
		{"buttons in private note", "application/json", `{"text":"hi","private":true,"buttons":[{"id":"a","label":"A"}]}`, 400, "private note"},
		{"button without label", "application/json", `{"text":"hi","buttons":[{"id":"a","label":""}]}`, 400, "buttons[0].label"},
		{"button id too long", "application/json", `{"text":"hi","buttons":[{"id":"` + strings.Repeat("x", 65) + `","label":"A"}]}`, 400, "buttons[0].id"},
		{"duplicate button", "application/json", `{"text":"hi","buttons":[{"id":"a","label":"A"},{"id":"a","label":"B"}]}`, 400, "used twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			code, msg := errorOf(t, h.do(http.MethodPost, "/api/v1/conversations/1/messages", "good-token", tc.contentType, tc.body), tc.status)
			if code != models.EINVALID {
				t.Errorf("code = %q", code)
			}
			if !strings.Contains(msg, tc.msgHas) {
				t.Errorf("message %q lacks %q", msg, tc.msgHas)
			}
			if len(h.inbox.replies) != 0 {
				t.Error("an invalid reply reached the inbox")
			}
		})
	}
}

func TestReplyAccepted(t *testing.T) {
	max := strings.Repeat("好", maxReplyRunes)
	for _, tc := range []struct {
		name string
		ct   string
		body string
		want models.ReplyRequest
	}{
		{"text", "application/json", `{"text":"您好，已为您处理"}`,
			models.ReplyRequest{ConversationID: 1, Text: "您好，已为您处理"}},
		{"longest text", "application/json", `{"text":"` + max + `"}`,
			models.ReplyRequest{ConversationID: 1, Text: max}},
		{"private note via null", "application/json; charset=UTF-8", `{"text":"VIP","private":true,"via":null}`,
			models.ReplyRequest{ConversationID: 1, Text: "VIP", Private: true}},
		{"via empty", "application/json", `{"text":"hi","via":""}`,
			models.ReplyRequest{ConversationID: 1, Text: "hi"}},
		{"via", "application/json", `{"text":"hi","via":"7"}`,
			models.ReplyRequest{ConversationID: 1, Text: "hi", Via: 7}},
		{"attachment only", "application/vnd.api+json", `{"attachments":[{"type":"image","url":"https://cdn.example.com/a.png","name":"a.png"}]}`,
			models.ReplyRequest{ConversationID: 1, Attachments: []models.Attachment{{Type: "image", URL: "https://cdn.example.com/a.png", Name: "a.png"}}}},
		{"buttons", "application/json", `{"text":"Solved?","buttons":[{"id":"csat:yes","label":"Yes"},{"id":"csat:no","label":"No"}]}`,
			models.ReplyRequest{ConversationID: 1, Text: "Solved?", Buttons: []models.Button{{ID: "csat:yes", Label: "Yes"}, {ID: "csat:no", Label: "No"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			rec := h.do(http.MethodPost, "/api/v1/conversations/1/messages", "good-token", tc.ct, tc.body)
			if rec.Code != http.StatusAccepted {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			var msg models.MessageView
			if err := json.Unmarshal(rec.Body.Bytes(), &msg); err != nil || msg.ID != "99" || msg.Delivery.Status != models.DeliveryQueued {
				t.Fatalf("body %s (%v)", rec.Body, err)
			}
			if len(h.inbox.replies) != 1 {
				t.Fatalf("%d replies", len(h.inbox.replies))
			}
			got := h.inbox.replies[0]
			tc.want.Actor = models.Actor{TokenID: 1, Name: "alice", Role: models.RoleAgent}
			gotJSON, _ := json.Marshal(got)
			wantJSON, _ := json.Marshal(tc.want)
			if string(gotJSON) != string(wantJSON) {
				t.Errorf("ReplyRequest\n got %s\nwant %s", gotJSON, wantJSON)
			}
		})
	}
}

func TestReplyUnknownConversation(t *testing.T) {
	h := newHarness(t)
	h.inbox.setErr(models.Errorf(models.ENOTFOUND, "conversation 5 not found"))
	code, msg := errorOf(t, h.api(http.MethodPost, "/api/v1/conversations/5/messages", `{"text":"hi"}`), 404)
	if code != models.ENOTFOUND || msg != "conversation 5 not found" {
		t.Fatalf("%q %q", code, msg)
	}
}

func TestOversizedBodyByContentLength(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.MaxBodyBytes = 100 })
	req := httptest.NewRequest(http.MethodPost, "/api/v1/conversations/1/status", strings.NewReader(`{"status":"open"}`))
	req.ContentLength = 5000
	req.Header.Set("Authorization", "Bearer good-token")
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.srv.ServeHTTP(rec, req)
	_, msg := errorOf(t, rec, http.StatusRequestEntityTooLarge)
	if !strings.Contains(msg, "100 bytes") {
		t.Fatalf("message %q", msg)
	}
	// The streamed limit applies too when Content-Length is unknown.
	req = httptest.NewRequest(http.MethodPost, "/api/v1/conversations/1/status", strings.NewReader(`{"status":"`+strings.Repeat("o", 200)+`"}`))
	req.ContentLength = -1
	req.Header.Set("Authorization", "Bearer good-token")
	req.Header.Set("Content-Type", "application/json")
	rec = httptest.NewRecorder()
	h.srv.ServeHTTP(rec, req)
	errorOf(t, rec, http.StatusRequestEntityTooLarge)
}

func TestSetStatus(t *testing.T) {
	h := newHarness(t)
	rec := h.api(http.MethodPost, "/api/v1/conversations/1/status", `{"status":"resolved"}`)
	var conv models.ConversationView
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &conv) != nil || conv.Status != "resolved" {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	if h.inbox.byActor.Name != "alice" {
		t.Errorf("actor %+v", h.inbox.byActor)
	}
	for body, want := range map[string]string{
		`{"status":"closed"}`: `invalid status "closed": must be one of open, pending, snoozed, resolved`,
		`{}`:                  "status is required",
		`{"status":null}`:     "status is required",
		`{"status":1}`:        `field "status" must be a string`,
		`{"state":"open"}`:    `unknown field "state"`,
	} {
		_, msg := errorOf(t, h.api(http.MethodPost, "/api/v1/conversations/1/status", body), 400)
		if msg != want && !strings.Contains(msg, want) {
			t.Errorf("%s: message %q, want %q", body, msg, want)
		}
	}
	if len(h.inbox.statusSet) != 1 {
		t.Errorf("inbox saw %v", h.inbox.statusSet)
	}
}

// The priority route: one of the four priorities, for agents; anything
// else is a 400 naming the field, and never reaches the inbox.
func TestSetPriority(t *testing.T) {
	h := newHarness(t)
	rec := h.api(http.MethodPost, "/api/v1/conversations/1/priority", `{"priority":"urgent"}`)
	var conv models.ConversationView
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &conv) != nil || conv.Priority != "urgent" || h.inbox.byActor.Name != "alice" {
		t.Fatalf("%d %s (actor %+v)", rec.Code, rec.Body, h.inbox.byActor)
	}
	checkDoc(t, http.MethodPost, "/api/v1/conversations/{id}/priority", rec)
	h.inbox.byActor = models.Actor{}
	for body, want := range map[string]string{
		`{"priority":"critical"}`: `invalid priority "critical": must be one of low, normal, high, urgent`,
		`{}`:                      "priority is required",
		`{"priority":2}`:          `field "priority" must be a string`,
		`{"level":"high"}`:        `unknown field "level"`,
	} {
		rec := h.api(http.MethodPost, "/api/v1/conversations/1/priority", body)
		_, msg := errorOf(t, rec, 400)
		if msg != want && !strings.Contains(msg, want) {
			t.Errorf("%s: message %q, want %q", body, msg, want)
		}
		checkDoc(t, http.MethodPost, "/api/v1/conversations/{id}/priority", rec)
	}
	if h.inbox.byActor.Name != "" {
		t.Errorf("a refused request reached the inbox")
	}
	if code, _ := errorOf(t, h.api(http.MethodPost, "/api/v1/conversations/404/priority", `{"priority":"low"}`), 404); code != models.ENOTFOUND {
		t.Errorf("unknown conversation: %s", code)
	}
}

func TestAssignDistinguishesAbsentNullAndEmpty(t *testing.T) {
	str := func(s string) *string { return &s }
	for _, tc := range []struct {
		body           string
		assignee, team *string
	}{
		{`{"assignee":"bob"}`, str("bob"), nil},
		{`{"assignee":null}`, str(""), nil},
		{`{"assignee":""}`, str(""), nil},
		{`{"team":"billing"}`, nil, str("billing")},
		{`{"assignee":" bob ","team":null}`, str("bob"), str("")},
	} {
		t.Run(tc.body, func(t *testing.T) {
			h := newHarness(t)
			rec := h.api(http.MethodPost, "/api/v1/conversations/1/assign", tc.body)
			if rec.Code != 200 {
				t.Fatalf("%d %s", rec.Code, rec.Body)
			}
			if !h.inbox.assigned || !sameOpt(h.inbox.assignee, tc.assignee) || !sameOpt(h.inbox.team, tc.team) {
				t.Fatalf("Assign(assignee=%v, team=%v), want (%v, %v)", deref(h.inbox.assignee), deref(h.inbox.team), deref(tc.assignee), deref(tc.team))
			}
		})
	}
	for body, want := range map[string]string{
		`{}`:             "give assignee and/or team",
		`{"assignee":5}`: `field "assignee" must be a string, not a number`,
		`{"team":["a"]}`: `field "team" must be a string, not an array`,
		`{"assignee":"` + strings.Repeat("a", 201) + `"}`: "assignee must be at most 200 characters",
		`{"assignee":"bob\u0000"}`:                        "control characters",
		`{"agent":"bob"}`:                                 `unknown field "agent"`,
	} {
		h := newHarness(t)
		_, msg := errorOf(t, h.api(http.MethodPost, "/api/v1/conversations/1/assign", body), 400)
		if !strings.Contains(msg, want) {
			t.Errorf("%s: message %q, want %q", body, msg, want)
		}
		if h.inbox.assigned {
			t.Errorf("%s reached the inbox", body)
		}
	}
}

func sameOpt(a, b *string) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func deref(p *string) string {
	if p == nil {
		return "<unchanged>"
	}
	return `"` + *p + `"`
}

func TestListConversationsQuery(t *testing.T) {
	h := newHarness(t)
	h.inbox.nextCur = "eyJ0IjoiMjAyNS0wMy0wMVQwODowMDowMFoiLCJpZCI6MX0"
	rec := h.api(http.MethodGet, "/api/v1/conversations?status=open&assignee=none&team=billing&priority=urgent&channel=wechat&q=%E9%80%80%E6%AC%BE&cursor=abc123&limit=100&view=waiting", "")
	if rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	want := models.ConversationFilter{Status: "open", Assignee: "none", Team: "billing", Priority: "urgent", Channel: "wechat", Query: "退款", Cursor: "abc123", Limit: 100,
		View: models.ViewWaiting, Me: "alice"}
	if h.inbox.filter != want {
		t.Fatalf("filter %+v, want %+v", h.inbox.filter, want)
	}
	var page struct {
		Conversations []models.ConversationView `json:"conversations"`
		NextCursor    *string                   `json:"next_cursor"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &page); err != nil || len(page.Conversations) != 1 || page.NextCursor == nil || *page.NextCursor != h.inbox.nextCur {
		t.Fatalf("page %s", rec.Body)
	}

	// The last page has next_cursor null; an empty page is [] not null.
	h.inbox.nextCur = ""
	h.inbox.convs = nil
	rec = h.api(http.MethodGet, "/api/v1/conversations", "")
	if got := strings.TrimSpace(rec.Body.String()); got != `{"conversations":[],"next_cursor":null}` {
		t.Fatalf("empty page %s", got)
	}
	if h.inbox.filter.Limit != conversationsDefaultLimit {
		t.Fatalf("default limit %d", h.inbox.filter.Limit)
	}
}

func TestListConversationsQueryValidation(t *testing.T) {
	h := newHarness(t)
	for query, want := range map[string]string{
		"status=closed":                        `invalid status "closed"`,
		"priority=critical":                    `invalid priority "critical": must be one of low, normal, high, urgent`,
		"channel=sms":                          `invalid channel "sms": must be one of discord, telegram, wechat`,
		"limit=0":                              "limit must be an integer between 1 and 100",
		"limit=101":                            "limit must be an integer between 1 and 100",
		"limit=ten":                            "limit must be an integer",
		"stauts=open":                          `unknown query parameter "stauts"`,
		"status=open&status=pending":           `"status" is given more than once`,
		"cursor=a%20b":                         "cursor is malformed",
		"cursor=" + strings.Repeat("c", 600):   "cursor is too long",
		"q=" + strings.Repeat("q", 201):        "q must be at most 200 characters",
		"assignee=" + strings.Repeat("a", 201): "assignee must be at most 200",
	} {
		code, msg := errorOf(t, h.api(http.MethodGet, "/api/v1/conversations?"+query, ""), 400)
		if code != models.EINVALID || !strings.Contains(msg, want) {
			t.Errorf("%.40s: %q %q, want %q", query, code, msg, want)
		}
	}
}

func TestListMessagesPagination(t *testing.T) {
	h := newHarness(t)
	h.inbox.messages = []models.MessageView{{ID: "5", ConversationID: "1", Text: "hi"}}
	h.inbox.nextCur = "next-page"
	rec := h.api(http.MethodGet, "/api/v1/conversations/1/messages?cursor=page-2&limit=10", "")
	if rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	if h.inbox.msgConv != 1 || h.inbox.msgCursor != "page-2" || h.inbox.msgLimit != 10 {
		t.Fatalf("ListMessages(%d, %q, %d)", h.inbox.msgConv, h.inbox.msgCursor, h.inbox.msgLimit)
	}
	if !strings.Contains(rec.Body.String(), `"next_cursor":"next-page"`) || !strings.Contains(rec.Body.String(), `"messages":[{"id":"5"`) {
		t.Fatalf("body %s", rec.Body)
	}
	h.inbox.messages, h.inbox.nextCur = nil, ""
	rec = h.api(http.MethodGet, "/api/v1/conversations/1/messages", "")
	if got := strings.TrimSpace(rec.Body.String()); got != `{"messages":[],"next_cursor":null}` || h.inbox.msgLimit != messagesDefaultLimit || h.inbox.msgCursor != "" {
		t.Fatalf("default page %s limit %d", got, h.inbox.msgLimit)
	}
	for _, q := range []string{"limit=500", "status=open", "limit=1&limit=2"} {
		errorOf(t, h.api(http.MethodGet, "/api/v1/conversations/1/messages?"+q, ""), 400)
	}
}

func TestGetContactAndConversation(t *testing.T) {
	h := newHarness(t)
	rec := h.api(http.MethodGet, "/api/v1/contacts/10", "")
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"name":"Li Wei"`) {
		t.Fatalf("contact: %d %s", rec.Code, rec.Body)
	}
	code, _ := errorOf(t, h.api(http.MethodGet, "/api/v1/contacts/11", ""), 404)
	if code != models.ENOTFOUND {
		t.Fatal(code)
	}
	rec = h.api(http.MethodGet, "/api/v1/conversations/1", "")
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"status":"open"`) {
		t.Fatalf("conversation: %d %s", rec.Code, rec.Body)
	}
}

// TestReplyFromTestdata drives the reply route with the bodies the console
// sends, stored in testdata/.
func TestReplyFromTestdata(t *testing.T) {
	files, err := filepath.Glob("testdata/reply_*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, f := range files {
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		// The expected status is in the file name: reply_202_*.json.
		name := filepath.Base(f)
		var want int
		switch {
		case strings.HasPrefix(name, "reply_202_"):
			want = http.StatusAccepted
		case strings.HasPrefix(name, "reply_400_"):
			want = http.StatusBadRequest
		default:
			t.Fatalf("%s: name must start with reply_202_ or reply_400_", name)
		}
		h := newHarness(t)
		rec := h.api(http.MethodPost, "/api/v1/conversations/1/messages", string(body))
		if rec.Code != want {
			t.Errorf("%s: status %d, want %d: %s", name, rec.Code, want, rec.Body)
		}
	}
}

// TestChannels: GET /channels lists the configured channels, the channel
// filter accepts exactly their names, and a channel added to the options
// (a new connector type) needs no change here.
func TestChannels(t *testing.T) {
	h := newHarness(t, func(o *Options) {
		o.Channels = append(o.Channels, models.ChannelView{Name: "line", Title: "LINE", Connectors: []string{"line-jp", "line-tw"}})
	})
	rec := h.api(http.MethodGet, "/api/v1/channels", "")
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /channels: %d %s", rec.Code, rec.Body)
	}
	want := `{"channels":[{"name":"discord","title":"Discord","connectors":[]},{"name":"telegram","title":"Telegram","connectors":["tg-main"]},` +
		`{"name":"wechat","title":"WeChat","connectors":["wx-oa"]},{"name":"line","title":"LINE","connectors":["line-jp","line-tw"]}]}`
	if got := strings.TrimSpace(rec.Body.String()); got != want {
		t.Errorf("GET /channels =\n%s\nwant\n%s", got, want)
	}
	if rec := h.api(http.MethodGet, "/api/v1/conversations?channel=line", ""); rec.Code != http.StatusOK {
		t.Errorf("channel=line: %d %s", rec.Code, rec.Body)
	}
	if rec := h.api(http.MethodGet, "/api/v1/channels?x=1", ""); rec.Code != http.StatusBadRequest {
		t.Errorf("GET /channels?x=1: %d, want 400", rec.Code)
	}
	if rec := h.do(http.MethodGet, "/api/v1/channels", "", "", ""); rec.Code != http.StatusUnauthorized {
		t.Errorf("GET /channels without a token: %d, want 401", rec.Code)
	}

	none := newHarness(t, func(o *Options) { o.Channels = nil })
	rec = none.api(http.MethodGet, "/api/v1/channels", "")
	if got := strings.TrimSpace(rec.Body.String()); rec.Code != http.StatusOK || got != `{"channels":[]}` {
		t.Errorf("no channels: %d %s", rec.Code, got)
	}
	if rec := none.api(http.MethodGet, "/api/v1/conversations?channel=telegram", ""); rec.Code != http.StatusBadRequest {
		t.Errorf("channel filter with no channels: %d, want 400", rec.Code)
	}
}

func TestListConversationsUnknownViewIsRefused(t *testing.T) {
	h := newHarness(t)
	rec := h.api(http.MethodGet, "/api/v1/conversations?view=everything", "")
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "view") {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}
