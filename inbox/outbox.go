package inbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/tongdao/hub/inbox/store"
	"github.com/tongdao/hub/internal/backoff"
	"github.com/tongdao/hub/models"
)

// Outbox delivery parameters.
const (
	maxAttempts = 8
	sendTimeout = 30 * time.Second
	// defaultOutboxLease is how long a delivery attempt holds its message
	// without renewal: the worker renews it every third of that while the
	// send is in flight, so a replica that crashed mid-send has its message
	// retried after about this long, while a slow send is never taken twice.
	defaultOutboxLease = 10 * time.Second
	maxBackoff         = 10 * time.Minute
)

func (s *Service) wakeOutbox() {
	select {
	case s.outboxWake <- struct{}{}:
	default:
	}
}

// RunOutbox delivers queued messages until ctx ends, with a pool of
// s.concurrency workers that is fed continuously: a slot freed by one send
// takes the next due message at once, so a slow send holds only its own
// chat (whose later messages wait behind it, in order), never the others.
func (s *Service) RunOutbox(ctx context.Context) error {
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		inflight = map[int64]bool{} // message ids being delivered
	)
	defer wg.Wait()
	slots := make(chan struct{}, s.concurrency)
	for {
		started := 0
		if free := cap(slots) - len(slots); free > 0 {
			mu.Lock()
			busy := len(inflight)
			mu.Unlock()
			due, err := s.store.DueDeliveries(ctx, s.now(), free+busy)
			if err != nil && ctx.Err() == nil {
				s.log.Error("outbox scan failed", "err", err)
			}
			for i := range due {
				d := &due[i]
				mu.Lock()
				taken := inflight[d.Message.ID]
				if !taken && len(slots) < cap(slots) {
					inflight[d.Message.ID] = true
					slots <- struct{}{}
					started++
				} else {
					taken = true
				}
				mu.Unlock()
				if taken {
					continue
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					s.deliver(ctx, d)
					mu.Lock()
					delete(inflight, d.Message.ID)
					mu.Unlock()
					<-slots
					s.notify()
					s.wakeOutbox() // the chat's next message, or a waiting one
				}()
			}
		}
		if ctx.Err() != nil {
			return nil
		}
		if started > 0 {
			continue // more may be due right away
		}
		wait := s.outboxPoll
		mu.Lock()
		busy := len(inflight)
		mu.Unlock()
		// While sends are in flight, each one's end wakes the loop: the
		// next due time is read when the pool is idle.
		if busy == 0 {
			if next, ok, err := s.store.NextDue(ctx); err == nil && ok {
				if d := next.Sub(s.now()); d < wait {
					wait = max(d, 10*time.Millisecond)
				}
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-s.outboxWake:
			t.Stop()
		case <-t.C:
		}
	}
}

// DeliverDue makes one pass over due messages (the head of each chat's
// queue), delivering them concurrently, and returns how many it attempted.
func (s *Service) DeliverDue(ctx context.Context) (int, error) {
	due, err := s.store.DueDeliveries(ctx, s.now(), 4*s.concurrency)
	if err != nil || len(due) == 0 {
		return 0, err
	}
	sem := make(chan struct{}, s.concurrency)
	var wg sync.WaitGroup
	for i := range due {
		d := &due[i]
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			s.deliver(ctx, d)
		}()
	}
	wg.Wait()
	s.notify()
	return len(due), nil
}

