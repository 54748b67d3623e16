package openapicheck

import (
	"os"
	"strings"
	"testing"
)

func loadHubDoc(t *testing.T) *Doc {
	t.Helper()
	data, err := os.ReadFile("../../inbox/httpapi/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	d, err := Load(data)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

const goodMessage = `{"id":"2","conversation_id":"1","direction":"out","kind":"message","channel":"telegram","connector":"tg",
"identity_id":null,"sender":{"type":"agent","id":"","name":"ana"},"text":"hi","private":false,"attachments":[],
"delivery":{"status":"queued","error":null,"attempts":0,"sent_at":null},"created_at":"2026-11-23T10:00:00Z"}`

func TestCheckCatchesWhatTheDocumentForbids(t *testing.T) {
	d := loadHubDoc(t)
	if err := d.CheckResponse("POST", "/api/v1/conversations/1/messages", 202, []byte(goodMessage)); err != nil {
		t.Fatalf("a good message: %v", err)
	}
	for name, tc := range map[string]struct {
		method, path string
		status       int
		body, want   string
	}{
		"kind not in the enum": {"POST", "/api/v1/conversations/1/messages", 202, strings.Replace(goodMessage, `"kind":"message"`, `"kind":"bogus"`, 1), "not one of"},
		"kind missing":         {"POST", "/api/v1/conversations/1/messages", 202, strings.Replace(goodMessage, `"kind":"message",`, ``, 1), `"kind" is missing`},
		"wrong type":           {"POST", "/api/v1/conversations/1/messages", 202, strings.Replace(goodMessage, `"private":false`, `"private":"no"`, 1), "not of type"},
		"undocumented status":  {"POST", "/api/v1/conversations/1/messages", 418, goodMessage, "not documented"},
		"unknown error code":   {"GET", "/api/v1/conversations", 400, `{"error":{"code":"oops","message":"x"}}`, "not one of"},
		"bad time":             {"GET", "/readyz", 200, `{"status":"ok","database":{"status":"ok"},"connectors":[],"checked_at":"yesterday"}`, "date-time"},
		"no such path":         {"GET", "/api/v1/nothing", 200, `{}`, "no path"},
	} {
		err := d.CheckResponse(tc.method, tc.path, tc.status, []byte(tc.body))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error with %q", name, err, tc.want)
		}
	}

	ev := `{"id":"5","type":"message.created","conversation_id":"1","data":` + goodMessage + `,"created_at":"2026-11-23T10:00:00Z"}`
	if err := d.CheckSchema("Event", []byte(ev)); err != nil {
		t.Fatalf("a good event: %v", err)
	}
	for name, bad := range map[string]string{
		"unknown type":         strings.Replace(ev, "message.created", "message.eaten", 1),
		"data of another type": strings.Replace(ev, "message.created", "link.failed", 1),
		"untyped data":         `{"id":"5","type":"message.created","data":{"x":1},"created_at":"2026-11-23T10:00:00Z"}`,
	} {
		if err := d.CheckSchema("Event", []byte(bad)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
