package wechat

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/silenceper/wechat/v2/officialaccount/message"
	"github.com/silenceper/wechat/v2/util"

	"github.com/tongdao/hub/connectors"
	"github.com/tongdao/hub/connectors/kit"
	"github.com/tongdao/hub/models"
)

// bodyBadSignature answers a push or verification whose signature is wrong.
var bodyBadSignature = kit.ErrorBody(models.EUNAUTHORIZED, "bad signature")

// maxPushBytes caps a push body; WeChat's pushes are a few kilobytes.
const maxPushBytes = 1 << 20

// maxTextBytes is WeChat's limit for a text message (customer-service and
// passive reply alike).
const maxTextBytes = 2048

// ServeHTTP is the webhook at /webhooks/{name}: GET verifies the server URL
// (echostr), POST receives message and event pushes in plaintext, compatible
// or safe mode.
func (c *Connector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	sink := c.currentSink()
	if sink == nil {
		kit.WriteError(w, http.StatusServiceUnavailable, models.EUNAVAILABLE, "the connector is not running yet")
		return
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		c.serveVerify(w, r)
	case http.MethodPost:
		c.servePush(w, r, sink)
	default:
		w.Header().Set("Allow", "GET, POST")
		kit.WriteError(w, http.StatusMethodNotAllowed, models.EINVALID, "use GET or POST")
	}
}

// validSignature checks signature = sha1(sort(token, timestamp, nonce, extra...)).
func (c *Connector) validSignature(signature, timestamp, nonce string, extra ...string) bool {
	if signature == "" || timestamp == "" || nonce == "" {
		return false
	}
	want := util.Signature(append([]string{c.settings.Token, timestamp, nonce}, extra...)...)
	return subtle.ConstantTimeCompare([]byte(strings.ToLower(signature)), []byte(want)) == 1
}

// pushWindow is how far a push's (or URL verification's) timestamp may be
// from the connector's clock, either way.
const pushWindow = 5 * time.Minute

// replayTTL is how long a push's signature is remembered: a timestamp up to
// pushWindow ahead of the clock stays acceptable for two windows, and a
// minute more covers replicas whose clocks differ slightly.
const replayTTL = 2*pushWindow + time.Minute

// checkTimestamp returns why timestamp is refused ("" when it is a number
// within pushWindow of the clock).
func (c *Connector) checkTimestamp(timestamp string) string {
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return "timestamp is not a number of seconds"
	}
	now := c.now().Unix()
	window := int64(pushWindow / time.Second)
	if ts < now-window || ts > now+window {
		return "timestamp is more than 5 minutes from the hub's clock: refused as stale or replayed (is the hub's clock right?)"
	}
	return ""
}

// serveVerify answers WeChat's URL verification: the echostr, as plain text,
// when the signature is right and the timestamp fresh; 401 (or 403) and no
// echo otherwise.
func (c *Connector) serveVerify(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if !c.validSignature(q.Get("signature"), q.Get("timestamp"), q.Get("nonce")) {
		c.log.Warn("wechat: URL verification with a bad signature", "remote", r.RemoteAddr)
		kit.WriteBody(w, http.StatusUnauthorized, bodyBadSignature)
		return
	}
	if why := c.checkTimestamp(q.Get("timestamp")); why != "" {
		c.log.Warn("wechat: URL verification refused", "reason", why, "remote", r.RemoteAddr)
		kit.WriteError(w, http.StatusForbidden, models.EFORBIDDEN, why)
		return
	}
	echo, ok := q["echostr"]
	if !ok {
		kit.WriteError(w, http.StatusBadRequest, models.EINVALID, "missing echostr")
		return
	}
	// The verification's signed URL is remembered like a push's, so that
	// it cannot be reused to sign a push (WeChat repeating the same
	// verification still gets its echo).
	ctx, cancel := context.WithTimeout(r.Context(), c.ingestTimeout)
	defer cancel()
	switch fresh, err := c.firstUse(ctx, q.Get("signature"), []byte("GET echostr="+echo[0])); {
	case err != nil:
		c.log.Error("wechat: cannot check the URL verification against recent pushes", "err", err)
		kit.WriteError(w, http.StatusServiceUnavailable, models.EUNAVAILABLE, "cannot check the request now")
		return
	case !fresh:
		c.log.Warn("wechat: replayed URL verification refused", "remote", r.RemoteAddr)
		kit.WriteError(w, http.StatusForbidden, models.EFORBIDDEN, "replayed request refused: this timestamp and nonce were already used")
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, echo[0])
}

