// Package samples makes the files the sandbox's stand-in customers send
// when the sandbox's customer API is asked for a photo, a voice note or a
// document without bytes of its own: a real JPEG and PNG, an Ogg Opus voice
// note (Telegram's and Discord's format), an AMR voice note (WeChat's) and a
// one-page PDF. They are made in memory, so the repository holds no binary
// files, and each decodes with ordinary tools (a browser shows the image,
// plays the Ogg, opens the PDF).
package samples

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
)

// picture draws a parcel on a table: a brown box with a dark crack across
// it, on a light background, w×h pixels.
func picture(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	bg := color.RGBA{0xee, 0xf1, 0xf5, 0xff}
	box := color.RGBA{0xb0, 0x7a, 0x45, 0xff}
	tape := color.RGBA{0xd9, 0xc0, 0x8c, 0xff}
	crack := color.RGBA{0x3a, 0x22, 0x10, 0xff}
	x0, y0, x1, y1 := w/5, h/4, w*4/5, h*4/5
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := bg
			if x >= x0 && x < x1 && y >= y0 && y < y1 {
				c = box
				if x >= (x0+x1)/2-w/40 && x < (x0+x1)/2+w/40 {
					c = tape
				}
				// A jagged crack from the top-left towards the bottom-right.
				t := float64(x-x0) / float64(x1-x0)
				cy := y0 + int(t*float64(y1-y0)*0.8) + ((x/6)%3-1)*3
				if y >= cy-1 && y <= cy+1 {
					c = crack
				}
			}
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

// JPEG is a w×h JPEG photo (a damaged parcel), as phones send photos.
func JPEG(w, h int) []byte {
	var b bytes.Buffer
	// Encoding an in-memory RGBA image into a buffer cannot fail.
	_ = jpeg.Encode(&b, picture(w, h), &jpeg.Options{Quality: 80})
	return b.Bytes()
}

// PNG is a w×h PNG image (a screenshot).
func PNG(w, h int) []byte {
	var b bytes.Buffer
	_ = png.Encode(&b, picture(w, h)) // cannot fail, as for JPEG
	return b.Bytes()
}

// opusSilence is one 20 ms Opus packet of silence (CELT, fullband, mono).
var opusSilence = []byte{0xf8, 0xff, 0xfe}

// OggOpus is a voice note of the given length in seconds: an Ogg Opus
// stream of silence, mono, 48 kHz, as Telegram voice notes and Discord
// voice messages are.
func OggOpus(seconds int) []byte {
	if seconds < 1 {
		seconds = 1
	}
	const serial = 0x70646174 // any stream serial number
	const preSkip = 312
	var out bytes.Buffer
	head := []byte("OpusHead")
	head = append(head, 1, 1) // version, channels
	head = binary.LittleEndian.AppendUint16(head, preSkip)
	head = binary.LittleEndian.AppendUint32(head, 48000)
	head = binary.LittleEndian.AppendUint16(head, 0) // output gain
	head = append(head, 0)                           // channel mapping family
	oggPage(&out, 0x02, 0, serial, 0, [][]byte{head})
	vendor := "tongdao sandbox"
	tags := []byte("OpusTags")
	tags = binary.LittleEndian.AppendUint32(tags, uint32(len(vendor)))
	tags = append(tags, vendor...)
	tags = binary.LittleEndian.AppendUint32(tags, 0)
	oggPage(&out, 0, 0, serial, 1, [][]byte{tags})
	packets := seconds * 50 // 20 ms each
	seq := uint32(2)
	granule := int64(preSkip)
	for done := 0; done < packets; {
		n := min(50, packets-done)
		page := make([][]byte, n)
		for i := range page {
			page[i] = opusSilence
		}
		done += n
		granule += int64(n) * 960
		flags := byte(0)
		if done == packets {
			flags = 0x04 // end of stream
		}
		oggPage(&out, flags, granule, serial, seq, page)
		seq++
	}
	return out.Bytes()
}

// oggPage writes one Ogg page holding packets (each under 255 bytes).
func oggPage(w *bytes.Buffer, flags byte, granule int64, serial, seq uint32, packets [][]byte) {
	var page []byte
	page = append(page, "OggS"...)
	page = append(page, 0, flags)
	page = binary.LittleEndian.AppendUint64(page, uint64(granule))
	page = binary.LittleEndian.AppendUint32(page, serial)
	page = binary.LittleEndian.AppendUint32(page, seq)
	page = binary.LittleEndian.AppendUint32(page, 0) // CRC, filled below
	page = append(page, byte(len(packets)))
	for _, p := range packets {
		page = append(page, byte(len(p)))
	}
	for _, p := range packets {
		page = append(page, p...)
	}
	binary.LittleEndian.PutUint32(page[22:], oggCRC(page))
	w.Write(page)
}

// oggCRC is Ogg's CRC-32: polynomial 0x04c11db7, not reflected, initial
// value 0, no final xor.
func oggCRC(data []byte) uint32 {
	var crc uint32
	for _, b := range data {
		crc ^= uint32(b) << 24
		for range 8 {
			if crc&0x80000000 != 0 {
				crc = crc<<1 ^ 0x04c11db7
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

// AMR is a voice note of the given length in seconds in AMR-NB (WeChat's
// voice format): the "#!AMR" header and 20 ms frames of no data (silence).
func AMR(seconds int) []byte {
	if seconds < 1 {
		seconds = 1
	}
	out := []byte("#!AMR\n")
	for range seconds * 50 {
		out = append(out, 0x7c) // frame type 15 (NO_DATA), quality bit set
	}
	return out
}

// PDF is a one-page PDF document whose page shows text (ASCII).
func PDF(text string) []byte {
	esc := bytes.NewBuffer(nil)
	for _, r := range text {
		switch {
		case r == '(' || r == ')' || r == '\\':
			esc.WriteByte('\\')
			esc.WriteRune(r)
		case r >= 0x20 && r < 0x7f:
			esc.WriteRune(r)
		default:
			esc.WriteByte('?')
		}
	}
	stream := fmt.Sprintf("BT /F1 18 Tf 72 720 Td (%s) Tj ET", esc.String())
	objects := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(stream), stream),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	offsets := make([]int, len(objects))
	for i, o := range objects {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objects)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objects)+1, xref)
	return b.Bytes()
}
