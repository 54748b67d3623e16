// Package s3test runs an S3-compatible server (gofakes3, in memory) on
// loopback for tests, so the hub's S3 driver is exercised over HTTP with
// the real SDK, not mocked.
package s3test

import (
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// Start runs the server until the test ends, with bucket created, and
// returns the media store URL that reaches it (path-style addressing over
// plain HTTP). Credentials are set in the environment, as an operator
// would, so the test must not be parallel.
func Start(t testing.TB, bucket string) string {
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket(bucket); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: gofakes3.New(backend).Server(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	t.Setenv("AWS_ACCESS_KEY_ID", "tongdao-test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "tongdao-test-secret")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	// gofakes3 answers a ranged GET with the whole object's checksum, which
	// the SDK would check against the range; S3 and MinIO do not.
	t.Setenv("AWS_RESPONSE_CHECKSUM_VALIDATION", "when_required")
	none := filepath.Join(t.TempDir(), "none")
	t.Setenv("AWS_CONFIG_FILE", none)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", none)
	q := url.Values{"endpoint": {"http://" + ln.Addr().String()}, "region": {"us-east-1"},
		"use_path_style": {"true"}, "disable_https": {"true"}}
	return "s3://" + bucket + "?" + q.Encode()
}
