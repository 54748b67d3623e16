package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// countViews answers GET /api/v1/views: the caller's name and how many
// conversations each work queue holds.
func (s *Server) countViews(c *gin.Context) {
	if _, err := queryParams(c); err != nil {
		s.writeError(c, err)
		return
	}
	v, err := s.inbox.CountViews(c.Request.Context(), actorOf(c).Name)
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, v)
}
