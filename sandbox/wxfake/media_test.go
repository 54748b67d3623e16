package wxfake

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tongdao/hub/internal/wait"
	"github.com/tongdao/hub/sandbox/samples"
)

func token(t *testing.T, s *Server) string {
	t.Helper()
	m := getJSON(t, s.URL()+"/cgi-bin/token?grant_type=client_credential&appid=wx1234567890abcdef&secret=sec")
	tok, _ := m["access_token"].(string)
	if tok == "" {
		t.Fatalf("token: %v", m)
	}
	return tok
}

// get fetches u and returns the status, Content-Type and body.
func get(t *testing.T, u string) (int, http.Header, []byte) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, body
}

func errcode(t *testing.T, body []byte) float64 {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("not a JSON answer: %q", body)
	}
	c, _ := m["errcode"].(float64)
	return c
}

// TestMediaGetAndExpiry: a customer's voice note (with Recognition) and
// photo are served by media/get with WeChat's headers until three days
// have passed on the stand-in's clock, then 40007; a video answers with its
// video_url.
func TestMediaGetAndExpiry(t *testing.T) {
	s, hub, clk := newTestServer(t, true)
	ctx := wait.Context(t)
	if _, err := s.Follow(ctx, "", "o1", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SendVoice(ctx, "", "o1", "我的包裹坏了"); err != nil {
		t.Fatal(err)
	}
	hub.mu.Lock()
	voicePush := hub.pushes[len(hub.pushes)-1]
	hub.mu.Unlock()
	var p struct{ MediaID, Format, Recognition string }
	p.MediaID = between(voicePush, "<MediaId><![CDATA[", "]]>")
	p.Recognition = between(voicePush, "<Recognition><![CDATA[", "]]>")
	if p.MediaID == "" || p.Recognition != "我的包裹坏了" || !strings.Contains(voicePush, "<Format><![CDATA[amr]]>") {
		t.Fatalf("voice push = %s", voicePush)
	}
	tok := token(t, s)
	mediaGet := s.URL() + "/cgi-bin/media/get?access_token=" + url.QueryEscape(tok) + "&media_id="
	code, h, body := get(t, mediaGet+p.MediaID)
	if code != 200 || h.Get("Content-Type") != "audio/amr" || !bytes.HasPrefix(body, []byte("#!AMR\n")) ||
		h.Get("Content-Disposition") != `attachment; filename="`+p.MediaID+`.amr"` {
		t.Fatalf("voice media/get: %d %v %q", code, h, body[:min(len(body), 8)])
	}

	jpg := samples.JPEG(100, 80)
	imgID, err := s.AddMedia("", "image", jpg)
	if err != nil {
		t.Fatal(err)
	}
	if code, h, body := get(t, mediaGet+imgID); code != 200 || h.Get("Content-Type") != "image/jpeg" || !bytes.Equal(body, jpg) {
		t.Fatalf("image media/get: %d %v", code, h)
	}
	vidID, _ := s.AddMedia("", "video", []byte("\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"))
	_, _, body = get(t, mediaGet+vidID)
	var v struct {
		VideoURL string `json:"video_url"`
	}
	if err := json.Unmarshal(body, &v); err != nil || v.VideoURL == "" {
		t.Fatalf("video media/get = %s", body)
	}
	if code, h, _ := get(t, v.VideoURL); code != 200 || h.Get("Content-Type") != "video/mp4" {
		t.Errorf("video_url: %d %v", code, h)
	}
	if s.MediaGets() != 3 {
		t.Errorf("MediaGets = %d", s.MediaGets())
	}

	if _, _, body := get(t, mediaGet+"nope"); errcode(t, body) != 40007 {
		t.Errorf("unknown media_id: %s", body)
	}
	clk.Advance(MediaTTL - time.Minute)
	tok = token(t, s)
	mediaGet = s.URL() + "/cgi-bin/media/get?access_token=" + url.QueryEscape(tok) + "&media_id="
	if code, _, _ := get(t, mediaGet+imgID); code != 200 {
		t.Errorf("a minute before expiry: %d", code)
	}
	clk.Advance(2 * time.Minute)
	if _, _, body := get(t, mediaGet+imgID); errcode(t, body) != 40007 {
		t.Errorf("after three days: %s", body)
	}
	if s.MediaGets() != 4 {
		t.Errorf("MediaGets = %d, want 4 (expired media served nothing)", s.MediaGets())
	}
}

func between(s, start, end string) string {
	i := strings.Index(s, start)
	if i < 0 {
		return ""
	}
	s = s[i+len(start):]
	j := strings.Index(s, end)
	if j < 0 {
		return ""
	}
	return s[:j]
}

// upload posts data to media/upload as the SDK does (a "media" part).
func upload(t *testing.T, s *Server, tok, kind, name string, data []byte) map[string]any {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	fw, _ := mw.CreateFormFile("media", name)
	_, _ = fw.Write(data)
	mw.Close()
	resp, err := http.Post(s.URL()+"/cgi-bin/media/upload?type="+kind+"&access_token="+url.QueryEscape(tok), mw.FormDataContentType(), &b)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return m
}

// TestUploadAndKefuMedia: uploads are recorded with their bytes; image,
// voice and video customer-service messages need a live media_id of their
// own type, and an expired upload is 40007.
func TestUploadAndKefuMedia(t *testing.T) {
	s, _, clk := newTestServer(t, false)
	ctx := wait.Context(t)
	if _, err := s.SendText(ctx, "", "o1", "hi"); err == nil {
		t.Fatal("a customer who does not follow wrote")
	}
	if _, err := s.Follow(ctx, "", "o1", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SendText(ctx, "", "o1", "hi"); err != nil {
		t.Fatal(err)
	}
	tok := token(t, s)
	png := samples.PNG(40, 30)
	img := upload(t, s, tok, "image", "label.png", png)
	voice := upload(t, s, tok, "voice", "note.amr", samples.AMR(1))
	if img["media_id"] == nil || voice["media_id"] == nil {
		t.Fatalf("uploads: %v %v", img, voice)
	}
	if m := upload(t, s, tok, "image", "a.pdf", samples.PDF("x")); m["errcode"] != 40005.0 {
		t.Errorf("PDF as image: %v", m)
	}
	ups := s.Uploads()
	if len(ups) != 2 || ups[0].Name != "label.png" || ups[0].ContentType != "image/png" || ups[0].Size != len(png) || ups[1].Type != "voice" {
		t.Fatalf("Uploads = %+v", ups)
	}
	if data, _ := s.Media(ups[0].MediaID); !bytes.Equal(data, png) {
		t.Error("stored bytes differ")
	}
	send := func(msg map[string]any) float64 {
		_, m := postJSON(t, s.URL()+"/cgi-bin/message/custom/send?access_token="+url.QueryEscape(tok), msg)
		return m["errcode"].(float64)
	}
	if c := send(map[string]any{"touser": "o1", "msgtype": "image", "image": map[string]string{"media_id": ups[0].MediaID}}); c != 0 {
		t.Errorf("image: %v", c)
	}
	if c := send(map[string]any{"touser": "o1", "msgtype": "voice", "voice": map[string]string{"media_id": ups[1].MediaID}}); c != 0 {
		t.Errorf("voice: %v", c)
	}
	if c := send(map[string]any{"touser": "o1", "msgtype": "voice", "voice": map[string]string{"media_id": ups[0].MediaID}}); c != 40007 {
		t.Errorf("an image as voice: %v", c)
	}
	sent := s.Sent("", "o1")
	if len(sent) != 2 || sent[0].MsgType != "image" || sent[1].MsgType != "voice" || sent[1].MediaID != ups[1].MediaID {
		t.Errorf("sent = %+v", sent)
	}
	clk.Advance(MediaTTL + time.Minute)
	if _, err := s.SendText(ctx, "", "o1", "still there?"); err != nil {
		t.Fatal(err)
	}
	tok = token(t, s)
	if c := send(map[string]any{"touser": "o1", "msgtype": "image", "image": map[string]string{"media_id": ups[0].MediaID}}); c != 40007 {
		t.Errorf("expired upload: %v", c)
	}
}

// TestCustomerAPIMedia: the sandbox's customer sends a sample photo, a
// voice note with recognition text and bytes of their own; bad requests
// are 400s; /media serves what the account uploaded.
func TestCustomerAPIMedia(t *testing.T) {
	s, hub, _ := newTestServer(t, false)
	hs := httptest.NewServer(s.CustomerAPI())
	t.Cleanup(hs.Close)
	srv := hs.URL
	if code, m := postJSON(t, srv+"/sandbox/wechat/follow", map[string]any{"openid": "o2"}); code != 200 {
		t.Fatalf("follow: %d %v", code, m)
	}
	if code, m := postJSON(t, srv+"/sandbox/wechat/image", map[string]any{"openid": "o2"}); code != 200 {
		t.Fatalf("image: %d %v", code, m)
	}
	if code, m := postJSON(t, srv+"/sandbox/wechat/voice", map[string]any{"openid": "o2", "text": "退货"}); code != 200 {
		t.Fatalf("voice: %d %v", code, m)
	}
	hub.mu.Lock()
	pushes := append([]string(nil), hub.pushes...)
	hub.mu.Unlock()
	last := pushes[len(pushes)-1]
	if !strings.Contains(last, "<MsgType><![CDATA[voice]]>") || !strings.Contains(last, "<Recognition><![CDATA[退货]]>") {
		t.Errorf("voice push = %s", last)
	}
	id := between(pushes[len(pushes)-2], "<MediaId><![CDATA[", "]]>")
	if data, ok := s.Media(id); !ok || http.DetectContentType(data) != "image/jpeg" {
		t.Errorf("the sample photo is not stored as a JPEG")
	}
	for _, bad := range []map[string]any{
		{"openid": "o2", "data": ""},
		{"openid": "o2", "data": []byte("not an image")},
	} {
		if code, _ := postJSON(t, srv+"/sandbox/wechat/image", bad); code != 400 {
			t.Errorf("%v: %d, want 400", bad, code)
		}
	}
	if code, _ := postJSON(t, srv+"/sandbox/wechat/video", map[string]any{"openid": "o2"}); code != 400 {
		t.Errorf("video without data: %d", code)
	}
	hub.mu.Lock()
	n := len(hub.pushes)
	hub.mu.Unlock()
	if n != len(pushes) {
		t.Errorf("bad requests pushed %d messages", n-len(pushes))
	}
	tok := token(t, s)
	m := upload(t, s, tok, "image", "a.png", samples.PNG(8, 8))
	code, hdr, body := get(t, srv+"/sandbox/wechat/media?media_id="+m["media_id"].(string))
	if code != 200 || hdr.Get("Content-Type") != "image/png" || !bytes.Equal(body, samples.PNG(8, 8)) {
		t.Errorf("/media: %d %v", code, hdr)
	}
}
