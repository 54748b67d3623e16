package httpapi

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/tongdao/hub/models"
)

// Report ranges: the default span, and the longest allowed.
const (
	reportDefaultSpan = 7 * 24 * time.Hour
	reportMaxSpan     = 366 * 24 * time.Hour
)

func (s *Server) reportSummary(c *gin.Context) {
	q, err := queryParams(c, "from", "to", "team", "channel")
	if err != nil {
		s.writeError(c, err)
		return
	}
	f, err := reportFilter(q.Get("from"), q.Get("to"), s.now())
	if err != nil {
		s.writeError(c, err)
		return
	}
	f.Team, f.Channel = q.Get("team"), q.Get("channel")
	if len(f.Team) > 100 || len(f.Channel) > 20 {
		s.writeError(c, invalid("team or channel is too long"))
		return
	}
	r, err := s.inbox.ReportSummary(c.Request.Context(), f)
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, r)
}

// reportFilter parses a report's range: RFC 3339 times, from before to, at
// most reportMaxSpan apart; to defaults to now and from to
// reportDefaultSpan before to.
func reportFilter(rawFrom, rawTo string, now time.Time) (models.ReportFilter, error) {
	f := models.ReportFilter{To: now.UTC()}
	if rawTo != "" {
		t, err := time.Parse(time.RFC3339, rawTo)
		if err != nil {
			return f, invalid("to: not an RFC 3339 time (e.g. 2026-11-30T00:00:00Z)")
		}
		f.To = t.UTC()
	}
	f.From = f.To.Add(-reportDefaultSpan)
	if rawFrom != "" {
		t, err := time.Parse(time.RFC3339, rawFrom)
		if err != nil {
			return f, invalid("from: not an RFC 3339 time (e.g. 2026-11-23T00:00:00Z)")
		}
		f.From = t.UTC()
	}
	switch {
	case !f.From.Before(f.To):
		return f, invalid("from must be before to")
	case f.To.Sub(f.From) > reportMaxSpan:
		return f, invalid("the range is longer than 366 days")
	}
	return f, nil
}
