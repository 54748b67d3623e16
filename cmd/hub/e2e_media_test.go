package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	_ "image/jpeg"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tongdao/hub/internal/s3test"
	"github.com/tongdao/hub/internal/wait"
	"github.com/tongdao/hub/sandbox/dcfake"
	"github.com/tongdao/hub/sandbox/samples"
	"github.com/tongdao/hub/sandbox/tgfake"
)

// apiAttachment is a message's attachment as the API shows it.
type apiAttachment struct {
	ID           *string `json:"id"`
	Type         string  `json:"type"`
	Name         string  `json:"name"`
	ContentType  string  `json:"content_type"`
	Size         int64   `json:"size"`
	State        *string `json:"state"`
	Error        *string `json:"error"`
	URL          *string `json:"url"`
	ThumbnailURL *string `json:"thumbnail_url"`
	Transcript   *string `json:"transcript"`
}

func (a apiAttachment) state() string {
	if a.State == nil {
		return ""
	}
	return *a.State
}

// attachments lists the attachments of a conversation's messages, oldest
// first.
func (c *client) attachments(convID string) []apiAttachment {
	var out struct {
		Messages []struct {
			Attachments []apiAttachment `json:"attachments"`
		} `json:"messages"`
	}
	c.json("GET", "/api/v1/conversations/"+convID+"/messages", nil, &out)
	var atts []apiAttachment
	for _, m := range out.Messages {
		atts = append(atts, m.Attachments...)
	}
	return atts
}

// waitSettled waits until the conversation has n attachments the hub keeps,
// each stored or failed, and returns them.
func (c *client) waitSettled(convID string, n int) []apiAttachment {
	c.t.Helper()
	var kept []apiAttachment
	wait.For(c.t, fmt.Sprintf("%d files of conversation %s settled", n, convID), func() bool {
		kept = kept[:0]
		for _, a := range c.attachments(convID) {
			if a.ID != nil {
				kept = append(kept, a)
			}
		}
		if len(kept) != n {
			return false
		}
		for _, a := range kept {
			if s := a.state(); s != "stored" && s != "failed" {
				return false
			}
		}
		return true
	})
	return kept
}

