package web

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
)

func get(t *testing.T, h http.Handler, method, target string, header map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func embedded(t *testing.T, name string) string {
	t.Helper()
	b, err := fs.ReadFile(staticFiles, "static/"+name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// checkCSP fails unless the response carries the strict policy.
func checkCSP(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	csp := rec.Header().Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	for _, bad := range []string{"unsafe-inline", "unsafe-eval", "*"} {
		if strings.Contains(csp, bad) {
			t.Errorf("CSP %q allows %q", csp, bad)
		}
	}
	if got := rec.Header().Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("X-Content-Type-Options = %q", got)
	}
}

func TestIndexForRootAndUnknownPaths(t *testing.T) {
	h := Handler()
	for _, p := range []string{"/", "/index.html", "/c/42", "/some/deep/path?x=1", "/missing.js", "/../web.go", "/static/app.js"} {
		t.Run(p, func(t *testing.T) {
			rec := get(t, h, http.MethodGet, p, nil)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d", rec.Code)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			if cc := rec.Header().Get("Cache-Control"); cc != "no-cache" {
				t.Errorf("Cache-Control %q", cc)
			}
			checkCSP(t, rec)
			body := rec.Body.String()
			if !strings.HasPrefix(body, "<!doctype html>") || !strings.Contains(body, `<script type="module" src="/app.js?v=`) {
				t.Errorf("not the versioned index.html: %.200s", body)
			}
		})
	}
}

// refs lists the root-relative src/href targets of the served index.html.
var refPattern = regexp.MustCompile(`\s(?:src|href)="(/[^"]*\.[A-Za-z0-9]+(?:\?[^"]*)?)"`)

func TestEveryAssetReferencedByIndexExists(t *testing.T) {
	h := Handler()
	index := get(t, h, http.MethodGet, "/", nil).Body.String()
	refs := refPattern.FindAllStringSubmatch(index, -1)
	if len(refs) < 3 {
		t.Fatalf("index.html references only %d files", len(refs))
	}
	for _, m := range refs {
		ref := m[1]
		name, version, ok := strings.Cut(strings.TrimPrefix(ref, "/"), "?v=")
		if !ok || len(version) != 12 {
			t.Errorf("%s is not versioned", ref)
			continue
		}
		want, ok := contentTypes[path.Ext(name)]
		if !ok {
			t.Errorf("%s: unknown extension", ref)
			continue
		}
		rec := get(t, h, http.MethodGet, ref, nil)
		if rec.Code != http.StatusOK {
			t.Errorf("GET %s: %d", ref, rec.Code)
			continue
		}
		if ct := rec.Header().Get("Content-Type"); ct != want {
			t.Errorf("GET %s: Content-Type %q, want %q", ref, ct, want)
		}
		if cc := rec.Header().Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
			t.Errorf("GET %s: Cache-Control %q", ref, cc)
		}
		if rec.Body.String() != embedded(t, name) {
			t.Errorf("GET %s: body differs from the embedded file", ref)
		}
		checkCSP(t, rec)
	}
}

func TestAssetsByName(t *testing.T) {
	h := Handler()
	tests := []struct {
		target, ctype, cache string
	}{
		{"/app.js", "text/javascript; charset=utf-8", "no-cache"},
		{"/sse.js", "text/javascript; charset=utf-8", "no-cache"},
		{"/app.css", "text/css; charset=utf-8", "no-cache"},
		{"/favicon.svg", "image/svg+xml", "no-cache"},
		{"/app.js?v=000000000000", "text/javascript; charset=utf-8", "no-cache"}, // stale version
	}
	for _, tc := range tests {
		rec := get(t, h, http.MethodGet, tc.target, nil)
		if rec.Code != 200 || rec.Header().Get("Content-Type") != tc.ctype || rec.Header().Get("Cache-Control") != tc.cache {
			t.Errorf("GET %s: %d %q %q", tc.target, rec.Code, rec.Header().Get("Content-Type"), rec.Header().Get("Cache-Control"))
		}
		if rec.Header().Get("ETag") == "" {
			t.Errorf("GET %s: no ETag", tc.target)
		}
	}
}

