package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/tongdao/hub/models"
)

// Read marks of the agent console: POST /conversations/{id}/read, GET
// /me/reads.

// readList is the body of GET /me/reads.
type readList struct {
	Reads []models.ReadMarkView `json:"reads"`
}

func (s *Server) markRead(c *gin.Context) {
	id, err := pathID(c, "id", "conversation")
	if err != nil {
		s.writeError(c, err)
		return
	}
	// The body is optional and, when given, an empty object.
	if c.Request.ContentLength != 0 {
		var body struct{}
		if err := s.decodeJSON(c, &body); err != nil {
			s.writeError(c, err)
			return
		}
	}
	v, err := s.inbox.MarkRead(c.Request.Context(), id, actorOf(c))
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, v)
}

func (s *Server) readMarks(c *gin.Context) {
	if _, err := queryParams(c); err != nil {
		s.writeError(c, err)
		return
	}
	rs, err := s.inbox.ReadMarks(c.Request.Context(), actorOf(c))
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, readList{Reads: rs})
}
