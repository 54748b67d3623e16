package inbox_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tongdao/hub/connectors"
	"github.com/tongdao/hub/inbox"
	"github.com/tongdao/hub/internal/blobstore"
	"github.com/tongdao/hub/internal/wait"
	"github.com/tongdao/hub/models"
)

// filePlatform is a platform whose files the tests script: a connector's
// FileDownloader and FileUploader seen from the inbox. (The real
// connectors download and upload through their SDKs against the platform
// stand-ins in the end-to-end tests.)
type filePlatform struct {
	platform
	mu    sync.Mutex
	files map[string][]byte
	// errs are returned by the next downloads, in order.
	errs []error
	// hold makes downloads wait until it is closed (or their context ends).
	hold      chan struct{}
	downloads int
	claimed   string
}

func (p *filePlatform) DownloadFile(ctx context.Context, a models.Attachment, max int64) (connectors.File, error) {
	p.mu.Lock()
	p.downloads++
	hold := p.hold
	var err error
	if len(p.errs) > 0 {
		err, p.errs = p.errs[0], p.errs[1:]
	}
	data, ok := p.files[a.FileID]
	p.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-ctx.Done():
			return connectors.File{}, ctx.Err()
		}
	}
	if err != nil {
		return connectors.File{}, err
	}
	if !ok {
		return connectors.File{}, &models.DeliveryError{Permanent: true, Reason: "the file is no longer on the platform"}
	}
	return connectors.File{Body: io.NopCloser(bytes.NewReader(data)), Name: "from-platform.bin",
		ContentType: p.claimed, Size: -1}, nil
}

func (p *filePlatform) UploadsFiles() bool { return true }

func (p *filePlatform) downloadCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.downloads
}

func pngOf(t testing.TB, w, h int) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for x := range w {
		img.Set(x, x*h/w, color.NRGBA{B: 255, A: 255})
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

type mediaFixture struct {
	*fixture
	files *filePlatform
	blobs string
	store *blobstore.Store
}

// newMediaFixture is a fixture whose "tg" connector downloads and uploads
// files (filePlatform), with a media store in a temporary directory.
func newMediaFixture(t *testing.T, opts ...func(*inbox.MediaOptions)) *mediaFixture {
	t.Helper()
	mf := &mediaFixture{files: &filePlatform{files: map[string][]byte{}}, blobs: filepath.Join(t.TempDir(), "media")}
	u, _ := blobstore.FileURL(mf.blobs)
	bs, err := blobstore.Open(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bs.Close() })
	mf.store = bs
	mo := &inbox.MediaOptions{Store: bs, MaxInbound: func(string) int64 { return 1 << 20 }, MaxUpload: 1 << 20,
		Every: 10 * time.Millisecond, FetchTimeout: 10 * time.Second}
	for _, o := range opts {
		o(mo)
	}
	mf.fixture = newFixture(t, func(o *inbox.Options) {
		o.Media = mo
		senders := o.Senders
		o.Senders = func(name string) (inbox.Sender, bool) {
			if name == "tg" {
				return mf.files, true
			}
			return senders(name)
		}
	})
	return mf
}

// attachments returns message msgID's attachments as the API shows them,
// moving the clock on a tick so that the media reaction's schedule runs.
func (f *fixture) attachmentsOf(t *testing.T, convID int64, msgID string) []models.AttachmentView {
	t.Helper()
	f.clock.Advance(10 * time.Millisecond)
	msgs, _, err := f.svc.ListMessages(context.Background(), convID, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if m.ID == msgID {
			return m.Attachments
		}
	}
	t.Fatalf("message %s not in conversation %d", msgID, convID)
	return nil
}

func state(a models.AttachmentView) string {
	if a.State == nil {
		return ""
	}
	return *a.State
}

func photoInbound(id string, atts ...models.Attachment) models.Inbound {
	in := msg("tg", "telegram", "42", id, "")
	in.Attachments = atts
	return in
}

