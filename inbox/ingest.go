package inbox

import (
	"context"
	"runtime"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tongdao/hub/inbox/store"
	"github.com/tongdao/hub/models"
)

// Ingest is the inbox's front door: every connector hands it normalized
// inbounds, and it commits them in group commits (one writer takes every
// ingest waiting). It does only that: whatever reacts to a stored message
// is a reaction on the event log.

type ingestReq struct {
	item store.IngestItem
	done chan struct{}
}

// Ingest commits an inbound and returns once it is durable. It implements
// connectors.Sink.
func (s *Service) Ingest(ctx context.Context, in models.Inbound) (models.IngestResult, error) {
	if err := validateInbound(&in); err != nil {
		return models.IngestResult{}, err
	}
	r := &ingestReq{item: store.IngestItem{In: in, UnreachableReason: unreachableReason(&in), Feedback: feedbackStages(&in)}, done: make(chan struct{})}
	queued := time.Now() // a measurement for the metrics, not business time
	select {
	case s.ingestQ <- r:
	case <-s.stop:
		return models.IngestResult{}, models.Errorf(models.EUNAVAILABLE, "inbox is shutting down")
	case <-ctx.Done():
		return models.IngestResult{}, ctx.Err()
	}
	// Once queued, the commit happens whatever the caller's context does; wait
	// for it so the answer tells the truth.
	select {
	case <-r.done:
	case <-s.done: // every writer has stopped: this one came too late
		select {
		case <-r.done:
		default:
			return models.IngestResult{}, models.Errorf(models.EUNAVAILABLE, "inbox is shutting down")
		}
	}
	s.m.commitWait.Observe(time.Since(queued).Seconds())
	if r.item.Err == nil && r.item.In.InlineReply {
		// The one exception to "ingest only ingests": an answer due in the
		// platform's own response (a WeChat passive reply, 5 seconds) is
		// made here, after the commit, in the caller's goroutine.
		s.answerInline(ctx, &r.item)
	}
	return r.item.Result, r.item.Err
}

// unreachableReason is why an inbound makes its customer unreachable on
// that identity ("" for every inbound but an unfollow).
func unreachableReason(in *models.Inbound) string {
	if in.Kind == models.KindEvent && in.Event == models.EventUnsubscribe {
		return "the customer unfollowed the account"
	}
	return ""
}

func validateInbound(in *models.Inbound) error {
	var missing []string
	if in.Connector == "" {
		missing = append(missing, "connector")
	}
	if in.ExternalID == "" {
		missing = append(missing, "external_id")
	}
	if in.From.ExternalID == "" {
		missing = append(missing, "from.external_id")
	}
	if len(missing) > 0 {
		return models.Errorf(models.EINVALID, "inbound lacks %s", strings.Join(missing, ", "))
	}
	switch in.Kind {
	case "":
		in.Kind = models.KindMessage
	case models.KindMessage, models.KindEdit, models.KindAction, models.KindEvent:
	default:
		return models.Errorf(models.EINVALID, "unknown inbound kind %q", in.Kind)
	}
	if !utf8.ValidString(in.Text) {
		in.Text = strings.ToValidUTF8(in.Text, "\uFFFD")
	}
	return nil
}

// writer is the single group-commit loop: it takes every ingest waiting and
// commits them in one transaction.
func (s *Service) writer() {
	batch := make([]*ingestReq, 0, s.maxBatch)
	items := make([]*store.IngestItem, 0, s.maxBatch)
	concurrent := false
	for {
		batch, items = batch[:0], items[:0]
		select {
		case r := <-s.ingestQ:
			batch = append(batch, r)
		case <-s.stop:
			s.drainClosed()
			return
		}
	fill:
		for len(batch) < s.maxBatch {
			select {
			case r := <-s.ingestQ:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		// Under concurrent load, gather more: a commit costs about the same
		// for one message as for dozens.
		if concurrent && len(batch) < s.maxBatch/8 {
			// Let the request goroutines that are ready run first, then take
			// what they queued: cheaper than a timer, and no idle wait.
			for range 2 {
				runtime.Gosched()
			more:
				for len(batch) < s.maxBatch {
					select {
					case r := <-s.ingestQ:
						batch = append(batch, r)
					default:
						break more
					}
				}
			}
		}
		concurrent = len(batch) > 1
		for _, r := range batch {
			items = append(items, &r.item)
		}
		s.commit(items)
		for _, r := range batch {
			close(r.done)
		}
	}
}

func (s *Service) drainClosed() {
	for {
		select {
		case r := <-s.ingestQ:
			r.item.Err = models.Errorf(models.EUNAVAILABLE, "inbox is shutting down")
			close(r.done)
		default:
			return
		}
	}
}

func (s *Service) commit(items []*store.IngestItem) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s.m.batchSize.Observe(float64(len(items)))
	err := s.store.IngestBatch(ctx, items)
	if err != nil && len(items) > 1 {
		// Isolate the failing item: commit the others one by one.
		for _, it := range items {
			it.Err = s.store.IngestBatch(ctx, []*store.IngestItem{it})
		}
	} else {
		for _, it := range items {
			it.Err = err
		}
	}
	stored := false
	for _, it := range items {
		switch {
		case it.Err != nil:
			s.log.Error("ingest failed", "connector", it.In.Connector, "err", it.Err)
			if models.ErrorCode(it.Err) == models.EINTERNAL {
				it.Err = models.Errorf(models.EUNAVAILABLE, "could not store the message; retry")
			}
		case it.Result.Duplicate:
			s.m.duplicates.Inc()
		default:
			s.m.ingested.Inc()
			stored = true
		}
	}
	if stored {
		s.notify()
	}
}
