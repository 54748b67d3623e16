// Package mediafile is the pure logic of the hub's files: the content type
// sniffed from a file's first bytes (net/http's sniffer, plus what it
// misses: AMR voice notes, Ogg Opus), thumbnails of images, and file names
// safe for a Content-Disposition header.
package mediafile

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	_ "image/gif" // decoders for thumbnails
	"image/jpeg"
	_ "image/png"
	"io"
	"mime"
	"net/http"
	"path"
	"strings"
	"unicode"

	"golang.org/x/image/draw"
	_ "golang.org/x/image/webp"
)

// SniffLen is how many leading bytes Sniff reads.
const SniffLen = 512

// Sniff returns the content type of a file from its first bytes (up to
// SniffLen). claimed is what the platform or the uploader said: it is used
// only when the bytes tell nothing (application/octet-stream) and it names
// a harmless type (audio, video, a document), never to make bytes HTML or
// script.
func Sniff(head []byte, claimed string) string {
	switch {
	case bytes.HasPrefix(head, []byte("#!AMR-WB\n")):
		return "audio/amr-wb"
	case bytes.HasPrefix(head, []byte("#!AMR\n")):
		return "audio/amr"
	case bytes.HasPrefix(head, []byte("#!SILK_V3")), bytes.HasPrefix(head, []byte("\x02#!SILK_V3")):
		return "audio/silk"
	case bytes.HasPrefix(head, []byte("OggS")):
		if bytes.Contains(head, []byte("OpusHead")) {
			return "audio/ogg; codecs=opus"
		}
		if bytes.Contains(head, []byte("\x01vorbis")) {
			return "audio/ogg"
		}
		if bytes.Contains(head, []byte("theora")) {
			return "video/ogg"
		}
		return "application/ogg"
	case len(head) >= 12 && string(head[4:8]) == "ftyp":
		switch brand := string(head[8:12]); brand {
		case "M4A ", "M4B ":
			return "audio/mp4"
		case "qt  ":
			return "video/quicktime"
		}
	}
	ct := http.DetectContentType(head)
	if ct == "application/octet-stream" {
		if c := harmless(claimed); c != "" {
			return c
		}
	}
	return ct
}

// harmless returns claimed (without parameters) when it is a type a
// browser does not run: audio, video, images other than SVG, PDF and
// office documents. Else "".
func harmless(claimed string) string {
	mt, _, err := mime.ParseMediaType(claimed)
	if err != nil {
		return ""
	}
	switch {
	case strings.HasPrefix(mt, "audio/"), strings.HasPrefix(mt, "video/"):
		return mt
	case strings.HasPrefix(mt, "image/") && !strings.Contains(mt, "svg"):
		return mt
	case mt == "application/pdf", mt == "application/msword", mt == "application/vnd.ms-excel",
		mt == "application/vnd.ms-powerpoint", strings.HasPrefix(mt, "application/vnd.openxmlformats-officedocument."),
		mt == "application/zip", mt == "application/x-rar-compressed", mt == "application/x-7z-compressed":
		return mt
	}
	return ""
}

// Kind is the kind of file a content type is: image, audio, video or file.
func Kind(contentType string) string {
	mt, _, _ := mime.ParseMediaType(contentType)
	switch {
	case strings.HasPrefix(mt, "image/") && !strings.Contains(mt, "svg"):
		return "image"
	case strings.HasPrefix(mt, "audio/") || mt == "application/ogg":
		return "audio"
	case strings.HasPrefix(mt, "video/"):
		return "video"
	}
	return "file"
}

// Inline reports whether a browser may show a file of this type in the
// page (images, audio, video); anything else is offered for download.
func Inline(contentType string) bool { return Kind(contentType) != "file" }

// ThumbnailSize is the longest side of a thumbnail, in pixels.
const ThumbnailSize = 320

// MaxPixels bounds the images the hub decodes for a thumbnail (a small
// file can claim a huge picture).
const MaxPixels = 50_000_000

// ErrNotImage is returned by Thumbnail for bytes it cannot decode.
var ErrNotImage = errors.New("mediafile: not an image the hub can read")

// Thumbnail reads an image (JPEG, PNG, GIF, WebP) and returns a JPEG whose
// longest side is at most ThumbnailSize (an image already that small is
// re-encoded at its size).
func Thumbnail(r io.ReadSeeker) ([]byte, error) {
	cfg, _, err := image.DecodeConfig(r)
	if err != nil {
		return nil, ErrNotImage
	}
	if int64(cfg.Width)*int64(cfg.Height) > MaxPixels || cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, fmt.Errorf("mediafile: the image is %d×%d pixels, too large for a thumbnail", cfg.Width, cfg.Height)
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	src, _, err := image.Decode(r)
	if err != nil {
		return nil, ErrNotImage
	}
	b := src.Bounds()
	w, h := b.Dx(), b.Dy()
	if w > ThumbnailSize || h > ThumbnailSize {
		if w >= h {
			w, h = ThumbnailSize, max(1, h*ThumbnailSize/b.Dx())
		} else {
			w, h = max(1, w*ThumbnailSize/b.Dy()), ThumbnailSize
		}
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	op := draw.Src
	if o, ok := src.(interface{ Opaque() bool }); !ok || !o.Opaque() {
		// White under transparent pixels: JPEG has no alpha.
		draw.Draw(dst, dst.Bounds(), image.White, image.Point{}, draw.Src)
		op = draw.Over
	}
	// Bilinear sampling is enough at a few hundred pixels and many times
	// faster than Catmull-Rom on a phone's 12-megapixel photo.
	draw.ApproxBiLinear.Scale(dst, dst.Bounds(), src, b, op, nil)
	var out bytes.Buffer
	if err := jpeg.Encode(&out, dst, &jpeg.Options{Quality: 80}); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// SafeName returns a file name fit for a Content-Disposition header: the
// base name only, without control characters, quotes, backslashes or path
// separators, at most 120 characters; "file" plus an extension of the
// content type when nothing is left.
func SafeName(name, contentType string) string {
	name = path.Base(strings.ReplaceAll(name, "\\", "/"))
	var b strings.Builder
	n := 0
	for _, r := range name {
		if n >= 120 {
			break
		}
		if unicode.IsControl(r) || r == '"' || r == '/' || r == '\\' || r == ';' || r == unicode.ReplacementChar {
			r = '_'
		}
		b.WriteRune(r)
		n++
	}
	out := strings.TrimSpace(b.String())
	if out == "" || out == "." || out == ".." || strings.Trim(out, "._") == "" {
		out = "file"
		if exts, _ := mime.ExtensionsByType(contentType); len(exts) > 0 {
			out += exts[0]
		}
	}
	return out
}

// ContentDisposition is the header value for serving a file named name:
// inline or attachment, with an ASCII fallback name and the UTF-8 name
// (RFC 6266).
func ContentDisposition(inline bool, name string) string {
	disp := "attachment"
	if inline {
		disp = "inline"
	}
	ascii := make([]rune, 0, len(name))
	for _, r := range name {
		if r > 0x7e || r < 0x20 {
			r = '_'
		}
		ascii = append(ascii, r)
	}
	return mime.FormatMediaType(disp, map[string]string{"filename": string(ascii)}) +
		"; filename*=UTF-8''" + pathEscape(name)
}

func pathEscape(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9') || strings.IndexByte("-._~", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
