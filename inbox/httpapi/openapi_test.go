package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/tongdao/hub/models"
)

type openAPIDoc struct {
	OpenAPI string                                `json:"openapi"`
	Servers []struct{ URL string }                `json:"servers"`
	Paths   map[string]map[string]json.RawMessage `json:"paths"`
	Raw     map[string]any                        `json:"-"`
}

func loadOpenAPI(t *testing.T) openAPIDoc {
	t.Helper()
	var doc openAPIDoc
	if err := json.Unmarshal(openAPIDocument, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if err := json.Unmarshal(openAPIDocument, &doc.Raw); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" || len(doc.Servers) != 1 || doc.Servers[0].URL != "/api/v1" {
		t.Fatalf("openapi %q servers %+v", doc.OpenAPI, doc.Servers)
	}
	return doc
}

var ginParam = regexp.MustCompile(`:([A-Za-z_]+)`)

// docPath maps a gin route to its OpenAPI path and whether it lives outside
// the /api/v1 server (and so needs a path-level servers override).
func docPath(route string) (string, bool) {
	p := ginParam.ReplaceAllString(route, "{$1}")
	if rest, ok := strings.CutPrefix(p, "/api/v1"); ok {
		return rest, false
	}
	return p, true
}

// TestOpenAPICoversRoutes walks gin's registered routes: every route must be
// described, and every described operation must be a route.
func TestOpenAPICoversRoutes(t *testing.T) {
	doc := loadOpenAPI(t)
	h := newHarness(t)
	registered := map[string]bool{}
	apiRoutes := 0
	for _, r := range h.srv.engine.Routes() {
		p, outside := docPath(r.Path)
		if !outside {
			apiRoutes++
		}
		key := strings.ToLower(r.Method) + " " + p
		registered[key] = true
		item, ok := doc.Paths[p]
		if !ok {
			t.Errorf("route %s %s is missing from openapi.json (as %s)", r.Method, r.Path, p)
			continue
		}
		if _, ok := item[strings.ToLower(r.Method)]; !ok {
			t.Errorf("route %s %s: openapi.json path %s lacks %s", r.Method, r.Path, p, strings.ToLower(r.Method))
		}
		var servers []struct{ URL string }
		if raw, ok := item["servers"]; ok {
			_ = json.Unmarshal(raw, &servers)
		}
		if outside != (len(servers) == 1 && servers[0].URL == "/") {
			t.Errorf("path %s: servers override %+v wrong for a route outside /api/v1=%v", p, servers, outside)
		}
	}
	if apiRoutes < 9 {
		t.Fatalf("only %d /api/v1 routes registered", apiRoutes)
	}
	for p, item := range doc.Paths {
		for method := range item {
			switch method {
			case "parameters", "servers", "summary", "description":
				continue
			}
			if !registered[method+" "+p] {
				t.Errorf("openapi.json describes %s %s, which is not a route", method, p)
			}
		}
	}
}

// TestOpenAPIOperations checks each operation: an operationId, responses,
// error responses that use the Error schema, and security consistent with
// the bearer middleware.
func TestOpenAPIOperations(t *testing.T) {
	doc := loadOpenAPI(t)
	ids := map[string]bool{}
	for p, item := range doc.Paths {
		for method, raw := range item {
			if method == "parameters" || method == "servers" {
				continue
			}
			var op struct {
				OperationID string                     `json:"operationId"`
				Security    *[]map[string][]string     `json:"security"`
				Responses   map[string]json.RawMessage `json:"responses"`
			}
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatalf("%s %s: %v", method, p, err)
			}
			if op.OperationID == "" || ids[op.OperationID] {
				t.Errorf("%s %s: missing or duplicate operationId %q", method, p, op.OperationID)
			}
			ids[op.OperationID] = true
			public := op.Security != nil && len(*op.Security) == 0
			wantPublic := p == "/openapi.json" || !strings.HasPrefix(p, "/conversations") && !strings.HasPrefix(p, "/contacts") &&
				!strings.HasPrefix(p, "/merges") && !strings.HasPrefix(p, "/identities") && p != "/events" && p != "/channels" && p != "/views" && !strings.HasPrefix(p, "/canned") &&
				!strings.HasPrefix(p, "/admin/") &&
				p != "/agents" && p != "/me" && p != "/me/presence" && p != "/me/reads" && !strings.HasPrefix(p, "/tokens") &&
				!strings.HasPrefix(p, "/reports/") &&
				!strings.HasPrefix(p, "/attachments/")
			if public != wantPublic {
				t.Errorf("%s %s: public=%v, want %v", method, p, public, wantPublic)
			}
			if !public {
				if _, ok := op.Responses["401"]; !ok {
					t.Errorf("%s %s: no 401 response", method, p)
				}
			}
			if method == "post" && (strings.HasPrefix(p, "/conversations") || p == "/contacts/{id}/merge") {
				for _, code := range []string{"400", "413", "415"} {
					if _, ok := op.Responses[code]; !ok {
						t.Errorf("%s %s: no %s response", method, p, code)
					}
				}
			}
		}
	}
}