// envelope is a safe-mode push body.
type envelope struct {
	XMLName    xml.Name `xml:"xml"`
	ToUserName string   `xml:"ToUserName"`
	Encrypt    string   `xml:"Encrypt"`
}

// servePush handles one message or event push.
func (c *Connector) servePush(w http.ResponseWriter, r *http.Request, sink connectors.Sink) {
	q := r.URL.Query()
	signature, timestamp, nonce := q.Get("signature"), q.Get("timestamp"), q.Get("nonce")
	if !c.validSignature(signature, timestamp, nonce) {
		c.log.Warn("wechat: push with a bad signature", "remote", r.RemoteAddr)
		kit.WriteBody(w, http.StatusUnauthorized, bodyBadSignature)
		return
	}
	if why := c.checkTimestamp(timestamp); why != "" {
		c.log.Warn("wechat: push refused", "reason", why, "remote", r.RemoteAddr)
		kit.WriteError(w, http.StatusForbidden, models.EFORBIDDEN, why)
		return
	}
	encrypted := strings.EqualFold(q.Get("encrypt_type"), "aes")
	if !encrypted && c.settings.Mode == ModeSafe {
		c.log.Warn("wechat: plaintext push refused in safe mode", "remote", r.RemoteAddr)
		kit.WriteError(w, http.StatusForbidden, models.EFORBIDDEN, "plaintext push refused: this connector is in safe mode (encrypt_type=aes and msg_signature required)")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxPushBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			kit.WriteError(w, http.StatusRequestEntityTooLarge, models.EINVALID, "push larger than 1 MiB")
			return
		}
		kit.WriteError(w, http.StatusBadRequest, models.EINVALID, "cannot read the body")
		return
	}

	raw := body
	if encrypted {
		var env envelope
		if err := xml.Unmarshal(body, &env); err != nil || env.Encrypt == "" {
			kit.WriteError(w, http.StatusBadRequest, models.EINVALID, "malformed encrypted push")
			return
		}
		if !c.validSignature(q.Get("msg_signature"), timestamp, nonce, env.Encrypt) {
			c.log.Warn("wechat: safe-mode push with a bad msg_signature", "remote", r.RemoteAddr)
			kit.WriteBody(w, http.StatusUnauthorized, bodyBadSignature)
			return
		}
		if c.settings.EncodingAESKey == "" {
			c.log.Error("wechat: received a safe-mode push but encoding_aes_key is not configured")
			kit.WriteError(w, http.StatusBadRequest, models.EINVALID, "safe mode is not configured")
			return
		}
		_, raw, err = util.DecryptMsg(c.settings.AppID, env.Encrypt, c.settings.EncodingAESKey)
		if err != nil {
			c.log.Warn("wechat: cannot decrypt a safe-mode push (wrong encoding_aes_key or app_id?)", "err", err)
			kit.WriteError(w, http.StatusBadRequest, models.EINVALID, "cannot decrypt the push")
			return
		}
	}

	p, err := parsePush(raw)
	if err != nil {
		kit.WriteError(w, http.StatusBadRequest, models.EINVALID, "malformed push: "+err.Error())
		return
	}
	// One deadline for the whole answer: WeChat gives up after 5 s.
	ctx, cancel := context.WithTimeout(r.Context(), c.ingestTimeout)
	defer cancel()
	switch fresh, err := c.firstUse(ctx, signature, raw); {
	case err != nil:
		c.log.Error("wechat: cannot check the push against recent ones; WeChat will re-post", "err", err)
		kit.WriteError(w, http.StatusServiceUnavailable, models.EUNAVAILABLE, "cannot check the push now")
		return
	case !fresh:
		c.log.Warn("wechat: replayed push refused: its signature came with another body", "remote", r.RemoteAddr)
		kit.WriteError(w, http.StatusForbidden, models.EFORBIDDEN, "replayed push refused: this timestamp and nonce were already used for another push")
		return
	}
	in, ok := c.normalize(p)
	if !ok {
		writeSuccess(w)
		return
	}
	// Only a push whose body WeChat signed (msg_signature over the
	// ciphertext) is known to come from WeChat; see Inbound.Sealed.
	in.Sealed = encrypted
	if in.Kind == models.KindMessage && in.Text != "" && len(in.Attachments) == 0 {
		c.mapChoice(ctx, &in)
	}
	res, err := sink.Ingest(ctx, in)
	if models.ErrorCode(err) == models.EINVALID {
		// Permanent (the inbox recorded it as skipped): a re-post cannot
		// help, so acknowledge it.
		c.log.Warn("wechat: push refused by the inbox; skipped", "external_id", in.ExternalID, "err", err)
		writeSuccess(w)
		return
	}
	if err != nil {
		c.log.Error("wechat: ingest failed; WeChat will re-post", "external_id", in.ExternalID, "err", err)
		kit.WriteError(w, http.StatusInternalServerError, models.EINTERNAL, "could not store the push; retry later")
		return
	}
	if !in.InlineReply || res.InlineReply == "" {
		writeSuccess(w)
		return
	}
	text := res.InlineReply
	if len(res.InlineButtons) > 0 {
		// Numbered options, remembered so that the customer's "1" is that
		// button (see mapChoice).
		text = withOptions(text, res.InlineButtons)
		c.rememberOffer(ctx, in.From.ExternalID, res.InlineButtons)
	}
	reply, err := c.passiveReply(p, text, encrypted, timestamp, nonce)
	if err != nil {
		// The inbound is committed; answering success keeps WeChat from
		// re-posting it. The bot's reply is lost, so say so loudly.
		c.log.Error("wechat: cannot build the passive reply", "err", err)
		writeSuccess(w)
		return
	}
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	_, _ = w.Write(reply)
}

