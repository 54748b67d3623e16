package httpapi

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/tongdao/hub/models"
)

// mergeBody is the body of POST /contacts/{id}/merge.
type mergeBody struct {
	// From is the contact merged into the path's contact.
	From string `json:"from"`
}

// suggestionList is the body of GET /contacts/{id}/suggestions.
type suggestionList struct {
	Suggestions []models.SuggestionView `json:"suggestions"`
}

func (s *Server) mergeContacts(c *gin.Context) {
	id, err := pathID(c, "id", "contact")
	if err != nil {
		s.writeError(c, err)
		return
	}
	var body mergeBody
	if err := s.decodeJSON(c, &body); err != nil {
		s.writeError(c, err)
		return
	}
	if strings.TrimSpace(body.From) == "" {
		s.writeError(c, invalid("from is required: the id of the contact to merge into this one"))
		return
	}
	from, ok := parseID(body.From)
	if !ok && wellFormedID(body.From) {
		s.writeError(c, models.Errorf(models.ENOTFOUND, "contact %s not found", body.From))
		return
	}
	if !ok {
		s.writeError(c, invalid("from must be a contact id (a decimal string), not %q", truncate(body.From, 40)))
		return
	}
	if from == id {
		s.writeError(c, invalid("a contact cannot be merged into itself"))
		return
	}
	m, err := s.inbox.MergeContacts(c.Request.Context(), id, from, actorOf(c))
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, m)
}

func (s *Server) undoMerge(c *gin.Context) {
	id, err := pathID(c, "id", "merge")
	if err != nil {
		s.writeError(c, err)
		return
	}
	m, err := s.inbox.UndoMerge(c.Request.Context(), id, actorOf(c))
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, m)
}

func (s *Server) unlinkIdentity(c *gin.Context) {
	id, err := pathID(c, "id", "identity")
	if err != nil {
		s.writeError(c, err)
		return
	}
	contact, err := s.inbox.UnlinkIdentity(c.Request.Context(), id, actorOf(c))
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, contact)
}

func (s *Server) suggestions(c *gin.Context) {
	id, err := pathID(c, "id", "contact")
	if err != nil {
		s.writeError(c, err)
		return
	}
	items, err := s.inbox.Suggestions(c.Request.Context(), id)
	if err != nil {
		s.writeError(c, err)
		return
	}
	if items == nil {
		items = []models.SuggestionView{}
	}
	c.JSON(http.StatusOK, suggestionList{Suggestions: items})
}
