package wechat

import (
	"bytes"
	"context"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tongdao/hub/connectors"
	"github.com/tongdao/hub/internal/wait"
	"github.com/tongdao/hub/models"
	"github.com/tongdao/hub/sandbox/samples"
	"github.com/tongdao/hub/sandbox/wxfake"
)

// lastInbound waits for the n-th inbound and returns it.
func (h *harness) nthInbound(t *testing.T, n int) models.Inbound {
	t.Helper()
	wait.For(t, "the push to be ingested", func() bool { return len(h.sink.inbounds()) >= n })
	return h.sink.inbounds()[n-1]
}

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

// mp4 is the start of an MP4 file: enough for WeChat and sniffing.
var mp4 = []byte("\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom\x00\x00\x00\x08free")

// TestDownloadMedia: a voice note keeps WeChat's Recognition as its
// transcript and comes through media/get as AMR; a photo byte for byte; a
// video through the video_url media/get answers with.
func TestDownloadMedia(t *testing.T) {
	h := newHarness(t, harnessOpts{safe: true})
	ctx := context.Background()
	if _, err := h.fake.Follow(ctx, "", "o-ana", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := h.fake.SendVoice(ctx, "", "o-ana", "我的包裹坏了"); err != nil {
		t.Fatal(err)
	}
	in := h.nthInbound(t, 2)
	if len(in.Attachments) != 1 {
		t.Fatalf("voice inbound = %+v", in)
	}
	a := in.Attachments[0]
	if a.Type != "voice" || a.Transcript != "我的包裹坏了" || in.Text != "我的包裹坏了" || a.MIMEType != "audio/amr" {
		t.Errorf("voice attachment = %+v, text %q", a, in.Text)
	}
	f, err := h.conn.DownloadFile(ctx, a, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, f); !bytes.Equal(got, samples.AMR(2)) || f.ContentType != "audio/amr" || !strings.HasSuffix(f.Name, ".amr") || f.Size != int64(len(got)) {
		t.Errorf("voice: %d bytes, type %q, name %q, size %d", len(got), f.ContentType, f.Name, f.Size)
	}

	jpg := samples.JPEG(200, 150)
	if _, err := h.fake.SendImageData(ctx, "", "o-ana", "", jpg); err != nil {
		t.Fatal(err)
	}
	if f, err = h.conn.DownloadFile(ctx, h.nthInbound(t, 3).Attachments[0], 0); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, f); !bytes.Equal(got, jpg) || f.ContentType != "image/jpeg" {
		t.Errorf("image: %d bytes (want %d), type %q", len(got), len(jpg), f.ContentType)
	}

	if _, err := h.fake.SendVideo(ctx, "", "o-ana", mp4); err != nil {
		t.Fatal(err)
	}
	video := h.nthInbound(t, 4)
	if len(video.Attachments) != 2 || video.Attachments[0].Type != "video" {
		t.Fatalf("video inbound = %+v", video)
	}
	if f, err = h.conn.DownloadFile(ctx, video.Attachments[0], 0); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, f); !bytes.Equal(got, mp4) || f.ContentType != "video/mp4" {
		t.Errorf("video: %q, type %q", got, f.ContentType)
	}
	if n := h.fake.MediaGets(); n != 3 {
		t.Errorf("media/get served %d times, want 3", n)
	}
}

