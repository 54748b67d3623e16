package inbox

// media.go: customers' files and agents' uploads (issue 14). A reaction
// takes each new customer message's files in hand after the commit (rows,
// pending), and fetches due rows on its schedule through the connector's
// FileDownloader into the media store: sniffed, limited, an image's
// thumbnail made once, retried with backoff from the row (never a
// goroutine), failed with a plain reason. Agents' uploads are stored before
// their message; the outbox hands them to connectors that upload.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tongdao/hub/connectors"
	"github.com/tongdao/hub/inbox/mediafile"
	"github.com/tongdao/hub/inbox/react"
	"github.com/tongdao/hub/inbox/store"
	"github.com/tongdao/hub/internal/backoff"
	"github.com/tongdao/hub/internal/blobstore"
	"github.com/tongdao/hub/models"
)

// MediaOptions configure the media store (Options.Media; nil: the hub
// keeps no files).
type MediaOptions struct {
	Store *blobstore.Store
	// MaxInbound is the largest customer's file of a kind (image, audio,
	// video, file) in bytes.
	MaxInbound func(kind string) int64
	// MaxUpload is the largest agent's file in bytes.
	MaxUpload int64
	// Retention is how long stored files are kept (0: forever).
	Retention time.Duration
	// Every is how often due fetches are looked for (default 1 s).
	Every time.Duration
	// FetchTimeout bounds one download (default 2 min).
	FetchTimeout time.Duration
}

func (o *MediaOptions) withDefaults() *MediaOptions {
	m := *o
	if m.MaxInbound == nil {
		m.MaxInbound = func(string) int64 { return 20 << 20 }
	}
	if m.MaxUpload <= 0 {
		m.MaxUpload = 20 << 20
	}
	if m.Every <= 0 {
		m.Every = time.Second
	}
	if m.FetchTimeout <= 0 {
		m.FetchTimeout = 2 * time.Minute
	}
	return &m
}

const (
	// maxFetchAttempts is how many times a file is tried before it fails.
	maxFetchAttempts = 6
	// fetchBatch is how many due files one tick fetches.
	fetchBatch = 16
)

// fetchRetry spaces the attempts: 5 s, 10 s, 20 s … up to 10 minutes.
var fetchRetry = backoff.Policy{Min: 5 * time.Second, Max: 10 * time.Minute, Jitter: 0.2}

// fileDownloader and fileUploader are the connectors' media capabilities
// (connectors.FileDownloader, FileUploader) as the inbox asks for them.
type fileDownloader interface {
	DownloadFile(ctx context.Context, a models.Attachment, max int64) (connectors.File, error)
}

type fileUploader interface{ UploadsFiles() bool }

// mediaReaction keeps customers' files.
type mediaReaction struct{ s *Service }

func (mediaReaction) Name() string    { return "media" }
func (mediaReaction) Types() []string { return []string{models.EventTypeMessageCreated} }

func (r mediaReaction) Every() time.Duration { return r.s.media.Every }

// Handle takes a customer message's files in hand: a pending row each, due
// at once. The fetch happens on the schedule (Tick), after this commit, so
// a crash between the two still fetches after a restart.
func (r mediaReaction) Handle(ctx context.Context, ev *models.Event, commit react.Commit) error {
	if !strings.Contains(ev.Detail, `"attachments":`) {
		return nil // no file (the facts omit an empty list): most messages, not decoded
	}
	f, ok := inboundFacts(ev)
	if !ok || len(f.Inbound.Attachments) == 0 {
		return nil
	}
	now := r.s.now().UTC()
	var rows []models.AttachmentRow
	for i, a := range f.Inbound.Attachments {
		if !models.IsMedia(&a) {
			continue
		}
		rows = append(rows, models.AttachmentRow{Position: i, Connector: f.Inbound.Connector, Type: a.Type,
			Name: a.Name, ContentType: a.MIMEType, Size: a.Size, State: models.AttachmentPending,
			Transcript: a.Transcript, Source: mustJSON(a), NextTry: &now})
	}
	if len(rows) == 0 {
		return nil
	}
	return commit(func(tx *store.Store) error {
		msgID, err := tx.InboundMessageID(ctx, f.Inbound.Connector, f.Inbound.ExternalID)
		if err != nil {
			return err
		}
		return tx.AddAttachments(ctx, msgID, rows)
	})
}

