package inbox

import (
	"context"
	"fmt"
	"time"

	"github.com/tongdao/hub/inbox/react"
	"github.com/tongdao/hub/inbox/store"
	"github.com/tongdao/hub/inbox/texts"
	"github.com/tongdao/hub/models"
)

// reminderReaction offers a link to customers whose only open channel is
// about to close. It reacts to no event: the runner holding its lease calls
// Tick on a schedule, so one replica sends each reminder.
type reminderReaction struct{ s *Service }

var _ react.Ticker = reminderReaction{}

func (reminderReaction) Name() string    { return "reminders" }
func (reminderReaction) Types() []string { return []string{} }
func (reminderReaction) Handle(context.Context, *models.Event, react.Commit) error {
	return nil
}
func (r reminderReaction) Every() time.Duration { return r.s.reminderEvery }
func (r reminderReaction) Tick(ctx context.Context, commit react.Commit) error {
	_, err := r.s.sendReminders(ctx, commit)
	return err
}

// SendReminders makes one reminder pass at once (tests, operators) and
// returns how many offers it queued.
func (s *Service) SendReminders(ctx context.Context) (int, error) {
	return s.sendReminders(ctx, func(fn func(tx *store.Store) error) error { return s.store.Tx(ctx, fn) })
}

// sendReminders makes one pass: each identity whose reply window closes
// within two hours, whose contact has an active conversation and no other
// channel open beyond that, gets one link offer per window.
func (s *Service) sendReminders(ctx context.Context, commit react.Commit) (int, error) {
	now := s.now()
	sent := 0
	for connector, window := range s.info().ReplyWindows {
		if window <= closingSoon || len(s.otherTargets(connector)) == 0 {
			continue
		}
		idents, err := s.store.ClosingIdentities(ctx, connector, now.Add(-window), now.Add(closingSoon-window))
		if err != nil {
			return sent, err
		}
		for i := range idents {
			ok, err := s.remind(ctx, commit, &idents[i], window, now)
			if err != nil {
				return sent, err
			}
			if ok {
				sent++
			}
		}
	}
	return sent, nil
}

func (s *Service) remind(ctx context.Context, commit react.Commit, ident *models.Identity, window time.Duration, now time.Time) (bool, error) {
	key := fmt.Sprintf("link:reminder:%d:%d", ident.ID, ident.LastInboundAt.UnixNano())
	if _, done, err := s.store.KVGet(ctx, key); err != nil || done {
		return false, err
	}
	all, err := s.store.Identities(ctx, ident.ContactID)
	if err != nil {
		return false, err
	}
	for i := range all {
		if all[i].ID != ident.ID && all[i].CanReply(s.window(all[i].Connector), now.Add(closingSoon)) {
			return false, nil // replies move there already
		}
	}
	conv, err := s.store.ActiveConversation(ctx, ident.ContactID)
	if err != nil || conv == nil {
		return false, err
	}
	left := ident.ReplyUntil(window).Sub(now).Round(time.Minute)
	t := offerTarget{identity: ident.ID, contact: ident.ContactID, conversation: conv.ID,
		connector: ident.Connector, channel: ident.Channel, langs: s.langs(ident.Connector, ident.Language, "")}
	intro := func(lang string) string {
		return s.texts.Text(lang, texts.ReminderLead, "left", fmtLeft(left), "app", s.title(ident.Connector, ident.Channel), "window", fmtWindow(window))
	}
	o, err := s.prepareOffer(ctx, t, intro)
	if err != nil {
		return false, err
	}
	// The offer and the mark that it was sent commit together: exactly one
	// reminder per window, whatever crashes.
	return true, commit(func(tx *store.Store) error {
		if err := s.storeOffer(ctx, tx, t, o); err != nil {
			return err
		}
		return tx.KVSet(ctx, key, "1", window)
	})
}

func fmtLeft(d time.Duration) string {
	if d >= time.Hour {
		return fmt.Sprintf("%dh%02dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	return fmt.Sprintf("%d minutes", int(d/time.Minute))
}
