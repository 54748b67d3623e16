package kit

import (
	"context"
	"fmt"
	"io"

	"github.com/tongdao/hub/models"
)

// TooLarge is the permanent refusal of a file over limit bytes, in plain
// words ("the file is larger than 20 MB").
func TooLarge(limit int64) *models.DeliveryError {
	return &models.DeliveryError{Permanent: true, Reason: "the file is larger than " + SizeText(limit)}
}

// SizeText is n bytes in plain words: "20 MB", "512 KB", "900 bytes".
func SizeText(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// CancelOnClose returns body whose Close also calls cancel: a download's
// context lives as long as its caller reads the body.
func CancelOnClose(body io.ReadCloser, cancel context.CancelFunc) io.ReadCloser {
	return cancelBody{body, cancel}
}

type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}
