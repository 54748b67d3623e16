package models

import (
	"errors"
	"fmt"
	"io"
	"time"
)

// Attachment states: the hub's copy of a file.
const (
	// AttachmentPending: the hub is fetching the file from the platform
	// (or will retry at NextTry).
	AttachmentPending = "pending"
	// AttachmentStored: the bytes are in the media store.
	AttachmentStored = "stored"
	// AttachmentFailed: the file could not be had; Error says why.
	AttachmentFailed = "failed"
)

// AttachmentRow is one file of a message kept by the hub (migration 00016):
// a customer's file fetched from the platform after the message was
// committed, or an agent's upload. The message's attachments JSON carries a
// copy of what the API shows (StoredAttachment), rewritten with each change,
// so a message reads in one row.
type AttachmentRow struct {
	ID        int64 `gorm:"primaryKey"`
	MessageID int64 `gorm:"not null"`
	// Position is the attachment's index in the message's attachments.
	Position  int
	Connector string
	// Type is image, audio, video, file (or the platform's own: sticker).
	Type        string
	Name        string
	ContentType string
	Size        int64
	State       string
	Error       string
	// BlobKey and ThumbnailKey name the bytes in the media store ("" when
	// none).
	BlobKey      string
	ThumbnailKey string
	Transcript   string
	// Source is the platform's attachment (JSON of Attachment), handed to
	// the connector's DownloadFile.
	Source   string
	Attempts int
	// NextTry is when a pending file is fetched next (nil: not pending).
	NextTry   *time.Time
	CreatedAt time.Time
	StoredAt  *time.Time
}

// TableName is the table of attachment rows.
func (AttachmentRow) TableName() string { return "attachments" }

// StoredAttachment is an attachment as a message's attachments JSON keeps
// it: the platform's metadata, and the hub's copy once it has one (ID 0:
// the hub keeps no copy, as for a link, or a message from before media
// were kept).
type StoredAttachment struct {
	Attachment
	ID          int64  `json:"attachment_id,omitempty"`
	State       string `json:"state,omitempty"`
	Error       string `json:"error,omitempty"`
	ContentType string `json:"content_type,omitempty"`
	Thumbnail   bool   `json:"thumbnail,omitempty"`
}

// AttachmentView is the API's attachment of a message.
type AttachmentView struct {
	// ID is the hub's copy (null when the hub keeps none: a link, an image
	// an agent sent by URL, a message from before media were kept, or a
	// customer's file not yet taken in hand).
	ID          *string `json:"id"`
	Type        string  `json:"type"`
	Name        string  `json:"name"`
	ContentType string  `json:"content_type"`
	Size        int64   `json:"size"`
	// State is pending, stored or failed (null when ID is).
	State *string `json:"state"`
	// Error is the plain reason of a failed file.
	Error *string `json:"error"`
	// URL is /api/v1/attachments/{id} for a file the hub keeps, else the
	// outside address it came with (a link), else null.
	URL *string `json:"url"`
	// ThumbnailURL is /api/v1/attachments/{id}/thumbnail for a stored image
	// with a thumbnail, else null.
	ThumbnailURL *string `json:"thumbnail_url"`
	// Transcript is the platform's recognition of a voice note.
	Transcript *string `json:"transcript"`
	// Duration in seconds for audio and video.
	Duration    int    `json:"duration,omitempty"`
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
}

// MediaType is the kind of file an attachment type is: image, audio, video
// or file (a document, or anything else with bytes).
func MediaType(typ string) string {
	switch typ {
	case "image", "sticker":
		return "image"
	case "audio", "voice":
		return "audio"
	case "video":
		return "video"
	}
	return "file"
}

// View returns the API shape of a stored attachment.
func (a *StoredAttachment) View() AttachmentView {
	v := AttachmentView{Type: a.Type, Name: a.Name, ContentType: a.ContentType, Size: a.Size,
		Duration: a.Duration, Title: a.Title, Description: a.Description}
	switch a.Type {
	case "document":
		v.Type = "file"
	case "voice":
		v.Type = "audio"
	}
	if v.ContentType == "" {
		v.ContentType = a.MIMEType
	}
	if a.Transcript != "" {
		t := a.Transcript
		v.Transcript = &t
	}
	if a.ID == 0 {
		if a.URL != "" {
			u := a.URL
			v.URL = &u
		}
		return v
	}
	id, state := ID(a.ID), a.State
	v.ID, v.State = &id, &state
	if a.Error != "" {
		e := a.Error
		v.Error = &e
	}
	if a.State == AttachmentStored {
		u := "/api/v1/attachments/" + id
		v.URL = &u
		if a.Thumbnail {
			t := u + "/thumbnail"
			v.ThumbnailURL = &t
		}
	}
	return v
}

// IsMedia reports whether the hub fetches and keeps the file of an
// attachment of this type: everything with bytes on the platform (not a
// link).
func IsMedia(a *Attachment) bool {
	return a.Type != "link" && (a.FileID != "" || a.URL != "")
}

// Uploads refused for their size or type are invalid (code invalid); the
// HTTP API answers them 413 and 415. UploadRefused wraps one of these.
var (
	ErrUploadTooLarge    = errors.New("upload too large")
	ErrUploadUnsupported = errors.New("upload type not allowed")
)

// UploadRefused returns an invalid error with the message, that also is
// (errors.Is) why: ErrUploadTooLarge or ErrUploadUnsupported.
func UploadRefused(why error, format string, args ...any) error {
	return fmt.Errorf("%w%w", Errorf(EINVALID, format, args...), why)
}

// MediaFile is a stored file opened for serving: it reads and seeks (range
// requests).
type MediaFile struct {
	Body        io.ReadSeekCloser
	Name        string
	ContentType string
}

// Upload is one file an agent sends; Open opens its bytes (the hub sniffs
// them: ContentType is only what the client said).
type Upload struct {
	Name        string
	ContentType string
	Open        func() (io.ReadCloser, error)
}