// TestOpenAPIRefsResolve checks that every $ref points at a component.
func TestOpenAPIRefsResolve(t *testing.T) {
	doc := loadOpenAPI(t)
	components := doc.Raw["components"].(map[string]any)
	var walk func(v any)
	refs := 0
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				refs++
				parts := strings.Split(strings.TrimPrefix(ref, "#/components/"), "/")
				if len(parts) != 2 {
					t.Errorf("bad $ref %q", ref)
					return
				}
				group, _ := components[parts[0]].(map[string]any)
				if _, ok := group[parts[1]]; !ok {
					t.Errorf("$ref %q does not resolve", ref)
				}
			}
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(doc.Raw)
	if refs < 20 {
		t.Fatalf("only %d refs", refs)
	}
}

// TestOpenAPISchemasMatchGoTypes fails when a JSON field of a resource or
// request type is missing from (or extra in) its schema.
func TestOpenAPISchemasMatchGoTypes(t *testing.T) {
	doc := loadOpenAPI(t)
	schemas := doc.Raw["components"].(map[string]any)["schemas"].(map[string]any)
	for name, v := range map[string]any{
		"Conversation":     models.ConversationView{},
		"Contact":          models.ContactView{},
		"Identity":         models.IdentityView{},
		"Message":          models.MessageView{},
		"Sender":           models.SenderView{},
		"Delivery":         models.DeliveryView{},
		"Event":            models.EventView{},
		"Attachment":       models.Attachment{},
		"Button":           models.Button{},
		"ConnectorState":   models.ConnectorState{},
		"ReplyRequest":     replyBody{},
		"StatusRequest":    statusBody{},
		"AssignRequest":    assignBody{},
		"Readiness":        readiness{},
		"ConversationList": conversationList{},
		"MessageList":      messageList{},
		"Error":            errorBody{},
		"Merge":            models.MergeView{},
		"MergeRequest":     mergeBody{},
		"Suggestion":       models.SuggestionView{},
		"SuggestionList":   suggestionList{},
		"Channel":          models.ChannelView{},
		"ChannelList":      channelList{},
		"CannedResponse":   models.CannedView{},
		"CannedList":       cannedList{},
		"CannedRequest":    cannedBody{},
		"LabelsRequest":    labelsBody{},
		// Agents and tokens.
		"Token":           models.TokenView{},
		"NewToken":        models.NewTokenView{},
		"TokenList":       tokenList{},
		"TokenRequest":    tokenBody{},
		"Agent":           models.AgentView{},
		"AgentList":       agentList{},
		"PresenceRequest": presenceBody{},
		// Read marks of the console.
		"ReadMark":     models.ReadMarkView{},
		"ReadMarkList": readList{},
		// Media.
		"MessageAttachment": models.AttachmentView{},
	} {
		schema, ok := schemas[name].(map[string]any)
		if !ok {
			t.Errorf("schema %s missing", name)
			continue
		}
		props, _ := schema["properties"].(map[string]any)
		var have []string
		for p := range props {
			have = append(have, p)
		}
		sort.Strings(have)
		want := jsonFields(reflect.TypeOf(v))
		if strings.Join(have, ",") != strings.Join(want, ",") {
			t.Errorf("schema %s properties %v, Go type %T has %v", name, have, v, want)
		}
	}
}

