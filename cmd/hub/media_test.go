package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tongdao/hub/inbox"
	"github.com/tongdao/hub/inbox/store"
	"github.com/tongdao/hub/internal/blobstore"
	"github.com/tongdao/hub/models"
	"github.com/tongdao/hub/sandbox/samples"
)

// hub media prune deletes the files stored longer ago than media.retention
// (a dry run only counts them); without a retention it does nothing.
func TestMediaPruneCommand(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := filepath.Join(dir, "hub.db")
	cfg := filepath.Join(dir, "hub.yaml")
	if err := os.WriteFile(cfg, []byte("database: { dsn: "+db+" }\nmedia: { retention: 24h }\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	keep := filepath.Join(dir, "keep.yaml")
	if err := os.WriteFile(keep, []byte("database: { dsn: "+db+" }\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A private note with a PDF, stored two days ago, in the default store
	// (beside the database).
	s, err := store.Open(ctx, store.DriverSQLite, db)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := blobstore.FileURL(filepath.Join(dir, "media"))
	bs, err := blobstore.Open(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-48 * time.Hour)
	svc := inbox.New(inbox.Options{Store: s, Now: func() time.Time { return past }, Media: &inbox.MediaOptions{Store: bs}})
	if _, err := svc.Ingest(ctx, models.Inbound{Connector: "tg", Channel: "telegram", ExternalID: "1", Kind: models.KindMessage,
		From: models.Sender{ExternalID: "42"}, Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	convs, _, err := svc.ListConversations(ctx, models.ConversationFilter{})
	if err != nil || len(convs) != 1 {
		t.Fatalf("conversations %v %v", convs, err)
	}
	convID, _ := models.ParseID(convs[0].ID)
	pdf := samples.PDF("old")
	if _, err := svc.ReplyWithFiles(ctx, models.ReplyRequest{ConversationID: convID, Private: true, Actor: models.Actor{Name: "ana"}},
		[]models.Upload{{Name: "old.pdf", Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(pdf)), nil }}}); err != nil {
		t.Fatal(err)
	}
	svc.Close()
	s.Close()
	bs.Close()
	if entries, err := os.ReadDir(filepath.Join(dir, "media")); err != nil || len(entries) != 1 {
		t.Fatalf("media store before the prune: %v %v", entries, err)
	}

	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"media", "prune", "--config", keep}, 0, "nothing to prune"},
		{[]string{"media", "prune", "--dry-run", "--config", cfg}, 0, fmt.Sprintf("would delete 1 files (%d bytes) stored more than 24h0m0s ago", len(pdf))},
		{[]string{"media", "prune", "--config", cfg}, 0, "deleted 1 files"},
		{[]string{"media", "prune", "--config", cfg}, 0, "deleted 0 files"},
		{[]string{"media", "frobnicate"}, 2, "use 'hub media prune'"},
	} {
		var out bytes.Buffer
		err := run(ctx, tc.args, &out, &out)
		text := out.String()
		if err != nil {
			text += err.Error()
		}
		if got := exitCode(err); got != tc.code || !strings.Contains(text, tc.want) {
			t.Errorf("hub %v: exit %d, %q; want %d, %q", tc.args, got, text, tc.code, tc.want)
		}
	}
	left := 0
	_ = filepath.WalkDir(filepath.Join(dir, "media"), func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			left++
		}
		return nil
	})
	if left != 0 {
		t.Errorf("%d files left in the media store", left)
	}
}
