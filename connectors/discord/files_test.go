package discord

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tongdao/hub/connectors"
	"github.com/tongdao/hub/models"
	"github.com/tongdao/hub/sandbox/samples"
)

func readFile(t *testing.T, f connectors.File) []byte {
	t.Helper()
	data, err := io.ReadAll(f.Body)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Body.Close(); err != nil {
		t.Fatal(err)
	}
	return data
}

func permanent(t *testing.T, err error) string {
	t.Helper()
	var de *models.DeliveryError
	if !errors.As(err, &de) || !de.Permanent {
		t.Fatalf("err = %#v, want a permanent *models.DeliveryError", err)
	}
	return de.Reason
}

// TestDownloadFromCDN: a customer's photo and voice message arrive with
// CDN URLs and come through the connector byte for byte (CDN requests go
// to api_url, where the stand-in serves them).
func TestDownloadFromCDN(t *testing.T) {
	t.Parallel()
	e := startEnv(t, envOpts{})
	ctx := context.Background()
	jpg := samples.JPEG(160, 120)
	if _, err := e.srv.SendPhoto(ctx, alice, "the box", jpg); err != nil {
		t.Fatal(err)
	}
	in := e.sink.next(t)
	if len(in.Attachments) != 1 || in.Attachments[0].Type != "image" || !strings.HasPrefix(in.Attachments[0].URL, "https://cdn.discordapp.com/attachments/") {
		t.Fatalf("inbound = %+v", in)
	}
	f, err := e.conn.DownloadFile(ctx, in.Attachments[0], 10<<20)
	if err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, f); !bytes.Equal(got, jpg) || f.Name != "photo.jpg" || f.ContentType != "image/jpeg" || f.Size != int64(len(jpg)) {
		t.Errorf("photo: %d bytes, %q %q %d", len(got), f.Name, f.ContentType, f.Size)
	}

	if _, err := e.srv.SendVoice(ctx, alice, 2, nil); err != nil {
		t.Fatal(err)
	}
	voice := e.sink.next(t).Attachments[0]
	if voice.Type != "voice" || voice.Duration != 2 {
		t.Errorf("voice attachment = %+v", voice)
	}
	if f, err = e.conn.DownloadFile(ctx, voice, 0); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, f); !bytes.Equal(got, samples.OggOpus(2)) || f.ContentType != "audio/ogg" {
		t.Errorf("voice: %d bytes, %q", len(got), f.ContentType)
	}
	if e.srv.CDNGets() != 2 {
		t.Errorf("CDN downloads = %d, want 2", e.srv.CDNGets())
	}
}

// TestDownloadRefusals: too large (from the attachment's size, no request;
// from Content-Length), deleted files, non-CDN URLs and stickers are
// permanent failures with plain reasons; an expired link is refreshed.
func TestDownloadRefusals(t *testing.T) {
	t.Parallel()
	e := startEnv(t, envOpts{})
	ctx := context.Background()
	if _, err := e.srv.SendDocument(ctx, bob, "", "log.txt", bytes.Repeat([]byte("x"), 5000)); err != nil {
		t.Fatal(err)
	}
	a := e.sink.next(t).Attachments[0]
	if r := permanent(t, errOf(e.conn.DownloadFile(ctx, a, 1000))); r != "the file is larger than 1000 bytes" {
		t.Errorf("too large by size: %q", r)
	}
	unsized := a
	unsized.Size = 0
	if r := permanent(t, errOf(e.conn.DownloadFile(ctx, unsized, 1000))); r != "the file is larger than 1000 bytes" {
		t.Errorf("too large by Content-Length: %q", r)
	}
	if n := e.srv.CDNGets(); n != 1 {
		t.Errorf("CDN requests answered: %d, want 1 (none for the size known too large)", n)
	}
	// An expired link is refreshed through the API, once.
	e.srv.ExpireAttachment(a.FileID)
	f, err := e.conn.DownloadFile(ctx, a, 0)
	if err != nil {
		t.Fatalf("expired link: %v", err)
	}
	if got := readFile(t, f); len(got) != 5000 {
		t.Errorf("after a refresh: %d bytes", len(got))
	}
	e.srv.DeleteAttachment(a.FileID)
	if r := permanent(t, errOf(e.conn.DownloadFile(ctx, a, 0))); !strings.Contains(r, "no longer available") {
		t.Errorf("deleted: %q", r)
	}
	for _, bad := range []models.Attachment{
		{Type: "image", URL: "http://127.0.0.1:1/internal"},
		{Type: "image", URL: "https://files.example.com/a.png"},
		{Type: "sticker", FileID: "123"},
	} {
		permanent(t, errOf(e.conn.DownloadFile(ctx, bad, 0)))
	}
}

