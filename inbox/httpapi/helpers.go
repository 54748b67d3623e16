package httpapi

import (
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/tongdao/hub/models"
)

// Agent helpers: canned responses (agents read, admins write) and labels
// on conversations.

// cannedBody is the body of POST /canned and PUT /canned/{id}.
type cannedBody struct {
	Shortcut string `json:"shortcut"`
	Text     string `json:"text"`
}

// cannedList is the body of GET /canned.
type cannedList struct {
	Canned []models.CannedView `json:"canned"`
}

// labelsBody is the body of POST /conversations/{id}/labels.
type labelsBody struct {
	Add    []string `json:"add"`
	Remove []string `json:"remove"`
}

func (b *cannedBody) validate() (models.CannedInput, error) {
	sc, err := models.NormalizeShortcut(b.Shortcut)
	if err != nil {
		return models.CannedInput{}, err
	}
	if strings.TrimSpace(b.Text) == "" {
		return models.CannedInput{}, invalid("text is required")
	}
	if n := utf8.RuneCountInString(b.Text); n > models.MaxCannedRunes {
		return models.CannedInput{}, invalid("text is %d characters long; at most %d are allowed", n, models.MaxCannedRunes)
	}
	return models.CannedInput{Shortcut: sc, Text: b.Text}, nil
}

func (s *Server) listCanned(c *gin.Context) {
	q, err := queryParams(c, "q")
	if err != nil {
		s.writeError(c, err)
		return
	}
	query := strings.TrimSpace(q.Get("q"))
	if utf8.RuneCountInString(query) > maxQueryLen {
		s.writeError(c, invalid("q must be at most %d characters", maxQueryLen))
		return
	}
	items, err := s.inbox.ListCanned(c.Request.Context(), query)
	if err != nil {
		s.writeError(c, err)
		return
	}
	if items == nil {
		items = []models.CannedView{}
	}
	c.JSON(http.StatusOK, cannedList{Canned: items})
}

func (s *Server) createCanned(c *gin.Context) {
	var body cannedBody
	if err := s.decodeJSON(c, &body); err != nil {
		s.writeError(c, err)
		return
	}
	in, err := body.validate()
	if err != nil {
		s.writeError(c, err)
		return
	}
	v, err := s.inbox.CreateCanned(c.Request.Context(), in, actorOf(c))
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusCreated, v)
}

func (s *Server) updateCanned(c *gin.Context) {
	id, err := pathID(c, "id", "canned response")
	if err != nil {
		s.writeError(c, err)
		return
	}
	var body cannedBody
	if err := s.decodeJSON(c, &body); err != nil {
		s.writeError(c, err)
		return
	}
	in, err := body.validate()
	if err != nil {
		s.writeError(c, err)
		return
	}
	v, err := s.inbox.UpdateCanned(c.Request.Context(), id, in, actorOf(c))
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, v)
}

func (s *Server) deleteCanned(c *gin.Context) {
	id, err := pathID(c, "id", "canned response")
	if err != nil {
		s.writeError(c, err)
		return
	}
	if err := s.inbox.DeleteCanned(c.Request.Context(), id, actorOf(c)); err != nil {
		s.writeError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (s *Server) updateLabels(c *gin.Context) {
	id, err := pathID(c, "id", "conversation")
	if err != nil {
		s.writeError(c, err)
		return
	}
	var body labelsBody
	if err := s.decodeJSON(c, &body); err != nil {
		s.writeError(c, err)
		return
	}
	if len(body.Add) == 0 && len(body.Remove) == 0 {
		s.writeError(c, invalid("give add and/or remove: lists of labels"))
		return
	}
	for field, list := range map[string][]string{"add": body.Add, "remove": body.Remove} {
		if len(list) > models.MaxLabels {
			s.writeError(c, invalid("%s: at most %d labels at once", field, models.MaxLabels))
			return
		}
		for i, l := range list {
			if _, err := models.NormalizeLabel(l); err != nil {
				s.writeError(c, invalid("%s[%d]: %s", field, i, models.ErrorMessage(err)))
				return
			}
		}
	}
	conv, err := s.inbox.UpdateLabels(c.Request.Context(), id, body.Add, body.Remove, actorOf(c))
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, conv)
}
