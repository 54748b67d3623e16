package inbox_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tongdao/hub/inbox"
	"github.com/tongdao/hub/inbox/store"
	"github.com/tongdao/hub/internal/pgtest"
	"github.com/tongdao/hub/internal/testclock"
	"github.com/tongdao/hub/internal/wait"
	"github.com/tongdao/hub/models"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// platform stands in for a connector's Send: it records deliveries and
// answers with scripted errors. (The real connectors are exercised against
// their platform stand-ins in their own and the end-to-end tests.)
type platform struct {
	mu   sync.Mutex
	sent []models.Outbound
	errs []error
	// hold makes the send of a text wait until its channel is closed.
	hold map[string]chan struct{}
}

func (p *platform) Send(ctx context.Context, out models.Outbound) (models.SendResult, error) {
	p.mu.Lock()
	held := p.hold[out.Text]
	p.mu.Unlock()
	if held != nil {
		select {
		case <-held:
		case <-ctx.Done():
			return models.SendResult{}, ctx.Err()
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.errs) > 0 {
		err := p.errs[0]
		p.errs = p.errs[1:]
		if err != nil {
			return models.SendResult{}, err
		}
	}
	p.sent = append(p.sent, out)
	return models.SendResult{ExternalID: "p-" + out.MessageID}, nil
}

// sentTo returns the texts delivered to to.
func (p *platform) sentTo(to string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, o := range p.sent {
		if o.To == to {
			out = append(out, o.Text)
		}
	}
	return out
}

func (p *platform) texts() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, o := range p.sent {
		out = append(out, o.Text)
	}
	return out
}

type fixture struct {
	svc   *inbox.Service
	st    *store.Store
	path  string // the SQLite database's file
	clock *testclock.Clock
	tg    *platform
	wx    *platform
}

func newFixture(t *testing.T, opts ...func(*inbox.Options)) *fixture {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hub.db")
	st, err := store.Open(context.Background(), store.DriverSQLite, path)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{st: st, path: path, clock: testclock.New(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)), tg: &platform{}, wx: &platform{}}
	o2 := inbox.Options{Store: st, Now: f.clock.Now,
		ReplyWindows: map[string]time.Duration{"wx": 48 * time.Hour},
		Senders: func(name string) (inbox.Sender, bool) {
			switch name {
			case "tg":
				return f.tg, true
			case "wx":
				return f.wx, true
			}
			return nil, false
		}}
	for _, o := range opts {
		o(&o2)
	}
	f.svc = inbox.New(o2)
	t.Cleanup(func() { f.svc.Close(); st.Close() })
	return f
}

// replicaStore opens another store on the fixture's database, for another
// service: as a replica, never sharing the fixture's store (a service sets
// its store's clock and reply windows).
func (f *fixture) replicaStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), store.DriverSQLite, f.path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func (f *fixture) ingest(t *testing.T, in models.Inbound) models.IngestResult {
	t.Helper()
	res, err := f.svc.Ingest(context.Background(), in)
	if err != nil {
		t.Fatalf("ingest: %v", err)
	}
	return res
}

func msg(connector, channel, user, id, text string) models.Inbound {
	return models.Inbound{Connector: connector, Channel: channel, ExternalID: id, Kind: models.KindMessage,
		From: models.Sender{ExternalID: user, DisplayName: "Customer " + user}, Text: text}
}

var agent = models.Actor{TokenID: 1, Name: "ana", Role: models.RoleAgent}

func (f *fixture) onlyConversation(t *testing.T) models.ConversationView {
	t.Helper()
	convs, _, err := f.svc.ListConversations(context.Background(), models.ConversationFilter{})
	if err != nil || len(convs) != 1 {
		t.Fatalf("conversations: %d, %v", len(convs), err)
	}
	return convs[0]
}

