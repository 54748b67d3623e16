package dcfake

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// CDNHost is the host of the attachment URLs the stand-in hands out, as
// Discord's. The stand-in serves their paths itself
// ({URL}/attachments/{channel}/{attachment}/{filename}), so a client that
// sends CDN requests to its api_url (as Tongdao's connector does when
// api_url is set) reaches it.
const CDNHost = "cdn.discordapp.com"

// Discord's limits for files.
const (
	// MaxUploadSize is the most a bot may upload in one message (Discord's
	// default 10 MiB); a larger request gets 413 with code 40005.
	MaxUploadSize = 10 << 20
	// maxFiles is the most files one message carries.
	maxFiles = 10
	// cdnURLTTL is how long a signed CDN URL stays valid.
	cdnURLTTL = 24 * time.Hour
	// flagVoiceMessage is the IS_VOICE_MESSAGE message flag.
	flagVoiceMessage = 1 << 13
)

// cdnURLLocked is a signed CDN URL for an attachment: ex (expiry) and is
// (issue) are hex Unix times, as Discord's; hm stands for the signature.
// s.mu must be held.
func (s *Server) cdnURLLocked(channelID, attachmentID, filename string) string {
	now := s.now()
	q := url.Values{}
	q.Set("ex", strconv.FormatInt(now.Add(cdnURLTTL).Unix(), 16))
	q.Set("is", strconv.FormatInt(now.Unix(), 16))
	hm := randomHex(32)
	q.Set("hm", hm)
	if s.links[attachmentID] == nil {
		s.links[attachmentID] = map[string]bool{}
	}
	s.links[attachmentID][hm] = true
	return "https://" + CDNHost + "/attachments/" + channelID + "/" + attachmentID + "/" + url.PathEscape(filename) + "?" + q.Encode()
}

// serveCDN serves an attachment's bytes while its URL is valid: signed by
// the stand-in, not expired by its clock (nor by ExpireAttachment). Discord
// answers other links with 404 "This content is no longer available.".
func (s *Server) serveCDN(w http.ResponseWriter, r *http.Request) {
	ex, err := strconv.ParseInt(r.URL.Query().Get("ex"), 16, 64)
	s.mu.Lock()
	data, ok := s.files[r.PathValue("id")]
	expired := err != nil || !s.now().Before(time.Unix(ex, 0)) || !s.links[r.PathValue("id")][r.URL.Query().Get("hm")]
	if ok && !expired {
		s.cdnGets++
	}
	s.mu.Unlock()
	if !ok || expired {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, "This content is no longer available.")
		return
	}
	w.Header().Set("Content-Type", http.DetectContentType(data))
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	_, _ = w.Write(data)
}

// CDNGets reports how many attachment downloads the CDN route served.
func (s *Server) CDNGets() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cdnGets
}

// AttachmentData returns the bytes of an attachment (a customer's, or one
// the bot uploaded), by attachment id.
func (s *Server) AttachmentData(id string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	data, ok := s.files[id]
	return data, ok
}

// ExpireAttachment makes every link to the attachment issued so far expire
// now, as a day after they were issued on Discord; refresh-urls issues new
// ones.
func (s *Server) ExpireAttachment(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.links, id)
}

// DeleteAttachment deletes the attachment's file, as when its message is
// deleted: its links stop working and cannot be refreshed.
func (s *Server) DeleteAttachment(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.links, id)
	delete(s.files, id)
}

