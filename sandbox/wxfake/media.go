package wxfake

import (
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// MediaTTL is how long temporary media live on WeChat: three days after
// the upload (or the customer's message). After it media/get and messages
// naming the media_id get 40007 "invalid media_id".
const MediaTTL = 3 * 24 * time.Hour

// addMediaLocked stores temporary media for a and returns its media_id.
// s.mu must be held.
func (s *Server) addMediaLocked(a *account, kind string, data []byte, name string) string {
	id := randomString(64, alnum+"_-")
	s.media[id] = &mediaItem{appID: a.AppID, kind: kind, data: data, name: name, created: s.now()}
	return id
}

// liveMediaLocked returns a's media id when it exists and has not expired
// by the stand-in's clock. s.mu must be held.
func (s *Server) liveMediaLocked(a *account, id string) *mediaItem {
	m, ok := s.media[id]
	if !ok || m.appID != a.AppID || !s.now().Before(m.created.Add(MediaTTL)) {
		return nil
	}
	return m
}

// Upload is a temporary medium the connector uploaded (media/upload).
type Upload struct {
	MediaID string `json:"media_id"`
	// Type is image, voice, video or thumb, as uploaded.
	Type string `json:"type"`
	// Name is the multipart file name; ContentType is sniffed from the bytes.
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Size        int    `json:"size"`
	SHA256      string `json:"sha256"`
}

// Uploads lists the media the connector uploaded, oldest first; Media has
// their bytes.
func (s *Server) Uploads() []Upload {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Upload, 0, len(s.uploads))
	for _, id := range s.uploads {
		m := s.media[id]
		sum := sha256.Sum256(m.data)
		ct, _ := mediaType(m)
		out = append(out, Upload{MediaID: id, Type: m.kind, Name: m.name, ContentType: ct, Size: len(m.data), SHA256: hex.EncodeToString(sum[:])})
	}
	return out
}

// MediaGets reports how many media/get calls served a file (or a video's
// link).
func (s *Server) MediaGets() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mediaGets
}

// AddMedia stores temporary media of kind (image, voice, video) for appID
// ("" the first account) as if a customer had sent it, created now by the
// stand-in's clock, and returns its media_id: for tests that push their
// own XML.
func (s *Server) AddMedia(appID, kind string, data []byte) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.accountLocked(appID)
	if err != nil {
		return "", err
	}
	return s.addMediaLocked(a, kind, data, ""), nil
}
