package wechat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/silenceper/wechat/v2/officialaccount/material"
	"github.com/silenceper/wechat/v2/officialaccount/message"
	"github.com/silenceper/wechat/v2/util"

	"github.com/tongdao/hub/connectors/kit"
	"github.com/tongdao/hub/connectors/media"
	"github.com/tongdao/hub/models"
)

// offerTTL is how long numbered options stay answerable: the reply window.
const offerTTL = replyWindow

// optionsHeader introduces numbered options, WeChat having no chat buttons.
const optionsHeader = "回复数字选择 / Reply with a number:"

// part is one platform message of an Outbound: a text, an image by URL or
// an agent's file (uploaded).
type part struct {
	text  string
	image *models.Attachment
	file  *models.OutboundFile
	// kind and name are how file is uploaded (see uploadKind).
	kind material.MediaType
	name string
	// mediaID is the uploaded image's or file's media_id.
	mediaID string
}

// Send delivers out as customer-service messages: the agent's files
// (uploaded as temporary media, then an image, voice or video message),
// the text (split into 2,048-byte parts, numbered options appended for
// buttons), then each image given by URL.
// A retried Outbound resumes after the parts already delivered. Refusals are
// *models.DeliveryError.
func (c *Connector) Send(ctx context.Context, out models.Outbound) (models.SendResult, error) {
	c.route()
	to := out.ReplyTo
	if to == "" {
		to = out.To
	}
	if to == "" {
		return models.SendResult{}, &models.DeliveryError{Permanent: true, Reason: "no WeChat OpenID to send to"}
	}
	parts := compose(out)
	if len(parts) == 0 {
		return models.SendResult{}, &models.DeliveryError{Permanent: true, Reason: "empty message"}
	}
	done := 0
	if len(parts) > 1 {
		done = c.progress(ctx, out.MessageID)
	}
	// Files and images are checked, fetched and uploaded before anything
	// is sent, so that one that cannot go fails the message at once, with
	// its reason, instead of after half of it went out.
	for i := done; i < len(parts); i++ {
		if p := &parts[i]; p.file != nil {
			kind, name, err := uploadKind(*p.file)
			if err != nil {
				return models.SendResult{}, err
			}
			p.kind, p.name = kind, name
		}
	}
	for i := done; i < len(parts); i++ {
		if p := &parts[i]; p.file != nil {
			id, err := c.uploadFile(ctx, *p.file, p.kind, p.name)
			if err != nil {
				return models.SendResult{}, err
			}
			p.mediaID = id
		}
		if p := &parts[i]; p.image != nil && p.image.URL != "" {
			id, err := c.uploadImage(ctx, *p.image)
			if err != nil {
				return models.SendResult{}, err
			}
			p.mediaID = id
		}
	}
	for i := done; i < len(parts); i++ {
		if err := ctx.Err(); err != nil {
			return models.SendResult{}, err
		}
		if err := c.sendPart(ctx, to, parts[i]); err != nil {
			return models.SendResult{}, err
		}
		if len(parts) > 1 && i+1 < len(parts) {
			c.saveProgress(ctx, out.MessageID, i+1)
		}
	}
	c.rememberOffer(ctx, to, out.Buttons)
	return models.SendResult{}, nil
}

// compose splits out into platform messages.
func compose(out models.Outbound) []part {
	text := out.Text
	var images []*models.Attachment
	for i := range out.Attachments {
		a := &out.Attachments[i]
		if a.Type == "image" && (a.URL != "" || a.FileID != "") {
			images = append(images, a)
			continue
		}
		if a.URL != "" { // WeChat has no file messages for kefu: send the link.
			label := a.Name
			if label == "" {
				label = a.Title
			}
			text = joinLines(text, strings.TrimSpace(label+" "+a.URL))
		}
	}
	if len(out.Buttons) > 0 {
		text = withOptions(text, out.Buttons)
	}
	var parts []part
	for i := range out.Files {
		parts = append(parts, part{file: &out.Files[i]})
	}
	if strings.TrimSpace(text) != "" {
		for _, chunk := range kit.Split(text, maxTextBytes, kit.ByteLen) {
			parts = append(parts, part{text: chunk})
		}
	}
	for _, a := range images {
		parts = append(parts, part{image: a})
	}
	return parts
}

