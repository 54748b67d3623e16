package wxfake

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tongdao/hub/sandbox/samples"
)

// ErrNotFollowing is returned when a customer who does not follow the
// account tries to write to it (WeChat does not allow that).
var ErrNotFollowing = errors.New("wxfake: the customer does not follow the account")

// Delivery reports how the hub answered a push.
type Delivery struct {
	// Push is the push's MsgType, or "event:<Event>".
	Push string `json:"push"`
	// MsgID is the MsgId of a message push ("" for events).
	MsgID string `json:"msg_id,omitempty"`
	// CreateTime is the push's CreateTime.
	CreateTime int64 `json:"create_time"`
	// Attempts is how many times the push was posted (WeChat: at most 3).
	Attempts int `json:"attempts"`
	// Status is the last HTTP status (0 when the hub did not answer in time).
	Status int `json:"status"`
	// Acked is true when the hub answered 200.
	Acked bool `json:"acked"`
	// Body is the hub's last answer as received.
	Body string `json:"body,omitempty"`
	// Reply is the passive reply the customer saw, if any.
	Reply *Sent `json:"reply,omitempty"`
	// ReplyError says why a reply was rejected (WeChat then shows the
	// customer "该公众号暂时无法提供服务，请稍后再试").
	ReplyError string `json:"reply_error,omitempty"`
	// Error is the last transport error.
	Error string `json:"error,omitempty"`
}

// field is one element of push XML.
type field struct {
	name  string
	value string
	cdata bool
}

// buildXML renders fields the way WeChat does: strings in CDATA, numbers
// bare.
func buildXML(fields []field) []byte {
	var b bytes.Buffer
	b.WriteString("<xml>")
	for _, f := range fields {
		b.WriteString("<" + f.name + ">")
		if f.cdata {
			b.WriteString("<![CDATA[" + strings.ReplaceAll(f.value, "]]>", "]]]]><![CDATA[>") + "]]>")
		} else {
			_ = xml.EscapeText(&b, []byte(f.value))
		}
		b.WriteString("</" + f.name + ">")
	}
	b.WriteString("</xml>")
	return b.Bytes()
}

// customerAction is what a customer did, applied to WeChat's state before
// the push is sent.
type customerAction func(a *account, u *user, now time.Time) error

// push builds the push for one customer action, updates the customer's
// state and posts it to the hub.
func (s *Server) push(ctx context.Context, appID, openid, msgType string, body []field, act customerAction) (Delivery, error) {
	if openid == "" {
		return Delivery{}, errors.New("wxfake: openid required")
	}
	s.mu.Lock()
	a, err := s.accountLocked(appID)
	if err != nil {
		s.mu.Unlock()
		return Delivery{}, err
	}
	now := s.now()
	if err := act(a, a.userLocked(openid), now); err != nil {
		s.mu.Unlock()
		return Delivery{}, err
	}
	d := Delivery{Push: msgType, CreateTime: now.Unix()}
	fields := []field{
		{"ToUserName", a.OriginalID, true},
		{"FromUserName", openid, true},
		{"CreateTime", strconv.FormatInt(now.Unix(), 10), false},
		{"MsgType", msgType, true},
	}
	fields = append(fields, body...)
	if msgType != "event" {
		s.msgSeq++
		d.MsgID = strconv.FormatInt(s.msgSeq, 10)
		fields = append(fields, field{"MsgId", d.MsgID, false})
	} else {
		for _, f := range body {
			if f.name == "Event" {
				d.Push = "event:" + f.value
			}
		}
	}
	raw := buildXML(fields)
	s.lastPush[a.AppID] = &lastPush{openid: openid, xml: raw}
	acc := a.Account
	s.mu.Unlock()
	return s.post(ctx, acc, openid, raw, d)
}

// Repost posts the account's last push again, byte for byte, as WeChat does
// when it got no answer in time.
func (s *Server) Repost(ctx context.Context, appID string) (Delivery, error) {
	s.mu.Lock()
	a, err := s.accountLocked(appID)
	var lp *lastPush
	if err == nil {
		lp = s.lastPush[a.AppID]
	}
	var acc Account
	if a != nil {
		acc = a.Account
	}
	s.mu.Unlock()
	if err != nil {
		return Delivery{}, err
	}
	if lp == nil {
		return Delivery{}, errors.New("wxfake: nothing pushed yet")
	}
	return s.post(ctx, acc, lp.openid, lp.xml, Delivery{Push: "repost"})
}

