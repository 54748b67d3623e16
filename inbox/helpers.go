package inbox

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/tongdao/hub/inbox/texts"
	"github.com/tongdao/hub/models"
)

// Agent helpers: canned responses, their placeholders, and labels on
// conversations.

// ListCanned lists the canned responses, by shortcut; q searches shortcuts
// and texts, ignoring case.
func (s *Service) ListCanned(ctx context.Context, q string) ([]models.CannedView, error) {
	return s.store.ListCanned(ctx, strings.TrimSpace(q))
}

// CreateCanned stores a canned response (admins).
func (s *Service) CreateCanned(ctx context.Context, in models.CannedInput, by models.Actor) (models.CannedView, error) {
	in, err := checkCanned(in)
	if err != nil {
		return models.CannedView{}, err
	}
	return s.store.CreateCanned(ctx, in, by.Name)
}

// UpdateCanned replaces a canned response's shortcut and text (admins).
func (s *Service) UpdateCanned(ctx context.Context, id int64, in models.CannedInput, by models.Actor) (models.CannedView, error) {
	in, err := checkCanned(in)
	if err != nil {
		return models.CannedView{}, err
	}
	return s.store.UpdateCanned(ctx, id, in, by.Name)
}

// DeleteCanned removes a canned response (admins).
func (s *Service) DeleteCanned(ctx context.Context, id int64, _ models.Actor) error {
	return s.store.DeleteCanned(ctx, id)
}

// checkCanned normalises the shortcut and checks the text.
func checkCanned(in models.CannedInput) (models.CannedInput, error) {
	sc, err := models.NormalizeShortcut(in.Shortcut)
	if err != nil {
		return in, err
	}
	in.Shortcut = sc
	if strings.TrimSpace(in.Text) == "" {
		return in, models.Errorf(models.EINVALID, "text is required")
	}
	if n := utf8.RuneCountInString(in.Text); n > models.MaxCannedRunes {
		return in, models.Errorf(models.EINVALID, "text is %d characters long; at most %d are allowed", n, models.MaxCannedRunes)
	}
	return in, nil
}

// cannedText is the canned response id's text with its placeholders
// filled for the conversation: {name} the customer's name, {ticket} the
// ticket number (#id), {agent} the replying agent's name. An id that names
// no canned response is an invalid request (the conversation exists; the
// body is wrong).
func (s *Service) cannedText(ctx context.Context, conv models.Conversation, cannedID int64, agent string) (string, error) {
	c, err := s.store.Canned(ctx, cannedID)
	if models.ErrorCode(err) == models.ENOTFOUND {
		return "", models.Errorf(models.EINVALID, "canned_id: canned response %d does not exist", cannedID)
	}
	if err != nil {
		return "", err
	}
	name, err := s.customerName(ctx, conv.ContactID)
	if err != nil {
		return "", err
	}
	return strings.NewReplacer("{name}", name, "{ticket}", "#"+models.ID(conv.ID), "{agent}", agent).Replace(c.Text), nil
}

// customerName is what {name} becomes: the contact's name, else the
// display name or username of their newest identity, else the text
// name_unknown in their language ("customer").
func (s *Service) customerName(ctx context.Context, contactID int64) (string, error) {
	contact, err := s.store.GetContact(ctx, contactID)
	if err != nil {
		return "", err
	}
	if n := strings.TrimSpace(contact.Name); n != "" {
		return n, nil
	}
	ids := contact.Identities
	for i := len(ids) - 1; i >= 0; i-- {
		if n := strings.TrimSpace(ids[i].DisplayName); n != "" {
			return n, nil
		}
	}
	for i := len(ids) - 1; i >= 0; i-- {
		if n := strings.TrimSpace(ids[i].Username); n != "" {
			return n, nil
		}
	}
	var langs []string
	if len(ids) > 0 {
		last := ids[len(ids)-1]
		langs = s.langs(last.Connector, last.Language, "")
	}
	if len(langs) == 0 {
		langs = []string{s.texts.Default}
	}
	return s.texts.Text(langs[0], texts.NameUnknown), nil
}

// UpdateLabels removes and adds labels on a conversation (normalised:
// trimmed, white space collapsed, lowercased) and returns it; the change
// is a conversation.updated event.
func (s *Service) UpdateLabels(ctx context.Context, id int64, add, remove []string, by models.Actor) (models.ConversationView, error) {
	if len(add) == 0 && len(remove) == 0 {
		return models.ConversationView{}, models.Errorf(models.EINVALID, "give add and/or remove: lists of labels")
	}
	adds, err := normalizeLabels("add", add)
	if err != nil {
		return models.ConversationView{}, err
	}
	removes, err := normalizeLabels("remove", remove)
	if err != nil {
		return models.ConversationView{}, err
	}
	for _, l := range adds {
		for _, r := range removes {
			if l == r {
				return models.ConversationView{}, models.Errorf(models.EINVALID, "label %q is both added and removed", l)
			}
		}
	}
	v, err := s.store.UpdateLabels(ctx, id, adds, removes, by.Name)
	if err == nil {
		s.notify()
	}
	return v, err
}

// normalizeLabels normalises a list of labels, dropping repeats.
func normalizeLabels(field string, in []string) ([]string, error) {
	if len(in) > models.MaxLabels {
		return nil, models.Errorf(models.EINVALID, "%s: at most %d labels at once", field, models.MaxLabels)
	}
	out := make([]string, 0, len(in))
	for i, l := range in {
		n, err := models.NormalizeLabel(l)
		if err != nil {
			return nil, models.Errorf(models.EINVALID, "%s[%d]: %s", field, i, models.ErrorMessage(err))
		}
		if !contains(out, n) {
			out = append(out, n)
		}
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
