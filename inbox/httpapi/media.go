package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/tongdao/hub/inbox/mediafile"
	"github.com/tongdao/hub/models"
)

// MediaInbox is what the media routes need of the inbox beyond Inbox; an
// inbox without it keeps no files (the routes answer 404 and uploads 503).
type MediaInbox interface {
	// OpenAttachment opens a stored file, or its thumbnail.
	OpenAttachment(ctx context.Context, id int64, thumb bool) (models.MediaFile, error)
	// ReplyWithFiles stores an agent's message with uploaded files.
	ReplyWithFiles(ctx context.Context, req models.ReplyRequest, files []models.Upload) (models.MessageView, error)
}

// DefaultMaxUploadBytes is the default limit of one uploaded file.
const DefaultMaxUploadBytes = 20 << 20

// maxUploadFiles bounds the file parts of one message.
const maxUploadFiles = 10

// attachmentCSP keeps a served file from running anything, even opened
// directly in a tab.
const attachmentCSP = "default-src 'none'; sandbox"

func (s *Server) getAttachment(c *gin.Context)          { s.serveAttachment(c, false) }
func (s *Server) getAttachmentThumbnail(c *gin.Context) { s.serveAttachment(c, true) }

// serveAttachment serves a stored file from the media store with its
// sniffed type, never a redirect to the platform: inline for images, audio
// and video, as a download otherwise, with range requests.
func (s *Server) serveAttachment(c *gin.Context, thumb bool) {
	id, err := pathID(c, "id", "attachment")
	if err != nil {
		s.writeError(c, err)
		return
	}
	mi, ok := s.inbox.(MediaInbox)
	if !ok {
		s.writeError(c, models.Errorf(models.ENOTFOUND, "attachment %d not found", id))
		return
	}
	f, err := mi.OpenAttachment(c.Request.Context(), id, thumb)
	if err != nil {
		s.writeError(c, err)
		return
	}
	defer f.Body.Close()
	h := c.Writer.Header()
	h.Set("Content-Type", f.ContentType)
	h.Set("Content-Disposition", mediafile.ContentDisposition(mediafile.Inline(f.ContentType), f.Name))
	h.Set("Content-Security-Policy", attachmentCSP)
	h.Set("Cache-Control", "private, no-store")
	http.ServeContent(c.Writer, c.Request, "", time.Time{}, f.Body)
}

// replyMultipart is POST /conversations/{id}/messages with files: the
// fields text, private and via, and one or more file parts. Each file is
// limited to the upload limit (413), its type sniffed (415); nothing is
// stored unless everything is accepted.
func (s *Server) replyMultipart(c *gin.Context, id int64) {
	mi, ok := s.inbox.(MediaInbox)
	if !ok {
		s.writeError(c, models.Errorf(models.EUNAVAILABLE, "the hub keeps no files"))
		return
	}
	limit := s.maxUpload*maxUploadFiles + s.maxBody
	if c.Request.ContentLength > limit {
		s.writeError(c, tooLarge(limit))
		return
	}
	var w http.ResponseWriter = c.Writer
	if u, ok := w.(interface{ Unwrap() http.ResponseWriter }); ok {
		w = u.Unwrap()
	}
	c.Request.Body = http.MaxBytesReader(w, c.Request.Body, limit)
	if err := c.Request.ParseMultipartForm(8 << 20); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			s.writeError(c, tooLarge(limit))
			return
		}
		s.writeError(c, models.Errorf(models.EINVALID, "the multipart body cannot be read: %s", plainMultipartError(err)))
		return
	}
	form := c.Request.MultipartForm
	defer func() { _ = form.RemoveAll() }()
	for k, v := range form.Value {
		switch k {
		case "text", "private", "via":
			if len(v) != 1 {
				s.writeError(c, models.Errorf(models.EINVALID, "field %q is given %d times", k, len(v)))
				return
			}
		default:
			s.writeError(c, models.Errorf(models.EINVALID, "unknown field %q (known: text, private, via, file)", truncate(k, 50)))
			return
		}
	}
	for k := range form.File {
		if k != "file" {
			s.writeError(c, models.Errorf(models.EINVALID, "unknown file field %q: name file parts \"file\"", truncate(k, 50)))
			return
		}
	}
	req := models.ReplyRequest{ConversationID: id, Actor: actorOf(c)}
	if v := form.Value["text"]; len(v) == 1 {
		req.Text = v[0]
	}
	if v := form.Value["private"]; len(v) == 1 {
		p, err := strconv.ParseBool(v[0])
		if err != nil {
			s.writeError(c, models.Errorf(models.EINVALID, "field \"private\" must be true or false"))
			return
		}
		req.Private = p
	}
	if v := form.Value["via"]; len(v) == 1 && v[0] != "" {
		via, err := models.ParseID(v[0])
		if err != nil {
			s.writeError(c, models.Errorf(models.EINVALID, "field \"via\": %s", models.ErrorMessage(err)))
			return
		}
		req.Via = via
	}
	fhs := form.File["file"]
	if len(fhs) == 0 {
		s.writeError(c, models.Errorf(models.EINVALID, "a multipart message needs at least one file part (or send JSON)"))
		return
	}
	if len(fhs) > maxUploadFiles {
		s.writeError(c, models.Errorf(models.EINVALID, "at most %d files a message, not %d", maxUploadFiles, len(fhs)))
		return
	}
	files := make([]models.Upload, 0, len(fhs))
	for _, fh := range fhs {
		if fh.Size > s.maxUpload {
			s.writeError(c, withStatus(http.StatusRequestEntityTooLarge, models.EINVALID,
				fmt.Sprintf("file %q is larger than the upload limit of %d MB", mediafile.SafeName(fh.Filename, ""), s.maxUpload>>20)))
			return
		}
		if fh.Size == 0 {
			s.writeError(c, models.Errorf(models.EINVALID, "file %q is empty", mediafile.SafeName(fh.Filename, "")))
			return
		}
		ct := fh.Header.Get("Content-Type")
		if _, _, err := mime.ParseMediaType(ct); err != nil {
			ct = ""
		}
		files = append(files, models.Upload{Name: fh.Filename, ContentType: ct,
			Open: func() (io.ReadCloser, error) { return fh.Open() }})
	}
	msg, err := mi.ReplyWithFiles(c.Request.Context(), req, files)
	switch {
	case errors.Is(err, models.ErrUploadTooLarge):
		s.writeError(c, withStatus(http.StatusRequestEntityTooLarge, models.EINVALID, models.ErrorMessage(err)))
		return
	case errors.Is(err, models.ErrUploadUnsupported):
		s.writeError(c, withStatus(http.StatusUnsupportedMediaType, models.EINVALID, models.ErrorMessage(err)))
		return
	case err != nil:
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusAccepted, msg)
}

// isMultipart reports whether the request's body is multipart/form-data.
func isMultipart(c *gin.Context) bool {
	mt, _, err := mime.ParseMediaType(c.GetHeader("Content-Type"))
	return err == nil && strings.EqualFold(mt, "multipart/form-data")
}

func plainMultipartError(err error) string {
	msg := err.Error()
	if len(msg) > 200 {
		msg = msg[:200]
	}
	return msg
}
