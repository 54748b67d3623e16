package tgfake

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	_ "image/gif"  // photo dimensions
	_ "image/jpeg" // photo dimensions
	_ "image/png"  // photo dimensions
	"io"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
)

// Telegram's file limits for bots.
const (
	// MaxDownloadSize is the largest file getFile hands out (20 MB):
	// larger files get 400 "Bad Request: file is too big".
	MaxDownloadSize = 20 << 20
	// MaxUploadSize is the largest file a bot may upload (50 MB); larger
	// bodies get 413 "Request Entity Too Large".
	MaxUploadSize = 50 << 20
	// MaxPhotoSize is the largest photo a bot may upload (10 MB).
	MaxPhotoSize = 10 << 20
)

// storedFile is a file the stand-in holds: sent by a customer or uploaded
// by the bot.
type storedFile struct {
	File
	data []byte
	// zeros > 0 stands for a file of that many zero bytes, made on download
	// (a large file without holding it).
	zeros int64
	name  string
	mime  string
}

// folders are the directories of file_path per kind, as on Telegram.
var folders = map[string]string{
	"photo": "photos", "document": "documents", "voice": "voice", "audio": "music", "video": "videos",
}

// addFile stores a file of kind (photo, document, voice, audio, video) and
// returns its getFile description. s.mu must be held.
func (s *Server) addFile(kind string, data []byte, zeros int64, name, mime string) File {
	s.nextFile++
	n := strconv.Itoa(s.nextFile)
	ext := path.Ext(name)
	if ext == "" {
		ext = extFor(kind, mime, data)
	}
	folder := folders[kind]
	if folder == "" {
		folder = "documents"
	}
	size := int64(len(data))
	if zeros > 0 {
		size = zeros
	}
	f := &storedFile{
		File: File{
			// Real file ids are long opaque strings; these keep the kind
			// readable in logs and tests.
			FileID: "AgAD" + kind + "-" + n + "-" + strconv.FormatInt(s.bot.ID, 36), FileUniqueID: "AQAD" + n,
			FileSize: size, FilePath: folder + "/file_" + n + ext,
		},
		data: data, zeros: zeros, name: name, mime: mime,
	}
	s.files[f.FileID] = f
	return f.File
}

func extFor(kind, mime string, data []byte) string {
	if mime == "" && data != nil {
		mime = http.DetectContentType(data)
	}
	switch {
	case kind == "voice" || strings.HasPrefix(mime, "audio/ogg") || mime == "application/ogg":
		return ".oga"
	case strings.HasPrefix(mime, "image/jpeg"):
		return ".jpg"
	case strings.HasPrefix(mime, "image/png"):
		return ".png"
	case strings.HasPrefix(mime, "application/pdf"):
		return ".pdf"
	case strings.HasPrefix(mime, "video/mp4"):
		return ".mp4"
	case strings.HasPrefix(mime, "audio/mpeg"):
		return ".mp3"
	}
	return ""
}

// AddFile stores bytes as a file of kind (photo, document, voice, audio,
// video) without sending anything, and returns its getFile description:
// for tests that build their own updates (PushRaw).
func (s *Server) AddFile(kind string, data []byte, name, mime string) File {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addFile(kind, data, 0, name, mime)
}

// AddLargeFile stores a file of size zero bytes (made on download, not
// held): a file over MaxDownloadSize that getFile refuses, as Telegram does.
func (s *Server) AddLargeFile(kind string, size int64, name string) File {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addFile(kind, nil, size, name, "application/octet-stream")
}

// FileData returns the bytes of a stored file (a customer's or one the bot
// uploaded), by file_id.
func (s *Server) FileData(fileID string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.files[fileID]
	if f == nil || f.zeros > 0 {
		return nil, false
	}
	return f.data, true
}

// Downloads reports how many file downloads ({URL}/file/bot<token>/...)
// the stand-in served, whole or not.
func (s *Server) Downloads() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.downloads
}

// getFile describes a file for download, refusing files over 20 MB.
func (s *Server) getFile(_ context.Context, p params) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := strings.TrimSpace(p["file_id"])
	if id == "" {
		return nil, badRequest("file_id not specified")
	}
	f := s.files[id]
	if f == nil {
		return nil, badRequest("invalid file_id")
	}
	if f.FileSize > MaxDownloadSize {
		return nil, badRequest("file is too big")
	}
	return f.File, nil
}

