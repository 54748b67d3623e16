package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/tongdao/hub/models"
)

// reload re-reads the configuration file and applies its connectors
// section (POST /api/v1/admin/reload; the route table makes it admin-only).
func (s *Server) reload(c *gin.Context) {
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

// SetChannels replaces the connectors GET /api/v1/channels lists per channel
// (after a configuration reload). The channels themselves, one per
// registered connector type, are those given in Options: names not among
// them are ignored.
func (s *Server) SetChannels(in []models.ChannelView) {
	byName := make(map[string][]string, len(in))
	for _, ch := range in {
		byName[ch.Name] = append([]string{}, ch.Connectors...)
	}
	list := channelList{Channels: make([]models.ChannelView, 0, len(s.channels.Channels))}
	for _, ch := range s.channels.Channels {
		conns := byName[ch.Name]
		if conns == nil {
			conns = []string{}
		}
		list.Channels = append(list.Channels, models.ChannelView{Name: ch.Name, Title: ch.Title, Connectors: conns})
	}
	s.listed.Store(&list)
}