func TestIngestIsIdempotentAndValidates(t *testing.T) {
	f := newFixture(t)
	first := f.ingest(t, msg("tg", "telegram", "1", "1:1", "hello"))
	again := f.ingest(t, msg("tg", "telegram", "1", "1:1", "hello"))
	if first.Duplicate || first.MessageID == "" || !again.Duplicate {
		t.Fatalf("first %+v, retry %+v", first, again)
	}
	bad := msg("tg", "telegram", "", "1:2", "no sender")
	if _, err := f.svc.Ingest(context.Background(), bad); models.ErrorCode(err) != models.EINVALID {
		t.Fatalf("inbound without sender: %v", err)
	}
}

func TestConcurrentIngestsAreGroupCommitted(t *testing.T) {
	f := newFixture(t)
	var wg sync.WaitGroup
	for i := 0; i < 64; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u := string(rune('a' + i%8))
			if _, err := f.svc.Ingest(context.Background(), msg("tg", "telegram", u, u+":"+time.Duration(i).String(), "hi")); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	convs, _, err := f.svc.ListConversations(context.Background(), models.ConversationFilter{Limit: 100})
	if err != nil || len(convs) != 8 {
		t.Fatalf("8 customers must give 8 conversations: %d, %v", len(convs), err)
	}
}

func TestReplyRefusedOutsideTheReplyWindow(t *testing.T) {
	f := newFixture(t)
	f.ingest(t, msg("wx", "wechat", "oUser", "m1", "你好"))
	conv := f.onlyConversation(t)
	id, _ := models.ParseID(conv.ID)
	if until := conv.Contact.Identities[0].ReplyUntil; until == nil || !until.Equal(f.clock.Now().Add(48*time.Hour)) {
		t.Fatalf("reply_until %v, want 48 h after the message", until)
	}
	f.clock.Advance(49 * time.Hour)
	_, err := f.svc.Reply(context.Background(), models.ReplyRequest{ConversationID: id, Text: "sorry for the wait", Actor: agent})
	var e *models.Error
	if !errors.As(err, &e) || e.Code != models.EINVALID || !strings.Contains(e.Message, "48-hour") || !strings.Contains(e.Message, "2026-11-25T09:00:00Z") {
		t.Fatalf("reply outside the window: %v", err)
	}
	// A private note is still allowed: it goes to no platform.
	if _, err := f.svc.Reply(context.Background(), models.ReplyRequest{ConversationID: id, Text: "call them", Private: true, Actor: agent}); err != nil {
		t.Fatalf("private note: %v", err)
	}
	// The customer writes again: the window reopens.
	f.ingest(t, msg("wx", "wechat", "oUser", "m2", "还在吗"))
	if _, err := f.svc.Reply(context.Background(), models.ReplyRequest{ConversationID: id, Text: "yes", Actor: agent}); err != nil {
		t.Fatalf("reply inside the reopened window: %v", err)
	}
}