func jsonFields(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// TestOpenAPIServedDocumentListsTheChannels: the served document is the
// embedded one with the configured channels as the ChannelName enum.
func TestOpenAPIServedDocumentListsTheChannels(t *testing.T) {
	h := newHarness(t, func(o *Options) {
		o.Channels = []models.ChannelView{{Name: "line", Title: "LINE"}, {Name: "telegram", Title: "Telegram"}}
	})
	rec := h.do(http.MethodGet, "/api/v1/openapi.json", "", "", "")
	var served, embedded map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &served); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(openAPIDocument, &embedded); err != nil {
		t.Fatal(err)
	}
	name := func(doc map[string]any) map[string]any {
		return doc["components"].(map[string]any)["schemas"].(map[string]any)["ChannelName"].(map[string]any)
	}
	if _, ok := name(embedded)["enum"]; ok {
		t.Error("the embedded document hard-codes channels; they come from the registry")
	}
	if got := name(served)["enum"]; !reflect.DeepEqual(got, []any{"line", "telegram"}) {
		t.Errorf("served ChannelName enum = %v, want [line telegram]", got)
	}
	delete(name(served), "enum")
	if !reflect.DeepEqual(served, embedded) {
		t.Error("served document differs from the embedded one beyond the channel enum")
	}
}

// wantRoles is what an operation's x-roles says for each access level.
var wantRoles = map[string][]string{
	accessAgent: {models.RoleAgent, models.RoleAdmin},
	accessAdmin: {models.RoleAdmin},
}

// TestOpenAPIRolesMatchTheRoutes: every authenticated operation names in
// x-roles the roles the server lets through, and documents 403 (and 401);
// public operations have no x-roles.
func TestOpenAPIRolesMatchTheRoutes(t *testing.T) {
	doc := loadOpenAPI(t)
	h := newHarness(t)
	for _, r := range h.srv.engine.Routes() {
		p, _ := docPath(r.Path)
		raw, ok := doc.Paths[p][strings.ToLower(r.Method)]
		if !ok {
			continue // TestOpenAPICoversRoutes reports it
		}
		var op struct {
			Roles     *[]string                  `json:"x-roles"`
			Responses map[string]json.RawMessage `json:"responses"`
		}
		if err := json.Unmarshal(raw, &op); err != nil {
			t.Fatal(err)
		}
		access := h.srv.access[r.Method+" "+r.Path]
		want := wantRoles[access]
		switch {
		case access == accessPublic && op.Roles != nil:
			t.Errorf("%s %s is public but has x-roles %v", r.Method, p, *op.Roles)
		case access != accessPublic && (op.Roles == nil || !reflect.DeepEqual(*op.Roles, want)):
			t.Errorf("%s %s: x-roles %v, want %v", r.Method, p, op.Roles, want)
		}
		if access != accessPublic {
			for _, code := range []string{"401", "403"} {
				if _, ok := op.Responses[code]; !ok {
					t.Errorf("%s %s: no %s response", r.Method, p, code)
				}
			}
		}
	}
}

// constants returns the string values of the constants whose names match
// the regular expression name in the Go files of dir (tests excluded): the
// drift tests learn new kinds and event types from the code itself.
func constants(t *testing.T, dir, name string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	rx := regexp.MustCompile(`(?m)^\s+` + name + `\s*=\s*"([^"]+)"`)
	var out []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range rx.FindAllStringSubmatch(string(b), -1) {
			out = append(out, m[1])
		}
	}
	sort.Strings(out)
	return out
}

