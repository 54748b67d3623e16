// Package blobstore keeps the bytes of customers' and agents' files: a local
// directory (file:///path) or any S3-compatible store
// (s3://bucket?endpoint=…&region=…), through gocloud.dev/blob with its
// fileblob and s3blob drivers. The database keeps what a file is (name,
// type, size, state); the store keeps only bytes, under keys the hub makes.
package blobstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"
	_ "gocloud.dev/blob/s3blob" // the s3:// scheme
	"gocloud.dev/gcerrors"
)

// ErrNotFound is returned for a key the store does not hold.
var ErrNotFound = errors.New("blobstore: not found")

// Store is an opened blob store.
type Store struct {
	b   *blob.Bucket
	url string
}

// Check validates a store URL without opening it (for check-config): a
// file URL with an absolute path, or an s3 URL with a bucket.
func Check(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("is not a URL: %v", errors.Unwrap(err))
	}
	switch u.Scheme {
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return fmt.Errorf("a file URL has no host: write file:///absolute/path")
		}
		if !strings.HasPrefix(u.Path, "/") || len(u.Path) < 2 {
			return fmt.Errorf("a file URL needs an absolute directory: file:///data/media")
		}
	case "s3":
		if u.Host == "" {
			return fmt.Errorf("an s3 URL needs a bucket: s3://bucket?endpoint=…&region=…")
		}
	default:
		return fmt.Errorf("unknown scheme %q: use file:///path or s3://bucket?endpoint=…&region=…", u.Scheme)
	}
	return nil
}

// FileURL is the store URL of a local directory.
func FileURL(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String(), nil
}

// Open opens the store at raw (see Check). A local directory is created
// when missing; temporary files are written beside the final ones, so a
// write is a rename on one file system. S3 credentials come from the
// usual environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) or files.
func Open(ctx context.Context, raw string) (*Store, error) {
	if err := Check(raw); err != nil {
		return nil, fmt.Errorf("media store: %w", err)
	}
	u, _ := url.Parse(raw)
	var (
		b   *blob.Bucket
		err error
	)
	if u.Scheme == "file" {
		dir := filepath.FromSlash(u.Path)
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("media store: %w", err)
		}
		b, err = fileblob.OpenBucket(dir, &fileblob.Options{NoTempDir: true, Metadata: fileblob.MetadataDontWrite})
	} else {
		b, err = blob.OpenBucket(ctx, raw)
	}
	if err != nil {
		return nil, fmt.Errorf("media store: %w", err)
	}
	return &Store{b: b, url: raw}, nil
}

// Close releases the store.
func (s *Store) Close() error { return s.b.Close() }

// Put writes r under key and returns the number of bytes written. A write
// that fails leaves nothing under key.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, contentType string) (int64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := s.b.NewWriter(ctx, key, &blob.WriterOptions{ContentType: contentType, DisableContentTypeDetection: true})
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(w, r)
	if err != nil {
		cancel() // a cancelled writer discards what it wrote
		_ = w.Close()
		return n, err
	}
	return n, w.Close()
}

// Reader is an opened blob: it reads, seeks (for range requests) and
// closes.
type Reader interface {
	io.ReadSeekCloser
	Size() int64
	ModTime() time.Time
}

// Open opens the blob under key; ErrNotFound when there is none.
func (s *Store) Open(ctx context.Context, key string) (Reader, error) {
	r, err := s.b.NewReader(ctx, key, nil)
	if err != nil {
		if gcerrors.Code(err) == gcerrors.NotFound {
			return nil, ErrNotFound
		}
		return nil, err
	}
	return r, nil
}

// Delete removes the blob under key; a missing one is no error.
func (s *Store) Delete(ctx context.Context, key string) error {
	err := s.b.Delete(ctx, key)
	if err != nil && gcerrors.Code(err) == gcerrors.NotFound {
		return nil
	}
	return err
}

// Exists reports whether key holds a blob.
func (s *Store) Exists(ctx context.Context, key string) (bool, error) {
	return s.b.Exists(ctx, key)
}
