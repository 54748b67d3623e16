package tail_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tongdao/hub/inbox"
	"github.com/tongdao/hub/inbox/store"
	"github.com/tongdao/hub/internal/pgtest"
	"github.com/tongdao/hub/internal/wait"
	"github.com/tongdao/hub/models"
)

// replica is one hub replica on PostgreSQL: its store, its inbox service
// with its reactions and its listener running, and what stops them.
type replica struct {
	st   *store.Store
	svc  *inbox.Service
	ctx  context.Context
	stop context.CancelFunc
	done sync.WaitGroup
}

func startReplica(t *testing.T, dsn string) *replica {
	t.Helper()
	st, err := store.Open(context.Background(), store.DriverPostgres, dsn)
	if err != nil {
		t.Fatal(err)
	}
	// A short reaction lease: a crashed runner's reactions move on soon.
	r := &replica{st: st, svc: inbox.New(inbox.Options{Store: st, ReactionLease: 2 * time.Second})}
	r.ctx, r.stop = context.WithCancel(context.Background())
	r.done.Go(func() { _ = r.svc.RunEventListener(r.ctx) })
	t.Cleanup(r.crash)
	return r
}

func (r *replica) runReactions(t *testing.T) {
	t.Helper()
	if err := r.svc.InitReactions(r.ctx); err != nil {
		t.Fatal(err)
	}
	r.done.Go(func() { r.svc.RunReactions(r.ctx) })
}

// crash closes the replica's database handles first, as a process killed
// at that moment would leave it (no lease released, nothing flushed), then
// stops its goroutines.
func (r *replica) crash() {
	r.st.Close()
	r.stop()
	r.done.Wait()
	r.svc.Close()
}

func leaseOwner(t *testing.T, st *store.Store, name string) string {
	var owner string
	if err := st.DB.Table("reaction_cursors").Select("owner").Where("name = ?", name).Scan(&owner).Error; err != nil {
		t.Fatal(err)
	}
	return owner
}

// TestTwoReplicasOnPostgres runs two replicas on one PostgreSQL database
// under concurrent ingest on both, and crashes one in the middle (its store
// closed abruptly, its goroutines stopped; the process is not killed):
//   - every message acknowledged by either replica is stored;
//   - an event stream on each replica reads the log in id order, each event
//     once: the survivor's all of it, the crashed one's an exact prefix;
//   - a client of the crashed replica resumes on the other from the last id
//     it received (as SSE's Last-Event-ID) and gets exactly the rest;
//   - the reactions' single runner was on the crashed replica: the other
//     takes over once its lease lapses, and the bot answers a new customer.
func TestTwoReplicasOnPostgres(t *testing.T) {
	dsn := pgtest.DSN(t)
	a := startReplica(t, dsn)
	a.runReactions(t)
	wait.For(t, "replica a to run the bot", func() bool { return leaseOwner(t, a.st, "bot") != "" })
	aOwner := leaseOwner(t, a.st, "bot")
	b := startReplica(t, dsn)
	b.runReactions(t)
	ctx := context.Background()
	from, err := b.svc.LatestEventID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, onA := start(t, newTailer(t, a.svc, 64, 1<<20), from, 5)
	_, onB := start(t, newTailer(t, b.svc, 64, 1<<20), from, 9)

	// Clients write on both replicas at once; replica a crashes after a
	// while; the clients go on (those of a get errors, never an ack).
	var acked sync.Map // external id -> true
	var sent atomic.Int64
	var clients sync.WaitGroup
	crashAt := make(chan struct{})
	for w := range 6 {
		rep := []*replica{a, b}[w%2]
		clients.Go(func() {
			for i := range 40 {
				if i == 20 && w == 0 {
					close(crashAt)
				}
				ext := fmt.Sprintf("c%d-%d", w, i)
				in := models.Inbound{Connector: "tg", Channel: "telegram", Kind: models.KindMessage, ExternalID: ext,
					From: models.Sender{ExternalID: fmt.Sprintf("u%d-%d", w, i%4), DisplayName: "Customer"}, Text: "hello"}
				sent.Add(1)
				if _, err := rep.svc.Ingest(context.Background(), in); err == nil {
					acked.Store(ext, true)
				}
			}
		})
	}
	<-crashAt
	a.crash()
	clients.Wait()

	// Acknowledged = stored.
	var stored []string
	if err := b.st.DB.Table("messages").Where("direction = ?", "in").Pluck("external_id", &stored).Error; err != nil {
		t.Fatal(err)
	}
	n := 0
	acked.Range(func(k, _ any) bool {
		n++
		if !slices.Contains(stored, k.(string)) {
			t.Errorf("message %s was acknowledged but is not stored", k)
		}
		return true
	})
	if n == 0 || n == int(sent.Load()) {
		t.Fatalf("%d of %d messages acknowledged: the crash came too late or too early to test anything", n, sent.Load())
	}

	// The bot's lease was a's: b takes over and answers a new customer.
	if _, err := b.svc.Ingest(ctx, models.Inbound{Connector: "tg", Channel: "telegram", Kind: models.KindMessage,
		ExternalID: "after-crash", From: models.Sender{ExternalID: "late-customer", DisplayName: "Late"}, Text: "anyone there?"}); err != nil {
		t.Fatal(err)
	}
	wait.For(t, "the bot on replica b to answer the new customer", func() bool {
		var bot int64
		if err := b.st.DB.Table("messages m").Joins("JOIN messages c ON c.conversation_id = m.conversation_id").
			Where("c.external_id = ? AND m.sender_type = ?", "after-crash", models.SenderBot).Count(&bot).Error; err != nil {
			t.Fatal(err)
		}
		return bot > 0
	})
	if owner := leaseOwner(t, b.st, "bot"); owner == aOwner || owner == "" {
		t.Fatalf("the bot's lease is %q; replica a's was %q", owner, aOwner)
	}

	// The log as it is now, on the survivor.
	want := logIDs(t, b.svc, from)
	waitFor(t, "the stream on replica b", onB, want)
	gotA, _ := onA.snapshot()
	if len(gotA) == 0 || !slices.Equal(gotA, want[:min(len(gotA), len(want))]) {
		t.Fatalf("the stream on the crashed replica is not a prefix of the log:\ngot  %v\nwant %v", gotA, want)
	}
	// Its client resumes on replica b after the last id it received.
	_, resumed := start(t, newTailer(t, b.svc, 64, 1<<20), gotA[len(gotA)-1], 7)
	waitFor(t, "the resumed stream on replica b", resumed, want[len(gotA):])
}
