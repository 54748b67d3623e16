// Package media fetches the files agents attach to replies (an image given
// by URL) for connectors whose platform wants the bytes uploaded rather than
// a link (WeChat). Every fetch goes through one dialer that checks the
// address it actually connects to, after name resolution and on every
// redirect, so a URL cannot reach the hub's own network: loopback,
// private, link-local (cloud metadata services), unspecified, multicast and
// other reserved addresses are refused unless the configuration allows
// private addresses (media.allow_private_fetch, meant for the sandbox and
// tests, whose stand-ins listen on loopback). Checking the dialled address,
// not the name, also defeats DNS rebinding.
//
// Failures are *Error values whose Reason is plain words for the agent
// ("the attachment URL points to a private address", "could not fetch the
// attachment: HTTP 404"): never the dial error, which would tell an agent
// which ports are open where.
package media

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"syscall"
	"time"
)

// Defaults for Policy fields left zero.
const (
	DefaultTimeout  = 10 * time.Second
	DefaultMaxBytes = 10 << 20
	// maxRedirects bounds the redirects followed per fetch.
	maxRedirects = 5
	// retryAfter is how soon a fetch that the file's server asked to retry
	// (5xx, 408, 429) is tried again: soon, so that one attachment does not
	// hold the chat's later replies for long.
	retryAfter = 5 * time.Second
)

// Policy says what a Fetcher may fetch.
type Policy struct {
	// AllowPrivate allows loopback, private, link-local and other
	// non-public addresses. Off by default.
	AllowPrivate bool
	// Timeout bounds a whole fetch: connecting, redirects and reading the
	// body (default 10 s).
	Timeout time.Duration
	// MaxBytes caps a file unless the caller asks for less (default 10 MiB).
	MaxBytes int64
}

// Fetcher downloads attachments under a Policy. It is safe for concurrent
// use; the hub shares one between its connectors.
type Fetcher struct {
	policy Policy
	client *http.Client
	// public decides whether a dialled address may be used (Public of its
	// IP; tests narrow it to one port to stand in for the public internet).
	public func(netip.AddrPort) bool
}

// Error is a failed fetch. Reason is fit to show the agent.
type Error struct {
	Reason string
	// Permanent means retrying will not help (a refused address, a 4xx, a
	// file too large, a timeout); otherwise RetryAfter says when to retry.
	Permanent  bool
	RetryAfter time.Duration
	// err is the underlying error, for logs only.
	err error
}

func (e *Error) Error() string { return e.Reason }

// Unwrap returns the underlying error (for logs; never shown to agents).
func (e *Error) Unwrap() error { return e.err }

// Plain reasons.
const (
	ReasonPrivate = "the attachment URL points to a private address"
	reasonPrefix  = "could not fetch the attachment: "
)

// errRefused is returned by the dialer's Control for a refused address.
var errRefused = errors.New("media: address refused")

// New returns a Fetcher for p.
func New(p Policy) *Fetcher {
	if p.Timeout <= 0 {
		p.Timeout = DefaultTimeout
	}
	if p.MaxBytes <= 0 {
		p.MaxBytes = DefaultMaxBytes
	}
	f := &Fetcher{policy: p, public: func(ap netip.AddrPort) bool { return Public(ap.Addr()) }}
	dialer := &net.Dialer{Timeout: p.Timeout, KeepAlive: 30 * time.Second, Control: f.control}
	transport := &http.Transport{
		// No proxy: the dialer must see the file's own address.
		Proxy:                  nil,
		DialContext:            dialer.DialContext,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           16,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    p.Timeout,
		ResponseHeaderTimeout:  p.Timeout,
		MaxResponseHeaderBytes: 64 << 10,
	}
	f.client = &http.Client{
		Transport: transport,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= maxRedirects {
				return &Error{Reason: reasonPrefix + "too many redirects", Permanent: true}
			}
			if err := f.checkURL(req.URL); err != nil {
				return err
			}
			return nil
		},
	}
	return f
}

// AllowsPrivate reports whether the policy allows non-public addresses.
func (f *Fetcher) AllowsPrivate() bool { return f.policy.AllowPrivate }