func (s *Service) deliver(ctx context.Context, d *store.Delivery) {
	m, ident := &d.Message, &d.Identity
	now := s.now()
	won, err := s.store.Lease(ctx, m.ID, m.Attempts, now.Add(s.outboxLease))
	if err != nil {
		s.log.Error("outbox lease", "message", m.ID, "err", err)
		return
	}
	if !won {
		return // another worker has it
	}
	attempt := m.Attempts + 1
	var o store.DeliveryOutcome
	sender, ok := s.senders(m.Connector)
	if !ok {
		// The connector left the configuration after the reply was queued
		// (a reload or a restart). It may come back: keep the reply queued
		// on the usual retry schedule, then fail it with a plain reason.
		reason := fmt.Sprintf("connector %s was removed from the configuration", m.Connector)
		if o = s.outcome(models.SendResult{}, errors.New(reason), attempt); o.Status == models.DeliveryFailed {
			o.Error = reason
		}
	} else {
		out := models.Outbound{MessageID: models.ID(m.ID), Connector: m.Connector, To: ident.ExternalID,
			ReplyTo: ident.ReplyTo, Text: m.Text}
		if m.Attachments != "" {
			_ = json.Unmarshal([]byte(m.Attachments), &out.Attachments)
			// Files the hub keeps (an agent's upload) go as Files, read
			// from the media store; the rest (an image by URL) as before.
			kept := out.Attachments[:0]
			for _, a := range out.Attachments {
				if a.URL != "" || a.FileID != "" {
					kept = append(kept, a)
				}
			}
			out.Attachments = kept
			if out.Files, err = s.outboundFiles(ctx, m); err != nil {
				s.log.Warn("outbox: read the message's files", "message", m.ID, "err", err)
				return // the lease expires and the message is retried
			}
		}
		if m.Buttons != "" {
			_ = json.Unmarshal([]byte(m.Buttons), &out.Buttons)
		}
		sctx, cancel := context.WithTimeout(ctx, sendTimeout)
		stopRenew := s.renewLease(sctx, m.ID, attempt)
		res, err := sender.Send(sctx, out)
		stopRenew()
		cancel()
		o = s.outcome(res, err, attempt)
		if err != nil {
			s.log.Warn("delivery failed", "connector", m.Connector, "message", m.ID, "attempt", attempt, "status", o.Status, "err", err)
		}
	}
	s.m.delivered.WithLabelValues(m.Connector, o.Status).Inc()
	// Record the outcome even if ctx just ended: the platform has it already.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := s.store.FinishDelivery(fctx, m.ID, ident.ID, o); err != nil {
		s.log.Error("outbox record outcome", "message", m.ID, "err", err)
	} else if m.Kind == models.KindLinkOffer && o.Status != models.DeliveryQueued {
		// Delivered or given up: the stored copy needs its secrets no more.
		if err := s.store.MaskMessage(fctx, m.ID, models.MaskLinkOffer(m.Text)); err != nil {
			s.log.Error("mask link offer", "message", m.ID, "err", err)
		}
	}
}

// renewLease keeps a delivery's lease while its send is in flight, every
// third of the lease, until the returned stop is called.
func (s *Service) renewLease(ctx context.Context, id int64, attempt int) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(s.outboxLease / 3)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if _, err := s.store.RenewLease(ctx, id, attempt, s.now().Add(s.outboxLease)); err != nil && ctx.Err() == nil {
					s.log.Warn("outbox lease renewal", "message", id, "err", err)
				}
			}
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

func (s *Service) outcome(res models.SendResult, err error, attempt int) store.DeliveryOutcome {
	now := s.now()
	if err == nil {
		return store.DeliveryOutcome{Status: models.DeliverySent, PlatformID: res.ExternalID, ReplyTo: res.ReplyTo}
	}
	var de *models.DeliveryError
	if errors.As(err, &de) {
		if de.Permanent {
			o := store.DeliveryOutcome{Status: models.DeliveryFailed, Error: de.Error()}
			if de.Unreachable {
				o.Unreachable = de.Reason
			}
			return o
		}
		if de.RetryAfter > 0 && attempt < maxAttempts {
			return store.DeliveryOutcome{Status: models.DeliveryQueued, Error: de.Error(), NextAttempt: now.Add(de.RetryAfter)}
		}
	}
	if attempt >= maxAttempts {
		return store.DeliveryOutcome{Status: models.DeliveryFailed, Error: fmt.Sprintf("gave up after %d attempts: %v", attempt, err)}
	}
	return store.DeliveryOutcome{Status: models.DeliveryQueued, Error: err.Error(), NextAttempt: now.Add(deliveryBackoff.Wait(attempt))}
}

// deliveryBackoff is the wait before a delivery is retried: exponential
// from 1 s, capped, with ±20% jitter.
var deliveryBackoff = backoff.Policy{Min: time.Second, Max: maxBackoff, Jitter: 0.2}
