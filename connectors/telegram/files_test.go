package telegram

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tongdao/hub/connectors"
	"github.com/tongdao/hub/models"
	"github.com/tongdao/hub/sandbox/samples"
	"github.com/tongdao/hub/sandbox/tgfake"
)

// attachmentOf normalizes a stand-in update as the connector does and
// returns its attachment.
func attachmentOf(t *testing.T, conn *Connector, up tgfake.Update) models.Attachment {
	t.Helper()
	raw, err := json.Marshal(up)
	if err != nil {
		t.Fatal(err)
	}
	u, err := decodeUpdate(raw)
	if err != nil {
		t.Fatal(err)
	}
	in, ok := conn.normalize(&u)
	if !ok || len(in.Attachments) != 1 {
		t.Fatalf("normalize: ok %v, %+v", ok, in)
	}
	return in.Attachments[0]
}

func readAll(t *testing.T, f connectors.File) []byte {
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

// TestDownloadFile: a customer's photo, voice note and document come
// through telebot's getFile and file URL at the configured api_url, byte for
// byte, with the name and size Telegram gave.
func TestDownloadFile(t *testing.T) {
	fake, conn := sendEnv(t)
	ctx := context.Background()
	jpg, ogg, pdf := samples.JPEG(320, 240), samples.OggOpus(2), samples.PDF("receipt")

	up, err := fake.SendPhoto(ctx, ana, jpg, "the box")
	if err != nil {
		t.Fatal(err)
	}
	a := attachmentOf(t, conn, up)
	f, err := conn.DownloadFile(ctx, a, 10<<20)
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, f); !bytes.Equal(got, jpg) || f.Size != int64(len(jpg)) || !strings.HasSuffix(f.Name, ".jpg") {
		t.Errorf("photo: %d bytes (want %d), size %d, name %q", len(got), len(jpg), f.Size, f.Name)
	}

	up, err = fake.SendVoice(ctx, ana, ogg, 2)
	if err != nil {
		t.Fatal(err)
	}
	a = attachmentOf(t, conn, up)
	if f, err = conn.DownloadFile(ctx, a, 0); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, f); a.Type != "voice" || !bytes.Equal(got, ogg) || f.ContentType != "audio/ogg" {
		t.Errorf("voice: type %q, %d bytes, content type %q", a.Type, len(got), f.ContentType)
	}

	up, err = fake.SendDocument(ctx, ana, pdf, "receipt.pdf", "application/pdf", "")
	if err != nil {
		t.Fatal(err)
	}
	if f, err = conn.DownloadFile(ctx, attachmentOf(t, conn, up), 0); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, f); !bytes.Equal(got, pdf) || f.Name != "receipt.pdf" || f.ContentType != "application/pdf" {
		t.Errorf("document: %d bytes, name %q, type %q", len(got), f.Name, f.ContentType)
	}
	if fake.Downloads() != 3 {
		t.Errorf("downloads = %d, want 3", fake.Downloads())
	}
}

func permanentReason(t *testing.T, err error) string {
	t.Helper()
	var de *models.DeliveryError
	if !errors.As(err, &de) || !de.Permanent {
		t.Fatalf("err = %#v, want a permanent *models.DeliveryError", err)
	}
	return de.Reason
}

