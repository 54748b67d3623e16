package store_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tongdao/hub/inbox/store"
	"github.com/tongdao/hub/internal/pgtest"
	"github.com/tongdao/hub/internal/testclock"
	"github.com/tongdao/hub/models"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// eachDriver runs fn against SQLite (a file, WAL) and a real PostgreSQL.
func eachDriver(t *testing.T, fn func(t *testing.T, s *store.Store, c *testclock.Clock)) {
	for _, driver := range []string{store.DriverSQLite, store.DriverPostgres} {
		t.Run(driver, func(t *testing.T) {
			dsn := filepath.Join(t.TempDir(), "hub.db")
			if driver == store.DriverPostgres {
				dsn = pgtest.DSN(t)
			}
			s, err := store.Open(context.Background(), driver, dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			c := testclock.New(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
			s.Now = c.Now
			fn(t, s, c)
		})
	}
}

func inbound(user, msg, text string) models.Inbound {
	return models.Inbound{Connector: "tg-main", Channel: models.ChannelTelegram, ExternalID: msg,
		Kind: models.KindMessage, From: models.Sender{ExternalID: user, DisplayName: "User " + user},
		ReplyTo: user, Text: text}
}

func ingest(t *testing.T, s *store.Store, ins ...models.Inbound) []*store.IngestItem {
	t.Helper()
	items := make([]*store.IngestItem, len(ins))
	for i := range ins {
		items[i] = &store.IngestItem{In: ins[i]}
	}
	if err := s.IngestBatch(context.Background(), items); err != nil {
		t.Fatalf("ingest: %v", err)
	}
	return items
}

func count(t *testing.T, s *store.Store, model any) int64 {
	t.Helper()
	var n int64
	if err := s.DB.Model(model).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func TestIngestCreatesOneTimelineAndDropsDuplicates(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store, c *testclock.Clock) {
		items := ingest(t, s, inbound("1", "1:1", "my order is late"), inbound("1", "1:2", "order 42"),
			inbound("1", "1:1", "my order is late")) // a retry inside the batch
		if items[0].Result.Duplicate || items[1].Result.Duplicate || !items[2].Result.Duplicate {
			t.Fatalf("duplicate flags: %+v %+v %+v", items[0].Result, items[1].Result, items[2].Result)
		}
		if items[0].ConversationID == 0 || items[0].ConversationID != items[1].ConversationID {
			t.Fatalf("both messages must land in one conversation: %d, %d", items[0].ConversationID, items[1].ConversationID)
		}
		// The retry says whose it was, as a retry in a later batch does: a
		// platform that re-posts (WeChat) is answered about that customer.
		if items[2].ContactID != items[0].ContactID || items[2].IdentityID != items[0].IdentityID || items[2].ContactID == 0 {
			t.Fatalf("the retry inside the batch lost its customer: contact %d identity %d, want %d %d",
				items[2].ContactID, items[2].IdentityID, items[0].ContactID, items[0].IdentityID)
		}
		// A retry in a later batch stores nothing either.
		again := ingest(t, s, inbound("1", "1:2", "order 42"))
		if !again[0].Result.Duplicate {
			t.Fatal("retry in a later batch not flagged as duplicate")
		}
		for model, want := range map[any]int64{&models.Contact{}: 1, &models.Identity{}: 1, &models.Conversation{}: 1, &models.Message{}: 2} {
			if n := count(t, s, model); n != want {
				t.Errorf("%T: %d rows, want %d", model, n, want)
			}
		}
		conv, err := s.GetConversation(context.Background(), items[0].ConversationID)
		if err != nil {
			t.Fatal(err)
		}
		if conv.Subject != "my order is late" || conv.Status != models.StatusOpen || len(conv.Contact.Identities) != 1 {
			t.Fatalf("conversation view: %+v", conv)
		}
		evs, err := s.EventsAfter(context.Background(), 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 3 || evs[0].Type != models.EventTypeConversationCreated || evs[1].Type != models.EventTypeMessageCreated {
			t.Fatalf("events: %+v", evs)
		}
	})
}

func TestResolvedConversationStartsANewOne(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store, c *testclock.Clock) {
		ctx := context.Background()
		first := ingest(t, s, inbound("7", "7:1", "hello"))[0].ConversationID
		if _, err := s.UpdateConversation(ctx, first, map[string]any{"status": models.StatusResolved}, "ana"); err != nil {
			t.Fatal(err)
		}
		second := ingest(t, s, inbound("7", "7:2", "again"))[0].ConversationID
		if second == first || second == 0 {
			t.Fatalf("after resolve a new conversation must open: %d then %d", first, second)
		}
		// Reopening the old one would make two active conversations.
		_, err := s.UpdateConversation(ctx, first, map[string]any{"status": models.StatusOpen}, "ana")
		if models.ErrorCode(err) != models.ECONFLICT {
			t.Fatalf("reopen with another active conversation: %v, want conflict", err)
		}
	})
}

