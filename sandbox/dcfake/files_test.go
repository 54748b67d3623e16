package dcfake

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/tongdao/hub/internal/testclock"
	"github.com/tongdao/hub/sandbox/samples"
)

// cdnGet fetches an attachment URL from the stand-in, as a client whose
// CDN requests go to api_url does.
func cdnGet(t *testing.T, s *Server, rawURL string) (int, []byte) {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil || u.Host != CDNHost {
		t.Fatalf("attachment URL %q is not on the CDN", rawURL)
	}
	resp, err := http.Get(s.URL() + u.RequestURI())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data
}

// TestCustomerFilesOnCDN: a customer's photo and voice message carry CDN
// URLs the stand-in serves until they expire by its clock; a voice message
// has Discord's flag and duration.
func TestCustomerFilesOnCDN(t *testing.T) {
	clk := testclock.New(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
	s := start(t, Options{Now: clk.Now})
	ctx := context.Background()
	jpg := samples.JPEG(120, 90)
	m, err := s.SendPhoto(ctx, User{ID: "900000000000000001", Username: "bo"}, "the box", jpg)
	if err != nil {
		t.Fatal(err)
	}
	a := m.Attachments[0]
	if a.ContentType != "image/jpeg" || a.Size != int64(len(jpg)) || a.Data != nil {
		t.Fatalf("attachment = %+v", a)
	}
	if code, data := cdnGet(t, s, a.URL); code != 200 || !bytes.Equal(data, jpg) {
		t.Fatalf("CDN: %d, %d bytes", code, len(data))
	}
	v, err := s.SendVoice(ctx, User{ID: "900000000000000001"}, 3, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	wire := s.messageJSONLocked(s.messages[v.ID], true)
	s.mu.Unlock()
	att := wire["attachments"].([]any)[0].(map[string]any)
	if wire["flags"] != flagVoiceMessage || att["duration_secs"] != 3.0 || att["content_type"] != "audio/ogg" {
		t.Errorf("voice message = %v", wire)
	}
	if s.CDNGets() != 1 {
		t.Errorf("CDNGets = %d", s.CDNGets())
	}
	clk.Advance(cdnURLTTL + time.Second)
	if code, data := cdnGet(t, s, a.URL); code != 404 || string(data) != "This content is no longer available." {
		t.Errorf("expired URL: %d %q", code, data)
	}

	// refresh-urls signs the link anew, for files that still exist.
	s.DeleteAttachment(v.Attachments[0].ID)
	st, out, _ := call(t, s, "POST", "/attachments/refresh-urls", "Bot "+tok, map[string]any{
		"attachment_urls": []string{a.URL, v.Attachments[0].URL}})
	list, _ := out["refreshed_urls"].([]any)
	if st != 200 || len(list) != 1 {
		t.Fatalf("refresh-urls: %d %v", st, out)
	}
	fresh := list[0].(map[string]any)
	if fresh["original"] != a.URL || fresh["refreshed"] == a.URL {
		t.Fatalf("refreshed = %v", fresh)
	}
	if code, data := cdnGet(t, s, fresh["refreshed"].(string)); code != 200 || !bytes.Equal(data, jpg) {
		t.Errorf("refreshed URL: %d", code)
	}
	if st, _, _ := call(t, s, "POST", "/attachments/refresh-urls", "Bot "+tok, map[string]any{"attachment_urls": []string{}}); st != 400 {
		t.Errorf("empty refresh: %d", st)
	}
	// A link not signed by the stand-in does not work.
	forged := strings.Replace(fresh["refreshed"].(string), "hm=", "hm=0", 1)
	if code, _ := cdnGet(t, s, forged); code != 404 {
		t.Errorf("forged signature: %d", code)
	}
}

// TestUploadThroughDiscordgo: discordgo's MessageSend.Files reach the
// stand-in as multipart payload_json + files[n]; the message lists them
// with CDN URLs and the bytes are kept; an upload over 10 MiB is 413.
func TestUploadThroughDiscordgo(t *testing.T) {
	s := start(t, Options{})
	ctx := context.Background()
	dm, err := s.Post(ctx, CustomerMessage{DM: true, User: User{ID: "900000000000000002"}, Text: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	sess, _ := discordgo.New("Bot " + tok)
	base, _ := url.Parse(s.URL())
	sess.Client = &http.Client{Transport: rewrite{base}}
	png, pdf := samples.PNG(50, 40), samples.PDF("label")
	m, err := sess.ChannelMessageSendComplex(dm.ChannelID, &discordgo.MessageSend{Content: "here", Files: []*discordgo.File{
		{Name: "label.png", ContentType: "image/png", Reader: bytes.NewReader(png)},
		{Name: "invoice.pdf", Reader: bytes.NewReader(pdf)},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Attachments) != 2 || m.Attachments[0].Filename != "label.png" || m.Attachments[1].ContentType != "application/pdf" || m.Content != "here" {
		t.Fatalf("message = %+v", m)
	}
	sent := s.Sent("900000000000000002")
	if len(sent) != 1 || len(sent[0].Attachments) != 2 {
		t.Fatalf("sent = %+v", sent)
	}
	for i, want := range [][]byte{png, pdf} {
		if data, _ := s.AttachmentData(sent[0].Attachments[i].ID); !bytes.Equal(data, want) {
			t.Errorf("attachment %d: bytes differ", i)
		}
	}
	_, err = sess.ChannelMessageSendComplex(dm.ChannelID, &discordgo.MessageSend{Files: []*discordgo.File{
		{Name: "big.bin", Reader: bytes.NewReader(make([]byte, MaxUploadSize+1))}}})
	var re *discordgo.RESTError
	if !asREST(err, &re) || re.Response.StatusCode != 413 || re.Message == nil || re.Message.Code != 40005 {
		t.Errorf("too large: %v", err)
	}
	// A file alone is a message.
	if _, err := sess.ChannelMessageSendComplex(dm.ChannelID, &discordgo.MessageSend{Files: []*discordgo.File{
		{Name: "a.txt", Reader: strings.NewReader("notes")}}}); err != nil {
		t.Errorf("file only: %v", err)
	}
}

func asREST(err error, re **discordgo.RESTError) bool {
	r, ok := err.(*discordgo.RESTError)
	*re = r
	return ok && r.Response != nil
}

type rewrite struct{ base *url.URL }

func (r rewrite) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.URL.Scheme, req.URL.Host, req.Host = r.base.Scheme, r.base.Host, r.base.Host
	return http.DefaultTransport.RoundTrip(req)
}

// TestCustomerAPIFiles: the sandbox's customer sends a sample photo, voice
// message and PDF; bad file requests are 400s that post nothing; /file
// serves attachments.
func TestCustomerAPIFiles(t *testing.T) {
	s := start(t, Options{})
	api := httptest.NewServer(s.CustomerAPI())
	defer api.Close()
	post := func(body string) (int, Message) {
		resp, err := http.Post(api.URL+"/dm", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m Message
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	code, m := post(`{"user_id":"900000000000000003","photo":{},"text":"broken"}`)
	if code != 200 || len(m.Attachments) != 1 || m.Attachments[0].ContentType != "image/jpeg" || m.Content != "broken" {
		t.Fatalf("photo: %d %+v", code, m)
	}
	code, m = post(`{"user_id":"900000000000000003","voice":{"duration":4}}`)
	if code != 200 || m.Attachments[0].DurationSecs != 4 || m.Attachments[0].ContentType != "audio/ogg" {
		t.Fatalf("voice: %d %+v", code, m)
	}
	code, m = post(`{"user_id":"900000000000000003","document":{}}`)
	if code != 200 || m.Attachments[0].Filename != "invoice.pdf" || m.Attachments[0].ContentType != "application/pdf" {
		t.Fatalf("document: %d %+v", code, m)
	}
	resp, err := http.Get(api.URL + "/file?attachment_id=" + m.Attachments[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.HasPrefix(data, []byte("%PDF-")) {
		t.Errorf("/file: %d", resp.StatusCode)
	}
	s.mu.Lock()
	before := len(s.order)
	s.mu.Unlock()
	for _, bad := range []string{
		`{"user_id":"900000000000000003","photo":{"data":""}}`,
		`{"user_id":"900000000000000003","photo":{"data":"aGVsbG8="}}`,
		`{"user_id":"900000000000000003","photo":{},"voice":{}}`,
	} {
		if code, _ := post(bad); code != 400 {
			t.Errorf("%s: %d, want 400", bad, code)
		}
	}
	s.mu.Lock()
	after := len(s.order)
	s.mu.Unlock()
	if after != before {
		t.Errorf("bad requests posted %d messages", after-before)
	}
}