func errOf(_ connectors.File, err error) error { return err }

func storedFile(name, ct string, data []byte, opens *atomic.Int32) models.OutboundFile {
	return models.OutboundFile{Type: "file", Name: name, ContentType: ct, Size: int64(len(data)),
		Open: func(context.Context) (io.ReadCloser, error) {
			if opens != nil {
				opens.Add(1)
			}
			return io.NopCloser(bytes.NewReader(data)), nil
		}}
}

// TestSendFilesUpload: an image and a PDF are uploaded as attachments of a
// message before the text (multipart payload_json + files[n]); the
// stand-in keeps the exact bytes; a retried message with the same id is not
// posted twice (nonce), and a file over 10 MB is refused unopened.
func TestSendFilesUpload(t *testing.T) {
	t.Parallel()
	e := startEnv(t, envOpts{})
	ctx := context.Background()
	dm, _ := e.srv.SendDM(ctx, alice, "hi")
	e.sink.next(t)
	png, pdf := samples.PNG(60, 40), samples.PDF("Invoice 42")
	var opens atomic.Int32
	out := models.Outbound{MessageID: "200", To: alice.ID, ReplyTo: dm.ChannelID, Text: "Here you are",
		Files:   []models.OutboundFile{storedFile("label.png", "image/png", png, &opens), storedFile("invoice.pdf", "application/pdf", pdf, &opens)},
		Buttons: []models.Button{{ID: "ok", Label: "Thanks"}}}
	res, err := e.conn.Send(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	sent := e.srv.Sent(alice.ID)
	if len(sent) != 2 || len(sent[0].Attachments) != 2 || sent[0].Content != "" || sent[1].Content != "Here you are" || len(sent[1].Buttons) != 1 {
		t.Fatalf("sent = %+v", sent)
	}
	for i, want := range []struct {
		name, ct string
		data     []byte
	}{{"label.png", "image/png", png}, {"invoice.pdf", "application/pdf", pdf}} {
		a := sent[0].Attachments[i]
		data, _ := e.srv.AttachmentData(a.ID)
		if a.Filename != want.name || a.ContentType != want.ct || !bytes.Equal(data, want.data) {
			t.Errorf("attachment %d = %+v (%d bytes)", i, a, len(data))
		}
	}
	if res.ExternalID != sent[1].ID {
		t.Errorf("ExternalID = %q, want the last part %q", res.ExternalID, sent[1].ID)
	}
	if _, err := e.conn.Send(ctx, out); err != nil {
		t.Fatal(err)
	}
	if n := len(e.srv.Sent(alice.ID)); n != 2 || opens.Load() != 4 {
		t.Errorf("after a retry: %d messages (want 2: the nonce), %d opens (want 4: read again)", n, opens.Load())
	}

	big := storedFile("dump.bin", "application/octet-stream", nil, &opens)
	big.Size = 11 << 20
	before := opens.Load()
	_, err = e.conn.Send(ctx, models.Outbound{To: alice.ID, ReplyTo: dm.ChannelID, Files: []models.OutboundFile{big}})
	if r := permanent(t, err); !strings.Contains(r, "10 MB") || opens.Load() != before {
		t.Errorf("too large: %q, opened %d times", r, opens.Load()-before)
	}
}

// TestFileGroups: files go ten and 10 MiB to a message, in order.
func TestFileGroups(t *testing.T) {
	var files []models.OutboundFile
	for range 12 {
		files = append(files, storedFile("a", "text/plain", []byte("x"), nil))
	}
	g, err := fileGroups(files)
	if err != nil || len(g) != 2 || len(g[0]) != 10 || len(g[1]) != 2 {
		t.Fatalf("12 small files: %d groups, %v", len(g), err)
	}
	six := storedFile("b", "video/mp4", nil, nil)
	six.Size = 6 << 20
	if g, _ := fileGroups([]models.OutboundFile{six, six, files[0]}); len(g) != 2 || len(g[0]) != 1 || len(g[1]) != 2 {
		t.Errorf("two 6 MB files: %v groups", len(g))
	}
}