func TestOutboxOrderRetriesAndFailures(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.ingest(t, msg("tg", "telegram", "7", "7:1", "hi"))
	conv := f.onlyConversation(t)
	id, _ := models.ParseID(conv.ID)
	// 429 first, then a network error, then success.
	f.tg.errs = []error{&models.DeliveryError{Code: "429", Reason: "too many requests", RetryAfter: 30 * time.Second}, errors.New("connection reset")}
	for _, text := range []string{"one", "two"} {
		if _, err := f.svc.Reply(ctx, models.ReplyRequest{ConversationID: id, Text: text, Actor: agent}); err != nil {
			t.Fatal(err)
		}
	}
	f.svc.DeliverDue(ctx) // "one": 429 → waits 30 s; "two" waits behind it
	if got := f.tg.texts(); len(got) != 0 {
		t.Fatalf("nothing may be delivered yet: %v", got)
	}
	f.clock.Advance(10 * time.Second)
	f.svc.DeliverDue(ctx)
	if got := f.tg.texts(); len(got) != 0 {
		t.Fatalf("retry_after not honoured: %v", got)
	}
	f.clock.Advance(25 * time.Second)
	f.svc.DeliverDue(ctx) // "one": network error → backoff about 2 s
	f.clock.Advance(5 * time.Second)
	f.svc.DeliverDue(ctx) // "one" sent
	f.svc.DeliverDue(ctx) // "two" sent
	if got := f.tg.texts(); len(got) != 2 || got[0] != "one" || got[1] != "two" {
		t.Fatalf("delivered %v, want one, two in order", got)
	}
	msgs, _, _ := f.svc.ListMessages(ctx, id, "", 50)
	if last := msgs[len(msgs)-1]; last.Delivery.Status != models.DeliverySent || last.Delivery.PlatformID == "" {
		t.Fatalf("delivery: %+v", last.Delivery)
	}

	// A permanent refusal fails at once with the reason and makes the
	// identity unreachable, so the next reply is refused up front.
	f.tg.errs = []error{&models.DeliveryError{Permanent: true, Unreachable: true, Code: "403", Reason: "the customer blocked the bot"}}
	if _, err := f.svc.Reply(ctx, models.ReplyRequest{ConversationID: id, Text: "three", Actor: agent}); err != nil {
		t.Fatal(err)
	}
	f.svc.DeliverDue(ctx)
	msgs, _, _ = f.svc.ListMessages(ctx, id, "", 50)
	last := msgs[len(msgs)-1]
	if last.Delivery.Status != models.DeliveryFailed || last.Delivery.Error == nil || !strings.Contains(*last.Delivery.Error, "blocked the bot") {
		t.Fatalf("permanent failure: %+v", last.Delivery)
	}
	if _, err := f.svc.Reply(ctx, models.ReplyRequest{ConversationID: id, Text: "four", Actor: agent}); models.ErrorCode(err) != models.EINVALID {
		t.Fatalf("reply to an unreachable customer: %v", err)
	}
}

