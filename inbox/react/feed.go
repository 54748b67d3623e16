package react

import (
	"cmp"
	"context"
	"slices"
	"sync"

	"github.com/tongdao/hub/models"
)

// feed reads the event log once for all the reactions of a runner. Each
// reaction used to ask the database for the newest event id and then for
// its events, every round: under load eight reactions read every event
// eight times, beside ingest on two cores. The feed keeps the newest events
// (up to keep) and reads the database again only when something was
// committed since its last read (the wake-up the reactions share) or when a
// reaction's round came from its poll timer rather than a wake-up (a commit
// that woke nobody, as before); a reaction further behind reads its events
// from the database as before.
type feed struct {
	store Store
	wake  func() <-chan struct{}
	keep  int

	mu    sync.Mutex
	woken <-chan struct{} // taken before the last read: closed once something was committed since
	evs   []models.Event  // every event in (lo, hi], in id order
	lo    int64
	hi    int64
	ready bool
}

// since returns, in order, the events after `after` of the given types (nil:
// every type), at most limit; when there are fewer than limit, they are
// every such event up to upto. polled says the database must be read
// whether or not a commit woke the reactions.
func (f *feed) since(ctx context.Context, after int64, types []string, limit int, polled bool) (evs []models.Event, upto int64, err error) {
	f.mu.Lock()
	if err := f.refresh(ctx, polled); err != nil {
		f.mu.Unlock()
		return nil, 0, err
	}
	upto = f.hi
	if after >= f.lo {
		i, _ := slices.BinarySearchFunc(f.evs, after, func(e models.Event, id int64) int { return cmp.Compare(e.ID, id+1) })
		for ; i < len(f.evs) && len(evs) < limit; i++ {
			if types == nil || slices.Contains(types, f.evs[i].Type) {
				evs = append(evs, f.evs[i])
			}
		}
		f.mu.Unlock()
		return evs, upto, nil
	}
	f.mu.Unlock()
	if after >= upto {
		return nil, upto, nil
	}
	evs, err = f.store.ReactionEvents(ctx, after, upto, types, limit)
	return evs, upto, err
}

// refresh reads what was committed since the last read, when something was.
func (f *feed) refresh(ctx context.Context, polled bool) error {
	if f.ready && f.woken != nil && !polled {
		select {
		case <-f.woken:
		default:
			return nil // nothing committed since the last read
		}
	}
	woken := f.wake() // before reading, so that no commit slips between
	latest, err := f.store.LatestEventID(ctx)
	if err != nil {
		return err
	}
	if !f.ready {
		// The feed starts at the newest event: reactions behind it read
		// the database.
		f.lo, f.hi, f.ready = latest, latest, true
	}
	if latest > f.hi {
		more, err := f.store.ReactionEvents(ctx, f.hi, latest, nil, f.keep)
		if err != nil {
			return err
		}
		f.evs = append(f.evs, more...)
		f.hi = latest
		if len(more) == f.keep { // there may be more: complete up to the last read
			f.hi = more[len(more)-1].ID
		}
		if drop := len(f.evs) - f.keep; drop > 0 {
			// Appends copy the kept events to a new array when this one
			// is full: the dropped ones go then.
			f.lo = f.evs[drop-1].ID
			f.evs = f.evs[drop:]
		}
	}
	f.woken = woken
	return nil
}
