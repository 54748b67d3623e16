package wechat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/silenceper/wechat/v2/officialaccount/material"
	"github.com/silenceper/wechat/v2/officialaccount/message"
	"github.com/silenceper/wechat/v2/util"

	"github.com/tongdao/hub/connectors"
	"github.com/tongdao/hub/connectors/kit"
	"github.com/tongdao/hub/models"
)

// Capabilities for customers' and agents' files, checked at compile time.
var (
	_ connectors.FileDownloader = (*Connector)(nil)
	_ connectors.FileUploader   = (*Connector)(nil)
	_ connectors.FileChecker    = (*Connector)(nil)
)

// WeChat's temporary media limits (media/upload and media/get).
const (
	maxImageMedia = 10 << 20
	maxVoiceMedia = 2 << 20
	maxVideoMedia = 10 << 20
)

// fileTimeout bounds one download (media/get and the bytes, read by the
// caller) or one upload.
const fileTimeout = 5 * time.Minute

// errExpiredMedia is WeChat's "invalid media_id": temporary media live
// three days.
const errExpiredMedia = 40007

// reasonExpired is what agents read when a customer's file is gone.
const reasonExpired = "the file has expired on WeChat (temporary media are kept for three days)"

// UploadsFiles reports that Send delivers Outbound.Files by upload.
func (c *Connector) UploadsFiles() bool { return true }

// mediaLimit is WeChat's size limit for an attachment type.
func mediaLimit(typ string) int64 {
	if typ == "voice" || typ == "audio" {
		return maxVoiceMedia
	}
	return maxImageMedia // images and videos alike
}

// DownloadFile opens a customer's image, voice note or video through
// temporary media: the SDK gives the media/get URL with the access token
// (GetMediaURL) and the connector's API client fetches it (at api_url).
// A video answers with a video_url, which is fetched in turn. An unknown or
// expired media_id (errcode 40007: temporary media live three days) is a
// permanent failure with a plain reason; a file whose Content-Length is
// over max or WeChat's limit is refused before reading. The URL holds the
// access token and is never returned or logged.
func (c *Connector) DownloadFile(ctx context.Context, a models.Attachment, max int64) (connectors.File, error) {
	c.route()
	if a.FileID == "" {
		return connectors.File{}, &models.DeliveryError{Permanent: true, Reason: "the attachment has no WeChat media id"}
	}
	limit := mediaLimit(a.Type)
	if max > 0 && max < limit {
		limit = max
	}
	if a.Size > limit {
		return connectors.File{}, kit.TooLarge(limit)
	}
	mediaURL, err := c.material.GetMediaURL(a.FileID)
	if err != nil {
		return connectors.File{}, c.classify(err)
	}
	dctx, cancel := context.WithTimeout(ctx, fileTimeout)
	resp, err := c.mediaGet(dctx, mediaURL)
	if err == nil && isJSONAnswer(resp) {
		var videoURL string
		if videoURL, err = c.mediaAnswer(resp); err == nil {
			resp, err = c.mediaGet(dctx, videoURL)
			if err == nil && isJSONAnswer(resp) {
				_, err = c.mediaAnswer(resp)
				if err == nil {
					err = &models.DeliveryError{Reason: "WeChat answered without the video"}
				}
			}
		}
	}
	if err != nil {
		cancel()
		if ctx.Err() != nil {
			return connectors.File{}, ctx.Err()
		}
		return connectors.File{}, err
	}
	if resp.ContentLength > limit {
		resp.Body.Close()
		cancel()
		return connectors.File{}, kit.TooLarge(limit)
	}
	ct := resp.Header.Get("Content-Type")
	name := ""
	if _, params, perr := mime.ParseMediaType(resp.Header.Get("Content-Disposition")); perr == nil {
		name = path.Base(params["filename"])
	}
	if name == "" || name == "." || name == "/" {
		name = a.Name
	}
	size := resp.ContentLength
	if size < 0 {
		size = -1
	}
	return connectors.File{Body: kit.CancelOnClose(resp.Body, cancel), Name: name, ContentType: ct, Size: size}, nil
}

// mediaGet GETs a media URL through the connector's API route. Transport
// errors are stripped of the URL.
func (c *Connector) mediaGet(ctx context.Context, rawURL string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, &models.DeliveryError{Permanent: true, Reason: "WeChat gave a malformed file address"}
	}
	resp, err := (&http.Client{Transport: c.router}).Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		c.log.Info("wechat: downloading a file failed", "err", redactString(err.Error()))
		return nil, &models.DeliveryError{Reason: "WeChat could not be reached for the file"}
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, &models.DeliveryError{Reason: fmt.Sprintf("WeChat did not serve the file (HTTP %d)", resp.StatusCode)}
	}
	return resp, nil
}

// isJSONAnswer tells an API answer (an error, or a video's link) from a
// file: WeChat labels them application/json or text/plain.
func isJSONAnswer(resp *http.Response) bool {
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	return strings.Contains(mt, "json") || mt == "text/plain"
}

