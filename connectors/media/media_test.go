package media

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fileServer serves a small PNG-ish body at /ok and 404 elsewhere.
func fileServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			w.Header().Set("Content-Type", "image/png")
			_, _ = w.Write([]byte("\x89PNG fake"))
		case "/big":
			_, _ = w.Write(make([]byte, 4096))
		case "/busy":
			w.WriteHeader(http.StatusServiceUnavailable)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func port(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	_, p, err := net.SplitHostPort(srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// mustRefuse checks err is the plain private-address refusal and tells
// nothing about the network (no address, port or dial error).
func mustRefuse(t *testing.T, err error, leaks ...string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T), want *media.Error", err, err)
	}
	if e.Reason != ReasonPrivate || !e.Permanent {
		t.Fatalf("refusal %+v, want permanent %q", e, ReasonPrivate)
	}
	for _, s := range append(leaks, "dial", "connect", "refused", "127.0.0.1", "::1") {
		if s != "" && strings.Contains(e.Error(), s) {
			t.Fatalf("reason %q leaks %q", e.Error(), s)
		}
	}
}

// TestRefusesNonPublicAddresses: loopback (by address and by a name that
// resolves to it), link-local (cloud metadata), private, unspecified and
// IPv4-mapped loopback are refused with the plain reason, before or at the
// dial, never with the dial error.
func TestRefusesNonPublicAddresses(t *testing.T) {
	srv := fileServer(t)
	p := port(t, srv)
	f := New(Policy{Timeout: 5 * time.Second})
	ctx := context.Background()
	for _, u := range []string{
		srv.URL + "/ok",                  // 127.0.0.1:port, open
		"http://127.0.0.1:1/ok",          // closed port: same answer, no port oracle
		"http://localhost:" + p + "/ok",  // a name resolving to loopback: refused at the dial
		"http://[::1]:" + p + "/ok",      // IPv6 loopback
		"http://[::ffff:127.0.0.1]:" + p, // IPv4-mapped loopback
		"http://169.254.169.254/latest/", // link-local metadata service
		"http://10.1.2.3/x.png",          // RFC 1918
		"http://192.168.0.1/x.png",       // RFC 1918
		"http://[fd00::1]/x.png",         // unique local
		"http://0.0.0.0:" + p + "/ok",    // unspecified
		"http://[fe80::1%25eth0]/x.png",  // link-local with zone
		"http://100.64.0.1/x.png",        // carrier-grade NAT
		"https://127.0.0.1:" + p + "/ok", // https too
	} {
		_, err := f.Fetch(ctx, u, 0)
		mustRefuse(t, err, p)
	}
}

// TestAllowedWhenConfigured: with AllowPrivate the same loopback file is
// fetched, and failures still read plainly.
func TestAllowedWhenConfigured(t *testing.T) {
	srv := fileServer(t)
	f := New(Policy{AllowPrivate: true, Timeout: 5 * time.Second})
	ctx := context.Background()
	file, err := f.Fetch(ctx, srv.URL+"/ok", 0)
	if err != nil {
		t.Fatal(err)
	}
	if string(file.Data) != "\x89PNG fake" || file.ContentType != "image/png" {
		t.Fatalf("file %+v", file)
	}
	var e *Error
	_, err = f.Fetch(ctx, srv.URL+"/missing", 0)
	if !errors.As(err, &e) || e.Reason != "could not fetch the attachment: HTTP 404" || !e.Permanent {
		t.Fatalf("404: %v", err)
	}
	_, err = f.Fetch(ctx, srv.URL+"/busy", 0)
	if !errors.As(err, &e) || e.Permanent || e.RetryAfter <= 0 || e.RetryAfter > 10*time.Second {
		t.Fatalf("503 should be retried soon: %+v", err)
	}
	_, err = f.Fetch(ctx, srv.URL+"/big", 1000)
	if !errors.As(err, &e) || !e.Permanent || !strings.Contains(e.Reason, "larger than 1000 bytes") {
		t.Fatalf("too large: %v", err)
	}
	// A closed port: a plain reason without the address or the system error.
	_, err = f.Fetch(ctx, "http://127.0.0.1:1/x", 0)
	if !errors.As(err, &e) || e.Reason != "could not fetch the attachment: the connection failed" {
		t.Fatalf("closed port: %v", err)
	}
	for _, u := range []string{"ftp://example.com/x", "file:///etc/passwd", "http:///x", "::"} {
		if _, err := f.Fetch(ctx, u, 0); !errors.As(err, &e) || !e.Permanent {
			t.Fatalf("%s: %v", u, err)
		}
	}
}

// TestRedirectToPrivateRefused: a public file whose server redirects to a
// private address is refused at the redirect. The "public" server is a
// loopback port the test declares public.
func TestRedirectToPrivateRefused(t *testing.T) {
	private := fileServer(t)
	var hits atomic.Int32
	private.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_, _ = w.Write([]byte("secret"))
	})
	public := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/to-literal":
			http.Redirect(w, r, private.URL+"/meta", http.StatusFound)
		case "/to-name":
			http.Redirect(w, r, "http://localhost:"+port(t, private)+"/meta", http.StatusFound)
		default:
			_, _ = w.Write([]byte("public file"))
		}
	}))
	defer public.Close()
	publicPort := public.Listener.Addr().(*net.TCPAddr).Port
	f := New(Policy{Timeout: 5 * time.Second})
	f.public = func(ap netip.AddrPort) bool { return int(ap.Port()) == publicPort }

	ctx := context.Background()
	if file, err := f.Fetch(ctx, public.URL+"/plain", 0); err != nil || string(file.Data) != "public file" {
		t.Fatalf("the public file: %q, %v", file.Data, err)
	}
	for _, path := range []string{"/to-literal", "/to-name"} {
		_, err := f.Fetch(ctx, public.URL+path, 0)
		mustRefuse(t, err, port(t, private))
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the private server was reached %d times", n)
	}
}

func TestPublic(t *testing.T) {
	for s, want := range map[string]bool{
		"8.8.8.8": true, "2606:4700::1111": true, "1.1.1.1": true,
		"127.0.0.1": false, "10.0.0.1": false, "172.16.0.1": false, "192.168.1.1": false,
		"169.254.169.254": false, "0.0.0.0": false, "224.0.0.1": false, "255.255.255.255": false,
		"::1": false, "::": false, "fe80::1": false, "fc00::1": false, "ff02::1": false,
		"::ffff:10.0.0.1": false, "64:ff9b::a00:1": false, "100.64.0.1": false,
	} {
		if got := Public(netip.MustParseAddr(s)); got != want {
			t.Errorf("Public(%s) = %v, want %v", s, got, want)
		}
	}
}