func TestConditionalHeadAndMethods(t *testing.T) {
	h := Handler()
	first := get(t, h, http.MethodGet, "/app.css", nil)
	etag := first.Header().Get("ETag")
	if rec := get(t, h, http.MethodGet, "/app.css", map[string]string{"If-None-Match": etag}); rec.Code != http.StatusNotModified || rec.Body.Len() != 0 {
		t.Errorf("If-None-Match: %d, %d bytes", rec.Code, rec.Body.Len())
	}
	if rec := get(t, h, http.MethodGet, "/app.css", map[string]string{"If-None-Match": `"other"`}); rec.Code != http.StatusOK {
		t.Errorf("other ETag: %d", rec.Code)
	}
	if idx := get(t, h, http.MethodGet, "/", nil).Header().Get("ETag"); idx == etag || idx == "" {
		t.Errorf("index ETag %q", idx)
	}
	head := get(t, h, http.MethodHead, "/", nil)
	if head.Code != 200 || head.Body.Len() != 0 || head.Header().Get("Content-Type") != "text/html; charset=utf-8" {
		t.Errorf("HEAD /: %d, %d bytes, %q", head.Code, head.Body.Len(), head.Header().Get("Content-Type"))
	}
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
		rec := get(t, h, m, "/", nil)
		if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, HEAD" {
			t.Errorf("%s /: %d, Allow %q", m, rec.Code, rec.Header().Get("Allow"))
		}
		checkCSP(t, rec)
	}
}

// The CSP forbids inline code: index.html must hold none, or the console
// would silently break in browsers.
func TestIndexHasNoInlineCode(t *testing.T) {
	index := embedded(t, "index.html")
	checks := []struct {
		name string
		re   *regexp.Regexp
	}{
		{"inline <script>", regexp.MustCompile(`(?is)<script(?:\s[^>]*)?>\s*[^<\s]`)},
		{"<style> element", regexp.MustCompile(`(?i)<style[\s>]`)},
		{"style attribute", regexp.MustCompile(`(?i)\sstyle=`)},
		{"event handler attribute", regexp.MustCompile(`(?i)\son[a-z]+=`)},
		{"javascript: URL", regexp.MustCompile(`(?i)javascript:`)},
	}
	for _, c := range checks {
		if m := c.re.FindString(index); m != "" {
			t.Errorf("index.html has %s: %q", c.name, m)
		}
	}
	for _, tag := range regexp.MustCompile(`(?i)<script[^>]*>`).FindAllString(index, -1) {
		if !strings.Contains(tag, ` src="/`) {
			t.Errorf("index.html has a script without a same-origin src: %s", tag)
		}
	}
	for _, js := range scripts(t) {
		src := embedded(t, js)
		for _, bad := range []string{"eval(", "new Function", "innerHTML", "outerHTML", "insertAdjacentHTML", "document.write"} {
			if strings.Contains(src, bad) {
				t.Errorf("%s uses %s", js, bad)
			}
		}
	}
}

// Every element the script looks up by id must exist in index.html.
func TestScriptIDsExistInIndex(t *testing.T) {
	index := embedded(t, "index.html")
	ids := map[string]bool{}
	for _, m := range regexp.MustCompile(`\sid="([^"]+)"`).FindAllStringSubmatch(index, -1) {
		if ids[m[1]] {
			t.Errorf("index.html: duplicate id %q", m[1])
		}
		ids[m[1]] = true
	}
	uses := regexp.MustCompile(`byId\('([^']+)'\)`).FindAllStringSubmatch(embedded(t, "console.mjs"), -1)
	if len(uses) < 20 {
		t.Fatalf("console.mjs looks up only %d ids", len(uses))
	}
	for _, name := range scripts(t) {
		for _, m := range regexp.MustCompile(`byId\('([^']+)'\)`).FindAllStringSubmatch(embedded(t, name), -1) {
			if !ids[m[1]] {
				t.Errorf("%s uses id %q, which index.html lacks", name, m[1])
			}
		}
	}
	for _, m := range regexp.MustCompile(`\sfor="([^"]+)"`).FindAllStringSubmatch(index, -1) {
		if !ids[m[1]] {
			t.Errorf("label for %q has no control", m[1])
		}
	}
}