func TestOutboxGivesUpAfterRepeatedTransientErrors(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.ingest(t, msg("tg", "telegram", "8", "8:1", "hi"))
	id, _ := models.ParseID(f.onlyConversation(t).ID)
	for i := 0; i < 20; i++ {
		f.tg.errs = append(f.tg.errs, errors.New("bad gateway"))
	}
	if _, err := f.svc.Reply(ctx, models.ReplyRequest{ConversationID: id, Text: "x", Actor: agent}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 12; i++ {
		f.svc.DeliverDue(ctx)
		f.clock.Advance(11 * time.Minute)
	}
	msgs, _, _ := f.svc.ListMessages(ctx, id, "", 50)
	last := msgs[len(msgs)-1]
	if last.Delivery.Status != models.DeliveryFailed || last.Delivery.Attempts != 8 || !strings.Contains(*last.Delivery.Error, "gave up after 8 attempts") {
		t.Fatalf("delivery: %+v", last.Delivery)
	}
}

func TestInlineReplyForEventsThatAllowIt(t *testing.T) {
	f := newFixture(t)
	follow := models.Inbound{Connector: "wx", Channel: "wechat", ExternalID: "ev:o1:1:subscribe", Kind: models.KindEvent,
		Event: models.EventSubscribe, From: models.Sender{ExternalID: "o1"}, InlineReply: true}
	res := f.ingest(t, follow)
	if res.InlineReply == "" {
		t.Fatal("a follow must be answered in the passive reply")
	}
	click := models.Inbound{Connector: "wx", Channel: "wechat", ExternalID: "ev:o1:2:CLICK", Kind: models.KindAction,
		Action: inbox.ActionHuman, From: models.Sender{ExternalID: "o1"}, InlineReply: true}
	res = f.ingest(t, click)
	if !strings.Contains(res.InlineReply, "human") {
		t.Fatalf("menu click 'human': %q", res.InlineReply)
	}
	f.svc.DeliverDue(context.Background())
	if got := f.wx.texts(); len(got) != 0 {
		t.Fatalf("inline answers must not also go through the outbox: %v", got)
	}
}

func TestAssignAndStatus(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.ingest(t, msg("tg", "telegram", "9", "9:1", "refund please"))
	id, _ := models.ParseID(f.onlyConversation(t).ID)
	who, team := "ana", "billing"
	v, err := f.svc.Assign(ctx, id, &who, &team, agent)
	if err != nil || v.Assignee == nil || *v.Assignee != "ana" || v.Team == nil || *v.Team != "billing" {
		t.Fatalf("assign: %+v %v", v, err)
	}
	if _, err := f.svc.SetStatus(ctx, id, "closed", agent); models.ErrorCode(err) != models.EINVALID {
		t.Fatalf("unknown status: %v", err)
	}
	if v, err := f.svc.SetStatus(ctx, id, models.StatusResolved, agent); err != nil || v.ResolvedAt == nil {
		t.Fatalf("resolve: %+v %v", v, err)
	}
	// The customer writes again: a new conversation opens.
	f.ingest(t, msg("tg", "telegram", "9", "9:2", "one more thing"))
	convs, _, _ := f.svc.ListConversations(ctx, models.ConversationFilter{Status: models.StatusOpen})
	if len(convs) != 1 || convs[0].ID == models.ID(id) {
		t.Fatalf("open conversations after resolve: %+v", convs)
	}
	if _, err := f.svc.GetConversation(ctx, 999); models.ErrorCode(err) != models.ENOTFOUND {
		t.Fatalf("missing conversation: %v", err)
	}
}

// TestReplicasShareEvents runs two inbox services (two hub replicas) on one
// PostgreSQL database: a message committed by one wakes the other's event
// streams, and both read the same log.
func TestReplicasShareEvents(t *testing.T) {
	dsn := pgtest.DSN(t)
	open := func() *inbox.Service {
		st, err := store.Open(context.Background(), store.DriverPostgres, dsn)
		if err != nil {
			t.Fatal(err)
		}
		svc := inbox.New(inbox.Options{Store: st})
		t.Cleanup(func() { svc.Close(); st.Close() })
		return svc
	}
	a, b := open(), open()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go b.RunEventListener(ctx)
	// b's listener connects in the background: commit on a until b wakes
	// (only a notification can wake it), for at most wait.Timeout.
	woken := false
	deadline := time.Now().Add(wait.Timeout)
	for i := 0; !woken && time.Now().Before(deadline); i++ {
		wake := b.EventsNotify()
		if _, err := a.Ingest(ctx, msg("tg", "telegram", "1", fmt.Sprintf("1:%d", i), "from replica a")); err != nil {
			t.Fatal(err)
		}
		select {
		case <-wake:
			woken = true
		case <-time.After(time.Second):
		}
	}
	if !woken {
		t.Fatal("replica b was never woken by replica a's commits")
	}
	evs, err := b.EventsAfter(ctx, 0, 10)
	if err != nil || len(evs) == 0 {
		t.Fatalf("replica b reads the shared log: %v %v", evs, err)
	}
}

// inBackground runs fn until the test ends or stop is called.
func inBackground(t *testing.T, fn func(ctx context.Context)) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(ctx)
	}()
	stop = func() {
		cancel()
		<-done
	}
	t.Cleanup(stop)
	return stop
}

// runOutbox runs the fixture's outbox until the test ends or stop is
// called.
func (f *fixture) runOutbox(t *testing.T) (stop func()) {
	return inBackground(t, func(ctx context.Context) { f.svc.RunOutbox(ctx) })
}

func (f *fixture) reply(t *testing.T, conv int64, text string) int64 {
	t.Helper()
	v, err := f.svc.Reply(context.Background(), models.ReplyRequest{ConversationID: conv, Text: text, Actor: agent})
	if err != nil {
		t.Fatal(err)
	}
	id, _ := models.ParseID(v.ID)
	return id
}

func (f *fixture) stored(t *testing.T, id int64) models.Message {
	t.Helper()
	var m models.Message
	if err := f.st.DB.Take(&m, id).Error; err != nil {
		t.Fatal(err)
	}
	return m
}