// A customer's photo and voice note are taken in hand after the commit,
// fetched through the connector, sniffed, stored, the photo thumbnailed;
// a link is left as it is; the console learns each step on the stream.
func TestCustomersFilesAreFetchedAndStored(t *testing.T) {
	f := newMediaFixture(t)
	photo := pngOf(t, 800, 400)
	voice := append([]byte("#!AMR\n"), bytes.Repeat([]byte{0x3c, 0x48}, 200)...)
	f.files.files["photo-1"], f.files.files["voice-1"] = photo, voice
	f.files.claimed = "application/octet-stream"
	release := make(chan struct{})
	f.files.hold = release // downloads wait until released
	f.runReactions(t)
	res := f.ingest(t, photoInbound("m1",
		models.Attachment{Type: "image", FileID: "photo-1"},
		models.Attachment{Type: "voice", FileID: "voice-1", Transcript: "我的包裹坏了"},
		models.Attachment{Type: "link", URL: "https://example.com/order/42", Title: "Order 42"}))
	conv := f.onlyConversation(t)
	convID, _ := models.ParseID(conv.ID)

	// Ingest returned while every download is held: it fetches nothing.
	if a := f.attachmentsOf(t, convID, res.MessageID); state(a[0]) == models.AttachmentStored || state(a[1]) == models.AttachmentStored {
		t.Fatalf("stored before any download was let through: %+v", a)
	}
	close(release)
	var atts []models.AttachmentView
	wait.For(t, "the photo and the voice note stored", func() bool {
		atts = f.attachmentsOf(t, convID, res.MessageID)
		return len(atts) == 3 && state(atts[0]) == models.AttachmentStored && state(atts[1]) == models.AttachmentStored
	})
	p, v, l := atts[0], atts[1], atts[2]
	if p.ContentType != "image/png" || p.Size != int64(len(photo)) || p.URL == nil || *p.URL != "/api/v1/attachments/"+*p.ID ||
		p.ThumbnailURL == nil || *p.ThumbnailURL != *p.URL+"/thumbnail" || p.Type != "image" {
		t.Errorf("photo %+v", p)
	}
	if v.ContentType != "audio/amr" || v.Type != "audio" || v.Transcript == nil || *v.Transcript != "我的包裹坏了" || v.ThumbnailURL != nil {
		t.Errorf("voice note %+v", v)
	}
	if l.ID != nil || l.State != nil || l.URL == nil || *l.URL != "https://example.com/order/42" {
		t.Errorf("link %+v: the hub keeps no copy of a link", l)
	}
	// The stored bytes are the platform's, served with the sniffed type.
	ctx := context.Background()
	id, _ := models.ParseID(*p.ID)
	mf, err := f.svc.OpenAttachment(ctx, id, false)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(mf.Body)
	mf.Body.Close()
	if !bytes.Equal(got, photo) || mf.ContentType != "image/png" {
		t.Errorf("served %d bytes of %s", len(got), mf.ContentType)
	}
	th, err := f.svc.OpenAttachment(ctx, id, true)
	if err != nil {
		t.Fatal(err)
	}
	cfg, _, err := image.DecodeConfig(th.Body)
	th.Body.Close()
	if err != nil || cfg.Width != 320 || cfg.Height != 160 || th.ContentType != "image/jpeg" {
		t.Errorf("thumbnail %dx%d %s, %v", cfg.Width, cfg.Height, th.ContentType, err)
	}
	// The voice note has no thumbnail.
	vid, _ := models.ParseID(*v.ID)
	if _, err := f.svc.OpenAttachment(ctx, vid, true); models.ErrorCode(err) != models.ENOTFOUND {
		t.Errorf("thumbnail of a voice note: %v", err)
	}
	// The stream said so: message.updated with the stored photo.
	evs, err := f.svc.EventsAfter(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	updated := false
	for _, e := range evs {
		if mv, ok := e.Data.(interface{ MarshalJSON() ([]byte, error) }); ok && e.Type == models.EventTypeMessageUpdated {
			b, _ := mv.MarshalJSON()
			updated = updated || (strings.Contains(string(b), `"state":"stored"`) && strings.Contains(string(b), `"thumbnail_url":"/api/v1/attachments/`))
		}
	}
	if !updated {
		t.Error("no message.updated event carries the stored photo")
	}
	if n := f.files.downloadCount(); n != 2 {
		t.Errorf("%d downloads, want 2 (one a file, the link none)", n)
	}
}

// A file the platform no longer has fails at once with its plain reason; a
// temporary failure is retried from the row after a backoff; a file over
// the limit fails and nothing of it stays in the store.
func TestFetchFailuresRetriesAndLimits(t *testing.T) {
	f := newMediaFixture(t)
	f.files.files["ok"] = []byte("%PDF-1.4 receipt")
	f.files.files["big"] = bytes.Repeat([]byte("x"), 1<<20+1)
	f.files.errs = []error{
		&models.DeliveryError{Permanent: true, Reason: "the file has expired on WeChat"},
		errors.New("connection reset"),
	}
	f.runReactions(t)
	res := f.ingest(t, photoInbound("m1", models.Attachment{Type: "voice", FileID: "gone"}))
	conv := f.onlyConversation(t)
	convID, _ := models.ParseID(conv.ID)
	wait.For(t, "the expired file failed", func() bool {
		a := f.attachmentsOf(t, convID, res.MessageID)
		return state(a[0]) == models.AttachmentFailed
	})
	a := f.attachmentsOf(t, convID, res.MessageID)[0]
	if a.Error == nil || *a.Error != "the file has expired on WeChat" || a.URL != nil {
		t.Errorf("expired file %+v", a)
	}

	res2 := f.ingest(t, photoInbound("m2", models.Attachment{Type: "document", FileID: "ok", Name: "receipt.pdf"}))
	wait.For(t, "the first attempt failed and a retry is due later", func() bool {
		a := f.attachmentsOf(t, convID, res2.MessageID)
		return state(a[0]) == models.AttachmentPending && a[0].Error != nil
	})
	before := f.files.downloadCount()
	f.clock.Advance(3 * time.Second) // under the first backoff (5 s ± 20%)
	if a := f.attachmentsOf(t, convID, res2.MessageID)[0]; state(a) != models.AttachmentPending {
		t.Fatalf("retried before its backoff: %+v", a)
	}
	f.clock.Advance(5 * time.Second)
	wait.For(t, "the retry stored the file", func() bool {
		return state(f.attachmentsOf(t, convID, res2.MessageID)[0]) == models.AttachmentStored
	})
	if a := f.attachmentsOf(t, convID, res2.MessageID)[0]; a.ContentType != "application/pdf" || a.Name != "receipt.pdf" || a.Error != nil || a.Type != "file" {
		t.Errorf("retried file %+v", a)
	}
	if n := f.files.downloadCount(); n != before+1 {
		t.Errorf("%d downloads after the backoff, want %d", n, before+1)
	}

	res3 := f.ingest(t, photoInbound("m3", models.Attachment{Type: "document", FileID: "big"}))
	wait.For(t, "the large file failed", func() bool {
		return state(f.attachmentsOf(t, convID, res3.MessageID)[0]) == models.AttachmentFailed
	})
	if a := f.attachmentsOf(t, convID, res3.MessageID)[0]; a.Error == nil || *a.Error != "the file is larger than 1 MB" {
		t.Errorf("large file %+v", a)
	}
	if n := countFiles(t, f.blobs); n != 1 {
		t.Errorf("%d files in the media store, want 1 (the receipt only)", n)
	}
}

func countFiles(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	_ = filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return nil
	})
	return n
}

