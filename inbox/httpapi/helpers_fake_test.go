package httpapi

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/tongdao/hub/models"
)

// The fake inbox's agent helpers: canned responses in a map, labels on the
// fake conversations. The real ones run on SQLite and PostgreSQL in the
// store's and the inbox's tests.

type fakeHelpers struct {
	canned     map[int64]models.CannedView
	nextCanned int64
	// cannedWrites and labelWrites count the calls that reached the inbox.
	cannedWrites int
	labelWrites  int
	cannedQuery  string
}

func (f *fakeInbox) ListCanned(_ context.Context, q string) ([]models.CannedView, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.helpers.cannedQuery = q
	if f.err != nil {
		return nil, f.err
	}
	var out []models.CannedView
	for _, c := range f.helpers.canned {
		if strings.Contains(c.Shortcut, strings.ToLower(q)) || strings.Contains(strings.ToLower(c.Text), strings.ToLower(q)) {
			out = append(out, c)
		}
	}
	return out, nil
}

func (f *fakeInbox) CreateCanned(_ context.Context, in models.CannedInput, by models.Actor) (models.CannedView, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.helpers.cannedWrites++
	f.byActor = by
	if f.err != nil {
		return models.CannedView{}, f.err
	}
	for _, c := range f.helpers.canned {
		if c.Shortcut == in.Shortcut {
			return models.CannedView{}, models.Errorf(models.ECONFLICT, "the shortcut %q is already used", in.Shortcut)
		}
	}
	if f.helpers.canned == nil {
		f.helpers.canned = map[int64]models.CannedView{}
	}
	f.helpers.nextCanned++
	t := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	v := models.CannedView{ID: strconv.FormatInt(f.helpers.nextCanned, 10), Shortcut: in.Shortcut, Text: in.Text,
		CreatedBy: by.Name, UpdatedBy: by.Name, CreatedAt: t, UpdatedAt: t}
	f.helpers.canned[f.helpers.nextCanned] = v
	return v, nil
}

func (f *fakeInbox) UpdateCanned(_ context.Context, id int64, in models.CannedInput, by models.Actor) (models.CannedView, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.helpers.cannedWrites++
	if f.err != nil {
		return models.CannedView{}, f.err
	}
	v, ok := f.helpers.canned[id]
	if !ok {
		return v, models.Errorf(models.ENOTFOUND, "canned response %d not found", id)
	}
	v.Shortcut, v.Text, v.UpdatedBy = in.Shortcut, in.Text, by.Name
	f.helpers.canned[id] = v
	return v, nil
}

func (f *fakeInbox) DeleteCanned(_ context.Context, id int64, _ models.Actor) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.helpers.cannedWrites++
	if f.err != nil {
		return f.err
	}
	if _, ok := f.helpers.canned[id]; !ok {
		return models.Errorf(models.ENOTFOUND, "canned response %d not found", id)
	}
	delete(f.helpers.canned, id)
	return nil
}

func (f *fakeInbox) UpdateLabels(_ context.Context, id int64, add, remove []string, by models.Actor) (models.ConversationView, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.helpers.labelWrites++
	f.byActor = by
	if f.err != nil {
		return models.ConversationView{}, f.err
	}
	c, ok := f.convs[id]
	if !ok {
		return c, models.Errorf(models.ENOTFOUND, "conversation %d not found", id)
	}
	labels := []string{}
	for _, l := range c.Labels {
		drop := false
		for _, r := range remove {
			drop = drop || r == l
		}
		if !drop {
			labels = append(labels, l)
		}
	}
	c.Labels = append(labels, add...)
	f.convs[id] = c
	return c, nil
}