// Tick fetches the files that are due.
func (r mediaReaction) Tick(ctx context.Context, commit react.Commit) error {
	now := r.s.now()
	due, err := r.s.store.DueAttachments(ctx, now, fetchBatch)
	if err != nil {
		return err
	}
	for i := range due {
		if err := r.fetch(ctx, &due[i], commit); err != nil {
			return err
		}
	}
	return nil
}

// fetch makes one attempt at a due file: claimed first (so a replica that
// takes the reaction over does not fetch it at the same time), then
// downloaded and stored, then saved.
func (r mediaReaction) fetch(ctx context.Context, row *models.AttachmentRow, commit react.Commit) error {
	s, m := r.s, r.s.media
	now := s.now()
	var won bool
	if err := commit(func(tx *store.Store) error {
		var err error
		won, err = tx.ClaimAttachment(ctx, row.ID, now, now.Add(m.FetchTimeout+time.Minute))
		return err
	}); err != nil || !won {
		return err
	}
	row.Attempts++
	permanent, reason := s.download(ctx, row)
	switch {
	case reason == "":
		row.State, row.Error, row.NextTry = models.AttachmentStored, "", nil
		at := s.now().UTC()
		row.StoredAt = &at
	case permanent || row.Attempts >= maxFetchAttempts:
		row.State, row.Error, row.NextTry = models.AttachmentFailed, reason, nil
		s.log.Warn("media: a file could not be had", "attachment", row.ID, "connector", row.Connector, "reason", reason)
	default:
		next := s.now().Add(fetchRetry.Wait(row.Attempts)).UTC()
		row.NextTry, row.Error = &next, reason
	}
	if ctx.Err() != nil {
		return ctx.Err() // stopping: the claim expires and a later run retries
	}
	err := commit(func(tx *store.Store) error { return tx.SaveAttachment(ctx, row) })
	if err != nil && row.BlobKey != "" && row.State != models.AttachmentStored {
		s.deleteBlobs(ctx, row)
	}
	return err
}

// download fetches row's file into the media store and fills row (blob
// keys, sniffed type, size). It returns "" when it stored the file, else a
// plain reason and whether retrying cannot help.
func (s *Service) download(ctx context.Context, row *models.AttachmentRow) (permanent bool, reason string) {
	m := s.media
	sender, ok := s.senders(row.Connector)
	if !ok {
		return false, fmt.Sprintf("connector %s is not configured", row.Connector)
	}
	dl, ok := sender.(fileDownloader)
	if !ok {
		return true, fmt.Sprintf("connector %s cannot download files", row.Connector)
	}
	limit := m.MaxInbound(models.MediaType(row.Type))
	if row.Size > limit {
		return true, tooLarge(limit)
	}
	var src models.Attachment
	_ = json.Unmarshal([]byte(row.Source), &src)
	ctx, cancel := context.WithTimeout(ctx, m.FetchTimeout)
	defer cancel()
	f, err := dl.DownloadFile(ctx, src, limit)
	if err != nil {
		var de *models.DeliveryError
		if errors.As(err, &de) && de.Reason != "" {
			return de.Permanent, de.Reason
		}
		s.log.Warn("media: download failed", "attachment", row.ID, "connector", row.Connector, "err", err)
		return false, "the platform did not hand the file over"
	}
	defer f.Body.Close()
	if f.Size > limit {
		return true, tooLarge(limit)
	}
	if row.Name == "" {
		row.Name = f.Name
	}
	key, err := newBlobKey(fmt.Sprintf("att/%d", row.ID))
	if err != nil {
		return false, "the media store is not available"
	}
	ct, n, err := s.putLimited(ctx, key, f.Body, firstNonEmpty(f.ContentType, row.ContentType), limit)
	switch {
	case errors.Is(err, errTooLarge):
		return true, tooLarge(limit)
	case err != nil && ctx.Err() != nil:
		return false, "the platform took too long to hand the file over"
	case err != nil:
		s.log.Warn("media: storing failed", "attachment", row.ID, "err", err)
		return false, "the file could not be stored"
	}
	row.BlobKey, row.ContentType, row.Size = key, ct, n
	if mediafile.Kind(ct) == "image" {
		row.ThumbnailKey = s.thumbnail(ctx, key)
	}
	return false, ""
}

var errTooLarge = errors.New("media: file too large")

