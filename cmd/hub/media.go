package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/tongdao/hub/inbox"
	"github.com/tongdao/hub/inbox/store"
	"github.com/tongdao/hub/internal/blobstore"
)

// cmdMediaPrune deletes stored files older than media.retention (their
// messages stay, the files marked failed with the reason), or with
// --dry-run only counts them.
func cmdMediaPrune(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlags("media prune")
	path := fs.String("config", "", "configuration file")
	dry := fs.Bool("dry-run", false, "count what would be deleted, delete nothing")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		return fmt.Errorf("invalid configuration:\n%w", err)
	}
	if cfg.Media.Retention <= 0 {
		fmt.Fprintln(stdout, "media.retention is not set: stored files are kept forever; nothing to prune")
		return nil
	}
	s, err := store.Open(ctx, cfg.Database.Driver, cfg.Database.DSN)
	if err != nil {
		return fmt.Errorf("database: %w", err)
	}
	defer s.Close()
	bs, err := blobstore.Open(ctx, cfg.MediaStore())
	if err != nil {
		return err
	}
	defer bs.Close()
	svc := inbox.New(inbox.Options{Store: s, Logger: slog.New(slog.DiscardHandler),
		Media: &inbox.MediaOptions{Store: bs, Retention: cfg.Media.Retention}})
	defer svc.Close()
	rep, err := svc.PruneMedia(ctx, *dry)
	if err != nil {
		return err
	}
	verb := "deleted"
	if *dry {
		verb = "would delete"
	}
	fmt.Fprintf(stdout, "%s %d files (%d bytes) stored more than %s ago\n", verb, rep.Files, rep.Bytes, cfg.Media.Retention)
	return nil
}
