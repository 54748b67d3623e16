package httpapi

import (
	"context"
	"time"

	"github.com/tongdao/hub/models"
)

// The fake inbox's read marks: conversation 404 is unknown, every other
// one is marked at a fixed time. The real ones run on SQLite and
// PostgreSQL in the store's tests.

var fakeReadAt = time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)

func (f *fakeInbox) MarkRead(_ context.Context, id int64, by models.Actor) (models.ReadMarkView, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return models.ReadMarkView{}, f.err
	}
	if id == 404 {
		return models.ReadMarkView{}, models.Errorf(models.ENOTFOUND, "conversation %d not found", id)
	}
	f.reads = append(f.reads, by.Name+":"+models.ID(id))
	return models.ReadMarkView{ConversationID: models.ID(id), ReadAt: fakeReadAt}, nil
}

func (f *fakeInbox) ReadMarks(_ context.Context, by models.Actor) ([]models.ReadMarkView, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := []models.ReadMarkView{}
	for _, r := range f.reads {
		if len(r) > len(by.Name) && r[:len(by.Name)+1] == by.Name+":" {
			out = append(out, models.ReadMarkView{ConversationID: r[len(by.Name)+1:], ReadAt: fakeReadAt})
		}
	}
	return out, f.err
}
