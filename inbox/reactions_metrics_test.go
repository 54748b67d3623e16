package inbox_test

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tongdao/hub/inbox"
	"github.com/tongdao/hub/internal/wait"
	"github.com/tongdao/hub/models"
)

// lags reads tongdao_reaction_lag_events per reaction.
func lags(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "tongdao_reaction_lag_events" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "reaction" {
					out[l.GetValue()] = m.GetGauge().GetValue()
				}
			}
		}
	}
	return out
}

// The reactions' lag is reported per reaction while they run, and falls to
// zero once they have handled what was committed.
func TestReactionLagIsReportedAndFallsToZero(t *testing.T) {
	reg := prometheus.NewRegistry()
	f := newFixture(t, func(o *inbox.Options) { o.Registerer = reg })
	if got := lags(t, reg); len(got) != 0 {
		t.Fatalf("lag reported before the reactions run: %v", got)
	}
	// Committed after the cursors were made, before the reactions run:
	// they start behind it.
	if err := f.svc.InitReactions(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.ingest(t, msg("tg", "telegram", "1", "1:1", "my card is blocked"))
	f.runReactions(t)
	// Each reaction reports once it has run a round; all catch up.
	wait.For(t, "every reaction reported and caught up", func() bool {
		got := lags(t, reg)
		for _, name := range []string{"bot", "progress", "csat", "report_metrics"} {
			if _, ok := got[name]; !ok {
				return false
			}
		}
		for _, v := range got {
			if v != 0 {
				return false
			}
		}
		return true
	})
	got := lags(t, reg)
	if _, ok := got["reminders"]; ok {
		t.Errorf("a reaction that only ticks reports a lag: %v", got)
	}
	// The writer's time: ingest committed a message, the bot wrote its
	// answer.
	held := map[string]float64{}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "tongdao_sqlite_writer_seconds_total" {
			for _, m := range mf.GetMetric() {
				held[m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
			}
		}
	}
	if held["ingest"] <= 0 || held["reactions"] <= 0 {
		t.Fatalf("writer time: %v", held)
	}
	// The bot answered the message committed before it started.
	id, _ := models.ParseID(f.onlyConversation(t).ID)
	if len(f.botTexts(t, id, "")) == 0 {
		t.Fatal("the bot did not answer the message it was behind")
	}
}