// TestDownloadExpiredAndTooLarge: three days after the customer sent it a
// file is gone (40007), a permanent failure with a plain reason; a file
// over the limit is refused from its Content-Length.
func TestDownloadExpiredAndTooLarge(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	ctx := context.Background()
	if _, err := h.fake.Follow(ctx, "", "o-bo", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := h.fake.SendImageData(ctx, "", "o-bo", "", samples.JPEG(64, 64)); err != nil {
		t.Fatal(err)
	}
	a := h.nthInbound(t, 2).Attachments[0]

	_, err := h.conn.DownloadFile(ctx, a, 100)
	if de := asDelivery(t, err); !de.Permanent || de.Reason != "the file is larger than 100 bytes" {
		t.Errorf("too large: %+v", de)
	}
	_, err = h.conn.DownloadFile(ctx, models.Attachment{Type: "voice", FileID: a.FileID, Size: 3 << 20}, 0)
	if de := asDelivery(t, err); !de.Permanent || de.Reason != "the file is larger than 2 MB" {
		t.Errorf("voice over WeChat's 2 MB: %+v", de)
	}

	h.clock.Advance(wxfake.MediaTTL + time.Minute)
	_, err = h.conn.DownloadFile(ctx, a, 0)
	de := asDelivery(t, err)
	if !de.Permanent || de.Code != "40007" || de.Reason != reasonExpired {
		t.Errorf("expired: %+v", de)
	}
	if strings.Contains(de.Error(), "access_token") {
		t.Errorf("the reason names the URL: %s", de.Error())
	}
	_, err = h.conn.DownloadFile(ctx, models.Attachment{Type: "image"}, 0)
	if de := asDelivery(t, err); !de.Permanent {
		t.Errorf("no media id: %+v", de)
	}
}

func storedFile(typ, name, ct string, data []byte, opens *atomic.Int32) models.OutboundFile {
	return models.OutboundFile{Type: typ, Name: name, ContentType: ct, Size: int64(len(data)),
		Open: func(context.Context) (io.ReadCloser, error) {
			if opens != nil {
				opens.Add(1)
			}
			return io.NopCloser(bytes.NewReader(data)), nil
		}}
}

// TestSendFilesUpload: an agent's image and voice note are uploaded as
// temporary media (the stand-in receives the exact bytes) and sent as image
// and voice customer-service messages before the text; a PDF, which an
// Official Account cannot send, is refused plainly before anything goes
// out or is uploaded.
func TestSendFilesUpload(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	ctx := context.Background()
	if _, err := h.fake.Follow(ctx, "", "o-cy", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := h.fake.SendText(ctx, "", "o-cy", "please send the label"); err != nil {
		t.Fatal(err)
	}
	png, amr, pdf := samples.PNG(80, 60), samples.AMR(1), samples.PDF("Invoice 42")
	var opens atomic.Int32
	_, err := h.conn.Send(ctx, models.Outbound{MessageID: "m-pdf", To: "o-cy", Text: "here",
		Files: []models.OutboundFile{storedFile("image", "label.png", "image/png", png, &opens), storedFile("file", "invoice.pdf", "application/pdf", pdf, &opens)}})
	de := asDelivery(t, err)
	if !de.Permanent || !strings.Contains(de.Reason, `not "invoice.pdf"`) {
		t.Errorf("PDF: %+v", de)
	}
	if len(h.fake.Sent("", "o-cy"))+len(h.fake.Uploads()) != 0 || opens.Load() != 0 {
		t.Fatalf("a refused message sent %v, uploaded %v, opened %d", h.fake.Sent("", "o-cy"), h.fake.Uploads(), opens.Load())
	}

	_, err = h.conn.Send(ctx, models.Outbound{MessageID: "m-files", To: "o-cy", Text: "here is the label",
		Files: []models.OutboundFile{storedFile("image", "label", "image/png", png, nil), storedFile("audio", "note.amr", "audio/amr", amr, nil)}})
	if err != nil {
		t.Fatal(err)
	}
	ups := h.fake.Uploads()
	if len(ups) != 2 || ups[0].Type != "image" || ups[0].Name != "label.png" || ups[1].Type != "voice" || ups[1].Name != "note.amr" {
		t.Fatalf("uploads = %+v", ups)
	}
	for i, want := range [][]byte{png, amr} {
		if data, _ := h.fake.Media(ups[i].MediaID); !bytes.Equal(data, want) {
			t.Errorf("upload %d: the stand-in received other bytes", i)
		}
	}
	sent := h.fake.Sent("", "o-cy")
	if len(sent) != 3 || sent[0].MsgType != "image" || sent[0].MediaID != ups[0].MediaID || sent[1].MsgType != "voice" ||
		sent[2].MsgType != "text" || sent[2].Text != "here is the label" {
		t.Errorf("sent = %+v", sent)
	}
}

// TestSendVideoAndTooLarge: an MP4 goes as a video message titled with its
// name; an image over WeChat's 10 MB is refused without being opened.
func TestSendVideoAndTooLarge(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	ctx := context.Background()
	if _, err := h.fake.Follow(ctx, "", "o-di", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := h.fake.SendText(ctx, "", "o-di", "how do I assemble it?"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.conn.Send(ctx, models.Outbound{MessageID: "m-v", To: "o-di",
		Files: []models.OutboundFile{storedFile("video", "howto.mp4", "video/mp4", mp4, nil)}}); err != nil {
		t.Fatal(err)
	}
	if sent := h.fake.Sent("", "o-di"); len(sent) != 1 || sent[0].MsgType != "video" || sent[0].Title != "howto.mp4" {
		t.Errorf("sent = %+v", sent)
	}
	var opens atomic.Int32
	big := storedFile("image", "huge.jpg", "image/jpeg", nil, &opens)
	big.Size = 11 << 20
	_, err := h.conn.Send(ctx, models.Outbound{MessageID: "m-big", To: "o-di", Files: []models.OutboundFile{big}})
	if de := asDelivery(t, err); !de.Permanent || !strings.Contains(de.Reason, "10 MB") || opens.Load() != 0 {
		t.Errorf("too large: %+v, opened %d", de, opens.Load())
	}
}