// TestDownloadTooLargeRefusedBeforeReading: a file over the hub's limit or
// Telegram's 20 MB is refused with a plain reason and never downloaded:
// from the update's file_size without a call, else from getFile's.
func TestDownloadTooLargeRefusedBeforeReading(t *testing.T) {
	fake, conn := sendEnv(t)
	ctx := context.Background()

	// The update says 21 MB: no call at all.
	_, err := conn.DownloadFile(ctx, models.Attachment{Type: "document", FileID: "AgADx", Size: 21 << 20}, 0)
	if r := permanentReason(t, err); r != "the file is larger than 20 MB" {
		t.Errorf("reason = %q", r)
	}
	if n := fake.Calls("getFile"); n != 0 {
		t.Errorf("getFile called %d times for a file known too large", n)
	}

	// The size is unknown in the update: getFile's file_size decides.
	small := fake.AddFile("document", bytes.Repeat([]byte("x"), 5000), "log.txt", "text/plain")
	_, err = conn.DownloadFile(ctx, models.Attachment{Type: "document", FileID: small.FileID}, 1000)
	if r := permanentReason(t, err); r != "the file is larger than 1000 bytes" {
		t.Errorf("reason = %q", r)
	}
	if fake.Calls("getFile") != 1 {
		t.Errorf("getFile calls = %d, want 1", fake.Calls("getFile"))
	}

	// Telegram itself refuses files over 20 MB in getFile.
	big := fake.AddLargeFile("video", 25<<20, "long.mp4")
	_, err = conn.DownloadFile(ctx, models.Attachment{Type: "video", FileID: big.FileID}, 100<<20)
	if r := permanentReason(t, err); !strings.Contains(r, "larger than 20 MB") {
		t.Errorf("reason = %q", r)
	}
	if fake.Downloads() != 0 {
		t.Errorf("%d downloads of files that were too large", fake.Downloads())
	}

	_, err = conn.DownloadFile(ctx, models.Attachment{Type: "image", FileID: "AgAD-gone"}, 0)
	if r := permanentReason(t, err); r != "the file is no longer available on Telegram" {
		t.Errorf("unknown file: reason = %q", r)
	}
	_, err = conn.DownloadFile(ctx, models.Attachment{Type: "image"}, 0)
	permanentReason(t, err)
}

// TestDownloadTransientFailure: an unreachable API is a temporary failure
// that names no URL (it holds the token).
func TestDownloadTransientFailure(t *testing.T) {
	conn := newConnector(t, map[string]any{"token": testToken, "webhook_secret": testSecret, "api_url": hangUpURL(t)}, connectors.Deps{})
	_, err := conn.DownloadFile(context.Background(), models.Attachment{Type: "image", FileID: "AgAD1"}, 0)
	var de *models.DeliveryError
	if !errors.As(err, &de) || de.Permanent {
		t.Fatalf("err = %#v, want a temporary *models.DeliveryError", err)
	}
	if strings.Contains(err.Error(), testToken) || strings.Contains(err.Error(), "http") {
		t.Errorf("error names the URL: %v", err)
	}
}

// stored is an agent's file as the hub hands it over: Open counts its calls.
func stored(typ, name, ct string, data []byte, opens *atomic.Int32) models.OutboundFile {
	return models.OutboundFile{Type: typ, Name: name, ContentType: ct, Size: int64(len(data)),
		Open: func(context.Context) (io.ReadCloser, error) {
			if opens != nil {
				opens.Add(1)
			}
			return io.NopCloser(bytes.NewReader(data)), nil
		}}
}

// TestSendFilesUpload: an image goes as a photo and a PDF as a document,
// both uploaded in multipart bodies before the text, and the stand-in
// receives the exact bytes; the keyboard stays on the last part.
func TestSendFilesUpload(t *testing.T) {
	fake, conn := sendEnv(t)
	png, pdf := samples.PNG(64, 48), samples.PDF("Invoice 42")
	res, err := conn.Send(context.Background(), models.Outbound{To: "1001", Text: "Here you are",
		Files:   []models.OutboundFile{stored("image", "label.png", "image/png", png, nil), stored("file", "invoice.pdf", "application/pdf", pdf, nil)},
		Buttons: []models.Button{{ID: "ok", Label: "Thanks"}}})
	if err != nil {
		t.Fatal(err)
	}
	sent := fake.Sent(1001)
	if len(sent) != 3 || sent[0].Method != "sendPhoto" || sent[1].Method != "sendDocument" || sent[2].Method != "sendMessage" {
		t.Fatalf("sent = %+v", sent)
	}
	for i, want := range [][]byte{png, pdf} {
		u := sent[i].Upload
		if u == nil {
			t.Fatalf("sent[%d] was not an upload: %+v", i, sent[i])
		}
		if data, _ := fake.FileData(u.FileID); !bytes.Equal(data, want) || u.Size != int64(len(want)) {
			t.Errorf("sent[%d]: the stand-in received %d bytes, want %d", i, len(data), len(want))
		}
	}
	if sent[1].Upload.Name != "invoice.pdf" || sent[1].Upload.ContentType != "application/pdf" || sent[0].Upload.ContentType != "image/png" {
		t.Errorf("uploads = %+v, %+v", sent[0].Upload, sent[1].Upload)
	}
	if len(sent[0].Buttons)+len(sent[1].Buttons) != 0 || len(sent[2].Buttons) != 1 || sent[2].Text != "Here you are" {
		t.Errorf("keyboard or text misplaced: %+v", sent)
	}
	if res.ExternalID != "1001:"+strconv.Itoa(sent[2].MessageID) {
		t.Errorf("ExternalID = %q", res.ExternalID)
	}

	// Files alone: the keyboard goes on the last file; Ogg audio is a
	// voice note; a GIF is a document (as a photo it would lose its frames).
	gif := []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;")
	_, err = conn.Send(context.Background(), models.Outbound{To: "1001",
		Files:   []models.OutboundFile{stored("audio", "note.ogg", "audio/ogg", samples.OggOpus(1), nil), stored("image", "a.gif", "image/gif", gif, nil)},
		Buttons: []models.Button{{ID: "ok", Label: "Thanks"}}})
	if err != nil {
		t.Fatal(err)
	}
	sent = fake.Sent(1001)[3:]
	if len(sent) != 2 || sent[0].Method != "sendVoice" || sent[1].Method != "sendDocument" || len(sent[1].Buttons) != 1 || sent[1].Upload.Name != "a.gif" {
		t.Errorf("sent = %+v", sent)
	}
}

