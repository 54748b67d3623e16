package inbox

import (
	"context"
	"encoding/json"
	"strconv"

	"github.com/tongdao/hub/inbox/react"
	"github.com/tongdao/hub/models"
)

// reportReaction feeds the live view of the reports: the histograms
// tongdao_first_response_seconds and tongdao_resolution_seconds, observed
// as agents answer and conversations resolve, on the replica that holds
// the reaction's lease. It writes nothing, so an event handled again
// after a crash may be observed twice.
type reportReaction struct{ s *Service }

var _ react.Reaction = reportReaction{}

func (reportReaction) Name() string { return "report_metrics" }

func (reportReaction) Types() []string {
	return []string{models.EventTypeMessageCreated, models.EventTypeConversationUpdated}
}

func (r reportReaction) Handle(ctx context.Context, ev *models.Event, _ react.Commit) error {
	if ev.ConversationID == 0 {
		return nil
	}
	var msg int64
	switch ev.Type {
	case models.EventTypeMessageCreated:
		var m struct {
			ID        string            `json:"id"`
			Direction string            `json:"direction"`
			Sender    models.SenderView `json:"sender"`
			Private   bool              `json:"private"`
		}
		if json.Unmarshal([]byte(ev.Data), &m) != nil || m.Direction != models.DirectionOut ||
			m.Sender.Type != models.SenderAgent || m.Private {
			return nil // a customer or bot message, or a note: no response
		}
		id, err := strconv.ParseInt(m.ID, 10, 64)
		if err != nil {
			return nil
		}
		msg = id
	case models.EventTypeConversationUpdated:
		var ch models.ConversationChange
		if json.Unmarshal([]byte(ev.Detail), &ch) != nil ||
			ch.After.Status != models.StatusResolved || ch.Before.Status == models.StatusResolved {
			return nil // not a resolve (reactions read the detail, not the data)
		}
	}
	d, kind, err := r.s.store.LiveDuration(ctx, ev.ConversationID, ev, msg)
	switch {
	case err != nil:
		return err
	case kind == "first_response":
		r.s.m.firstResponse.Observe(d.Seconds())
	case kind == "resolution":
		r.s.m.resolution.Observe(d.Seconds())
	}
	return nil
}