// handleRefreshURLs is POST /attachments/refresh-urls: fresh signed links
// for attachment URLs whose file still exists (others are left out).
func (s *Server) handleRefreshURLs(w http.ResponseWriter, r *http.Request) {
	var req struct {
		URLs []string `json:"attachment_urls"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.URLs) == 0 || len(req.URLs) > 50 {
		writeFormError(w, "attachment_urls", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 50 in length.")
		return
	}
	type refreshed struct {
		Original  string `json:"original"`
		Refreshed string `json:"refreshed"`
	}
	out := []refreshed{}
	s.mu.Lock()
	for _, raw := range req.URLs {
		u, err := url.Parse(raw)
		if err != nil {
			continue
		}
		parts := strings.Split(strings.TrimPrefix(u.EscapedPath(), "/attachments/"), "/")
		if len(parts) != 3 {
			continue
		}
		name, _ := url.PathUnescape(parts[2])
		if _, ok := s.files[parts[1]]; ok {
			out = append(out, refreshed{Original: raw, Refreshed: s.cdnURLLocked(parts[0], parts[1], name)})
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"refreshed_urls": out})
}

// upload is a file part of a multipart message.
type upload struct {
	index       int
	name        string
	contentType string
	data        []byte
}

// readUploads reads the files[n] parts of a multipart message, in index
// order, and returns its payload_json.
func readUploads(r *http.Request) (string, []upload, error) {
	if err := r.ParseMultipartForm(MaxUploadSize); err != nil {
		return "", nil, err
	}
	defer r.MultipartForm.RemoveAll()
	payload := ""
	if v := r.MultipartForm.Value["payload_json"]; len(v) > 0 {
		payload = v[0]
	}
	var ups []upload
	for field, fhs := range r.MultipartForm.File {
		inner, ok := strings.CutPrefix(field, "files[")
		if !ok || !strings.HasSuffix(inner, "]") || len(fhs) == 0 {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSuffix(inner, "]"))
		if err != nil {
			continue
		}
		f, err := fhs[0].Open()
		if err != nil {
			return "", nil, err
		}
		data, err := io.ReadAll(f)
		f.Close()
		if err != nil {
			return "", nil, err
		}
		ct, _, _ := mime.ParseMediaType(fhs[0].Header.Get("Content-Type"))
		if ct == "" || ct == "application/octet-stream" {
			ct = http.DetectContentType(data)
		}
		ups = append(ups, upload{index: n, name: fhs[0].Filename, contentType: ct, data: data})
	}
	sort.Slice(ups, func(i, j int) bool { return ups[i].index < ups[j].index })
	return payload, ups, nil
}

// attachUploadsLocked stores uploaded files on m. s.mu must be held.
func (s *Server) attachUploadsLocked(m *message, ups []upload) {
	for _, u := range ups {
		a := Attachment{ID: s.newIDLocked(), Filename: u.name, ContentType: u.contentType, Size: int64(len(u.data))}
		a.URL = s.cdnURLLocked(m.ChannelID, a.ID, a.Filename)
		s.files[a.ID] = u.data
		m.Attachments = append(m.Attachments, a)
	}
}

// SendPhoto is a customer's DM with a photo (nil data: a sample JPEG).
func (s *Server) SendPhoto(ctx context.Context, u User, text string, data []byte) (Message, error) {
	return s.sendSample(ctx, CustomerMessage{DM: true, User: u, Text: text}, &sampleFile{Data: data}, nil, nil)
}

// SendVoice is a customer's voice message in DM: an Ogg Opus file of
// seconds (nil data: silence), with the IS_VOICE_MESSAGE flag.
func (s *Server) SendVoice(ctx context.Context, u User, seconds int, data []byte) (Message, error) {
	return s.sendSample(ctx, CustomerMessage{DM: true, User: u}, nil, &sampleFile{Data: data, Duration: seconds}, nil)
}

// SendDocument is a customer's DM with a file (nil data: a sample PDF).
func (s *Server) SendDocument(ctx context.Context, u User, text, name string, data []byte) (Message, error) {
	return s.sendSample(ctx, CustomerMessage{DM: true, User: u, Text: text}, nil, nil, &sampleFile{Data: data, Filename: name})
}

func (s *Server) sendSample(ctx context.Context, cm CustomerMessage, photo, voice, document *sampleFile) (Message, error) {
	if msg := cm.addSample(photo, voice, document); msg != "" {
		return Message{}, errors.New("dcfake: " + msg)
	}
	return s.Post(ctx, cm)
}

// tooLarge reports a request over MaxUploadSize.
func tooLarge(w http.ResponseWriter) {
	writeJSON(w, http.StatusRequestEntityTooLarge, apiError{Code: 40005, Message: "Request entity too large"})
}