// TestSendFileRetryReopens: a failed upload is retried from the stored
// bytes (Open again); refusals are permanent; a file over 50 MB is refused
// without being opened.
func TestSendFileRetryReopens(t *testing.T) {
	fake, conn := sendEnv(t)
	var opens atomic.Int32
	out := models.Outbound{To: "1001", Files: []models.OutboundFile{stored("image", "a.jpg", "image/jpeg", samples.JPEG(32, 32), &opens)}}
	fake.FailNext("sendPhoto", 500, "Internal Server Error", 0)
	_, err := conn.Send(context.Background(), out)
	var de *models.DeliveryError
	if err == nil || (errors.As(err, &de) && de.Permanent) {
		t.Fatalf("first attempt: %v, want a temporary failure", err)
	}
	if _, err := conn.Send(context.Background(), out); err != nil {
		t.Fatal(err)
	}
	if opens.Load() != 2 || len(fake.Sent(1001)) != 1 {
		t.Errorf("opens %d, sent %d", opens.Load(), len(fake.Sent(1001)))
	}

	fake.Block(1001)
	_, err = conn.Send(context.Background(), out)
	if !errors.As(err, &de) || !de.Permanent || !de.Unreachable {
		t.Errorf("blocked: %#v", err)
	}
	fake.Unblock(1001)

	huge := models.OutboundFile{Type: "file", Name: "dump.bin", ContentType: "application/octet-stream", Size: 51 << 20,
		Open: func(context.Context) (io.ReadCloser, error) {
			opens.Add(1)
			return io.NopCloser(strings.NewReader("")), nil
		}}
	before := opens.Load()
	_, err = conn.Send(context.Background(), models.Outbound{To: "1001", Files: []models.OutboundFile{huge}})
	if r := permanentReason(t, err); !strings.Contains(r, "50 MB") || opens.Load() != before {
		t.Errorf("reason %q, opened %d times", r, opens.Load()-before)
	}
}

// closeCounter counts Close calls of a reader.
type closeCounter struct {
	io.Reader
	closes atomic.Int32
}

func (c *closeCounter) Close() error { c.closes.Add(1); return nil }

// TestGuardedReader: reads after Close fail instead of reaching a closed
// file, and the file is closed once.
func TestGuardedReader(t *testing.T) {
	cc := &closeCounter{Reader: strings.NewReader("abcdef")}
	g := &guardedReader{r: cc}
	buf := make([]byte, 3)
	if n, err := g.Read(buf); n != 3 || err != nil {
		t.Fatalf("read: %d %v", n, err)
	}
	done := make(chan struct{})
	go func() { // telebot's copying goroutine
		defer close(done)
		for {
			if _, err := g.Read(buf); err != nil {
				return
			}
		}
	}()
	_ = g.Close()
	_ = g.Close()
	<-done
	if _, err := g.Read(buf); !errors.Is(err, io.ErrClosedPipe) || cc.closes.Load() != 1 {
		t.Errorf("after Close: %v, closes %d", err, cc.closes.Load())
	}
}