// putLimited stores what r yields under key, refusing more than limit
// bytes (and storing nothing then); it returns the sniffed content type and
// the size.
func (s *Service) putLimited(ctx context.Context, key string, r io.Reader, claimed string, limit int64) (string, int64, error) {
	br := bufio.NewReaderSize(io.LimitReader(r, limit+1), mediafile.SniffLen)
	head, _ := br.Peek(mediafile.SniffLen)
	ct := mediafile.Sniff(head, claimed)
	n, err := s.media.Store.Put(ctx, key, br, ct)
	if err == nil && n > limit {
		err = errTooLarge
	}
	if err != nil {
		_ = s.media.Store.Delete(context.WithoutCancel(ctx), key)
		return "", 0, err
	}
	return ct, n, nil
}

// thumbnail makes an image's thumbnail once and returns its key ("" when
// the image cannot be read: it is still served whole).
func (s *Service) thumbnail(ctx context.Context, key string) string {
	rd, err := s.media.Store.Open(ctx, key)
	if err != nil {
		return ""
	}
	defer rd.Close()
	thumb, err := mediafile.Thumbnail(rd)
	if err != nil {
		s.log.Info("media: no thumbnail", "key", key, "err", err)
		return ""
	}
	tkey := key + ".thumb.jpg"
	if _, err := s.media.Store.Put(ctx, tkey, bytes.NewReader(thumb), "image/jpeg"); err != nil {
		return ""
	}
	return tkey
}

func (s *Service) deleteBlobs(ctx context.Context, row *models.AttachmentRow) {
	for _, k := range []string{row.BlobKey, row.ThumbnailKey} {
		if k != "" {
			if err := s.media.Store.Delete(context.WithoutCancel(ctx), k); err != nil {
				s.log.Warn("media: delete", "key", k, "err", err)
			}
		}
	}
}

func tooLarge(limit int64) string {
	return fmt.Sprintf("the file is larger than %d MB", limit>>20)
}