// firstUse remembers, in the shared KV, which push body came with a
// signature (that is, with a token, timestamp and nonce) and reports
// whether this push may proceed: true the first time, and again for the
// same body (WeChat re-posting a push it got no answer to, byte for byte;
// the inbox then deduplicates it by message id and answers it as the
// first); false for the same signature with another body (a replay of a
// leaked URL with a forged body). raw is the plaintext push, so that a
// re-post counts as the same even if its ciphertext were drawn anew.
func (c *Connector) firstUse(ctx context.Context, signature string, raw []byte) (bool, error) {
	sum := sha256.Sum256(raw)
	digest := hex.EncodeToString(sum[:])
	key := kvKey("push:" + c.settings.AppID + ":" + strings.ToLower(signature))
	for range 2 {
		added, err := c.kv.Add(ctx, key, digest, replayTTL)
		if err != nil || added {
			return added, err
		}
		seen, ok, err := c.kv.Get(ctx, key)
		if err != nil {
			return false, err
		}
		if ok {
			return subtle.ConstantTimeCompare([]byte(seen), []byte(digest)) == 1, nil
		}
		// It expired between the two calls: add again.
	}
	return false, errors.New("wechat: the push's entry keeps expiring")
}

// writeSuccess acknowledges a push without a reply. WeChat accepts "success"
// or an empty body; "success" is also correct in safe mode.
func writeSuccess(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, "success")
}

// passiveReply builds the XML text reply to push p, encrypted and signed with
// the push's timestamp and nonce when the push was encrypted.
func (c *Connector) passiveReply(p *push, text string, safe bool, timestamp, nonce string) ([]byte, error) {
	if len(text) > maxTextBytes {
		c.log.Warn("wechat: passive reply longer than 2048 bytes was truncated", "bytes", len(text))
		if parts := kit.Split(text, maxTextBytes, kit.ByteLen); len(parts) > 0 {
			text = parts[0]
		}
	}
	msg := message.NewText(text)
	msg.SetToUserName(message.CDATA(p.FromUserName))
	msg.SetFromUserName(message.CDATA(p.ToUserName))
	msg.SetCreateTime(c.now().Unix())
	msg.SetMsgType(message.MsgTypeText)
	plain, err := xml.Marshal(msg)
	if err != nil {
		return nil, err
	}
	if !safe {
		return plain, nil
	}
	random := make([]byte, 16)
	if _, err := rand.Read(random); err != nil {
		return nil, err
	}
	enc, err := util.EncryptMsg(random, plain, c.settings.AppID, c.settings.EncodingAESKey)
	if err != nil {
		return nil, err
	}
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		ts = c.now().Unix()
		timestamp = strconv.FormatInt(ts, 10)
	}
	return xml.Marshal(message.ResponseEncryptedXMLMsg{
		EncryptedMsg: string(enc),
		MsgSignature: util.Signature(c.settings.Token, timestamp, nonce, string(enc)),
		Timestamp:    ts,
		Nonce:        nonce,
	})
}

