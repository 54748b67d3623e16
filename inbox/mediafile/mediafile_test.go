package mediafile_test

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"strings"
	"testing"

	"github.com/tongdao/hub/inbox/mediafile"
)

func pngBytes(t testing.TB, w, h int) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for x := range w {
		img.Set(x, h/2, color.NRGBA{R: 255, A: 255})
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestSniff(t *testing.T) {
	tests := []struct {
		name, head, claimed, want string
	}{
		{"amr voice note", "#!AMR\n\x3c\x91", "", "audio/amr"},
		{"amr-wb", "#!AMR-WB\n\x00", "", "audio/amr-wb"},
		{"ogg opus", "OggS\x00\x02" + strings.Repeat("\x00", 22) + "OpusHead\x01", "audio/ogg", "audio/ogg; codecs=opus"},
		{"ogg vorbis", "OggS\x00\x02" + strings.Repeat("\x00", 22) + "\x01vorbis", "", "audio/ogg"},
		{"m4a", "\x00\x00\x00\x20ftypM4A \x00\x00", "", "audio/mp4"},
		{"pdf", "%PDF-1.7\n", "image/png", "application/pdf"},
		{"png", string(pngBytes(t, 2, 2)), "text/html", "image/png"},
		{"html claimed as image stays html", "<html><script>alert(1)</script>", "image/png", "text/html; charset=utf-8"},
		{"unknown bytes with a harmless claim", "\x00\x01\x02\x03", "video/x-matroska", "video/x-matroska"},
		{"unknown bytes claiming html", "\x00\x01\x02\x03", "text/html", "application/octet-stream"},
		{"unknown bytes claiming svg", "\x00\x01\x02\x03", "image/svg+xml", "application/octet-stream"},
	}
	for _, tc := range tests {
		if got := mediafile.Sniff([]byte(tc.head), tc.claimed); got != tc.want {
			t.Errorf("%s: Sniff = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestThumbnail(t *testing.T) {
	thumb, err := mediafile.Thumbnail(bytes.NewReader(pngBytes(t, 1200, 600)))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(thumb))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Width != 320 || cfg.Height != 160 {
		t.Errorf("thumbnail is %d×%d, want 320×160", cfg.Width, cfg.Height)
	}
	small, err := mediafile.Thumbnail(bytes.NewReader(pngBytes(t, 30, 90)))
	if err != nil {
		t.Fatal(err)
	}
	if cfg, _ := jpeg.DecodeConfig(bytes.NewReader(small)); cfg.Width != 30 || cfg.Height != 90 {
		t.Errorf("small image's thumbnail is %d×%d, want 30×90", cfg.Width, cfg.Height)
	}
	if _, err := mediafile.Thumbnail(strings.NewReader("%PDF-1.7")); err == nil {
		t.Error("Thumbnail of a PDF succeeded")
	}
}

func TestSafeNameAndDisposition(t *testing.T) {
	tests := []struct{ name, ct, want string }{
		{"../../etc/passwd", "", "passwd"},
		{`C:\Users\a\report "final".pdf`, "", "report _final_.pdf"},
		{"a\r\nSet-Cookie: x=1", "", "a__Set-Cookie: x=1"},
		{"", "image/png", "file.png"},
		{"..", "application/pdf", "file.pdf"},
		{"收据.jpg", "", "收据.jpg"},
	}
	for _, tc := range tests {
		if got := mediafile.SafeName(tc.name, tc.ct); got != tc.want {
			t.Errorf("SafeName(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
	if got := mediafile.ContentDisposition(true, "收据.jpg"); got != `inline; filename=__.jpg; filename*=UTF-8''%E6%94%B6%E6%8D%AE.jpg` {
		t.Errorf("ContentDisposition = %q", got)
	}
	if got := mediafile.ContentDisposition(false, "a b.pdf"); got != `attachment; filename="a b.pdf"; filename*=UTF-8''a%20b.pdf` {
		t.Errorf("ContentDisposition = %q", got)
	}
}

// BenchmarkThumbnail makes the thumbnail of a 12-megapixel photo, as a
// phone sends it: the time the media reaction spends on each image, once.
func BenchmarkThumbnail(b *testing.B) {
	src := image.NewRGBA(image.Rect(0, 0, 4000, 3000))
	for y := 0; y < 3000; y += 7 {
		for x := 0; x < 4000; x += 3 {
			src.Set(x, y, color.RGBA{R: uint8(x), G: uint8(y), B: 128, A: 255})
		}
	}
	var photo bytes.Buffer
	if err := jpeg.Encode(&photo, src, &jpeg.Options{Quality: 85}); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(photo.Len()))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := mediafile.Thumbnail(bytes.NewReader(photo.Bytes())); err != nil {
			b.Fatal(err)
		}
	}
}
