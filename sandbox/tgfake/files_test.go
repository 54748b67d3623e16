package tgfake

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	tele "gopkg.in/telebot.v3"

	"github.com/tongdao/hub/sandbox/samples"
)

// TestGetFileAndDownload: a customer's photo reaches a real telebot client
// through getFile and the file route, byte for byte; getFile refuses files
// over 20 MB and unknown ids, and the file route wants the bot's token.
func TestGetFileAndDownload(t *testing.T) {
	s := start(t)
	b := bot(t, s)
	ctx := context.Background()
	jpg := samples.JPEG(320, 240)
	up, err := s.SendPhoto(ctx, ana, jpg, "broken")
	if err != nil {
		t.Fatal(err)
	}
	sizes := up.Message.Photo
	if len(sizes) != 2 || sizes[1].Width != 320 || sizes[1].Height != 240 || up.Message.Caption != "broken" {
		t.Fatalf("photo = %+v", up.Message)
	}
	f, err := b.FileByID(sizes[1].FileID)
	if err != nil {
		t.Fatal(err)
	}
	if f.FileSize != int64(len(jpg)) || !strings.HasPrefix(f.FilePath, "photos/") {
		t.Errorf("getFile = %+v", f)
	}
	rc, err := b.File(&tele.File{FileID: sizes[1].FileID})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(got, jpg) || s.Downloads() != 1 {
		t.Errorf("downloaded %d bytes (want %d), downloads %d", len(got), len(jpg), s.Downloads())
	}

	if _, err := b.FileByID("nope"); err == nil || !strings.Contains(err.Error(), "invalid file_id") {
		t.Errorf("unknown file_id: %v", err)
	}
	big := s.AddLargeFile("document", MaxDownloadSize+1, "big.zip")
	if _, err := b.FileByID(big.FileID); err == nil || !strings.Contains(err.Error(), "file is too big") {
		t.Errorf("large file: %v", err)
	}
	resp, err := http.Get(s.URL() + "/file/bot123:wrong/" + f.FilePath)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("wrong token: %d", resp.StatusCode)
	}
	resp, err = http.Get(s.URL() + "/file/bot" + token + "/photos/none.jpg")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("unknown path: %d", resp.StatusCode)
	}
}

