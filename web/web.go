package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"regexp"
	"strings"
	"sync"
	"time"
)

//go:embed static
var staticFiles embed.FS

// ContentSecurityPolicy is sent with every console response. The console
// needs nothing beyond its own origin: the API is same-origin, and all
// scripts and styles are files (no inline code, no eval). Customers' files
// are read from the API with the agent's token and shown through blob:
// URLs (images, audio and video players).
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; media-src blob:; " +
	"connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

const (
	indexName = "index.html"
	// cacheRevalidate makes browsers check the ETag before reusing a copy.
	cacheRevalidate = "no-cache"
	// cacheImmutable is for an asset requested with its current content hash.
	cacheImmutable = "public, max-age=31536000, immutable"
)

// contentTypes maps the file extensions the console uses to their types;
// an explicit table keeps the answer independent of the host's MIME files.
var contentTypes = map[string]string{
	".html":        "text/html; charset=utf-8",
	".css":         "text/css; charset=utf-8",
	".js":          "text/javascript; charset=utf-8",
	".mjs":         "text/javascript; charset=utf-8",
	".json":        "application/json",
	".webmanifest": "application/manifest+json",
	".svg":         "image/svg+xml",
	".png":         "image/png",
	".ico":         "image/x-icon",
	".txt":         "text/plain; charset=utf-8",
}

// asset is one file ready to serve.
type asset struct {
	body        []byte
	contentType string
	etag        string
	version     string // short content hash used in ?v=
}

// console serves the embedded files.
type console struct {
	assets map[string]*asset // by name relative to the root, e.g. "app.js"
	index  *asset
}

var (
	consoleOnce sync.Once
	consoleVal  *console
	consoleErr  error
)

// Handler returns the console's HTTP handler. It serves GET and HEAD:
// index.html for "/" and unknown paths, the embedded assets by name.
func Handler() http.Handler {
	consoleOnce.Do(func() {
		sub, err := fs.Sub(staticFiles, "static")
		if err != nil {
			consoleErr = err
			return
		}
		consoleVal, consoleErr = newConsole(sub)
	})
	if consoleErr != nil {
		// Only a broken build gets here; the tests load the same files.
		err := consoleErr
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			slog.ErrorContext(r.Context(), "web console unavailable", "err", err)
			setSecurityHeaders(w.Header())
			http.Error(w, "console unavailable", http.StatusInternalServerError)
		})
	}
	return consoleVal
}

// assetRef finds root-relative src and href attributes of files (a name
// with an extension) in index.html; links to the console's own pages
// ("/", "/reports") are left alone.
var assetRef = regexp.MustCompile(`(\s(?:src|href)=")/([^"?#]*\.[A-Za-z0-9]+)"`)

// newConsole loads every file of fsys and versions the asset references of
// its index.html.
func newConsole(fsys fs.FS) (*console, error) {
	c := &console{assets: map[string]*asset{}}
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		ct, ok := contentTypes[path.Ext(name)]
		if !ok {
			return fmt.Errorf("console file %s: no content type for extension %q", name, path.Ext(name))
		}
		c.assets[name] = newAsset(body, ct)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("loading console files: %w", err)
	}
	idx, ok := c.assets[indexName]
	if !ok {
		return nil, fmt.Errorf("loading console files: %s is missing", indexName)
	}
	var missing []string
	body := assetRef.ReplaceAllFunc(idx.body, func(m []byte) []byte {
		sub := assetRef.FindSubmatch(m)
		name := string(sub[2])
		a, ok := c.assets[name]
		if !ok || name == indexName {
			missing = append(missing, name)
			return m
		}
		return fmt.Appendf(nil, `%s/%s?v=%s"`, sub[1], name, a.version)
	})
	if len(missing) > 0 {
		return nil, fmt.Errorf("%s references files that do not exist: %s", indexName, strings.Join(missing, ", "))
	}
	c.index = newAsset(body, idx.contentType)
	return c, nil
}

func newAsset(body []byte, contentType string) *asset {
	sum := sha256.Sum256(body)
	h := hex.EncodeToString(sum[:])
	return &asset{body: body, contentType: contentType, etag: `"` + h[:32] + `"`, version: h[:12]}
}

// ServeHTTP implements http.Handler.
func (c *console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	setSecurityHeaders(h)
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
	a, ok := c.assets[name]
	cache := cacheRevalidate
	switch {
	case !ok || name == indexName:
		// The single-page app routes everything else itself.
		a = c.index
	case r.URL.Query().Get("v") == a.version:
		cache = cacheImmutable
	}
	h.Set("Content-Type", a.contentType)
	h.Set("Cache-Control", cache)
	h.Set("ETag", a.etag)
	// ServeContent answers If-None-Match with 304, HEAD without a body, and
	// ranges; the zero modification time leaves Last-Modified out.
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(a.body))
}

// setSecurityHeaders sets the headers every console response carries.
func setSecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
}
