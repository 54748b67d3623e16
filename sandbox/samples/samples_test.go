package samples

import (
	"bytes"
	"encoding/binary"
	"image"
	_ "image/jpeg"
	_ "image/png"
	"net/http"
	"testing"
)

func TestImagesDecode(t *testing.T) {
	for name, data := range map[string][]byte{"jpeg": JPEG(320, 240), "png": PNG(64, 48)} {
		cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
		if err != nil || format != name {
			t.Fatalf("%s: format %q, err %v", name, format, err)
		}
		if _, _, err := image.Decode(bytes.NewReader(data)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if cfg.Width == 0 || cfg.Height == 0 {
			t.Errorf("%s: %dx%d", name, cfg.Width, cfg.Height)
		}
		if ct := http.DetectContentType(data); ct != "image/"+name {
			t.Errorf("%s sniffed as %q", name, ct)
		}
	}
}

// TestOggPagesCheck walks the Ogg pages: each starts with OggS, carries a
// correct CRC, the first is the Opus header and the last ends the stream.
func TestOggPagesCheck(t *testing.T) {
	data := OggOpus(3)
	if ct := http.DetectContentType(data); ct != "application/ogg" {
		t.Errorf("sniffed as %q", ct)
	}
	pages, lastFlags, lastGranule := 0, byte(0), uint64(0)
	for off := 0; off < len(data); pages++ {
		p := data[off:]
		if len(p) < 27 || string(p[:4]) != "OggS" {
			t.Fatalf("page %d at %d: no capture pattern", pages, off)
		}
		nseg := int(p[26])
		size := 27 + nseg
		for _, l := range p[27 : 27+nseg] {
			size += int(l)
		}
		page := append([]byte(nil), p[:size]...)
		want := binary.LittleEndian.Uint32(page[22:])
		binary.LittleEndian.PutUint32(page[22:], 0)
		if got := oggCRC(page); got != want {
			t.Fatalf("page %d: CRC %08x, want %08x", pages, got, want)
		}
		if pages == 0 && (p[5] != 0x02 || string(p[27+nseg:27+nseg+8]) != "OpusHead") {
			t.Fatalf("first page is not the Opus header")
		}
		lastFlags, lastGranule = p[5], binary.LittleEndian.Uint64(p[6:])
		off += size
	}
	if pages != 2+3 || lastFlags != 0x04 || lastGranule != 312+3*48000 {
		t.Errorf("pages %d, last flags %x, granule %d", pages, lastFlags, lastGranule)
	}
	// A fixed value, so that a change to the CRC shows (the pages above
	// only agree with themselves); file(1) reads the stream as Ogg Opus.
	if got := oggCRC([]byte("OggS")); got != 0x5fb0a94f {
		t.Errorf("oggCRC(OggS) = %08x", got)
	}
}

func TestAMRAndPDF(t *testing.T) {
	if a := AMR(2); string(a[:6]) != "#!AMR\n" || len(a) != 6+100 {
		t.Errorf("AMR = %q...", a[:8])
	}
	p := PDF("Invoice (copy) 42 \\ 中")
	if ct := http.DetectContentType(p); ct != "application/pdf" {
		t.Errorf("PDF sniffed as %q", ct)
	}
	if !bytes.Contains(p, []byte(`(Invoice \(copy\) 42 \\ ?)`)) || !bytes.HasSuffix(p, []byte("%%EOF\n")) {
		t.Errorf("PDF = %s", p)
	}
	// The xref offsets point at the objects.
	i := bytes.Index(p, []byte("xref\n"))
	for n, line := range bytes.Split(p[i:], []byte("\n"))[3:8] {
		var off int
		for _, c := range line[:10] {
			off = off*10 + int(c-'0')
		}
		if !bytes.HasPrefix(p[off:], []byte{byte('1' + n), ' ', '0', ' ', 'o'}) {
			t.Errorf("xref entry %d points at %q", n+1, p[off:off+8])
		}
	}
}