// mediaAnswer reads a JSON answer of media/get: the video_url of a video,
// or an error (40007 permanent: the file expired).
func (c *Connector) mediaAnswer(resp *http.Response) (string, error) {
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return "", &models.DeliveryError{Reason: "WeChat's answer could not be read"}
	}
	var ans struct {
		ErrCode  int64  `json:"errcode"`
		ErrMsg   string `json:"errmsg"`
		VideoURL string `json:"video_url"`
	}
	if json.Unmarshal(bytes.TrimSpace(data), &ans) != nil {
		return "", &models.DeliveryError{Reason: "WeChat answered something that is not a file"}
	}
	switch {
	case ans.ErrCode == errExpiredMedia:
		return "", &models.DeliveryError{Permanent: true, Code: "40007", Reason: reasonExpired}
	case ans.ErrCode != 0:
		return "", c.classify(util.NewCommonError("media/get", ans.ErrCode, ans.ErrMsg))
	case ans.VideoURL == "":
		return "", &models.DeliveryError{Reason: "WeChat answered without the file"}
	}
	return ans.VideoURL, nil
}

// CheckFile refuses, before the hub keeps it, a file an Official Account
// cannot send (uploadKind).
func (c *Connector) CheckFile(f models.OutboundFile) error {
	_, _, err := uploadKind(f)
	return err
}

// uploadKind is the temporary-media type an agent's file goes as: JPEG,
// PNG, GIF and BMP images up to 10 MB as image, AMR and MP3 audio up to
// 2 MB as voice, MP4 up to 10 MB as video. Anything else (a PDF, an Ogg
// voice note) cannot be sent by an Official Account's customer-service
// messages: the refusal says so.
func uploadKind(f models.OutboundFile) (material.MediaType, string, error) {
	ct, _, _ := mime.ParseMediaType(f.ContentType)
	var kind material.MediaType
	var ext string
	var limit int64
	switch ct {
	case "image/jpeg", "image/png", "image/gif", "image/bmp":
		kind, limit, ext = material.MediaTypeImage, maxImageMedia, map[string]string{"image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif", "image/bmp": ".bmp"}[ct]
	case "audio/amr", "audio/mpeg", "audio/mp3":
		kind, limit, ext = material.MediaTypeVoice, maxVoiceMedia, map[string]string{"audio/amr": ".amr"}[ct]
		if ext == "" {
			ext = ".mp3"
		}
	case "video/mp4":
		kind, limit, ext = material.MediaTypeVideo, maxVideoMedia, ".mp4"
	default:
		return "", "", &models.DeliveryError{Permanent: true, Reason: fmt.Sprintf(
			"WeChat Official Accounts can send images, voice notes (AMR or MP3) and MP4 videos only, not %s", fileLabel(f))}
	}
	if f.Size > limit {
		return "", "", &models.DeliveryError{Permanent: true, Reason: fmt.Sprintf("%s is larger than WeChat's %s for a %s", fileLabel(f), kit.SizeText(limit), kind)}
	}
	name := f.Name
	if !strings.EqualFold(path.Ext(name), ext) && !(ext == ".jpg" && strings.EqualFold(path.Ext(name), ".jpeg")) {
		name = strings.TrimSuffix(name, path.Ext(name))
		if name == "" {
			name = "file"
		}
		name += ext
	}
	return kind, name, nil
}

func fileLabel(f models.OutboundFile) string {
	if f.Name != "" {
		return fmt.Sprintf("%q", f.Name)
	}
	if f.ContentType != "" {
		return "a file of type " + f.ContentType
	}
	return "this file"
}

// uploadFile uploads an agent's stored file as temporary media and returns
// its media_id. Each attempt opens the stored bytes again.
func (c *Connector) uploadFile(ctx context.Context, f models.OutboundFile, kind material.MediaType, name string) (string, error) {
	if f.Open == nil {
		return "", &models.DeliveryError{Permanent: true, Reason: "the file has no content to send"}
	}
	uctx, cancel := context.WithTimeout(ctx, fileTimeout)
	defer cancel()
	body, err := f.Open(uctx)
	if err != nil {
		return "", fmt.Errorf("wechat: opening the file to send: %w", err)
	}
	defer body.Close()
	if err := ctx.Err(); err != nil {
		return "", err
	}
	up, err := c.material.MediaUploadFromReader(kind, name, body)
	if err != nil {
		return "", c.classify(err)
	}
	if up.MediaID == "" {
		return "", &models.DeliveryError{Reason: "WeChat returned no media_id for the file"}
	}
	return up.MediaID, nil
}

// fileMessage is the customer-service message for an uploaded file.
func fileMessage(to string, p part) *message.CustomerMessage {
	switch p.kind {
	case material.MediaTypeVoice:
		return message.NewCustomerVoiceMessage(to, p.mediaID)
	case material.MediaTypeVideo:
		return &message.CustomerMessage{ToUser: to, Msgtype: message.MsgTypeVideo,
			Video: &message.MediaVideo{MediaID: p.mediaID, Title: p.name}}
	}
	return message.NewCustomerImgMessage(to, p.mediaID)
}
