package telegram

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	tele "gopkg.in/telebot.v3"

	"github.com/tongdao/hub/connectors"
	"github.com/tongdao/hub/connectors/kit"
	"github.com/tongdao/hub/models"
)

// Capabilities for customers' and agents' files, checked at compile time.
var (
	_ connectors.FileDownloader = (*Connector)(nil)
	_ connectors.FileUploader   = (*Connector)(nil)
)

// The Bot API's limits for files.
const (
	// maxDownload is the largest file getFile hands a bot (20 MB).
	maxDownload = 20 << 20
	// maxUpload is the largest file a bot may upload (50 MB).
	maxUpload = 50 << 20
	// maxPhotoUpload is the largest photo; a larger image goes as a document.
	maxPhotoUpload = 10 << 20
)

// fileTimeout bounds one download (getFile and the bytes, read by the
// caller) or one upload: files are larger than API answers.
const fileTimeout = 5 * time.Minute

// UploadsFiles reports that Send delivers Outbound.Files by upload.
func (c *Connector) UploadsFiles() bool { return true }

// DownloadFile opens a customer's file through telebot: getFile (through
// telebot's Raw, for Telegram's exact error) tells its size, then telebot's
// File fetches {api_url}/file/bot<token>/<file_path> (asking getFile once
// more, as telebot does). A file larger than max or than the Bot API's 20 MB is
// refused before any byte is read: from the size in the update when it is
// known, else from getFile's file_size. The body must be closed; it stays
// readable until then, within five minutes.
func (c *Connector) DownloadFile(ctx context.Context, a models.Attachment, max int64) (connectors.File, error) {
	if a.FileID == "" {
		return connectors.File{}, &models.DeliveryError{Permanent: true, Reason: "the attachment has no Telegram file id"}
	}
	limit := int64(maxDownload)
	if max > 0 && max < limit {
		limit = max
	}
	if a.Size > limit {
		return connectors.File{}, kit.TooLarge(limit)
	}
	var f tele.File
	if err := c.api.call(ctx, "getFile", map[string]string{"file_id": a.FileID}, &f); err != nil {
		return connectors.File{}, downloadError(ctx, err)
	}
	if f.FileSize > limit {
		return connectors.File{}, kit.TooLarge(limit)
	}
	dctx, cancel := context.WithTimeout(ctx, fileTimeout)
	bot, err := c.api.bot(dctx)
	if err != nil {
		cancel()
		return connectors.File{}, err
	}
	body, err := bot.File(&f)
	if err != nil {
		cancel()
		return connectors.File{}, downloadError(ctx, err)
	}
	name := a.Name
	if name == "" && f.FilePath != "" {
		name = path.Base(f.FilePath)
	}
	size := f.FileSize
	if size <= 0 {
		size = -1
	}
	return connectors.File{Body: kit.CancelOnClose(body, cancel), Name: name, ContentType: a.MIMEType, Size: size}, nil
}

// downloadError classifies a failed getFile or download: permanent with a
// plain reason when the file cannot be had, temporary otherwise. It never
// carries the file URL, which holds the bot token.
func downloadError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	err = fromTelebot("getFile", err)
	var ae *apiError
	if !errors.As(err, &ae) {
		reason := "Telegram could not be reached for the file"
		if strings.Contains(err.Error(), "expected status 200") {
			reason = "Telegram did not serve the file"
		}
		return &models.DeliveryError{Reason: reason}
	}
	desc := strings.ToLower(ae.Description)
	code := fmt.Sprint(ae.Code)
	switch {
	case ae.Code == http.StatusBadRequest && strings.Contains(desc, "too big"):
		return &models.DeliveryError{Permanent: true, Code: code, Reason: "the file is larger than 20 MB, the most Telegram lets a bot download"}
	case ae.Code == http.StatusBadRequest && (strings.Contains(desc, "file_id") || strings.Contains(desc, "file identifier") || strings.Contains(desc, "remote file id")):
		return &models.DeliveryError{Permanent: true, Code: code, Reason: "the file is no longer available on Telegram"}
	case ae.Code == http.StatusBadRequest:
		return &models.DeliveryError{Permanent: true, Code: code, Reason: "Telegram refused the file: " + ae.Description}
	case ae.Code == http.StatusTooManyRequests:
		return &models.DeliveryError{Code: code, RetryAfter: time.Duration(ae.RetryAfter) * time.Second, Reason: "Telegram's flood limit was hit"}
	}
	// 401/404 (the token was revoked: an admin can fix it), 5xx: later.
	return &models.DeliveryError{Code: code, Reason: "Telegram could not give the file: " + ae.Description}
}

