package inbox_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tongdao/hub/inbox"
	"github.com/tongdao/hub/internal/wait"
	"github.com/tongdao/hub/models"
)

// histogram reads a histogram's sample count and sum from reg.
func histogram(t *testing.T, reg *prometheus.Registry, name string) (count uint64, sum float64) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			h := mf.GetMetric()[0].GetHistogram()
			return h.GetSampleCount(), h.GetSampleSum()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0, 0
}

// The live view of the reports: the first agent reply of each period
// (start or reopen) is a first response, notes and later replies are not;
// each resolve is a resolution, timed from its period's start.
func TestReportHistogramsFollowFirstResponsesAndResolves(t *testing.T) {
	reg := prometheus.NewRegistry()
	f := newFixture(t, func(o *inbox.Options) { o.Registerer = reg })
	ctx := context.Background()
	f.runReactions(t)
	f.ingest(t, msg("tg", "telegram", "1", "1:1", "my card is blocked"))
	id, _ := models.ParseID(f.onlyConversation(t).ID)
	step := func(d time.Duration, do func() error) {
		t.Helper()
		f.clock.Advance(d)
		if err := do(); err != nil {
			t.Fatal(err)
		}
	}
	reply := func(private bool) func() error {
		return func() error {
			_, err := f.svc.Reply(ctx, models.ReplyRequest{ConversationID: id, Text: "looking", Private: private, Actor: agent})
			return err
		}
	}
	status := func(s string) func() error {
		return func() error { _, err := f.svc.SetStatus(ctx, id, s, agent); return err }
	}
	step(2*time.Minute, reply(true))                    // a note at 2m: no response
	step(3*time.Minute, reply(false))                   // 5m: first response 300 s
	step(5*time.Minute, reply(false))                   // 10m: a second reply
	step(10*time.Minute, status(models.StatusResolved)) // 20m: resolution 1200 s
	step(10*time.Minute, status(models.StatusOpen))     // 30m: reopen
	step(2*time.Minute, reply(false))                   // 32m: first response 120 s
	step(8*time.Minute, status(models.StatusResolved))  // 40m: resolution 600 s
	wait.For(t, "two resolutions observed", func() bool {
		n, _ := histogram(t, reg, "tongdao_resolution_seconds")
		return n == 2
	})
	if n, sum := histogram(t, reg, "tongdao_resolution_seconds"); n != 2 || sum != 1800 {
		t.Fatalf("resolution: %d samples, sum %v", n, sum)
	}
	if n, sum := histogram(t, reg, "tongdao_first_response_seconds"); n != 2 || sum != 420 {
		t.Fatalf("first response: %d samples, sum %v", n, sum)
	}
}