func TestConcurrentBatchesKeepOneActiveConversation(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store, c *testclock.Clock) {
		var wg sync.WaitGroup
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 10; i++ {
					items := []*store.IngestItem{{In: inbound("9", fmt.Sprintf("9:%d:%d", w, i), "x")}}
					if err := s.IngestBatch(context.Background(), items); err != nil {
						t.Error(err)
					}
				}
			}()
		}
		wg.Wait()
		if n := count(t, s, &models.Conversation{}); n != 1 {
			t.Fatalf("%d conversations, want 1", n)
		}
		if n := count(t, s, &models.Message{}); n != 40 {
			t.Fatalf("%d messages, want 40", n)
		}
	})
}

func TestEventWithoutConversationOpensNone(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store, c *testclock.Clock) {
		in := inbound("o1", "ev:o1:1:subscribe", "")
		in.Kind, in.Event, in.InlineReply = models.KindEvent, models.EventSubscribe, true
		items := make([]*store.IngestItem, 1)
		items[0] = &store.IngestItem{In: in}
		if err := s.IngestBatch(context.Background(), items); err != nil {
			t.Fatal(err)
		}
		if items[0].ConversationID != 0 || !items[0].NewContact || items[0].IdentityID == 0 {
			t.Fatalf("result: %+v", items[0])
		}
		if n := count(t, s, &models.Conversation{}); n != 0 {
			t.Fatalf("a follow must not open a conversation, got %d", n)
		}
		un := inbound("o1", "ev:o1:2:unsubscribe", "")
		un.Kind, un.Event = models.KindEvent, models.EventUnsubscribe
		if err := s.IngestBatch(context.Background(), []*store.IngestItem{{In: un, UnreachableReason: "unfollowed"}}); err != nil {
			t.Fatal(err)
		}
		var ident models.Identity
		if err := s.DB.Take(&ident).Error; err != nil {
			t.Fatal(err)
		}
		if ident.UnreachableReason != "unfollowed" {
			t.Fatalf("the caller's reason must make the identity unreachable: %q", ident.UnreachableReason)
		}
		ingest(t, s, inbound("o1", "m:o1:3", "back again"))
		if err := s.DB.Take(&ident).Error; err != nil {
			t.Fatal(err)
		}
		if ident.UnreachableReason != "" {
			t.Fatalf("a new message must make the identity reachable again: %q", ident.UnreachableReason)
		}
	})
}

func TestListConversationsKeysetPaginationAndFilters(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store, c *testclock.Clock) {
		ctx := context.Background()
		for i := 0; i < 7; i++ {
			ingest(t, s, inbound(fmt.Sprint(100+i), fmt.Sprintf("m%d", i), fmt.Sprintf("question %d about refunds", i)))
			c.Advance(time.Second)
		}
		var got []string
		cursor := ""
		for page := 0; page < 10; page++ {
			items, next, err := s.ListConversations(ctx, models.ConversationFilter{Limit: 3, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range items {
				got = append(got, it.Subject)
			}
			if next == "" {
				break
			}
			cursor = next
		}
		if len(got) != 7 || got[0] != "question 6 about refunds" || got[6] != "question 0 about refunds" {
			t.Fatalf("pages: %q", got)
		}
		items, _, err := s.ListConversations(ctx, models.ConversationFilter{Query: "QUESTION 3"})
		if err != nil || len(items) != 1 {
			t.Fatalf("text query: %d items, %v", len(items), err)
		}
		items, _, err = s.ListConversations(ctx, models.ConversationFilter{Channel: models.ChannelWeChat})
		if err != nil || len(items) != 0 {
			t.Fatalf("channel filter: %d items, %v", len(items), err)
		}
		if _, _, err := s.ListConversations(ctx, models.ConversationFilter{Cursor: "garbage!"}); models.ErrorCode(err) != models.EINVALID {
			t.Fatalf("bad cursor: %v", err)
		}
	})
}