// The hub stops (a crash) while a file is being fetched, after the message
// committed: a hub started again on the same database and store fetches it.
func TestAFetchInterruptedByACrashHappensAfterRestart(t *testing.T) {
	f := newMediaFixture(t)
	f.files.files["photo"] = pngOf(t, 40, 40)
	f.files.hold = make(chan struct{}) // the fetch never ends before the crash
	stop := f.runReactions(t)
	res := f.ingest(t, photoInbound("m1", models.Attachment{Type: "image", FileID: "photo"}))
	conv := f.onlyConversation(t)
	convID, _ := models.ParseID(conv.ID)
	wait.For(t, "the fetch started", func() bool { f.clock.Advance(10 * time.Millisecond); return f.files.downloadCount() == 1 })
	stop() // the crash: the download is cut off, nothing is saved
	f.svc.Close()
	if a := f.attachmentsOf(t, convID, res.MessageID)[0]; state(a) != models.AttachmentPending {
		t.Fatalf("after the crash: %+v", a)
	}

	// Restart: a new service (another runner) on the same database.
	f.files.hold = nil
	f.clock.Advance(5 * time.Minute) // the crashed runner's lease and claim have expired
	svc := inbox.New(inbox.Options{Store: f.replicaStore(t), Now: f.clock.Now, Media: &inbox.MediaOptions{Store: f.store,
		Every: 10 * time.Millisecond, FetchTimeout: 10 * time.Second},
		Senders: func(string) (inbox.Sender, bool) { return f.files, true }})
	t.Cleanup(svc.Close)
	if err := svc.InitReactions(context.Background()); err != nil {
		t.Fatal(err)
	}
	inBackground(t, func(ctx context.Context) { svc.RunReactions(ctx) })
	f.svc = svc
	wait.For(t, "the file fetched after the restart", func() bool {
		return state(f.attachmentsOf(t, convID, res.MessageID)[0]) == models.AttachmentStored
	})
}