// The outbox is fed continuously: a slow send holds its own chat (whose
// next message waits behind it, in order) and no other.
func TestOutboxSlowSendHoldsOnlyItsOwnChat(t *testing.T) {
	f := newFixture(t)
	release := make(chan struct{})
	f.tg.hold = map[string]chan struct{}{"slow": release}
	for _, u := range []string{"1", "2"} {
		f.ingest(t, msg("tg", "telegram", u, u+":1", "hi"))
	}
	var convs []int64
	all, _, err := f.svc.ListConversations(context.Background(), models.ConversationFilter{})
	if err != nil || len(all) != 2 {
		t.Fatalf("conversations: %d %v", len(all), err)
	}
	for _, c := range all {
		id, _ := models.ParseID(c.ID)
		convs = append(convs, id)
	}
	slow := f.reply(t, convs[0], "slow")
	f.reply(t, convs[0], "after slow")
	f.runOutbox(t)
	wait.For(t, "the slow send started", func() bool { return f.stored(t, slow).Attempts == 1 })
	f.reply(t, convs[1], "quick") // queued while the slow send hangs
	wait.For(t, "the other chat's reply delivered while a send hangs", func() bool { return len(f.tg.texts()) == 1 })
	if got := f.tg.texts(); got[0] != "quick" {
		t.Fatalf("delivered %v, want only quick", got)
	}
	close(release)
	wait.For(t, "the held chat delivered", func() bool { return len(f.tg.texts()) == 3 })
	if got := f.tg.texts(); got[1] != "slow" || got[2] != "after slow" {
		t.Fatalf("delivered %v: the held chat out of order", got)
	}
}

// While a send is in flight its lease is renewed, so another replica never
// takes it; a replica that crashed mid-send (its lease lapsed, never
// renewed) has the message retried after the lease.
func TestOutboxLeaseIsRenewedWhileASendIsInFlight(t *testing.T) {
	const lease = 300 * time.Millisecond
	f := newFixture(t, func(o *inbox.Options) { o.OutboxLease = lease })
	release := make(chan struct{})
	f.tg.hold = map[string]chan struct{}{"slow": release}
	f.ingest(t, msg("tg", "telegram", "1", "1:1", "hi"))
	conv, _ := models.ParseID(f.onlyConversation(t).ID)
	id := f.reply(t, conv, "slow")
	stopOutbox := f.runOutbox(t)
	wait.For(t, "the send started", func() bool { return f.stored(t, id).Attempts == 1 })
	f.clock.Advance(time.Second) // the first lease has lapsed by the clock
	want := f.clock.Now().Add(lease).UTC()
	wait.For(t, "the lease renewed", func() bool {
		m := f.stored(t, id)
		return m.NextAttemptAt != nil && m.NextAttemptAt.Equal(want)
	})
	// Another replica finds nothing due.
	other := &platform{}
	replica := inbox.New(inbox.Options{Store: f.replicaStore(t), Now: f.clock.Now, OutboxLease: lease,
		Senders: func(string) (inbox.Sender, bool) { return other, true }})
	defer replica.Close()
	if n, err := replica.DeliverDue(context.Background()); err != nil || n != 0 || len(other.texts()) != 0 {
		t.Fatalf("another replica took a message in flight: %d %v %v", n, err, other.texts())
	}
	close(release)
	wait.For(t, "delivered", func() bool { return f.stored(t, id).DeliveryStatus == models.DeliverySent })
	if m := f.stored(t, id); m.Attempts != 1 || len(f.tg.texts()) != 1 {
		t.Fatalf("after the slow send: %d attempts, sent %v", m.Attempts, f.tg.texts())
	}

	// A crash mid-send: the lease was taken and never renewed nor finished
	// (this replica's outbox is stopped: only the other one may take it).
	stopOutbox()
	id = f.reply(t, conv, "orphan")
	if won, err := f.st.Lease(context.Background(), id, 0, f.clock.Now().Add(lease)); err != nil || !won {
		t.Fatalf("lease: %v %v", won, err)
	}
	if n, _ := replica.DeliverDue(context.Background()); n != 0 {
		t.Fatal("a leased message was due before its lease lapsed")
	}
	f.clock.Advance(lease)
	if n, err := replica.DeliverDue(context.Background()); err != nil || n != 1 || len(other.texts()) != 1 {
		t.Fatalf("the orphaned message after its lease: %d %v %v", n, err, other.texts())
	}
}