func TestOutboxHeadOfLineAndOutcome(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store, c *testclock.Clock) {
		ctx := context.Background()
		conv := ingest(t, s, inbound("5", "5:1", "hi"))[0].ConversationID
		var ident models.Identity
		if err := s.DB.Take(&ident).Error; err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 3; i++ {
			m := &models.Message{ConversationID: conv, IdentityID: &ident.ID, Connector: "tg-main", Channel: "telegram",
				Direction: models.DirectionOut, Kind: models.KindMessage, SenderType: models.SenderAgent,
				Text: fmt.Sprint("reply ", i), DeliveryStatus: models.DeliveryQueued}
			if err := s.AddMessage(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
		due, err := s.DueDeliveries(ctx, c.Now(), 10)
		if err != nil || len(due) != 1 || due[0].Message.Text != "reply 0" {
			t.Fatalf("only the head of the chat's queue is due: %+v %v", due, err)
		}
		// Backoff on the head holds back the rest (per-chat order).
		head := due[0].Message.ID
		if err := s.FinishDelivery(ctx, head, ident.ID, store.DeliveryOutcome{Status: models.DeliveryQueued, NextAttempt: c.Now().Add(time.Minute)}); err != nil {
			t.Fatal(err)
		}
		if due, _ := s.DueDeliveries(ctx, c.Now(), 10); len(due) != 0 {
			t.Fatalf("nothing is due while the head backs off: %+v", due)
		}
		c.Advance(2 * time.Minute)
		if err := s.FinishDelivery(ctx, head, ident.ID, store.DeliveryOutcome{Status: models.DeliverySent, PlatformID: "5:99"}); err != nil {
			t.Fatal(err)
		}
		due, _ = s.DueDeliveries(ctx, c.Now(), 10)
		if len(due) != 1 || due[0].Message.Text != "reply 1" {
			t.Fatalf("next in order: %+v", due)
		}
		if err := s.FinishDelivery(ctx, due[0].Message.ID, ident.ID, store.DeliveryOutcome{Status: models.DeliveryFailed,
			Error: "blocked", Unreachable: "the customer blocked the bot"}); err != nil {
			t.Fatal(err)
		}
		s.DB.Take(&ident, ident.ID)
		if ident.UnreachableReason != "the customer blocked the bot" {
			t.Fatalf("identity not marked unreachable: %+v", ident)
		}
		evs, _ := s.EventsAfter(ctx, 0, 100)
		if last := evs[len(evs)-1]; last.Type != models.EventTypeContactUpdated {
			t.Fatalf("an unreachable identity must be announced: %+v", last)
		}
	})
}

func TestTokensAreStoredHashed(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store, c *testclock.Clock) {
		ctx := context.Background()
		plain, tok, err := s.CreateToken(ctx, "ana", models.RoleAgent)
		if err != nil {
			t.Fatal(err)
		}
		var row models.APIToken
		s.DB.Take(&row, tok.ID)
		if row.Hash == plain || row.Hash != store.HashToken(plain) {
			t.Fatal("token must be stored as its hash only")
		}
		if _, err := s.TokenByHash(ctx, store.HashToken(plain+"x")); models.ErrorCode(err) != models.EUNAUTHORIZED {
			t.Fatalf("wrong token: %v", err)
		}
		if _, _, err := s.CreateToken(ctx, "x", "root"); models.ErrorCode(err) != models.EINVALID {
			t.Fatalf("bad role: %v", err)
		}
	})
}

func TestKVExpires(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store, c *testclock.Clock) {
		ctx := context.Background()
		if err := s.KVSet(ctx, "wx:token", "a", time.Hour); err != nil {
			t.Fatal(err)
		}
		if err := s.KVSet(ctx, "wx:token", "b", time.Hour); err != nil {
			t.Fatal(err)
		}
		if v, ok, err := s.KVGet(ctx, "wx:token"); err != nil || !ok || v != "b" {
			t.Fatalf("get: %q %v %v", v, ok, err)
		}
		c.Advance(2 * time.Hour)
		if _, ok, _ := s.KVGet(ctx, "wx:token"); ok {
			t.Fatal("expired value returned")
		}
	})
}