func openBytes(b []byte) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
}

// An agent sends a PDF and an image: both are stored with the message,
// and the outbox hands them to the connector as files read from the store.
// Bad uploads store nothing.
func TestAgentUploadsAreStoredAndDelivered(t *testing.T) {
	f := newMediaFixture(t)
	ctx := context.Background()
	f.ingest(t, msg("tg", "telegram", "42", "m1", "can you send the invoice?"))
	conv := f.onlyConversation(t)
	convID, _ := models.ParseID(conv.ID)
	pdf := []byte("%PDF-1.7 invoice 42")
	img := pngOf(t, 64, 64)

	bad := []struct {
		name  string
		files []models.Upload
		want  error
		code  string
	}{
		{"too large", []models.Upload{{Name: "a.pdf", Open: openBytes(pdf)}, {Name: "big.pdf", Open: openBytes(append([]byte("%PDF-"), make([]byte, 1<<20)...))}}, models.ErrUploadTooLarge, models.EINVALID},
		{"html", []models.Upload{{Name: "page.html", ContentType: "image/png", Open: openBytes([]byte("<html><script>alert(1)</script></html>"))}}, models.ErrUploadUnsupported, models.EINVALID},
		{"empty", []models.Upload{{Name: "empty.pdf", Open: openBytes(nil)}}, nil, models.EINVALID},
	}
	msgsBefore := f.messageCount(t)
	for _, tc := range bad {
		_, err := f.svc.ReplyWithFiles(ctx, models.ReplyRequest{ConversationID: convID, Actor: agent}, tc.files)
		if models.ErrorCode(err) != tc.code || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	if n := f.messageCount(t); n != msgsBefore {
		t.Errorf("bad uploads stored %d messages", n-msgsBefore)
	}
	if n := countFiles(t, f.blobs); n != 0 {
		t.Errorf("bad uploads left %d files in the media store", n)
	}

	// A channel that cannot upload files: a clear conflict.
	f.ingest(t, msg("wx", "wechat", "oX", "w1", "hi"))
	convs, _, _ := f.svc.ListConversations(ctx, models.ConversationFilter{})
	for _, c := range convs {
		if c.ID != conv.ID {
			wxID, _ := models.ParseID(c.ID)
			_, err := f.svc.ReplyWithFiles(ctx, models.ReplyRequest{ConversationID: wxID, Actor: agent},
				[]models.Upload{{Name: "a.pdf", Open: openBytes(pdf)}})
			if models.ErrorCode(err) != models.ECONFLICT || !strings.Contains(models.ErrorMessage(err), "cannot send files") {
				t.Errorf("upload to a connector without files: %v", err)
			}
		}
	}

	v, err := f.svc.ReplyWithFiles(ctx, models.ReplyRequest{ConversationID: convID, Text: "here it is", Actor: agent},
		[]models.Upload{{Name: "../invoice 42.pdf", ContentType: "application/pdf", Open: openBytes(pdf)}, {Name: "stamp.png", Open: openBytes(img)}})
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Attachments) != 2 || state(v.Attachments[0]) != models.AttachmentStored || v.Attachments[0].Name != "invoice 42.pdf" ||
		v.Attachments[0].ContentType != "application/pdf" || v.Attachments[1].ThumbnailURL == nil || v.Delivery.Status != models.DeliveryQueued {
		t.Fatalf("message %+v", v)
	}
	f.svc.DeliverDue(ctx)
	f.files.mu.Lock()
	sent := append([]models.Outbound(nil), f.files.sent...)
	f.files.mu.Unlock()
	if len(sent) != 1 || sent[0].Text != "here it is" || len(sent[0].Files) != 2 || len(sent[0].Attachments) != 0 {
		t.Fatalf("delivered %+v", sent)
	}
	for i, want := range [][]byte{pdf, img} {
		of := sent[0].Files[i]
		rc, err := of.Open(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(rc)
		rc.Close()
		if !bytes.Equal(got, want) || of.Size != int64(len(want)) {
			t.Errorf("file %d (%s %s): %d bytes", i, of.Name, of.ContentType, len(got))
		}
	}
	if sent[0].Files[0].Type != "file" || sent[0].Files[1].Type != "image" || sent[0].Files[1].ContentType != "image/png" {
		t.Errorf("files %+v %+v", sent[0].Files[0], sent[0].Files[1])
	}
}

// Retention: files older than it are deleted by a prune (a dry run only
// counts them); their messages stay, the files failed with a reason.
func TestPruneDeletesFilesPastTheRetention(t *testing.T) {
	f := newMediaFixture(t, func(o *inbox.MediaOptions) { o.Retention = 48 * time.Hour })
	ctx := context.Background()
	f.ingest(t, msg("tg", "telegram", "42", "m1", "hi"))
	convID, _ := models.ParseID(f.onlyConversation(t).ID)
	pdf := []byte("%PDF-1.7 old")
	v, err := f.svc.ReplyWithFiles(ctx, models.ReplyRequest{ConversationID: convID, Private: true, Actor: agent},
		[]models.Upload{{Name: "old.pdf", Open: openBytes(pdf)}})
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(47 * time.Hour)
	if rep, err := f.svc.PruneMedia(ctx, false); err != nil || rep.Files != 0 {
		t.Fatalf("prune within the retention: %+v %v", rep, err)
	}
	f.clock.Advance(2 * time.Hour)
	rep, err := f.svc.PruneMedia(ctx, true)
	if err != nil || rep.Files != 1 || rep.Bytes != int64(len(pdf)) || countFiles(t, f.blobs) != 1 {
		t.Fatalf("dry run: %+v %v, %d files left", rep, err, countFiles(t, f.blobs))
	}
	if rep, err = f.svc.PruneMedia(ctx, false); err != nil || rep.Files != 1 {
		t.Fatalf("prune: %+v %v", rep, err)
	}
	if n := countFiles(t, f.blobs); n != 0 {
		t.Errorf("%d files left after the prune", n)
	}
	a := f.attachmentsOf(t, convID, v.ID)[0]
	if state(a) != models.AttachmentFailed || a.Error == nil || *a.Error != "removed after the retention period" || a.URL != nil {
		t.Errorf("pruned file %+v", a)
	}
}