// post signs (and in safe mode encrypts) raw and posts it to the hub, up to
// PushAttempts times while the hub does not answer 200 within PushTimeout.
func (s *Server) post(ctx context.Context, acc Account, openid string, raw []byte, d Delivery) (Delivery, error) {
	if acc.WebhookURL == "" {
		return d, fmt.Errorf("wxfake: no webhook URL for app_id %s", acc.AppID)
	}
	timestamp := strconv.FormatInt(s.now().Unix(), 10)
	nonce := randomString(10, "0123456789")
	q := url.Values{}
	q.Set("signature", Signature(acc.Token, timestamp, nonce))
	q.Set("timestamp", timestamp)
	q.Set("nonce", nonce)
	q.Set("openid", openid)
	body := raw
	if mode := acc.mode(); mode != ModePlain {
		enc, err := Encrypt(acc.EncodingAESKey, acc.AppID, raw, nil)
		if err != nil {
			return d, err
		}
		encField := buildXML([]field{{"Encrypt", enc, true}})
		encField = encField[len("<xml>") : len(encField)-len("</xml>")]
		if mode == ModeSafe {
			body = buildXML([]field{{"ToUserName", acc.OriginalID, true}, {"Encrypt", enc, true}})
		} else {
			// Compatible mode: the plaintext fields and their encryption.
			body = append(append(bytes.TrimSuffix(bytes.Clone(raw), []byte("</xml>")), encField...), "</xml>"...)
		}
		q.Set("encrypt_type", "aes")
		q.Set("msg_signature", Signature(acc.Token, timestamp, nonce, enc))
	}
	target, err := withQuery(acc.WebhookURL, q)
	if err != nil {
		return d, err
	}
	for d.Attempts < s.pushAttempts {
		if err := ctx.Err(); err != nil {
			return d, err
		}
		d.Attempts++
		status, answer, err := s.postOnce(ctx, target, body)
		d.Status, d.Body, d.Error = status, string(answer), ""
		if err != nil {
			d.Error = err.Error()
			s.log.Debug("wxfake: push not answered", "attempt", d.Attempts, "err", err)
			continue
		}
		if status != http.StatusOK {
			continue
		}
		d.Acked = true
		s.takeReply(acc, openid, answer, &d)
		break
	}
	return d, nil
}

func withQuery(raw string, q url.Values) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("wxfake: bad webhook URL: %w", err)
	}
	cur := u.Query()
	for k, v := range q {
		cur[k] = v
	}
	u.RawQuery = cur.Encode()
	return u.String(), nil
}

// errGaveUp is why an attempt that AbandonPushes ended failed.
var errGaveUp = errors.New("wxfake: gave up waiting for the hub's answer")

// postOnce posts one attempt within PushTimeout (or until AbandonPushes).
func (s *Server) postOnce(ctx context.Context, target string, body []byte) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, s.pushTimeout)
	defer cancel()
	ctx, abandon := context.WithCancelCause(ctx)
	defer abandon(nil)
	defer s.trackAttempt(abandon)()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "text/xml")
	resp, err := s.client.Do(req)
	if err != nil {
		if errors.Is(context.Cause(ctx), errGaveUp) {
			err = errGaveUp
		}
		return 0, nil, err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return 0, nil, err
	}
	return resp.StatusCode, answer, nil
}

// trackAttempt records a push attempt awaiting the hub's answer until the
// returned func is called.
func (s *Server) trackAttempt(abandon context.CancelCauseFunc) (done func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.attemptSeq++
	id := s.attemptSeq
	s.attempts[id] = abandon
	close(s.attemptStarted)
	s.attemptStarted = make(chan struct{})
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.attempts, id)
	}
}

