package tail_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tongdao/hub/inbox"
	"github.com/tongdao/hub/inbox/store"
	"github.com/tongdao/hub/internal/pgtest"
	"github.com/tongdao/hub/internal/wait"
	"github.com/tongdao/hub/models"
)

// replicaProcessEnv carries the database of TestReplicaProcess, the replica
// that TestReplicaKilledMidLoadOnPostgres runs as a child process of this
// test binary and kills.
const replicaProcessEnv = "TONGDAO_TEST_REPLICA_DSN"

// TestReplicaProcess is not a test on its own: run as a child with
// replicaProcessEnv set, it is a replica (its store, inbox service,
// event listener and reactions) that ingests a customer message after
// another and prints "ack <external id>" once each is committed, until it
// is killed.
func TestReplicaProcess(t *testing.T) {
	dsn := os.Getenv(replicaProcessEnv)
	if dsn == "" {
		t.Skip("the child process of TestReplicaKilledMidLoadOnPostgres")
	}
	ctx := context.Background()
	st, err := store.Open(ctx, store.DriverPostgres, dsn)
	if err != nil {
		t.Fatal(err)
	}
	svc := inbox.New(inbox.Options{Store: st, ReactionLease: 2 * time.Second})
	go func() { _ = svc.RunEventListener(ctx) }()
	if err := svc.InitReactions(ctx); err != nil {
		t.Fatal(err)
	}
	go svc.RunReactions(ctx)
	fmt.Println("ready")
	for i := 0; ; i++ {
		ext := fmt.Sprintf("k-%d", i)
		if _, err := svc.Ingest(ctx, killedInbound(ext, fmt.Sprintf("k-user-%d", i/2))); err != nil {
			fmt.Println("error", err)
			continue
		}
		fmt.Println("ack", ext)
	}
}

func killedInbound(ext, user string) models.Inbound {
	return models.Inbound{Connector: "tg", Channel: "telegram", Kind: models.KindMessage, ExternalID: ext,
		From: models.Sender{ExternalID: user, DisplayName: "Customer"}, Text: "my parcel is late"}
}

// TestReplicaKilledMidLoadOnPostgres kills a replica process (SIGKILL)
// while it ingests and holds the reactions' lease, beside a replica that
// ingests too:
//   - every message either replica acknowledged is stored, once;
//   - the survivor takes over the reactions once the lease lapses, and the
//     bot answers every conversation exactly once: those whose answer the
//     killed replica had committed are not answered again, the others are.
func TestReplicaKilledMidLoadOnPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a replica as a child process")
	}
	dsn := pgtest.DSN(t)
	ctx := context.Background()
	child := exec.Command(os.Args[0], "-test.run", "^TestReplicaProcess$", "-test.v")
	child.Env = append(os.Environ(), replicaProcessEnv+"="+dsn)
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { child.Process.Kill(); child.Wait() })
	var mu sync.Mutex
	var childAcks []string
	ready := make(chan struct{}, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			if line == "ready" {
				ready <- struct{}{}
			}
			if ext, ok := strings.CutPrefix(line, "ack "); ok {
				mu.Lock()
				childAcks = append(childAcks, ext)
				mu.Unlock()
			}
		}
	}()
	wait.Recv(t, "the child replica to start", ready)

	b := startReplica(t, dsn)
	wait.For(t, "the child to hold the bot's lease", func() bool { return leaseOwner(t, b.st, "bot") != "" })
	childOwner := leaseOwner(t, b.st, "bot")
	b.runReactions(t)

	// Replica b ingests too, until the child is killed and a little after.
	var bAcks []string
	killed := make(chan struct{})
	var clients sync.WaitGroup
	clients.Go(func() {
		after := 0 // messages since the kill
		for i := 0; after < 20; i++ {
			ext := fmt.Sprintf("b-%d", i)
			if _, err := b.svc.Ingest(ctx, killedInbound(ext, fmt.Sprintf("b-user-%d", i/2))); err != nil {
				t.Errorf("replica b: %v", err)
				return
			}
			bAcks = append(bAcks, ext)
			select {
			case <-killed:
				after++
			default:
			}
		}
	})
	wait.For(t, "the child to acknowledge 60 messages", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(childAcks) >= 60
	})
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	child.Wait()
	close(killed)
	clients.Wait()
	mu.Lock()
	acked := append(append([]string(nil), childAcks...), bAcks...)
	mu.Unlock()

	// Acknowledged = stored, once.
	var stored []struct {
		ExternalID string
		N          int
	}
	if err := b.st.DB.Raw(`SELECT external_id, COUNT(*) AS n FROM messages WHERE direction = 'in' GROUP BY external_id`).
		Scan(&stored).Error; err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, s := range stored {
		count[s.ExternalID] = s.N
	}
	for _, ext := range acked {
		if count[ext] != 1 {
			t.Errorf("message %s was acknowledged and is stored %d times", ext, count[ext])
		}
	}

	// The survivor runs the reactions now, and the bot has answered every
	// conversation once.
	wait.For(t, "replica b to take the bot's lease", func() bool {
		owner := leaseOwner(t, b.st, "bot")
		return owner != "" && owner != childOwner
	})
	var convs int64
	if err := b.st.DB.Table("conversations").Count(&convs).Error; err != nil {
		t.Fatal(err)
	}
	var answers []struct {
		ConversationID int64
		N              int
	}
	wait.For(t, "the bot to answer every conversation", func() bool {
		if err := b.st.DB.Raw(`SELECT conversation_id, COUNT(*) AS n FROM messages WHERE sender_type = ? GROUP BY conversation_id`,
			models.SenderBot).Scan(&answers).Error; err != nil {
			t.Fatal(err)
		}
		return int64(len(answers)) == convs
	})
	for _, a := range answers {
		if a.N != 1 {
			t.Errorf("conversation %d has %d answers from the bot, want 1", a.ConversationID, a.N)
		}
	}
	t.Logf("%d messages acknowledged by the killed replica, %d by the survivor; %d conversations answered once each",
		len(childAcks), len(bAcks), convs)
}