// get fetches path with the client's token (none when c.token is empty)
// and extra headers.
func (c *client) get(path string, header map[string]string) (*http.Response, []byte) {
	c.t.Helper()
	req, _ := http.NewRequest("GET", c.base+path, nil)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

type uploadFile struct {
	name, contentType string
	data              []byte
}

// upload posts a multipart message with fields and files to a
// conversation and returns the status and body.
func (c *client) upload(convID string, fields map[string]string, files ...uploadFile) (int, []byte) {
	c.t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	for k, v := range fields {
		_ = w.WriteField(k, v)
	}
	for _, f := range files {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename=%q`, f.name))
		if f.contentType != "" {
			h.Set("Content-Type", f.contentType)
		}
		p, _ := w.CreatePart(h)
		_, _ = p.Write(f.data)
	}
	_ = w.Close()
	req, _ := http.NewRequest("POST", c.base+"/api/v1/conversations/"+convID+"/messages", &body)
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", w.FormDataContentType())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("upload: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// checkServed fetches a stored attachment and checks how it is served.
func checkServed(t *testing.T, api *client, a apiAttachment, wantType, wantDisposition string, want []byte) {
	t.Helper()
	if a.URL == nil {
		t.Fatalf("attachment %+v has no url", a)
	}
	resp, body := api.get(*a.URL, nil)
	h := resp.Header
	if resp.StatusCode != http.StatusOK || h.Get("Content-Type") != wantType ||
		!strings.HasPrefix(h.Get("Content-Disposition"), wantDisposition+";") ||
		h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Content-Security-Policy") != "default-src 'none'; sandbox" ||
		h.Get("Location") != "" {
		t.Errorf("GET %s: %d %v", *a.URL, resp.StatusCode, h)
	}
	if want != nil && !bytes.Equal(body, want) {
		t.Errorf("GET %s: %d bytes, not the customer's %d", *a.URL, len(body), len(want))
	}
	if int64(len(body)) != a.Size {
		t.Errorf("GET %s: %d bytes, size says %d", *a.URL, len(body), a.Size)
	}
	// Range requests (audio and video seek).
	resp, part := api.get(*a.URL, map[string]string{"Range": "bytes=2-9"})
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(part, body[2:10]) ||
		resp.Header.Get("Content-Range") != fmt.Sprintf("bytes 2-9/%d", len(body)) {
		t.Errorf("range of %s: %d %q %q", *a.URL, resp.StatusCode, resp.Header.Get("Content-Range"), part)
	}
	// Never without a token.
	anon := &client{t: t, base: api.base}
	if resp, _ := anon.get(*a.URL, nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET %s without a token: %d", *a.URL, resp.StatusCode)
	}
}

func checkThumbnail(t *testing.T, api *client, a apiAttachment) {
	t.Helper()
	if a.ThumbnailURL == nil {
		t.Fatalf("image %+v has no thumbnail_url", a)
	}
	resp, body := api.get(*a.ThumbnailURL, nil)
	cfg, _, err := image.DecodeConfig(bytes.NewReader(body))
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/jpeg" || err != nil ||
		max(cfg.Width, cfg.Height) != 320 {
		t.Errorf("thumbnail %s: %d %s %dx%d %v", *a.ThumbnailURL, resp.StatusCode, resp.Header.Get("Content-Type"), cfg.Width, cfg.Height, err)
	}
}

// TestE2EMediaFromEveryChannel: through the real SDKs and the stand-ins, a
// Telegram photo and voice note, a WeChat voice note with its recognition
// text and a photo, and a Discord file arrive, are stored and served with
// the right type, images with a thumbnail; agents' files reach each
// customer on their channel; bad uploads store nothing.
func TestE2EMediaFromEveryChannel(t *testing.T) {
	sb, err := StartSandbox(context.Background(), "127.0.0.1:0", t.TempDir(), &Main{Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sb.Close)
	waitRunning(t, sb.Main)
	wait.For(t, "the Telegram webhook", func() bool { return sb.Telegram.Webhook().URL != "" })
	if err := sb.Discord.WaitConnected(wait.Context(t)); err != nil {
		t.Fatal(err)
	}
	ctx := wait.Context(t)
	api := &client{t: t, base: sb.Main.URL(), token: sb.AdminToken}

	photo, voice := samples.JPEG(1024, 768), samples.OggOpus(2)
	tgUser := tgfake.User{ID: 3001, FirstName: "Ana"}
	if _, err := sb.Telegram.SendPhoto(ctx, tgUser, photo, "The parcel arrived broken"); err != nil {
		t.Fatal(err)
	}
	if _, err := sb.Telegram.SendVoice(ctx, tgUser, voice, 2); err != nil {
		t.Fatal(err)
	}
	amr := samples.AMR(2)
	if _, err := sb.WeChat.Follow(ctx, "", "oMediaUser", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := sb.WeChat.SendVoiceData(ctx, "", "oMediaUser", "包裹坏了，我要退货", amr); err != nil {
		t.Fatal(err)
	}
	if _, err := sb.WeChat.SendImageData(ctx, "", "oMediaUser", "", nil); err != nil {
		t.Fatal(err)
	}
	pdf := samples.PDF("Receipt 42")
	dcUser := dcfake.User{ID: "900000000000003001", Username: "bo"}
	if _, err := sb.Discord.SendDocument(ctx, dcUser, "my receipt", "receipt.pdf", pdf); err != nil {
		t.Fatal(err)
	}

	tgConv := api.waitConversationOf("telegram", "3001")
	tg := api.waitSettled(tgConv, 2)
	if tg[0].state() != "stored" || tg[0].Type != "image" || tg[0].ContentType != "image/jpeg" {
		t.Fatalf("telegram photo %+v", tg[0])
	}
	checkServed(t, api, tg[0], "image/jpeg", "inline", photo)
	checkThumbnail(t, api, tg[0])
	if tg[1].state() != "stored" || tg[1].Type != "audio" || tg[1].ContentType != "audio/ogg; codecs=opus" || tg[1].ThumbnailURL != nil {
		t.Fatalf("telegram voice note %+v", tg[1])
	}
	checkServed(t, api, tg[1], "audio/ogg; codecs=opus", "inline", voice)

	wxConv := api.waitConversationOf("wechat", "oMediaUser")
	wx := api.waitSettled(wxConv, 2)
	if wx[0].state() != "stored" || wx[0].ContentType != "audio/amr" || wx[0].Transcript == nil || *wx[0].Transcript != "包裹坏了，我要退货" {
		t.Fatalf("wechat voice note %+v", wx[0])
	}
	checkServed(t, api, wx[0], "audio/amr", "inline", amr)
	if wx[1].state() != "stored" || wx[1].ContentType != "image/jpeg" {
		t.Fatalf("wechat photo %+v", wx[1])
	}
	checkThumbnail(t, api, wx[1])

	dcConv := api.waitConversationOf("discord", dcUser.ID)
	dc := api.waitSettled(dcConv, 1)
	if dc[0].state() != "stored" || dc[0].Type != "file" || dc[0].ContentType != "application/pdf" || dc[0].Name != "receipt.pdf" || dc[0].ThumbnailURL != nil {
		t.Fatalf("discord file %+v", dc[0])
	}
	checkServed(t, api, dc[0], "application/pdf", "attachment", pdf)

	// Agents send files back: a PDF and an image on Telegram and Discord,
	// an image on WeChat (an Official Account sends no documents).
	invoice, stamp := samples.PDF("Invoice 42"), samples.PNG(64, 48)
	for _, c := range []struct {
		conv  string
		files []uploadFile
	}{
		{tgConv, []uploadFile{{"invoice.pdf", "application/pdf", invoice}, {"stamp.png", "image/png", stamp}}},
		{dcConv, []uploadFile{{"invoice.pdf", "application/pdf", invoice}, {"stamp.png", "image/png", stamp}}},
		{wxConv, []uploadFile{{"stamp.png", "image/png", stamp}}},
	} {
		code, body := api.upload(c.conv, map[string]string{"text": "here you are"}, c.files...)
		if code != http.StatusAccepted {
			t.Fatalf("upload to conversation %s: %d %s", c.conv, code, body)
		}
		var m struct {
			ID          string          `json:"id"`
			Attachments []apiAttachment `json:"attachments"`
		}
		_ = json.Unmarshal(body, &m)
		if len(m.Attachments) != len(c.files) || m.Attachments[0].state() != "stored" {
			t.Fatalf("uploaded message %s", body)
		}
		if got := api.waitDelivery(c.conv, m.ID); got.Delivery.Status != "sent" {
			t.Fatalf("delivery to conversation %s: %+v", c.conv, got.Delivery)
		}
	}
	// Each customer has the bytes on their channel.
	var tgUploads [][]byte
	for _, s := range sb.Telegram.Sent(tgUser.ID) {
		if s.Upload != nil {
			b, _ := sb.Telegram.FileData(s.Upload.FileID)
			tgUploads = append(tgUploads, b)
		}
	}
	if len(tgUploads) != 2 || !bytes.Equal(tgUploads[0], invoice) || !bytes.Equal(tgUploads[1], stamp) {
		t.Errorf("telegram customer got %d uploads", len(tgUploads))
	}
	var dcFiles [][]byte
	for _, m := range sb.Discord.Sent(dcUser.ID) {
		for _, a := range m.Attachments {
			b, _ := sb.Discord.AttachmentData(a.ID)
			dcFiles = append(dcFiles, b)
		}
	}
	if len(dcFiles) != 2 || !bytes.Equal(dcFiles[0], invoice) || !bytes.Equal(dcFiles[1], stamp) {
		t.Errorf("discord customer got %d files", len(dcFiles))
	}
	wxUp := sb.WeChat.Uploads()
	if len(wxUp) != 1 || wxUp[0].Size != len(stamp) {
		t.Errorf("wechat uploads %+v", wxUp)
	}

	// /metrics shows the space used: the customers' five files and the
	// agents' five.
	if _, metrics := api.get("/metrics", nil); !regexp.MustCompile(`(?m)^tongdao_media_stored_files 10$`).Match(metrics) ||
		!regexp.MustCompile(`(?m)^tongdao_media_stored_bytes [1-9][0-9e.+]*$`).Match(metrics) {
		t.Errorf("/metrics lacks the media space used:\n%s", regexp.MustCompile(`(?m)^tongdao_media.*$`).FindAll(metrics, -1))
	}

	// Bad uploads get a clear 4xx and store nothing.
	msgs, rows := countRows(t, sb.Main, "messages"), countRows(t, sb.Main, "attachments")
	for _, c := range []struct {
		name  string
		files []uploadFile
		code  int
		msg   string
	}{
		{"too large", []uploadFile{{"huge.pdf", "application/pdf", append([]byte("%PDF-1.4\n"), make([]byte, 20<<20)...)}}, http.StatusRequestEntityTooLarge, "larger than the upload limit of 20 MB"},
		{"wrong type", []uploadFile{{"page.png", "image/png", []byte("<html><script>alert(1)</script></html>")}}, http.StatusUnsupportedMediaType, "which agents may not send"},
		{"empty", []uploadFile{{"empty.pdf", "application/pdf", nil}}, http.StatusBadRequest, "is empty"},
		{"no file", nil, http.StatusBadRequest, "at least one file"},
	} {
		code, body := api.upload(tgConv, map[string]string{"text": "x"}, c.files...)
		if code != c.code || !strings.Contains(string(body), c.msg) {
			t.Errorf("%s: %d %s", c.name, code, body)
		}
	}
	// A PDF to the WeChat customer: an Official Account sends no documents,
	// so the agent hears it at once, not as a failed delivery later.
	if code, body := api.upload(wxConv, map[string]string{"text": "x"}, uploadFile{"invoice.pdf", "application/pdf", invoice}); code != http.StatusUnsupportedMediaType ||
		!strings.Contains(string(body), "cannot be sent on wechat") || !strings.Contains(string(body), "images, voice notes") {
		t.Errorf("a PDF to WeChat: %d %s", code, body)
	}
	if code, body := api.upload(tgConv, map[string]string{"colour": "red"}, uploadFile{"a.pdf", "application/pdf", invoice}); code != http.StatusBadRequest ||
		!strings.Contains(string(body), `unknown field \"colour\"`) {
		t.Errorf("unknown field: %d %s", code, body)
	}
	if m, r := countRows(t, sb.Main, "messages"), countRows(t, sb.Main, "attachments"); m != msgs || r != rows {
		t.Errorf("bad uploads stored %d messages and %d files", m-msgs, r-rows)
	}
}

// TestE2EMediaExpiredWeChatVoice: a WeChat voice note whose temporary
// media expired before the hub could fetch it fails with a plain reason.
func TestE2EMediaExpiredWeChatVoice(t *testing.T) {
	clock := &offsetClock{}
	// The media reaction looks for due files once an hour by the hub's
	// clock: the voice note waits, pending, while the clock jumps.
	sb, err := StartSandbox(context.Background(), "127.0.0.1:0", t.TempDir(),
		&Main{Logger: testLogger(), Now: clock.Now, MediaEvery: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sb.Close)
	waitRunning(t, sb.Main)
	api := &client{t: t, base: sb.Main.URL(), token: sb.AdminToken}
	if _, err := sb.WeChat.Follow(wait.Context(t), "", "oLate", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := sb.WeChat.SendVoiceData(wait.Context(t), "", "oLate", "喂", nil); err != nil {
		t.Fatal(err)
	}
	conv := api.waitConversationOf("wechat", "oLate")
	wait.For(t, "the voice note pending", func() bool {
		atts := api.attachments(conv)
		return len(atts) == 1 && atts[0].state() == "pending"
	})
	clock.Advance(73 * time.Hour) // WeChat keeps temporary media three days
	a := api.waitSettled(conv, 1)[0]
	if a.state() != "failed" || a.Error == nil || !strings.Contains(*a.Error, "expired") || a.URL != nil {
		t.Fatalf("expired voice note %+v", a)
	}
	if a.Transcript == nil || *a.Transcript != "喂" {
		t.Errorf("the recognition text is kept when the file is not: %+v", a)
	}
}

// TestE2EMediaFetchedAfterRestart: the hub stops after a customer's photo
// committed and before it was fetched; started again, it fetches it. The
// media store is an S3-compatible server on loopback, reached over HTTP by
// the real S3 driver.
func TestE2EMediaFetchedAfterRestart(t *testing.T) {
	fake := startTelegramFake(t)
	dir := t.TempDir()
	l := listenLocal(t)
	store := s3test.Start(t, "tongdao-e2e")
	cfgPath := writeConfig(t, dir, fmt.Sprintf(`
server: { listen: %q, public_url: "http://%s" }
database: { driver: sqlite, dsn: %q }
media: { store: %q }
connectors:
  - name: tg-main
    type: telegram
    settings: { token: %q, mode: webhook, webhook_secret: %q, api_url: %q }
`, l.Addr().String(), l.Addr().String(), filepath.Join(dir, "hub.db"), store, e2eTGToken, e2eTGSecret, fake.URL()))
	clock := &offsetClock{}
	m1 := startHubWith(t, l, cfgPath, &Main{Now: clock.Now, MediaEvery: time.Hour})
	api := adminClient(t, m1)
	wait.For(t, "the Telegram webhook", func() bool { return fake.Webhook().URL != "" })
	photo := samples.JPEG(800, 600)
	if _, err := fake.SendPhoto(wait.Context(t), ana, photo, "broken"); err != nil {
		t.Fatal(err)
	}
	conv := api.waitConversationOf("telegram", "1001")
	wait.For(t, "the photo pending", func() bool {
		atts := api.attachments(conv)
		return len(atts) == 1 && atts[0].state() == "pending"
	})
	if n := fake.Downloads(); n != 0 {
		t.Fatalf("%d downloads before the restart", n)
	}
	m1.Close() // between the commit and the fetch

	l2 := listenLocal(t)
	m2 := startHubWith(t, l2, cfgPath, &Main{Now: clock.Now})
	api.base = m2.URL()
	a := api.waitSettled(conv, 1)[0]
	if a.state() != "stored" || a.ContentType != "image/jpeg" {
		t.Fatalf("after the restart: %+v", a)
	}
	checkServed(t, api, a, "image/jpeg", "inline", photo)
	checkThumbnail(t, api, a)
}

// TestE2EConsoleShowsCustomersFilesInABrowser: in the sandbox, a Telegram
// customer's photo appears in the console as an image (its thumbnail, read
// with the agent's token), the voice note as a player, and an agent's
// attached file reaches the customer.
func TestE2EConsoleShowsCustomersFilesInABrowser(t *testing.T) {
	e := startLinkSandbox(t)
	b := startBrowser(t, 1280, 860)
	ctx := wait.Context(t)
	mia := tgfake.User{ID: 7601, FirstName: "Mia", LanguageCode: "en"}
	if _, err := e.tg.SendPhoto(ctx, mia, samples.JPEG(800, 600), "the parcel arrived broken"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.tg.SendVoice(ctx, mia, samples.OggOpus(2), 2); err != nil {
		t.Fatal(err)
	}
	conv := e.conversationWith(t, "7601").ID
	e.api.waitSettled(conv, 2)
	tok := consoleAgent(t, e, "ana")

	b.run("open Mia's conversation", chromedp.Navigate(e.sb.Main.URL()+"/c/"+conv+"#token="+tok))
	b.waitFor("the photo drawn from its thumbnail",
		`(() => { const i = document.querySelector('#timeline img.media-thumb'); return !!i && i.src.startsWith('blob:') && i.complete && i.naturalWidth === 320; })()`,
		`(() => { const i = document.querySelector('#timeline img.media-thumb'); return i ? i.src + ' ' + i.naturalWidth : 'no image'; })()`)
	b.waitFor("the voice note's player", `!!document.querySelector('#timeline audio.media-audio[src^="blob:"]')`,
		`document.querySelector('#timeline').innerHTML.slice(0, 400)`)

	// The agent attaches a PDF and sends it with a text.
	pdf := filepath.Join(t.TempDir(), "invoice.pdf")
	if err := os.WriteFile(pdf, samples.PDF("Invoice 7601"), 0o600); err != nil {
		t.Fatal(err)
	}
	b.run("attach the invoice", chromedp.SetUploadFiles(chromedp.ID("reply-file"), []string{pdf}))
	b.waitText("#reply-files", "invoice.pdf")
	before := len(e.tg.Sent(mia.ID))
	b.typeKeys("reply-text", "Your invoice")
	b.enter("reply-text")
	wait.For(t, "the invoice uploaded to Mia", func() bool {
		sent := e.tg.Sent(mia.ID)
		for _, s := range sent[before:] {
			if s.Upload != nil && s.Upload.ContentType == "application/pdf" {
				return true
			}
		}
		return false
	})
	b.waitFor("the sent file in the timeline", `[...document.querySelectorAll('#timeline .media-stored')].some((e) => e.textContent.includes('invoice.pdf'))`,
		`document.querySelector('#timeline').textContent.slice(-300)`)
}