// AbandonPushes makes WeChat lose patience now, as it does when PushTimeout
// passes: it waits until at least one push attempt awaits the hub's answer,
// gives up on every such attempt (each push then re-posts, up to
// PushAttempts in all) and returns how many it gave up on.
//
// Tests play a slow hub with it without racing a timer: hold the hub up,
// AbandonPushes, let the hub go; the re-post gets the full PushTimeout.
func (s *Server) AbandonPushes(ctx context.Context) (int, error) {
	for {
		s.mu.Lock()
		if n := len(s.attempts); n > 0 {
			for id, abandon := range s.attempts {
				abandon(errGaveUp)
				delete(s.attempts, id)
			}
			s.mu.Unlock()
			return n, nil
		}
		started := s.attemptStarted
		s.mu.Unlock()
		select {
		case <-started:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

// replyXML is a passive reply (text or image).
type replyXML struct {
	ToUserName   string `xml:"ToUserName"`
	FromUserName string `xml:"FromUserName"`
	CreateTime   int64  `xml:"CreateTime"`
	MsgType      string `xml:"MsgType"`
	Content      string `xml:"Content"`
	Image        struct {
		MediaID string `xml:"MediaId"`
	} `xml:"Image"`
}

// encryptedReply is a safe-mode passive reply.
type encryptedReply struct {
	Encrypt      string `xml:"Encrypt"`
	MsgSignature string `xml:"MsgSignature"`
	TimeStamp    string `xml:"TimeStamp"`
	Nonce        string `xml:"Nonce"`
}

// takeReply checks the hub's answer like WeChat and records a passive reply.
func (s *Server) takeReply(acc Account, openid string, answer []byte, d *Delivery) {
	text := strings.TrimSpace(string(answer))
	if text == "" || text == "success" {
		return
	}
	plain := []byte(text)
	var er encryptedReply
	isEncrypted := xml.Unmarshal(plain, &er) == nil && er.Encrypt != ""
	switch mode := acc.mode(); {
	case mode == ModeSafe && !isEncrypted:
		d.ReplyError = "safe-mode account got a reply that is not encrypted"
		return
	case mode == ModePlain && isEncrypted:
		d.ReplyError = "plaintext-mode account got an encrypted reply"
		return
	}
	if isEncrypted {
		if Signature(acc.Token, er.TimeStamp, er.Nonce, er.Encrypt) != er.MsgSignature {
			d.ReplyError = "reply MsgSignature is wrong"
			return
		}
		var err error
		if plain, err = Decrypt(acc.EncodingAESKey, acc.AppID, er.Encrypt); err != nil {
			d.ReplyError = "cannot decrypt reply: " + err.Error()
			return
		}
	}
	var r replyXML
	if err := xml.Unmarshal(plain, &r); err != nil {
		d.ReplyError = "reply is not valid XML"
		return
	}
	switch {
	case r.ToUserName != openid:
		d.ReplyError = "reply ToUserName is not the customer's OpenID"
		return
	case r.FromUserName != acc.OriginalID:
		d.ReplyError = "reply FromUserName is not the account's original ID"
		return
	case r.MsgType == "text" && r.Content == "":
		d.ReplyError = "empty text reply"
		return
	case r.MsgType == "text" && len(r.Content) > maxTextBytes:
		d.ReplyError = "text reply longer than 2048 bytes"
		return
	case r.MsgType != "text" && r.MsgType != "image":
		d.ReplyError = "unsupported reply type " + r.MsgType
		return
	}
	sent := Sent{AppID: acc.AppID, OpenID: openid, Kind: "passive", MsgType: r.MsgType,
		Text: r.Content, MediaID: r.Image.MediaID, At: s.now()}
	s.mu.Lock()
	if a, ok := s.accounts[acc.AppID]; ok {
		u := a.userLocked(openid)
		u.sent = append(u.sent, sent)
	}
	s.mu.Unlock()
	d.Reply = &sent
}

// customer message actions.

func userMessage(_ *account, u *user, now time.Time) error {
	if !u.followed {
		return ErrNotFollowing
	}
	u.lastMsg, u.sinceMsg = now, 0
	return nil
}

func interactionEvent(_ *account, u *user, now time.Time) error {
	u.lastEvent, u.sinceEvent = now, 0
	return nil
}

// SendText is the customer writing text to the account.
func (s *Server) SendText(ctx context.Context, appID, openid, text string) (Delivery, error) {
	return s.push(ctx, appID, openid, "text", []field{{"Content", text, true}}, userMessage)
}

// SendImage is the customer sending an image. An empty picURL uses a sample
// photo (JPEG) the stand-in serves itself, at /mmbiz/<media_id>.
func (s *Server) SendImage(ctx context.Context, appID, openid, picURL string) (Delivery, error) {
	return s.SendImageData(ctx, appID, openid, picURL, nil)
}

// SendImageData is SendImage with the image's bytes (nil: a sample JPEG),
// kept as temporary media for media/get.
func (s *Server) SendImageData(ctx context.Context, appID, openid, picURL string, data []byte) (Delivery, error) {
	if data == nil {
		data = samples.JPEG(640, 480)
	}
	s.mu.Lock()
	a, err := s.accountLocked(appID)
	if err != nil {
		s.mu.Unlock()
		return Delivery{}, err
	}
	id := s.addMediaLocked(a, "image", data, "")
	if picURL == "" {
		picURL = s.base + "/mmbiz/" + id
	}
	s.mu.Unlock()
	return s.push(ctx, appID, openid, "image",
		[]field{{"PicUrl", picURL, true}, {"MediaId", id, true}}, userMessage)
}

// SendVoice is the customer sending a voice message (a sample AMR voice
// note, kept as temporary media); recognition is WeChat's speech-to-text
// result ("" when off).
func (s *Server) SendVoice(ctx context.Context, appID, openid, recognition string) (Delivery, error) {
	return s.SendVoiceData(ctx, appID, openid, recognition, nil)
}

// SendVoiceData is SendVoice with the voice note's bytes (nil: two seconds
// of AMR).
func (s *Server) SendVoiceData(ctx context.Context, appID, openid, recognition string, data []byte) (Delivery, error) {
	if data == nil {
		data = samples.AMR(2)
	}
	s.mu.Lock()
	a, err := s.accountLocked(appID)
	if err != nil {
		s.mu.Unlock()
		return Delivery{}, err
	}
	id := s.addMediaLocked(a, "voice", data, "")
	s.mu.Unlock()
	fields := []field{{"MediaId", id, true}, {"Format", "amr", true}}
	if recognition != "" {
		fields = append(fields, field{"Recognition", recognition, true})
	}
	return s.push(ctx, appID, openid, "voice", fields, userMessage)
}

// SendVideo is the customer sending a video (data: its MP4 bytes) with a
// thumbnail (a sample JPEG), both kept as temporary media; media/get
// answers a video with its video_url, as WeChat does.
func (s *Server) SendVideo(ctx context.Context, appID, openid string, data []byte) (Delivery, error) {
	if len(data) == 0 {
		return Delivery{}, errors.New("wxfake: a video needs its bytes")
	}
	s.mu.Lock()
	a, err := s.accountLocked(appID)
	if err != nil {
		s.mu.Unlock()
		return Delivery{}, err
	}
	id := s.addMediaLocked(a, "video", data, "")
	thumb := s.addMediaLocked(a, "image", samples.JPEG(160, 120), "")
	s.mu.Unlock()
	return s.push(ctx, appID, openid, "video",
		[]field{{"MediaId", id, true}, {"ThumbMediaId", thumb, true}}, userMessage)
}

// SendLocation is the customer sharing a location.
func (s *Server) SendLocation(ctx context.Context, appID, openid string, lat, lng float64, label string) (Delivery, error) {
	return s.push(ctx, appID, openid, "location", []field{
		{"Location_X", strconv.FormatFloat(lat, 'f', -1, 64), false},
		{"Location_Y", strconv.FormatFloat(lng, 'f', -1, 64), false},
		{"Scale", "15", false},
		{"Label", label, true},
	}, userMessage)
}

// Follow is the customer subscribing, by QR scene when scene is not empty
// (EventKey qrscene_<scene>).
func (s *Server) Follow(ctx context.Context, appID, openid, scene string) (Delivery, error) {
	fields := []field{{"Event", "subscribe", true}}
	if scene != "" {
		fields = append(fields, field{"EventKey", "qrscene_" + scene, true}, field{"Ticket", s.ticketFor(appID, scene), true})
	} else {
		fields = append(fields, field{"EventKey", "", true})
	}
	return s.push(ctx, appID, openid, "event", fields, func(a *account, u *user, now time.Time) error {
		u.followed = true
		return interactionEvent(a, u, now)
	})
}

// Unfollow is the customer unsubscribing.
func (s *Server) Unfollow(ctx context.Context, appID, openid string) (Delivery, error) {
	return s.push(ctx, appID, openid, "event", []field{{"Event", "unsubscribe", true}, {"EventKey", "", true}},
		func(_ *account, u *user, _ time.Time) error {
			if !u.followed {
				return ErrNotFollowing
			}
			u.followed = false
			return nil
		})
}

// Scan is the customer scanning a QR code with scene. A follower causes a
// SCAN event; someone who does not follow yet follows (subscribe with
// qrscene_), as on WeChat.
func (s *Server) Scan(ctx context.Context, appID, openid, scene string) (Delivery, error) {
	s.mu.Lock()
	following := false
	if a, err := s.accountLocked(appID); err == nil {
		following = a.users[openid] != nil && a.users[openid].followed
	}
	s.mu.Unlock()
	if !following {
		return s.Follow(ctx, appID, openid, scene)
	}
	return s.push(ctx, appID, openid, "event", []field{
		{"Event", "SCAN", true}, {"EventKey", scene, true}, {"Ticket", s.ticketFor(appID, scene), true},
	}, func(a *account, u *user, now time.Time) error {
		if !u.followed {
			return ErrNotFollowing
		}
		return interactionEvent(a, u, now)
	})
}

// ScanQR scans a QR code by its image URL (or ticket); see SceneForQR.
func (s *Server) ScanQR(ctx context.Context, openid, qr string) (Delivery, error) {
	appID, scene, ok := s.SceneForQR(qr)
	if !ok {
		return Delivery{}, errors.New("wxfake: unknown or expired QR code")
	}
	return s.Scan(ctx, appID, openid, scene)
}

// Click is the customer clicking a menu item of type click.
func (s *Server) Click(ctx context.Context, appID, openid, key string) (Delivery, error) {
	return s.push(ctx, appID, openid, "event", []field{{"Event", "CLICK", true}, {"EventKey", key, true}},
		func(a *account, u *user, now time.Time) error {
			if !u.followed {
				return ErrNotFollowing
			}
			return interactionEvent(a, u, now)
		})
}

// ReportLocation is the periodic LOCATION event of a customer who allowed
// location reporting. It opens no reply window.
func (s *Server) ReportLocation(ctx context.Context, appID, openid string, lat, lng float64) (Delivery, error) {
	return s.push(ctx, appID, openid, "event", []field{
		{"Event", "LOCATION", true},
		{"Latitude", strconv.FormatFloat(lat, 'f', 6, 64), false},
		{"Longitude", strconv.FormatFloat(lng, 'f', 6, 64), false},
		{"Precision", "65.000000", false},
	}, func(_ *account, u *user, _ time.Time) error {
		if !u.followed {
			return ErrNotFollowing
		}
		return nil
	})
}

// ticketFor finds a live ticket of appID with scene, for the Ticket field.
func (s *Server) ticketFor(appID, scene string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.accountLocked(appID)
	if err != nil {
		return ""
	}
	for tk, t := range s.tickets {
		if t.appID == a.AppID && t.scene == scene {
			return tk
		}
	}
	return ""
}

// SceneForQR resolves a QR code to its account and scene. qr is the image
// URL (…/showqrcode?ticket=…), the ticket itself, or the code's content URL.
func (s *Server) SceneForQR(qr string) (appID, scene string, ok bool) {
	ticket := qr
	if u, err := url.Parse(qr); err == nil && u.Query().Get("ticket") != "" {
		ticket = u.Query().Get("ticket")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, found := s.tickets[ticket]
	if !found || (!t.expires.IsZero() && !s.now().Before(t.expires)) {
		return "", "", false
	}
	return t.appID, t.scene, true
}

// VerifyResult is the outcome of a URL verification.
type VerifyResult struct {
	OK      bool   `json:"ok"`
	Status  int    `json:"status"`
	Echostr string `json:"echostr"`
	Body    string `json:"body"`
	Error   string `json:"error,omitempty"`
}

// Verify runs WeChat's server URL verification against the hub: a signed
// GET with echostr, which the hub must echo back.
func (s *Server) Verify(ctx context.Context, appID string) (VerifyResult, error) {
	s.mu.Lock()
	a, err := s.accountLocked(appID)
	var acc Account
	if err == nil {
		acc = a.Account
	}
	s.mu.Unlock()
	if err != nil {
		return VerifyResult{}, err
	}
	if acc.WebhookURL == "" {
		return VerifyResult{}, fmt.Errorf("wxfake: no webhook URL for app_id %s", acc.AppID)
	}
	timestamp := strconv.FormatInt(s.now().Unix(), 10)
	nonce := randomString(10, "0123456789")
	echo := randomString(19, "0123456789")
	q := url.Values{"signature": {Signature(acc.Token, timestamp, nonce)}, "timestamp": {timestamp},
		"nonce": {nonce}, "echostr": {echo}}
	target, err := withQuery(acc.WebhookURL, q)
	if err != nil {
		return VerifyResult{}, err
	}
	res := VerifyResult{Echostr: echo}
	ctx, cancel := context.WithTimeout(ctx, s.pushTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return res, err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		res.Error = err.Error()
		return res, nil
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	res.Status, res.Body = resp.StatusCode, string(body)
	res.OK = resp.StatusCode == http.StatusOK && string(body) == echo
	return res, nil
}