// withOptions appends buttons to text as numbered options: WeChat chats
// have no buttons.
func withOptions(text string, buttons []models.Button) string {
	var b strings.Builder
	if selfNumbered(buttons) {
		// Options labelled with their own numbers (a score): "1. 1" would
		// say nothing more than the range.
		fmt.Fprintf(&b, "回复数字 1–%d / Reply 1–%d", len(buttons), len(buttons))
	} else {
		b.WriteString(optionsHeader)
		for i, btn := range buttons {
			fmt.Fprintf(&b, "\n%d. %s", i+1, btn.Label)
		}
	}
	if text != "" {
		text += "\n"
	}
	return joinLines(text, b.String())
}

// selfNumbered reports whether every option is labelled with its number.
func selfNumbered(buttons []models.Button) bool {
	for i, btn := range buttons {
		if strings.TrimSpace(btn.Label) != strconv.Itoa(i+1) {
			return false
		}
	}
	return len(buttons) > 1
}

func joinLines(a, b string) string {
	if a == "" {
		return b
	}
	return a + "\n" + b
}

// sendPart sends one customer-service message.
func (c *Connector) sendPart(ctx context.Context, to string, p part) error {
	var msg *message.CustomerMessage
	switch {
	case p.file != nil:
		msg = fileMessage(to, p)
	case p.image == nil:
		msg = message.NewCustomerTextMessage(to, p.text)
	default:
		mediaID := p.mediaID
		if mediaID == "" {
			mediaID = p.image.FileID
		}
		msg = message.NewCustomerImgMessage(to, mediaID)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := c.messages.Send(msg); err != nil {
		return c.classify(err)
	}
	return nil
}

// uploadImage downloads an agent's image through the shared media fetcher
// (public addresses only unless configured otherwise, time- and
// size-bounded) and uploads it as temporary media, returning the media_id.
// A fetch failure is a DeliveryError with the fetcher's plain reason.
func (c *Connector) uploadImage(ctx context.Context, a models.Attachment) (string, error) {
	file, err := c.fetch.Fetch(ctx, a.URL, c.maxImageBytes)
	if err != nil {
		var me *media.Error
		if !errors.As(err, &me) {
			return "", err // ctx ended
		}
		c.log.Info("wechat: attachment not fetched", "reason", me.Reason, "err", me.Unwrap())
		reason := me.Reason
		if strings.HasPrefix(reason, "the attachment is larger than") {
			reason = fmt.Sprintf("image larger than WeChat's %d MB limit", c.maxImageBytes>>20)
		}
		return "", &models.DeliveryError{Permanent: me.Permanent, RetryAfter: me.RetryAfter, Reason: reason}
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	up, err := c.material.MediaUploadFromReader(material.MediaTypeImage,
		imageFileName(a, file.ContentType, file.Data), bytes.NewReader(file.Data))
	if err != nil {
		return "", c.classify(err)
	}
	if up.MediaID == "" {
		return "", &models.DeliveryError{Reason: "WeChat returned no media_id for the image"}
	}
	return up.MediaID, nil
}

// imageFileName picks an upload file name with an extension WeChat accepts.
func imageFileName(a models.Attachment, contentType string, data []byte) string {
	name := a.Name
	if name == "" {
		name = path.Base(strings.SplitN(a.URL, "?", 2)[0])
	}
	if ext := strings.ToLower(path.Ext(name)); ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".gif" || ext == ".bmp" {
		return name
	}
	if contentType == "" || contentType == "application/octet-stream" {
		contentType = http.DetectContentType(data)
	}
	ext := ".jpg"
	if mt, _, err := mime.ParseMediaType(contentType); err == nil {
		switch mt {
		case "image/png":
			ext = ".png"
		case "image/gif":
			ext = ".gif"
		case "image/bmp":
			ext = ".bmp"
		}
	}
	return "image" + ext
}

var errcodePattern = regexp.MustCompile(`errcode=(-?\d+)`)

// apiErrCode extracts WeChat's errcode from an SDK error: typed
// *util.CommonError, or the "errcode=N" the SDK prints into untyped errors.
func apiErrCode(err error) (int64, bool) {
	var ce *util.CommonError
	if errors.As(err, &ce) {
		return ce.ErrCode, true
	}
	if m := errcodePattern.FindStringSubmatch(err.Error()); m != nil {
		n, perr := strconv.ParseInt(m[1], 10, 64)
		return n, perr == nil
	}
	return 0, false
}

// classify turns an SDK error into a *models.DeliveryError with the
// platform's reason in plain words.
func (c *Connector) classify(err error) error {
	code, ok := apiErrCode(err)
	if !ok {
		return &models.DeliveryError{Reason: "WeChat API call failed: " + redact(err)}
	}
	de := &models.DeliveryError{Code: strconv.FormatInt(code, 10)}
	switch code {
	case 45015:
		de.Permanent, de.Unreachable = true, true
		de.Reason = "outside WeChat's 48-hour reply window (the customer has not written in 48 hours, or unfollowed)"
	case 45047:
		de.Permanent = true
		de.Reason = "WeChat quota exceeded: at most 5 customer-service messages per 48 hours after a customer message"
	case 43004:
		de.Permanent, de.Unreachable = true, true
		de.Reason = "the customer has unfollowed the Official Account"
	case 40001, 42001, 40014:
		c.dropToken()
		de.Reason = "WeChat access token invalid or expired; a new one is fetched on retry"
	case -1:
		de.Reason = "WeChat system busy"
	case 45009:
		de.Reason = "WeChat daily API quota reached"
		de.RetryAfter = time.Hour
	case 40003:
		de.Permanent, de.Unreachable = true, true
		de.Reason = "the OpenID does not belong to this Official Account"
	case 44002, 44003, 45002:
		de.Permanent = true
		de.Reason = "WeChat refused the message content (empty or too long)"
	case 40005, 40009:
		de.Permanent = true
		de.Reason = "WeChat refused the image (unsupported type or too large)"
	case 48001:
		de.Permanent = true
		de.Reason = "this Official Account lacks the customer-service message permission"
	case 40125, 40013, 40164, 41004:
		de.Reason = "WeChat refused the account credentials (check app_id, app_secret and the IP whitelist)"
	default:
		de.Reason = "WeChat refused the request: " + redact(err)
	}
	return de
}

// offerKey is where the numbered options last offered to openid live.
func (c *Connector) offerKey(openid string) string {
	return "wechat:offer:" + c.name + ":" + openid
}

// rememberOffer stores the buttons offered to openid for 48 h, or forgets an
// earlier offer when a message without buttons was sent (numbers then refer
// to nothing). Failures are logged: the message is already delivered.
func (c *Connector) rememberOffer(ctx context.Context, openid string, buttons []models.Button) {
	val, ttl := "", time.Second
	if len(buttons) > 0 {
		b, err := json.Marshal(buttons)
		if err != nil {
			return
		}
		val, ttl = string(b), offerTTL
	}
	if err := c.kv.Set(ctx, c.offerKey(openid), val, ttl); err != nil {
		c.log.Warn("wechat: cannot store the numbered options offered", "err", err)
	}
}

// mapChoice turns a text that answers offered numbered options ("2") into
// KindAction with the chosen button's ID, keeping the text.
func (c *Connector) mapChoice(ctx context.Context, in *models.Inbound) {
	n, ok := parseChoice(in.Text)
	if !ok {
		return
	}
	kctx, cancel := context.WithTimeout(ctx, kvTimeout)
	defer cancel()
	val, found, err := c.kv.Get(kctx, c.offerKey(in.From.ExternalID))
	if err != nil {
		c.log.Warn("wechat: cannot read the numbered options offered", "err", err)
		return
	}
	if !found || val == "" {
		return
	}
	var buttons []models.Button
	if err := json.Unmarshal([]byte(val), &buttons); err != nil || n > len(buttons) {
		return
	}
	in.Kind, in.Action = models.KindAction, buttons[n-1].ID
}

// parseChoice reads "2", " 2 ", "2." or full-width "２" as option 2.
func parseChoice(text string) (int, bool) {
	s := strings.TrimSpace(text)
	s = strings.TrimRight(s, ".。、")
	if s == "" || len(s) > 9 {
		return 0, false
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r >= '０' && r <= '９':
			b.WriteRune('0' + (r - '０'))
		default:
			return 0, false
		}
	}
	n, err := strconv.Atoi(b.String())
	if err != nil || n < 1 || n > 100 {
		return 0, false
	}
	return n, true
}

// progressKey records how many parts of a split Outbound were delivered.
func (c *Connector) progressKey(messageID string) string {
	return "wechat:progress:" + c.name + ":" + messageID
}

func (c *Connector) progress(ctx context.Context, messageID string) int {
	if messageID == "" {
		return 0
	}
	v, ok, err := c.kv.Get(ctx, c.progressKey(messageID))
	if err != nil || !ok {
		return 0
	}
	n, _ := strconv.Atoi(v)
	return max(n, 0)
}

func (c *Connector) saveProgress(ctx context.Context, messageID string, n int) {
	if messageID == "" {
		return
	}
	if err := c.kv.Set(ctx, c.progressKey(messageID), strconv.Itoa(n), replyWindow); err != nil {
		c.log.Warn("wechat: cannot record delivery progress", "err", err)
	}
}