func enumOf(t *testing.T, v any) []string {
	t.Helper()
	var out []string
	m, _ := v.(map[string]any)
	list, _ := m["enum"].([]any)
	for _, x := range list {
		s, _ := x.(string)
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// TestOpenAPIEnumerationsMatchTheCode: Message.kind lists every message
// kind, Error.code every error code, and Event is one typed variant per
// event type the store writes, each with its data schema.
func TestOpenAPIEnumerationsMatchTheCode(t *testing.T) {
	doc := loadOpenAPI(t)
	schemas := doc.Raw["components"].(map[string]any)["schemas"].(map[string]any)
	prop := func(schema, name string) any {
		s, _ := schemas[schema].(map[string]any)
		props, _ := s["properties"].(map[string]any)
		return props[name]
	}
	kinds := constants(t, "../../models", "Kind[A-Za-z]*")
	if got := enumOf(t, prop("Message", "kind")); !reflect.DeepEqual(got, kinds) || len(kinds) < 6 {
		t.Errorf("Message.kind enum %v, the code has %v", got, kinds)
	}
	codes := constants(t, "../../models", "E[A-Z]+")
	errProps := prop("Error", "error").(map[string]any)["properties"].(map[string]any)
	if got := enumOf(t, errProps["code"]); !reflect.DeepEqual(got, codes) {
		t.Errorf("Error.code enum %v, the code has %v", got, codes)
	}

	types := constants(t, "../../models", "EventType[A-Za-z]*")
	if len(types) < 10 {
		t.Fatalf("only %d event types found: %v", len(types), types)
	}
	event, _ := schemas["Event"].(map[string]any)
	variants, _ := event["oneOf"].([]any)
	var documented []string
	for _, v := range variants {
		ref, _ := v.(map[string]any)["$ref"].(string)
		name := strings.TrimPrefix(ref, "#/components/schemas/")
		s, ok := schemas[name].(map[string]any)
		if !ok {
			t.Errorf("Event variant %q is not a schema", ref)
			continue
		}
		props, _ := s["properties"].(map[string]any)
		documented = append(documented, enumOf(t, props["type"])...)
		if d, _ := props["data"].(map[string]any); len(d) == 0 {
			t.Errorf("Event variant %s has an untyped data", name)
		}
		req := fmt.Sprint(s["required"])
		for _, f := range []string{"id", "type", "data", "created_at"} {
			if !strings.Contains(req, f) {
				t.Errorf("Event variant %s does not require %s", name, f)
			}
		}
	}
	sort.Strings(documented)
	if !reflect.DeepEqual(documented, types) {
		t.Errorf("Event variants cover %v, the store writes %v", documented, types)
	}
	if strings.Contains(string(openAPIDocument), "x-event-data") {
		t.Error("x-event-data is gone: the stream's frames are Events, typed by their variants")
	}
}

// TestOpenAPIRequiredFields: in the schemas of answers, a Go field that is
// always encoded (no omitempty) is required, and nothing else is.
func TestOpenAPIRequiredFields(t *testing.T) {
	doc := loadOpenAPI(t)
	schemas := doc.Raw["components"].(map[string]any)["schemas"].(map[string]any)
	for name, v := range map[string]any{
		"Conversation":     models.ConversationView{},
		"Contact":          models.ContactView{},
		"Identity":         models.IdentityView{},
		"Message":          models.MessageView{},
		"Sender":           models.SenderView{},
		"Delivery":         models.DeliveryView{},
		"ConnectorState":   models.ConnectorState{},
		"Readiness":        readiness{},
		"ConversationList": conversationList{},
		"MessageList":      messageList{},
		"Error":            errorBody{},
		"Merge":            models.MergeView{},
		"Suggestion":       models.SuggestionView{},
		"SuggestionList":   suggestionList{},
		"CannedResponse":   models.CannedView{},
		"CannedList":       cannedList{},
		// Agents and tokens.
		"Token":     models.TokenView{},
		"NewToken":  models.NewTokenView{},
		"TokenList": tokenList{},
		"Agent":     models.AgentView{},
		"AgentList": agentList{},
		// Media.
		"MessageAttachment": models.AttachmentView{},
	} {
		schema, _ := schemas[name].(map[string]any)
		var have []string
		for _, r := range schema["required"].([]any) {
			have = append(have, r.(string))
		}
		sort.Strings(have)
		var want []string
		rt := reflect.TypeOf(v)
		for i := range rt.NumField() {
			f := rt.Field(i)
			tag := f.Tag.Get("json")
			n, opts, _ := strings.Cut(tag, ",")
			if n == "-" || !f.IsExported() || strings.Contains(opts, "omitempty") || strings.Contains(opts, "omitzero") {
				continue
			}
			if n == "" {
				n = f.Name
			}
			want = append(want, n)
		}
		sort.Strings(want)
		if !reflect.DeepEqual(have, want) {
			t.Errorf("schema %s requires %v; always encoded: %v", name, have, want)
		}
	}
}