// TestKVAddIsAtomicAndExpires: Add stores only when the key is absent or
// expired, and of concurrent adds of one key (two stores on one database, as
// two replicas) exactly one wins.
func TestKVAddIsAtomicAndExpires(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store, c *testclock.Clock) {
		ctx := context.Background()
		if added, err := s.KVAdd(ctx, "wx:nonce:a", "h1", 10*time.Minute); err != nil || !added {
			t.Fatalf("first add: %v %v", added, err)
		}
		if added, err := s.KVAdd(ctx, "wx:nonce:a", "h2", 10*time.Minute); err != nil || added {
			t.Fatalf("second add of a live key: %v %v, want not added", added, err)
		}
		if v, ok, err := s.KVGet(ctx, "wx:nonce:a"); err != nil || !ok || v != "h1" {
			t.Fatalf("the first value must stay: %q %v %v", v, ok, err)
		}
		// A value set without expiry is never replaced by Add.
		if err := s.KVSet(ctx, "forever", "x", 0); err != nil {
			t.Fatal(err)
		}
		if added, err := s.KVAdd(ctx, "forever", "y", time.Minute); err != nil || added {
			t.Fatalf("add over a value without expiry: %v %v", added, err)
		}
		// Expired counts as absent.
		c.Advance(10 * time.Minute)
		if added, err := s.KVAdd(ctx, "wx:nonce:a", "h3", 10*time.Minute); err != nil || !added {
			t.Fatalf("add after expiry: %v %v", added, err)
		}
		if v, _, _ := s.KVGet(ctx, "wx:nonce:a"); v != "h3" {
			t.Fatalf("after expiry the add must replace the value: %q", v)
		}
		if _, err := s.KVAdd(ctx, "k", "v", 0); err == nil {
			t.Fatal("an add without ttl must be refused")
		}
		// The sweep deletes expired rows only.
		if _, err := s.KVAdd(ctx, "short", "v", time.Second); err != nil {
			t.Fatal(err)
		}
		c.Advance(2 * time.Second)
		if err := s.KVSweep(ctx); err != nil {
			t.Fatal(err)
		}
		var rows []models.KV
		if err := s.DB.Order(`"key"`).Find(&rows).Error; err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, r := range rows {
			keys = append(keys, r.Key)
		}
		if strings.Join(keys, ",") != "forever,wx:nonce:a" {
			t.Fatalf("after the sweep: %v", keys)
		}

	})
}

// TestKVAddOneWinnerAcrossReplicas: two stores on one database (two hub
// replicas) add the same keys concurrently; exactly one add wins per key.
func TestKVAddOneWinnerAcrossReplicas(t *testing.T) {
	for _, driver := range []string{store.DriverSQLite, store.DriverPostgres} {
		t.Run(driver, func(t *testing.T) {
			ctx := context.Background()
			dsn := filepath.Join(t.TempDir(), "hub.db")
			if driver == store.DriverPostgres {
				dsn = pgtest.DSN(t)
			}
			c := testclock.New(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
			var replicas []*store.Store
			for range 2 {
				s, err := store.Open(ctx, driver, dsn)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s.Close() })
				s.Now = c.Now
				replicas = append(replicas, s)
			}
			var wins atomic.Int64
			var wg sync.WaitGroup
			for i := range 20 {
				for j := range 4 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						added, err := replicas[j%2].KVAdd(ctx, fmt.Sprintf("race:%d", i), "v", time.Minute)
						if err != nil {
							t.Error(err)
						}
						if added {
							wins.Add(1)
						}
					}()
				}
			}
			wg.Wait()
			if wins.Load() != 20 {
				t.Fatalf("%d adds won for 20 keys, want exactly one per key", wins.Load())
			}
		})
	}
}

func TestLeaseIsExclusiveAcrossWorkers(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store, c *testclock.Clock) {
		ctx := context.Background()
		conv := ingest(t, s, inbound("6", "6:1", "hi"))[0].ConversationID
		var ident models.Identity
		if err := s.DB.Take(&ident).Error; err != nil {
			t.Fatal(err)
		}
		m := &models.Message{ConversationID: conv, IdentityID: &ident.ID, Connector: "tg-main", Channel: "telegram",
			Direction: models.DirectionOut, Kind: models.KindMessage, SenderType: models.SenderAgent,
			Text: "once", DeliveryStatus: models.DeliveryQueued}
		if err := s.AddMessage(ctx, m); err != nil {
			t.Fatal(err)
		}
		// Two replicas read the same due message; only one may send it.
		first, err1 := s.Lease(ctx, m.ID, 0, c.Now().Add(time.Minute))
		second, err2 := s.Lease(ctx, m.ID, 0, c.Now().Add(time.Minute))
		if err1 != nil || err2 != nil || !first || second {
			t.Fatalf("leases: %v %v, %v %v; want exactly one", first, err1, second, err2)
		}
	})
}
