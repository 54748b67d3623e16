package configs

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tongdao/hub/internal/blobstore"
)

// checkMedia validates the media store and its limits.
func (c *Config) checkMedia() Problems {
	var ps Problems
	add := func(path, format string, args ...any) {
		ps = append(ps, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
	}
	m := c.Media
	if m.Store != "" {
		if err := blobstore.Check(m.Store); err != nil {
			add("media.store", "%s", err)
		}
	}
	max := m.MaxInboundMB
	if max < 0 || max > 2048 {
		add("media.max_inbound_mb", "%d is out of range: use 1 to 2048 (default %d)", max, DefaultMaxInboundMB)
	}
	if max <= 0 || max > 2048 {
		max = DefaultMaxInboundMB
	}
	for _, typ := range sortedKeys(m.TypeLimitsMB) {
		switch l := m.TypeLimitsMB[typ]; {
		case !slices.Contains(MediaTypes, typ):
			add("media.type_limits_mb."+typ, "unknown type %q (known: %s)", typ, strings.Join(MediaTypes, ", "))
		case l < 1 || l > max:
			add("media.type_limits_mb."+typ, "%d is out of range: use 1 to max_inbound_mb (%d)", l, max)
		}
	}
	if u := m.MaxUploadMB; u < 0 || u > 2048 {
		add("media.max_upload_mb", "%d is out of range: use 1 to 2048 (default %d)", u, DefaultMaxUploadMB)
	}
	if r := m.Retention; r < 0 || (r > 0 && r < 24*time.Hour) {
		add("media.retention", "%s is too short: use 0 (keep forever) or at least 24h", r)
	}
	return ps
}