// control refuses connections to non-public addresses; it sees the address
// actually dialled, after resolution.
func (f *Fetcher) control(_, address string, _ syscall.RawConn) error {
	if f.policy.AllowPrivate {
		return nil
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil || !f.public(ap) {
		return errRefused
	}
	return nil
}

// checkURL refuses what is not an http(s) URL with a host, and IP literals
// that are not public (before any connection is tried).
func (f *Fetcher) checkURL(u *url.URL) error {
	if u.Scheme != "http" && u.Scheme != "https" {
		return &Error{Reason: "the attachment URL must start with http:// or https://", Permanent: true}
	}
	host := u.Hostname()
	if host == "" {
		return &Error{Reason: "the attachment URL has no host", Permanent: true}
	}
	if f.policy.AllowPrivate {
		return nil
	}
	if a, err := netip.ParseAddr(host); err == nil {
		port := uint16(80)
		if u.Scheme == "https" {
			port = 443
		}
		if p, err := strconv.ParseUint(u.Port(), 10, 16); err == nil {
			port = uint16(p)
		}
		if !f.public(netip.AddrPortFrom(a, port)) {
			return &Error{Reason: ReasonPrivate, Permanent: true}
		}
	}
	return nil
}

// nonPublic lists reserved ranges that netip's predicates do not cover.
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // carrier-grade NAT
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // documentation
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, broadcast
	netip.MustParsePrefix("64:ff9b::/96"),    // NAT64: may embed any IPv4 address
	netip.MustParsePrefix("64:ff9b:1::/48"),  // local NAT64
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("2002::/16"),       // 6to4: may embed any IPv4 address
	netip.MustParsePrefix("2001::/32"),       // Teredo
	netip.MustParsePrefix("100::/64"),        // discard
}

// Public reports whether a is a public unicast address: not loopback,
// private (RFC 1918, fc00::/7), link-local, unspecified, multicast, nor
// another reserved range. IPv4-mapped IPv6 addresses are judged as IPv4.
func Public(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsValid() || a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsInterfaceLocalMulticast() || a.IsMulticast() || a.IsUnspecified() {
		return false
	}
	if a.Zone() != "" {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

// File is a fetched file.
type File struct {
	Data        []byte
	ContentType string
}

// Fetch downloads rawURL, at most maxBytes (0: the policy's cap; a larger
// value is lowered to it). Failures are *Error, or ctx's error when ctx
// ended.
func (f *Fetcher) Fetch(ctx context.Context, rawURL string, maxBytes int64) (File, error) {
	if maxBytes <= 0 || maxBytes > f.policy.MaxBytes {
		maxBytes = f.policy.MaxBytes
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return File{}, &Error{Reason: "the attachment URL is not a valid URL", Permanent: true, err: err}
	}
	if err := f.checkURL(u); err != nil {
		return File{}, err
	}
	fctx, cancel := context.WithTimeout(ctx, f.policy.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(fctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return File{}, &Error{Reason: "the attachment URL is not a valid URL", Permanent: true, err: err}
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return File{}, f.classify(ctx, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		e := &Error{Reason: reasonPrefix + "HTTP " + strconv.Itoa(resp.StatusCode), Permanent: true}
		if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout {
			e.Permanent, e.RetryAfter = false, retryAfter
		}
		return File{}, e
	}
	if resp.ContentLength > maxBytes {
		return File{}, tooLarge(maxBytes)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBytes+1))
	if err != nil {
		return File{}, f.classify(ctx, err)
	}
	if int64(len(data)) > maxBytes {
		return File{}, tooLarge(maxBytes)
	}
	return File{Data: data, ContentType: resp.Header.Get("Content-Type")}, nil
}

func tooLarge(maxBytes int64) *Error {
	return &Error{Reason: fmt.Sprintf("the attachment is larger than %s", sizeText(maxBytes)), Permanent: true}
}

func sizeText(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MB", n>>20)
	}
	if n >= 1<<10 && n%(1<<10) == 0 {
		return fmt.Sprintf("%d KB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// classify turns a transport error into plain words. It names no address,
// port or system error: those would make the hub a port scanner.
func (f *Fetcher) classify(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err() // the caller's deadline or shutdown, not the file's fault
	}
	var me *Error
	if errors.As(err, &me) {
		return me
	}
	e := &Error{Permanent: true, err: err}
	var dnsErr *net.DNSError
	switch {
	case errors.Is(err, errRefused):
		e.Reason = ReasonPrivate
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		e.Reason = reasonPrefix + "no answer within " + f.policy.Timeout.String()
	case errors.As(err, &dnsErr):
		e.Reason = reasonPrefix + "the host name does not resolve"
	default:
		e.Reason = reasonPrefix + "the connection failed"
	}
	return e
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}