// TestUploadsRecorded: files a real telebot client uploads are kept with
// their name, sniffed type, size and bytes; a photo that is no image is
// refused as Telegram does; "attach://" references a part by name.
func TestUploadsRecorded(t *testing.T) {
	s := start(t)
	b := bot(t, s)
	if _, err := s.SendText(context.Background(), ana, "hi"); err != nil {
		t.Fatal(err)
	}
	chat := &tele.Chat{ID: ana.ID}
	pngData, pdf, ogg := samples.PNG(64, 48), samples.PDF("hello"), samples.OggOpus(1)
	m, err := b.Send(chat, &tele.Photo{File: tele.FromReader(bytes.NewReader(pngData))})
	if err != nil {
		t.Fatal(err)
	}
	if m.Photo == nil || m.Photo.Width != 64 || m.Photo.Height != 48 {
		t.Errorf("photo = %+v", m.Photo)
	}
	if _, err := b.Send(chat, &tele.Document{File: tele.FromReader(bytes.NewReader(pdf)), FileName: "invoice.pdf"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Send(chat, &tele.Voice{File: tele.FromReader(bytes.NewReader(ogg))}); err != nil {
		t.Fatal(err)
	}
	var te *tele.Error
	if _, err := b.Send(chat, &tele.Photo{File: tele.FromReader(bytes.NewReader(pdf))}); !errors.As(err, &te) || te.Description != "Bad Request: IMAGE_PROCESS_FAILED" {
		t.Errorf("a PDF as photo: %v", err)
	}
	sent := s.Sent(ana.ID)
	if len(sent) != 3 {
		t.Fatalf("sent = %+v", sent)
	}
	for i, want := range []struct {
		method, name, ct string
		data             []byte
	}{{"sendPhoto", "", "image/png", pngData}, {"sendDocument", "invoice.pdf", "application/pdf", pdf}, {"sendVoice", "", "application/ogg", ogg}} {
		u := sent[i].Upload
		if sent[i].Method != want.method || u == nil || u.Name != want.name || u.ContentType != want.ct || u.Size != int64(len(want.data)) {
			t.Errorf("sent[%d] = %+v upload %+v", i, sent[i], u)
			continue
		}
		if data, ok := s.FileData(u.FileID); !ok || !bytes.Equal(data, want.data) {
			t.Errorf("sent[%d]: stored bytes differ", i)
		}
	}

	// attach://<part> names the part that holds the file.
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("chat_id", "1001")
	_ = mw.WriteField("document", "attach://doc1")
	fw, _ := mw.CreateFormFile("doc1", "notes.txt")
	_, _ = fw.Write([]byte("plain notes"))
	mw.Close()
	resp, err := http.Post(s.URL()+"/bot"+token+"/sendDocument", mw.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if last := s.Sent(ana.ID)[3]; resp.StatusCode != 200 || last.Upload == nil || last.Upload.Name != "notes.txt" || last.Upload.Size != 11 {
		t.Errorf("attach:// upload: %d %+v", resp.StatusCode, last)
	}
}

// TestCustomerAPIFiles: the sandbox's customer sends a sample photo, voice
// note and PDF, or bytes of their own; bad file requests are 400s that send
// nothing; /file serves what the bot uploaded.
func TestCustomerAPIFiles(t *testing.T) {
	s := start(t)
	b := bot(t, s)
	api := httptest.NewServer(s.CustomerAPI())
	defer api.Close()
	post := func(body string) (int, Update) {
		resp, err := http.Post(api.URL+"/send", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out struct{ Update Update }
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out.Update
	}
	code, up := post(`{"user_id":1001,"name":"Ana Li","photo":{},"text":"the box"}`)
	if code != 200 || len(up.Message.Photo) != 2 || up.Message.Caption != "the box" {
		t.Fatalf("photo: %d %+v", code, up.Message)
	}
	if data, ok := s.FileData(up.Message.Photo[1].FileID); !ok || http.DetectContentType(data) != "image/jpeg" {
		t.Error("the sample photo is not a stored JPEG")
	}
	code, up = post(`{"user_id":1001,"voice":{"duration":3}}`)
	if code != 200 || up.Message.Voice == nil || up.Message.Voice.Duration != 3 || up.Message.Voice.MimeType != "audio/ogg" {
		t.Fatalf("voice: %d %+v", code, up.Message)
	}
	code, up = post(`{"user_id":1001,"document":{}}`)
	if code != 200 || up.Message.Document == nil || up.Message.Document.FileName != "invoice.pdf" || up.Message.Document.MimeType != "application/pdf" {
		t.Fatalf("document: %d %+v", code, up.Message)
	}
	code, up = post(`{"user_id":1001,"document":{"data":"aGVsbG8=","name":"a.txt"}}`)
	if data, _ := s.FileData(up.Message.Document.FileID); code != 200 || string(data) != "hello" {
		t.Fatalf("own bytes: %d %q", code, data)
	}
	before := len(s.Updates())
	for _, bad := range []string{
		`{"user_id":1001,"document":{"data":""}}`,
		`{"user_id":1001,"photo":{"data":"aGVsbG8="}}`,
		`{"user_id":1001,"photo":{},"voice":{}}`,
	} {
		if code, _ := post(bad); code != 400 {
			t.Errorf("%s: %d, want 400", bad, code)
		}
	}
	if n := len(s.Updates()); n != before {
		t.Errorf("bad requests sent %d updates", n-before)
	}

	m, err := b.Send(&tele.Chat{ID: 1001}, &tele.Document{File: tele.FromReader(strings.NewReader("receipt")), FileName: "r.txt"})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(api.URL + "/file?file_id=" + m.Document.FileID)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(got) != "receipt" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("file: %d %q", resp.StatusCode, got)
	}
}
