package blobstore_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tongdao/hub/internal/blobstore"
	"github.com/tongdao/hub/internal/s3test"
)

func stores(t *testing.T) map[string]string {
	fileURL, err := blobstore.FileURL(filepath.Join(t.TempDir(), "media"))
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{"file": fileURL, "s3": s3test.Start(t, "tongdao-media")}
}

func TestPutOpenSeekDelete(t *testing.T) {
	for name, u := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s, err := blobstore.Open(ctx, u)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			data := bytes.Repeat([]byte("0123456789"), 100_000) // 1 MB: a multi-part upload on S3 is not needed
			n, err := s.Put(ctx, "att/1/photo", bytes.NewReader(data), "image/jpeg")
			if err != nil || n != int64(len(data)) {
				t.Fatalf("Put = %d, %v", n, err)
			}
			r, err := s.Open(ctx, "att/1/photo")
			if err != nil {
				t.Fatal(err)
			}
			if r.Size() != int64(len(data)) {
				t.Errorf("Size = %d, want %d", r.Size(), len(data))
			}
			if _, err := r.Seek(999_990, io.SeekStart); err != nil {
				t.Fatal(err)
			}
			tail, err := io.ReadAll(r)
			if err != nil || string(tail) != "0123456789" {
				t.Errorf("read after seek = %q, %v", tail, err)
			}
			if _, err := r.Seek(0, io.SeekStart); err != nil {
				t.Fatal(err)
			}
			all, _ := io.ReadAll(r)
			if !bytes.Equal(all, data) {
				t.Errorf("read %d bytes, not what was put", len(all))
			}
			r.Close()
			if ok, err := s.Exists(ctx, "att/1/photo"); !ok || err != nil {
				t.Errorf("Exists = %v, %v", ok, err)
			}
			if err := s.Delete(ctx, "att/1/photo"); err != nil {
				t.Fatal(err)
			}
			if err := s.Delete(ctx, "att/1/photo"); err != nil {
				t.Errorf("deleting a missing blob: %v", err)
			}
			if _, err := s.Open(ctx, "att/1/photo"); !errors.Is(err, blobstore.ErrNotFound) {
				t.Errorf("Open after Delete = %v, want ErrNotFound", err)
			}
		})
	}
}

// A write whose reader fails leaves nothing under the key.
func TestFailedPutLeavesNothing(t *testing.T) {
	for name, u := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s, err := blobstore.Open(ctx, u)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			r := io.MultiReader(strings.NewReader("half a file"), errReader{})
			if _, err := s.Put(ctx, "att/2/file", r, "application/pdf"); err == nil {
				t.Fatal("Put of a failing reader succeeded")
			}
			if ok, err := s.Exists(ctx, "att/2/file"); ok || err != nil {
				t.Errorf("Exists after a failed Put = %v, %v", ok, err)
			}
		})
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestCheck(t *testing.T) {
	for _, bad := range []string{"", "media", "file://relative/dir", "file:///", "s3://", "gs://bucket", "http://x/y"} {
		if err := blobstore.Check(bad); err == nil {
			t.Errorf("Check(%q) = nil, want an error", bad)
		}
	}
	for _, good := range []string{"file:///data/media", "s3://bucket?endpoint=http://127.0.0.1:9000&region=us-east-1"} {
		if err := blobstore.Check(good); err != nil {
			t.Errorf("Check(%q) = %v", good, err)
		}
	}
}

// A local store's directory is made when missing.
func TestFileStoreMakesItsDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	u, _ := blobstore.FileURL(dir)
	s, err := blobstore.Open(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		t.Fatalf("directory not made: %v", err)
	}
}