// serveFile serves {URL}/file/bot<token>/<file_path>.
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request, rest string) {
	token, filePath, ok := strings.Cut(rest, "/")
	if !ok || token != s.opts.Token {
		writeError(w, apiError{code: 401, description: "Unauthorized"})
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeError(w, apiError{code: 405, description: "Method Not Allowed"})
		return
	}
	s.mu.Lock()
	var f *storedFile
	for _, sf := range s.files {
		if sf.FilePath == filePath {
			f = sf
			break
		}
	}
	if f != nil {
		s.downloads++
	}
	s.mu.Unlock()
	if f == nil || f.FileSize > MaxDownloadSize {
		writeError(w, apiError{code: 404, description: "Not Found"})
		return
	}
	// Telegram serves every file as application/octet-stream.
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.FormatInt(f.FileSize, 10))
	if r.Method == http.MethodHead {
		return
	}
	if f.zeros > 0 {
		_, _ = io.CopyN(w, zeroReader{}, f.zeros)
		return
	}
	_, _ = w.Write(f.data)
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// upload is a file part of a multipart request.
type upload struct {
	name string
	data []byte
}

type uploadsKey struct{}

// readMultipart reads a multipart body: parameters into p, files by part
// name. A part is a file when its Content-Disposition carries a filename
// parameter, even an empty one (telebot uploads photos with filename=""),
// which Go's own form parser would take for a plain value.
func readMultipart(r *http.Request, p params) (map[string]upload, error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, fmt.Errorf("can't parse multipart form: %w", err)
	}
	uploads := map[string]upload{}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return uploads, nil
		}
		if err != nil {
			return nil, fmt.Errorf("can't parse multipart form: %w", err)
		}
		data, err := io.ReadAll(part)
		if err != nil {
			return nil, fmt.Errorf("can't parse multipart form: %w", err)
		}
		_, disp, _ := mime.ParseMediaType(part.Header.Get("Content-Disposition"))
		name := part.FormName()
		if filename, isFile := disp["filename"]; isFile {
			uploads[name] = upload{name: filename, data: data}
		} else if name != "" {
			p[name] = string(data)
		}
	}
}

// uploadFor finds the bytes of a send method's file field: a part named
// after the field, or "attach://<part>" naming one. ok is false when the
// field is a file_id or a URL instead.
func uploadFor(ctx context.Context, p params, field string) (up upload, ok bool, aerr *apiError) {
	uploads, _ := ctx.Value(uploadsKey{}).(map[string]upload)
	if ref, isAttach := strings.CutPrefix(p[field], "attach://"); isAttach {
		up, ok = uploads[ref]
		if !ok {
			return upload{}, false, badRequest("wrong HTTP URL specified")
		}
		return up, true, nil
	}
	up, ok = uploads[field]
	return up, ok, nil
}

// storeUpload checks an uploaded file against Telegram's limits for field
// and stores it. s.mu must be held.
func (s *Server) storeUpload(field string, up upload) (File, *Upload, *apiError) {
	size := int64(len(up.data))
	ct := http.DetectContentType(up.data)
	switch {
	case size == 0:
		return File{}, nil, badRequest("file must be non-empty")
	case size > MaxUploadSize:
		return File{}, nil, &apiError{code: 413, description: "Request Entity Too Large"}
	case field == "photo" && size > MaxPhotoSize:
		return File{}, nil, badRequest("PHOTO_INVALID_DIMENSIONS")
	case field == "photo" && !strings.HasPrefix(ct, "image/"):
		return File{}, nil, badRequest("IMAGE_PROCESS_FAILED")
	}
	f := s.addFile(field, up.data, 0, up.name, ct)
	sum := sha256.Sum256(up.data)
	return f, &Upload{FileID: f.FileID, Name: up.name, ContentType: ct, Size: size, SHA256: hex.EncodeToString(sum[:])}, nil
}

// imageSize returns an image's dimensions, or 0, 0 when they cannot be read.
func imageSize(data []byte) (int, int) {
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return 0, 0
	}
	return cfg.Width, cfg.Height
}
