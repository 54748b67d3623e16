package wxfake

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
)

// customerRequest is the JSON body of the customer-play endpoints.
type customerRequest struct {
	AppID  string `json:"app_id"`
	OpenID string `json:"openid"`
	Text   string `json:"text"`
	// URL is an image's PicUrl (/image); empty uses a sample image.
	URL string `json:"url"`
	// Data is a file's bytes, base64 in JSON (/image, /voice, /video):
	// left out, a sample photo or voice note.
	Data []byte `json:"data"`
	// Scene is a QR scene (/follow, /scan); QR a QR image URL or ticket
	// resolved to its scene.
	Scene string `json:"scene"`
	QR    string `json:"qr"`
	// Key is a menu key (/click).
	Key string `json:"key"`
	// Latitude, Longitude and Label describe a location (/location).
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
	Label     string  `json:"label"`
}

// CustomerAPI lets a person (or a test) play WeChat customers over JSON. The
// sandbox mounts it under /sandbox/wechat/; paths work with or without that
// prefix:
//
//	POST /send     {"app_id"?, "openid", "text"}  (follows first when needed)
//	POST /image    {"app_id"?, "openid", "url"?, "data"?}   a photo (data: base64; default a sample JPEG)
//	POST /voice    {"app_id"?, "openid", "text"?, "data"?}  a voice note; text is WeChat's Recognition
//	POST /video    {"app_id"?, "openid", "data"}            a video (MP4 bytes, base64)
//	POST /location {"app_id"?, "openid", "latitude", "longitude", "label"?}
//	POST /follow   {"app_id"?, "openid", "scene"? | "qr"?}
//	POST /unfollow {"app_id"?, "openid"}
//	POST /scan     {"app_id"?, "openid", "scene" | "qr"}
//	POST /click    {"app_id"?, "openid", "key"}
//	GET  /sent?openid=…&app_id=…   what the account sent (kefu and passive)
//	GET  /qr?url=…                 the account and scene of a QR code
//	GET  /media?media_id=…         the bytes of media the account uploaded (an agent's image)
//	POST /verify   {"app_id"?}     runs the URL verification against the hub
//
// Push endpoints answer the Delivery (how the hub answered).
func (s *Server) CustomerAPI() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := strings.TrimPrefix(r.URL.Path, "/sandbox/wechat")
		p = "/" + strings.Trim(p, "/")
		switch {
		case r.Method == http.MethodGet && p == "/sent":
			q := r.URL.Query()
			sent := s.Sent(q.Get("app_id"), q.Get("openid"))
			if sent == nil {
				sent = []Sent{}
			}
			writeJSON(w, map[string]any{"sent": sent})
		case r.Method == http.MethodGet && p == "/qr":
			appID, scene, ok := s.SceneForQR(r.URL.Query().Get("url"))
			if !ok {
				customerError(w, http.StatusNotFound, "unknown or expired QR code")
				return
			}
			writeJSON(w, map[string]string{"app_id": appID, "scene": scene})
		case r.Method == http.MethodGet && p == "/media":
			data, ok := s.Media(r.URL.Query().Get("media_id"))
			if !ok {
				customerError(w, http.StatusNotFound, "unknown media_id")
				return
			}
			w.Header().Set("Content-Type", http.DetectContentType(data))
			w.Header().Set("X-Content-Type-Options", "nosniff")
			w.Header().Set("Content-Disposition", "attachment")
			_, _ = w.Write(data)
		case r.Method == http.MethodPost:
			s.customerPost(w, r, p)
		default:
			customerError(w, http.StatusNotFound, "no such endpoint")
		}
	})
}

func (s *Server) customerPost(w http.ResponseWriter, r *http.Request, p string) {
	var req customerRequest
	// Room for a 10 MB file in base64.
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 14<<20))
	if err == nil && len(strings.TrimSpace(string(body))) > 0 {
		err = json.Unmarshal(body, &req)
	}
	if err != nil {
		customerError(w, http.StatusBadRequest, "invalid JSON body")
		return
	}
	ctx := r.Context()
	if p == "/verify" {
		res, err := s.Verify(ctx, req.AppID)
		if err != nil {
			customerError(w, http.StatusBadRequest, err.Error())
			return
		}
		writeJSON(w, res)
		return
	}
	if req.OpenID == "" {
		customerError(w, http.StatusBadRequest, "openid required")
		return
	}
	if req.QR != "" {
		appID, scene, ok := s.SceneForQR(req.QR)
		if !ok {
			customerError(w, http.StatusBadRequest, "unknown or expired QR code")
			return
		}
		req.AppID, req.Scene = appID, scene
	}
	var d Delivery
	switch p {
	case "/send":
		if req.Text == "" {
			customerError(w, http.StatusBadRequest, "text required")
			return
		}
		d, err = s.SendText(ctx, req.AppID, req.OpenID, req.Text)
		if errors.Is(err, ErrNotFollowing) {
			if _, err = s.Follow(ctx, req.AppID, req.OpenID, ""); err == nil {
				d, err = s.SendText(ctx, req.AppID, req.OpenID, req.Text)
			}
		}
	case "/image", "/voice", "/video":
		if req.Data != nil && len(req.Data) == 0 {
			customerError(w, http.StatusBadRequest, "data is empty (leave it out for a sample file)")
			return
		}
		if p == "/image" && req.Data != nil && !strings.HasPrefix(http.DetectContentType(req.Data), "image/") {
			customerError(w, http.StatusBadRequest, "data is not an image")
			return
		}
		if p == "/video" && len(req.Data) == 0 {
			customerError(w, http.StatusBadRequest, "a video needs its bytes in data")
			return
		}
		send := func() (Delivery, error) {
			switch p {
			case "/image":
				return s.SendImageData(ctx, req.AppID, req.OpenID, req.URL, req.Data)
			case "/voice":
				return s.SendVoiceData(ctx, req.AppID, req.OpenID, req.Text, req.Data)
			}
			return s.SendVideo(ctx, req.AppID, req.OpenID, req.Data)
		}
		// As for /send, a customer who does not follow yet follows first.
		d, err = send()
		if errors.Is(err, ErrNotFollowing) {
			if _, err = s.Follow(ctx, req.AppID, req.OpenID, ""); err == nil {
				d, err = send()
			}
		}
	case "/location":
		d, err = s.SendLocation(ctx, req.AppID, req.OpenID, req.Latitude, req.Longitude, req.Label)
	case "/follow":
		d, err = s.Follow(ctx, req.AppID, req.OpenID, req.Scene)
	case "/unfollow":
		d, err = s.Unfollow(ctx, req.AppID, req.OpenID)
	case "/scan":
		if req.Scene == "" {
			customerError(w, http.StatusBadRequest, "scene or qr required")
			return
		}
		d, err = s.Scan(ctx, req.AppID, req.OpenID, req.Scene)
	case "/click":
		if req.Key == "" {
			customerError(w, http.StatusBadRequest, "key required")
			return
		}
		d, err = s.Click(ctx, req.AppID, req.OpenID, req.Key)
	default:
		customerError(w, http.StatusNotFound, "no such endpoint")
		return
	}
	if err != nil {
		status := http.StatusBadRequest
		if errors.Is(err, ErrNotFollowing) {
			status = http.StatusConflict
		}
		customerError(w, status, err.Error())
		return
	}
	writeJSON(w, d)
}

func customerError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": msg})
}
