package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/tongdao/hub/models"
)

// reload re-reads the configuration file and applies its connectors
// section (POST /api/v1/admin/reload, admins only).
func (s *Server) reload(c *gin.Context) {
	if actorOf(c).Role != models.RoleAdmin {
		s.writeError(c, models.Errorf(models.EFORBIDDEN, "this route needs the admin role"))
		return
	}
	if s.reloadFn == nil {
		s.writeError(c, models.Errorf(models.EUNAVAILABLE, "this hub cannot reload its configuration"))
		return
	}
	v, err := s.reloadFn(c.Request.Context())
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, v)
}
