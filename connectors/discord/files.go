package discord

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/tongdao/hub/connectors"
	"github.com/tongdao/hub/connectors/kit"
	"github.com/tongdao/hub/models"
)

// Capabilities for customers' and agents' files, checked at compile time.
var (
	_ connectors.FileDownloader = (*Connector)(nil)
	_ connectors.FileUploader   = (*Connector)(nil)
)

// Discord's limits for files.
const (
	// maxUpload is the most a bot may upload in one message (Discord's
	// default, 10 MiB); maxFilesPerMessage the most files one carries.
	maxUpload          = 10 << 20
	maxFilesPerMessage = 10
	// defaultMaxDownload bounds a download when the hub sets no limit.
	defaultMaxDownload = 100 << 20
)

// fileTimeout bounds one download (the bytes are read by the caller).
const fileTimeout = 5 * time.Minute

// cdnHosts serve Discord's attachments.
var cdnHosts = map[string]bool{"cdn.discordapp.com": true, "media.discordapp.net": true}

// UploadsFiles reports that Send delivers Outbound.Files by upload.
func (c *Connector) UploadsFiles() bool { return true }

// DownloadFile opens a customer's attachment from its URL on Discord's CDN
// (no token needed; the URL is signed and expires after a day). With
// api_url set, CDN requests go to api_url's host, as REST calls do (the
// sandbox stand-in serves both). Only CDN URLs are fetched: the URL comes
// from a message and must not make the hub fetch anything else. A file
// larger than max is refused from the attachment's size before any request,
// else from the Content-Length. An expired link (403/404) is refreshed once
// through POST /attachments/refresh-urls; a deleted file is permanent.
func (c *Connector) DownloadFile(ctx context.Context, a models.Attachment, max int64) (connectors.File, error) {
	if a.URL == "" {
		return connectors.File{}, &models.DeliveryError{Permanent: true, Reason: "the attachment has no file on Discord (a sticker or an embed)"}
	}
	u, err := url.Parse(a.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || !cdnHosts[strings.ToLower(u.Hostname())] {
		return connectors.File{}, &models.DeliveryError{Permanent: true, Reason: "the attachment is not on Discord's file server"}
	}
	limit := max
	if limit <= 0 {
		limit = defaultMaxDownload
	}
	if a.Size > limit {
		return connectors.File{}, kit.TooLarge(limit)
	}
	dctx, cancel := context.WithTimeout(ctx, fileTimeout)
	resp, err := c.cdnGet(dctx, u)
	if err == nil && gone(resp.StatusCode) {
		// Signed links expire after a day: ask for a fresh one, once.
		resp.Body.Close()
		var fresh *url.URL
		if fresh, err = c.refreshURL(dctx, a.URL); err == nil {
			resp, err = c.cdnGet(dctx, fresh)
		}
	}
	if err == nil && resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		err = &models.DeliveryError{Code: fmt.Sprint(resp.StatusCode),
			Reason: fmt.Sprintf("Discord's file server did not give the file (HTTP %d)", resp.StatusCode)}
		if gone(resp.StatusCode) {
			err = errGone()
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
	ct := a.MIMEType
	if ct == "" {
		ct = resp.Header.Get("Content-Type")
	}
	size := resp.ContentLength
	if size < 0 {
		size = -1
	}
	return connectors.File{Body: kit.CancelOnClose(resp.Body, cancel), Name: a.Name, ContentType: ct, Size: size}, nil
}

// errGone is a deleted file, or a link that cannot be refreshed.
func errGone() error {
	return &models.DeliveryError{Permanent: true, Reason: "the file is no longer available on Discord (its message was deleted)"}
}

func gone(status int) bool {
	return status == http.StatusNotFound || status == http.StatusForbidden || status == http.StatusGone
}

// cdnGet GETs an attachment URL with the CDN client.
func (c *Connector) cdnGet(ctx context.Context, u *url.URL) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, &models.DeliveryError{Permanent: true, Reason: "the attachment's address is malformed"}
	}
	resp, err := c.cdn.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &models.DeliveryError{Reason: "Discord's file server could not be reached"}
	}
	return resp, nil
}

// refreshURL asks Discord for a freshly signed link to an attachment
// (POST /attachments/refresh-urls). errGone when it has none: the file was
// deleted.
func (c *Connector) refreshURL(ctx context.Context, raw string) (*url.URL, error) {
	endpoint := discordgo.EndpointAPI + "attachments/refresh-urls"
	body, err := c.rest.RequestWithBucketID(http.MethodPost, endpoint,
		map[string][]string{"attachment_urls": {raw}}, endpoint, discordgo.WithContext(ctx))
	if err != nil {
		return nil, deliveryError(err)
	}
	var out struct {
		URLs []struct {
			Original  string `json:"original"`
			Refreshed string `json:"refreshed"`
		} `json:"refreshed_urls"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, &models.DeliveryError{Reason: "unreadable answer from Discord"}
	}
	for _, r := range out.URLs {
		u, err := url.Parse(r.Refreshed)
		if r.Original == raw && err == nil && cdnHosts[strings.ToLower(u.Hostname())] {
			return u, nil
		}
	}
	return nil, errGone()
}

// fileGroups lays an agent's files out as messages: at most ten files and
// 10 MiB each, in order. A file over 10 MiB is refused.
func fileGroups(files []models.OutboundFile) ([][]models.OutboundFile, error) {
	var groups [][]models.OutboundFile
	var size int64
	for _, f := range files {
		if f.Size > maxUpload {
			name := f.Name
			if name == "" {
				name = "a file"
			}
			return nil, &models.DeliveryError{Permanent: true, Reason: fmt.Sprintf("%s is larger than 10 MB, the most Discord lets a bot upload", name)}
		}
		if f.Open == nil {
			return nil, &models.DeliveryError{Permanent: true, Reason: "a file has no content to send"}
		}
		if n := len(groups); n == 0 || len(groups[n-1]) == maxFilesPerMessage || size+f.Size > maxUpload {
			groups = append(groups, nil)
			size = 0
		}
		groups[len(groups)-1] = append(groups[len(groups)-1], f)
		size += f.Size
	}
	return groups, nil
}

// postFiles posts one message with files as a multipart body, payload_json
// plus files[n], built by discordgo (MultipartBodyWithJSON, what
// MessageSend.Files uses) around our own payload, which keeps the nonce.
// Each attempt opens the stored files again.
func (c *Connector) postFiles(ctx context.Context, endpoint string, msg *outgoingMessage, files []models.OutboundFile) ([]byte, error) {
	parts := make([]*discordgo.File, 0, len(files))
	for _, f := range files {
		body, err := f.Open(ctx)
		if err != nil {
			return nil, fmt.Errorf("discord: opening a file to send: %w", err)
		}
		defer body.Close()
		name := f.Name
		if name == "" {
			name = "file"
		}
		parts = append(parts, &discordgo.File{Name: name, ContentType: f.ContentType, Reader: body})
	}
	contentType, body, err := discordgo.MultipartBodyWithJSON(msg, parts)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("discord: reading the files to send: %w", err)
	}
	return c.rest.RequestRaw(http.MethodPost, endpoint, contentType, body, endpoint, 0, discordgo.WithContext(ctx))
}