// newBlobKey is a new key under prefix, unguessable and unique across hubs
// sharing a bucket.
func newBlobKey(prefix string) (string, error) {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return prefix + "-" + hex.EncodeToString(b[:]), nil
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// OpenAttachment opens a stored file (thumb: its thumbnail) for an agent.
// A file not stored (pending, failed) or without a thumbnail is not_found.
func (s *Service) OpenAttachment(ctx context.Context, id int64, thumb bool) (models.MediaFile, error) {
	if s.media == nil {
		return models.MediaFile{}, models.Errorf(models.ENOTFOUND, "attachment %d not found", id)
	}
	row, err := s.store.Attachment(ctx, id)
	if err != nil {
		return models.MediaFile{}, err
	}
	key, ct, name := row.BlobKey, row.ContentType, row.Name
	if thumb {
		key, ct = row.ThumbnailKey, "image/jpeg"
		if name != "" {
			name = strings.TrimSuffix(name, pathExt(name)) + ".thumb.jpg"
		}
	}
	if row.State != models.AttachmentStored || key == "" {
		what := "attachment"
		if thumb {
			what = "thumbnail of attachment"
		}
		return models.MediaFile{}, models.Errorf(models.ENOTFOUND, "%s %d not found (state %s)", what, id, row.State)
	}
	rd, err := s.media.Store.Open(ctx, key)
	if errors.Is(err, blobstore.ErrNotFound) {
		return models.MediaFile{}, models.Errorf(models.ENOTFOUND, "the file of attachment %d is missing from the media store", id)
	}
	if err != nil {
		s.log.Error("media: open", "attachment", id, "err", err)
		return models.MediaFile{}, models.Errorf(models.EUNAVAILABLE, "the media store is not available")
	}
	return models.MediaFile{Body: rd, Name: mediafile.SafeName(name, ct), ContentType: ct}, nil
}

func pathExt(name string) string {
	if i := strings.LastIndexByte(name, '.'); i > 0 {
		return name[i:]
	}
	return ""
}

// uploadTypes are the types agents may send (sniffed from the bytes).
var uploadTypes = []string{"image/jpeg", "image/png", "image/gif", "image/webp", "application/pdf",
	"text/plain", "application/zip", "audio/mpeg", "audio/ogg", "audio/mp4", "audio/amr", "audio/wave",
	"video/mp4", "video/webm", "video/quicktime", "application/msword", "application/vnd.ms-excel",
	"application/vnd.ms-powerpoint", "application/vnd.openxmlformats-officedocument"}

func uploadAllowed(ct string) bool {
	mt, _, _ := mime.ParseMediaType(ct)
	for _, t := range uploadTypes {
		if mt == t || strings.HasPrefix(mt, t+".") {
			return true
		}
	}
	return false
}

// ReplyWithFiles stores an agent's message with uploaded files: each file
// is sniffed, limited and stored first; then the message and its stored
// rows commit together and the outbox delivers them through a connector
// that uploads. Too large is too_large (413), a type not allowed
// unsupported (415), nothing to send invalid; each stores nothing.
func (s *Service) ReplyWithFiles(ctx context.Context, req models.ReplyRequest, files []models.Upload) (models.MessageView, error) {
	if s.media == nil {
		return models.MessageView{}, models.Errorf(models.EUNAVAILABLE, "the hub keeps no files (no media store)")
	}
	if len(files) == 0 {
		return s.Reply(ctx, req)
	}
	if req.CannedID != 0 || len(req.Attachments) > 0 || len(req.Buttons) > 0 {
		return models.MessageView{}, models.Errorf(models.EINVALID, "a message with files has text only (no canned_id, attachments or buttons)")
	}
	if len(files) > 10 {
		return models.MessageView{}, models.Errorf(models.EINVALID, "at most 10 files a message, not %d", len(files))
	}
	if n := len([]rune(req.Text)); n > MaxReplyRunes {
		return models.MessageView{}, models.Errorf(models.EINVALID, "text is %d characters long; the limit is %d", n, MaxReplyRunes)
	}
	conv, err := s.store.Conversation(ctx, req.ConversationID)
	if err != nil {
		return models.MessageView{}, err
	}
	m := &models.Message{ConversationID: conv.ID, Direction: models.DirectionOut, Kind: models.KindMessage,
		SenderType: models.SenderAgent, SenderID: models.ID(req.Actor.TokenID), SenderName: req.Actor.Name,
		Text: strings.TrimSpace(req.Text), Private: req.Private, DeliveryStatus: models.DeliverySent}
	var checker connectors.FileChecker // what the customer's platform cannot carry
	if !req.Private {
		ident, err := s.route(ctx, conv.ContactID, req.Via)
		if err != nil {
			return models.MessageView{}, err
		}
		sender, ok := s.senders(ident.Connector)
		if !ok {
			return models.MessageView{}, models.Errorf(models.EUNAVAILABLE, "connector %q is not configured, so this customer cannot be reached through it", ident.Connector)
		}
		if up, ok := sender.(fileUploader); !ok || !up.UploadsFiles() {
			return models.MessageView{}, models.Errorf(models.ECONFLICT, "connector %s cannot send files; send text or a link, or reply on another channel (via)", ident.Connector)
		}
		checker, _ = sender.(connectors.FileChecker)
		m.IdentityID = &ident.ID
		m.Channel, m.Connector = ident.Channel, ident.Connector
		m.DeliveryStatus = models.DeliveryQueued
	}
	// Store the bytes first; on any refusal, delete what was stored.
	rows := make([]models.AttachmentRow, 0, len(files))
	atts := make([]models.StoredAttachment, 0, len(files))
	fail := func(err error) (models.MessageView, error) {
		for i := range rows {
			s.deleteBlobs(ctx, &rows[i])
		}
		return models.MessageView{}, err
	}
	now := s.now().UTC()
	for i, f := range files {
		key, err := newBlobKey("up")
		if err != nil {
			return fail(err)
		}
		name := mediafile.SafeName(f.Name, f.ContentType)
		body, err := f.Open()
		if err != nil {
			return fail(models.Errorf(models.EINVALID, "file %q cannot be read", name))
		}
		ct, n, err := s.putLimited(ctx, key, body, f.ContentType, s.media.MaxUpload)
		body.Close()
		switch {
		case errors.Is(err, errTooLarge):
			return fail(models.UploadRefused(models.ErrUploadTooLarge, "file %q is larger than the upload limit of %d MB", name, s.media.MaxUpload>>20))
		case err != nil:
			s.log.Error("media: store upload", "err", err)
			return fail(models.Errorf(models.EUNAVAILABLE, "the media store is not available"))
		}
		row := models.AttachmentRow{Position: i, Connector: m.Connector, Name: name, ContentType: ct, Size: n,
			State: models.AttachmentStored, BlobKey: key, StoredAt: &now}
		rows = append(rows, row)
		if n == 0 {
			return fail(models.Errorf(models.EINVALID, "file %q is empty", name))
		}
		if !uploadAllowed(ct) {
			return fail(models.UploadRefused(models.ErrUploadUnsupported, "file %q is %s, which agents may not send (images, PDF, office documents, text, audio, video)", name, ct))
		}
		rows[i].Type = mediafile.Kind(ct)
		if checker != nil {
			if err := checker.CheckFile(models.OutboundFile{Type: rows[i].Type, Name: name, ContentType: ct, Size: n}); err != nil {
				var de *models.DeliveryError
				if errors.As(err, &de) {
					return fail(models.UploadRefused(models.ErrUploadUnsupported, "file %q cannot be sent on %s: %s", name, m.Channel, de.Reason))
				}
				return fail(err)
			}
		}
		if rows[i].Type == "image" {
			rows[i].ThumbnailKey = s.thumbnail(ctx, key)
		}
		atts = append(atts, models.StoredAttachment{Attachment: models.Attachment{Type: rows[i].Type, Name: name, Size: n}})
	}
	m.Attachments = mustJSON(atts)
	if err := s.store.AddMessageWithFiles(ctx, m, rows); err != nil {
		return fail(err)
	}
	s.notify()
	if !req.Private {
		s.wakeOutbox()
	}
	return m.View(), nil
}

// outboundFiles are the stored files of an outbound message, for a
// connector that uploads (each Open reads the stored bytes again).
func (s *Service) outboundFiles(ctx context.Context, m *models.Message) ([]models.OutboundFile, error) {
	if s.media == nil || !strings.Contains(m.Attachments, `"attachment_id"`) {
		return nil, nil
	}
	rows, err := s.store.MessageAttachments(ctx, m.ID)
	if err != nil {
		return nil, err
	}
	var out []models.OutboundFile
	for _, r := range rows {
		if r.State != models.AttachmentStored {
			continue
		}
		key := r.BlobKey
		out = append(out, models.OutboundFile{Type: mediafile.Kind(r.ContentType), Name: r.Name, ContentType: r.ContentType,
			Size: r.Size, Open: func(ctx context.Context) (io.ReadCloser, error) { return s.media.Store.Open(ctx, key) }})
	}
	return out, nil
}

// PruneReport is what a prune did (or would do, dry).
type PruneReport struct {
	Files int   `json:"files"`
	Bytes int64 `json:"bytes"`
}

// PruneMedia deletes stored files older than the retention (their rows
// stay, failed with "removed after the retention period"), or only counts
// them when dry. Without a retention it does nothing.
func (s *Service) PruneMedia(ctx context.Context, dry bool) (PruneReport, error) {
	var rep PruneReport
	if s.media == nil || s.media.Retention <= 0 {
		return rep, nil
	}
	before := s.now().Add(-s.media.Retention)
	var after int64
	for {
		rows, err := s.store.ExpiredAttachments(ctx, before, after, 200)
		if err != nil || len(rows) == 0 {
			return rep, err
		}
		for i := range rows {
			r := &rows[i]
			after = r.ID
			rep.Files++
			rep.Bytes += r.Size
			if dry {
				continue
			}
			s.deleteBlobs(ctx, r)
			r.State, r.Error, r.BlobKey, r.ThumbnailKey = models.AttachmentFailed, "removed after the retention period", "", ""
			if err := s.store.SaveAttachment(ctx, r); err != nil {
				return rep, err
			}
		}
	}
}

// registerMediaMetrics adds the space the media store holds to /metrics,
// read from the attachment rows at each scrape.
func (s *Service) registerMediaMetrics(reg prometheus.Registerer) {
	usage := func() (files, bytes int64) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		files, bytes, err := s.store.MediaUsage(ctx)
		if err != nil {
			s.log.Warn("media usage", "err", err)
		}
		return files, bytes
	}
	for _, c := range []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "tongdao_media_stored_bytes",
			Help: "Bytes of the files kept in the media store (customers' files and agents' uploads; thumbnails not counted)."},
			func() float64 { _, b := usage(); return float64(b) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "tongdao_media_stored_files",
			Help: "Files kept in the media store."},
			func() float64 { f, _ := usage(); return float64(f) }),
	} {
		if err := reg.Register(c); err != nil {
			s.log.Warn("register metric", "err", err)
		}
	}
}