// push is a decrypted WeChat push: a message or an event.
type push struct {
	XMLName      xml.Name `xml:"xml"`
	ToUserName   string   `xml:"ToUserName"`
	FromUserName string   `xml:"FromUserName"`
	CreateTime   int64    `xml:"CreateTime"`
	MsgType      string   `xml:"MsgType"`
	MsgID        string   `xml:"MsgId"`

	Content      string  `xml:"Content"`
	PicURL       string  `xml:"PicUrl"`
	MediaID      string  `xml:"MediaId"`
	Format       string  `xml:"Format"`
	Recognition  string  `xml:"Recognition"`
	ThumbMediaID string  `xml:"ThumbMediaId"`
	LocationX    float64 `xml:"Location_X"`
	LocationY    float64 `xml:"Location_Y"`
	Label        string  `xml:"Label"`
	Title        string  `xml:"Title"`
	Description  string  `xml:"Description"`
	URL          string  `xml:"Url"`

	Event    string `xml:"Event"`
	EventKey string `xml:"EventKey"`
	Ticket   string `xml:"Ticket"`
}

// parsePush decodes a plaintext push and checks the fields every push has.
func parsePush(raw []byte) (*push, error) {
	var p push
	if err := xml.Unmarshal(raw, &p); err != nil {
		return nil, errors.New("invalid XML")
	}
	switch {
	case p.FromUserName == "":
		return nil, errors.New("missing FromUserName")
	case p.MsgType == "":
		return nil, errors.New("missing MsgType")
	case p.CreateTime <= 0:
		return nil, errors.New("missing CreateTime")
	case p.MsgType != "event" && p.MsgID == "":
		return nil, errors.New("missing MsgId")
	}
	return &p, nil
}

// normalize turns a push into an Inbound. ok is false for pushes the inbox
// does not need (location reports, menu link clicks, job notifications).
func (c *Connector) normalize(p *push) (in models.Inbound, ok bool) {
	in = models.Inbound{
		Connector:  c.name,
		Channel:    models.ChannelWeChat,
		ExternalID: p.MsgID,
		Kind:       models.KindMessage,
		From:       models.Sender{ExternalID: p.FromUserName},
		ReplyTo:    p.FromUserName,
		SentAt:     time.Unix(p.CreateTime, 0).UTC(),
	}
	switch p.MsgType {
	case "text":
		in.Text = p.Content
	case "image":
		in.Attachments = []models.Attachment{{Type: "image", URL: p.PicURL, FileID: p.MediaID}}
	case "voice":
		in.Text = p.Recognition
		// The recognition stays the message's text (the bot and routing
		// read it) and is kept with the voice note as its transcript.
		in.Attachments = []models.Attachment{{Type: "voice", FileID: p.MediaID, MIMEType: audioMIME(p.Format), Transcript: p.Recognition}}
	case "video", "shortvideo":
		in.Attachments = []models.Attachment{{Type: "video", FileID: p.MediaID, Name: p.MsgType}}
		if p.ThumbMediaID != "" {
			in.Attachments = append(in.Attachments, models.Attachment{Type: "image", FileID: p.ThumbMediaID, Name: "thumbnail"})
		}
	case "location":
		in.Location = &models.Location{Latitude: p.LocationX, Longitude: p.LocationY, Label: p.Label}
	case "link":
		in.Attachments = []models.Attachment{{Type: "link", URL: p.URL, Title: p.Title, Description: p.Description}}
	case "event":
		return c.normalizeEvent(p, in)
	default:
		c.log.Info("wechat: ignoring an unsupported message type", "msg_type", p.MsgType)
		return in, false
	}
	return in, true
}

// normalizeEvent handles MsgType=event pushes, which carry no MsgId.
func (c *Connector) normalizeEvent(p *push, in models.Inbound) (models.Inbound, bool) {
	in.ExternalID = "ev:" + p.FromUserName + ":" + strconv.FormatInt(p.CreateTime, 10) + ":" + p.Event
	switch strings.ToLower(p.Event) {
	case "subscribe":
		in.Kind, in.Event, in.InlineReply = models.KindEvent, models.EventSubscribe, true
		in.Payload = strings.TrimPrefix(p.EventKey, "qrscene_")
		if !strings.HasPrefix(p.EventKey, "qrscene_") {
			in.Payload = ""
		}
	case "unsubscribe":
		in.Kind, in.Event = models.KindEvent, models.EventUnsubscribe
	case "scan":
		in.Kind, in.Event, in.Payload, in.InlineReply = models.KindEvent, models.EventScan, p.EventKey, true
	case "click":
		in.Kind, in.Action, in.InlineReply = models.KindAction, p.EventKey, true
	default:
		// LOCATION reports, VIEW (menu link), template/mass job results, ...
		c.log.Debug("wechat: ignoring event", "event", p.Event)
		return in, false
	}
	return in, true
}

// audioMIME maps a voice Format (amr, speex) to a MIME type.
func audioMIME(format string) string {
	if format == "" {
		return ""
	}
	return "audio/" + strings.ToLower(format)
}
