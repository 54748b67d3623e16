package connectors

import (
	"context"
	"io"

	"github.com/tongdao/hub/models"
)

// The media seam: how the hub gets a customer's file from a platform and
// gives an agent's file to one. The inbox stores the bytes in its blob store
// (never the platform's URL, which may embed the bot token); connectors only
// move bytes through their SDK.

// FileDownloader is implemented by connectors that can fetch the bytes of a
// customer's attachment through the platform's API (Telegram getFile,
// WeChat temporary media, a Discord attachment URL). The hub calls it from a
// reaction after the message is committed, never while ingesting.
type FileDownloader interface {
	Connector
	// DownloadFile opens the attachment's bytes. max is the most the hub
	// will keep: a connector that knows the size in advance refuses a larger
	// file without reading it; the caller stops reading after max+1 bytes in
	// any case. ContentType in the result is what the platform said (the hub
	// sniffs the bytes itself). Failures are *models.DeliveryError: Permanent
	// with a plain Reason ("the file has expired on WeChat", "the file is
	// larger than 20 MB") when retrying cannot help, else temporary.
	DownloadFile(ctx context.Context, a models.Attachment, max int64) (File, error)
}

// FileUploader is implemented by connectors that deliver an agent's files
// (Outbound.Files) by uploading their bytes through the platform's API
// (Telegram sendPhoto/sendDocument with a multipart body, WeChat temporary
// media upload then an image or file customer-service message, Discord
// message attachments). A connector without it gets an Outbound whose Files
// are empty, and the hub refuses uploads to its conversations.
type FileUploader interface {
	Connector
	// UploadsFiles reports that Send delivers Outbound.Files.
	UploadsFiles() bool
}

// FileChecker is implemented by FileUploaders whose platform carries only
// some files (a WeChat Official Account sends images, voice notes and
// videos, never a PDF). CheckFile tells, before the hub keeps an agent's
// upload, why f cannot be sent: a *models.DeliveryError whose Reason is
// plain words for the agent; nil when it can. f has no Open yet.
type FileChecker interface {
	CheckFile(f models.OutboundFile) error
}

// File is an opened file: its bytes and what the platform said of them.
type File struct {
	Body        io.ReadCloser
	Name        string
	ContentType string
	// Size is the length in bytes when known in advance, else -1.
	Size int64
}