func TestNewConsoleRejectsBrokenTrees(t *testing.T) {
	tests := []struct {
		name string
		fsys fstest.MapFS
		want string
	}{
		{"no index", fstest.MapFS{"app.js": {Data: []byte("x")}}, "index.html is missing"},
		{"dangling reference", fstest.MapFS{"index.html": {Data: []byte(`<script src="/gone.js"></script>`)}}, "gone.js"},
		{"unknown type", fstest.MapFS{"index.html": {Data: []byte(`x`)}, "data.bin": {Data: []byte("x")}}, "no content type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := newConsole(tc.fsys)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
	c, err := newConsole(fstest.MapFS{
		"index.html": {Data: []byte(`<link href="/a.css"><a href="/c/1?x">x</a><a href="/reports">r</a>`)},
		"a.css":      {Data: []byte("p{}")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(c.index.body), `<link href="/a.css?v=`+c.assets["a.css"].version+`"><a href="/c/1?x">x</a><a href="/reports">r</a>`; got != want {
		t.Errorf("rewritten index:\n got %s\nwant %s", got, want)
	}
}

// nodeOrSkip returns the node binary. The console itself needs no node, so
// without it the JavaScript tests are skipped, except where
// TONGDAO_REQUIRE_NODE=1 (scripts/test.sh installs node and sets it): there
// a missing node fails the test.
func nodeOrSkip(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("TONGDAO_REQUIRE_NODE") == "1" {
			t.Fatal("node required (TONGDAO_REQUIRE_NODE=1) but not installed")
		}
		t.Skip("node is not installed")
	}
	return node
}

// TestConsoleApp runs the JavaScript unit tests of the console's modules
// (node --test): the whole console in a fake browser, and each pure module.
func TestConsoleApp(t *testing.T) {
	cmd := exec.Command(nodeOrSkip(t), "--test", "--test-reporter=tap", "testdata/app_test.js", "testdata/modules_test.mjs")
	cmd.Env = append(os.Environ(), "NODE_NO_WARNINGS=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test testdata/app_test.js testdata/modules_test.mjs: %v\n%s", err, out)
	}
	if !regexp.MustCompile(`(?m)^# pass [1-9][0-9]`).Match(out) || !strings.Contains(string(out), "\n# fail 0\n") {
		t.Fatalf("no test ran, or one failed:\n%s", out)
	}
}

// TestSSEParser runs the JavaScript unit tests of sse.js.
func TestSSEParser(t *testing.T) {
	cmd := exec.Command(nodeOrSkip(t), "testdata/sse_test.js")
	cmd.Env = append(os.Environ(), "NODE_NO_WARNINGS=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node testdata/sse_test.js: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "ok ") {
		t.Fatalf("no test ran:\n%s", out)
	}
}

// TestConsoleListsNoPlatforms: the console learns the channels from GET
// /api/v1/channels; a new connector type needs no change to it. Only
// app.css may give some channels a colour of their own.
func TestConsoleListsNoPlatforms(t *testing.T) {
	literal := regexp.MustCompile(`(?i)['"](telegram|wechat|discord)['"]|\b(telegram|wechat|discord)\s*:`)
	for _, name := range append(scripts(t), "index.html") {
		for i, line := range strings.Split(embedded(t, name), "\n") {
			if m := literal.FindString(line); m != "" {
				t.Errorf("%s:%d names a platform (%s): %s", name, i+1, m, strings.TrimSpace(line))
			}
		}
	}
	sel := regexp.MustCompile(`(?s)<select id="filter-channel">(.*?)</select>`).FindStringSubmatch(embedded(t, "index.html"))
	if sel == nil {
		t.Fatal("index.html has no channel filter")
	}
	if n := strings.Count(sel[1], "<option"); n != 1 {
		t.Errorf("the channel filter has %d options in index.html, want only \"All channels\" (the rest come from the API)", n)
	}
	js := embedded(t, "console.mjs")
	if !strings.Contains(js, "'/channels'") {
		t.Error("console.mjs does not read GET /channels")
	}
}

// scripts lists the console's JavaScript files (classic scripts and ES
// modules).
func scripts(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, pattern := range []string{"static/*.js", "static/*.mjs"} {
		names, err := fs.Glob(staticFiles, pattern)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range names {
			out = append(out, strings.TrimPrefix(n, "static/"))
		}
	}
	if len(out) < 6 {
		t.Fatalf("only %d scripts: %v", len(out), out)
	}
	return out
}

// TestModulesImportOnlyEmbeddedFiles: every import of a module names a file
// the console serves, by a relative path (no package names: no build step).
func TestModulesImportOnlyEmbeddedFiles(t *testing.T) {
	h := Handler()
	imp := regexp.MustCompile(`(?m)^\s*import\s[^'"]*['"]([^'"]+)['"]`)
	n := 0
	for _, name := range scripts(t) {
		for _, m := range imp.FindAllStringSubmatch(embedded(t, name), -1) {
			n++
			if !strings.HasPrefix(m[1], "./") {
				t.Errorf("%s imports %q: not a relative path", name, m[1])
				continue
			}
			target := strings.TrimPrefix(m[1], "./")
			if _, err := fs.Stat(staticFiles, "static/"+target); err != nil {
				t.Errorf("%s imports %q, which is not embedded", name, m[1])
				continue
			}
			rec := get(t, h, http.MethodGet, "/"+target, nil)
			if ct := rec.Header().Get("Content-Type"); ct != "text/javascript; charset=utf-8" {
				t.Errorf("GET /%s: Content-Type %q (browsers refuse modules of another type)", target, ct)
			}
		}
	}
	if n < 4 {
		t.Fatalf("only %d imports found", n)
	}
}
