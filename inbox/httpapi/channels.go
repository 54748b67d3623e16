package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/tongdao/hub/models"
)

// channelList is the body of GET /api/v1/channels.
type channelList struct {
	Channels []models.ChannelView `json:"channels"`
}

// channelsOf copies the configured channels (never null in JSON) and makes
// the OpenAPI document served with their names as the ChannelName enum.
func channelsOf(in []models.ChannelView) (channelList, []byte, error) {
	list := channelList{Channels: make([]models.ChannelView, 0, len(in))}
	names := make([]string, 0, len(in))
	for _, ch := range in {
		conns := append([]string{}, ch.Connectors...)
		list.Channels = append(list.Channels, models.ChannelView{Name: ch.Name, Title: ch.Title, Connectors: conns})
		names = append(names, ch.Name)
	}
	var doc map[string]any
	if err := json.Unmarshal(openAPIDocument, &doc); err != nil {
		return list, nil, fmt.Errorf("httpapi: openapi.json: %w", err)
	}
	schema, ok := lookup(doc, "components", "schemas", "ChannelName").(map[string]any)
	if !ok {
		return list, nil, fmt.Errorf("httpapi: openapi.json has no ChannelName schema")
	}
	schema["enum"] = names
	served, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return list, nil, fmt.Errorf("httpapi: openapi.json: %w", err)
	}
	return list, served, nil
}

func lookup(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

// checkChannel validates the channel filter against the listed channels.
func (s *Server) checkChannel(name string) error {
	if name == "" {
		return nil
	}
	names := make([]string, 0, len(s.channels.Channels))
	for _, ch := range s.channels.Channels {
		if ch.Name == name {
			return nil
		}
		names = append(names, ch.Name)
	}
	return invalid("invalid channel %q: must be one of %s (GET /api/v1/channels lists them)", truncate(name, 40), strings.Join(names, ", "))
}

func (s *Server) listChannels(c *gin.Context) {
	if _, err := queryParams(c); err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, s.listed.Load())
}