// fromTelebot turns telebot's errors into *apiError, as call returns them,
// and strips the URL (which holds the token) from transport errors.
func fromTelebot(method string, err error) error {
	var flood tele.FloodError
	if errors.As(err, &flood) {
		return &apiError{Method: method, Code: http.StatusTooManyRequests, Description: "Too Many Requests", RetryAfter: flood.RetryAfter}
	}
	var group tele.GroupError
	if errors.As(err, &group) {
		return &apiError{Method: method, Code: http.StatusBadRequest, Description: "Bad Request: group chat was upgraded to a supergroup chat"}
	}
	var te *tele.Error
	if errors.As(err, &te) {
		return &apiError{Method: method, Code: te.Code, Description: te.Description}
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("telegram %s: %w", method, ue.Err)
	}
	// telebot flattens errors it does not know into "telegram: <description> (<code>)".
	if m := flatErrorRx.FindStringSubmatch(err.Error()); m != nil {
		code, _ := strconv.Atoi(m[2])
		return &apiError{Method: method, Code: code, Description: m[1]}
	}
	return fmt.Errorf("telegram %s: %w", method, err)
}

var flatErrorRx = regexp.MustCompile(`^telegram: (.*) \((\d{3})\)$`)

// uploadKind chooses how a file goes to Telegram: a photo for JPEG, PNG and
// WebP images up to 10 MB (Telegram recompresses photos; others would be
// refused or lose their animation), a voice note for Ogg audio, an audio
// for MP3 and M4A, a video for MP4, and a document otherwise.
func uploadKind(f models.OutboundFile) string {
	ct := strings.ToLower(strings.TrimSpace(strings.Split(f.ContentType, ";")[0]))
	switch {
	case (ct == "image/jpeg" || ct == "image/png" || ct == "image/webp") && f.Size <= maxPhotoUpload:
		return "photo"
	case ct == "audio/ogg" || ct == "audio/opus" || (ct == "application/ogg" && f.Type == "audio"):
		return "voice"
	case ct == "audio/mpeg" || ct == "audio/mp4" || ct == "audio/x-m4a" || ct == "audio/m4a":
		return "audio"
	case ct == "video/mp4":
		return "video"
	}
	return "document"
}

// sendFile uploads one file through telebot in a multipart body (the
// method after uploadKind), with markup when it is the message's last part.
func (c *Connector) sendFile(ctx context.Context, chat int64, f models.OutboundFile, markup *tele.ReplyMarkup) (tele.Message, error) {
	if f.Size > maxUpload {
		return tele.Message{}, &models.DeliveryError{Permanent: true, Reason: "the file is larger than 50 MB, the most Telegram lets a bot send"}
	}
	if f.Open == nil {
		return tele.Message{}, &models.DeliveryError{Permanent: true, Reason: "the file has no content to send"}
	}
	uctx, cancel := context.WithTimeout(ctx, fileTimeout)
	defer cancel()
	opened, err := f.Open(uctx)
	if err != nil {
		return tele.Message{}, fmt.Errorf("telegram: opening the file to send: %w", err)
	}
	// telebot copies the file into the request body from a goroutine of
	// its own, which may still be reading when the request has failed.
	body := &guardedReader{r: opened}
	defer body.Close()
	file := tele.FromReader(body)
	var what tele.Sendable
	switch kind := uploadKind(f); kind {
	case "photo":
		what = &tele.Photo{File: file}
	case "voice":
		what = &tele.Voice{File: file}
	case "audio":
		what = &tele.Audio{File: file, FileName: f.Name}
	case "video":
		what = &tele.Video{File: file, FileName: f.Name}
	default:
		what = &tele.Document{File: file, FileName: f.Name}
	}
	bot, err := c.api.bot(uctx)
	if err != nil {
		return tele.Message{}, err
	}
	msg, err := sendSafely(bot, what, tele.ChatID(chat), &tele.SendOptions{ReplyMarkup: markup})
	if err != nil {
		if ctx.Err() != nil {
			return tele.Message{}, ctx.Err()
		}
		return tele.Message{}, deliveryError(fromTelebot("upload", err))
	}
	return *msg, nil
}

// guardedReader serializes Read and Close, and fails reads after Close:
// the file is closed only once no read is in flight.
type guardedReader struct {
	mu     sync.Mutex
	r      io.ReadCloser
	closed bool
}

func (g *guardedReader) Read(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return 0, io.ErrClosedPipe
	}
	return g.r.Read(p)
}

func (g *guardedReader) Close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil
	}
	g.closed = true
	return g.r.Close()
}

// sendSafely calls telebot's Send, whose result decoders can panic on odd
// answers (Photo.UnmarshalJSON on an empty size list).
func sendSafely(bot *tele.Bot, what tele.Sendable, to tele.Recipient, opt *tele.SendOptions) (msg *tele.Message, err error) {
	defer func() {
		if r := recover(); r != nil {
			msg, err = nil, fmt.Errorf("telegram: malformed answer: %v", r)
		}
	}()
	msg, err = what.Send(bot, to, opt)
	if err == nil && msg == nil {
		err = errors.New("telegram: empty answer")
	}
	return msg, err
}

// teleKeyboard is buttons as telebot's inline keyboard, one per row (the
// same keyboard inlineKeyboard writes as JSON).
func teleKeyboard(buttons []models.Button) *tele.ReplyMarkup {
	if len(buttons) == 0 {
		return nil
	}
	rows := make([][]tele.InlineButton, 0, len(buttons))
	for _, b := range buttons {
		rows = append(rows, []tele.InlineButton{{Text: b.Label, Data: b.ID}})
	}
	return &tele.ReplyMarkup{InlineKeyboard: rows}
}
