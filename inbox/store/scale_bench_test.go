package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tongdao/hub/inbox/store"
	"github.com/tongdao/hub/internal/pgtest"
	"github.com/tongdao/hub/models"
)

// BenchmarkDataScale seeds a store through its batch path (IngestBatch,
// 500 messages a call) and then measures what agents read, each question
// asked by concurrent clients: the conversation list (default, by status,
// unassigned, and the agent views mine and unassigned), one conversation,
// a timeline page, and text search (a rare word, from the index; a common
// word and a two-character Chinese word, in list order). It prints p50 and
// p99 per question and the process's resident memory after seeding and
// after the reads. The size is set by environment variables (defaults
// small enough for a quick run):
//
//	TONGDAO_SCALE_MESSAGES       messages (20,000)
//	TONGDAO_SCALE_CONVERSATIONS  conversations, one customer each (2,000)
//	TONGDAO_SCALE_CLIENTS        concurrent clients (8)
//	TONGDAO_SCALE_READS          reads per question (400)
//	TONGDAO_SCALE_SQLITE_FILE    a SQLite file to keep: seeded when empty,
//	                             reused as it is otherwise
//	TONGDAO_SCALE_ONLY           a regular expression: only the questions
//	                             it matches (to profile one)
//	TONGDAO_SCALE_POSTGRES_DSN   the same for a PostgreSQL database (else a
//	                             throwaway one, see internal/pgtest)
//
// At the scale of the README's figures (each store is seeded once):
//
//	TONGDAO_SCALE_MESSAGES=1000000 TONGDAO_SCALE_CONVERSATIONS=100000 \
//	  go test -run '^$' -bench DataScale -benchtime 1x -timeout 3h ./inbox/store
func BenchmarkDataScale(b *testing.B) {
	for _, driver := range []string{store.DriverSQLite, store.DriverPostgres} {
		b.Run(driver, func(b *testing.B) {
			dsn := filepath.Join(b.TempDir(), "hub.db")
			if f := os.Getenv("TONGDAO_SCALE_SQLITE_FILE"); f != "" && driver == store.DriverSQLite {
				dsn = f
			}
			if driver == store.DriverPostgres {
				if dsn = os.Getenv("TONGDAO_SCALE_POSTGRES_DSN"); dsn == "" {
					dsn = pgtest.DSN(b)
				}
			}
			dataScale(b, driver, dsn)
		})
	}
}

func envInt(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		b.Fatalf("%s=%q: want a positive number", name, v)
	}
	return n
}

// scaleText is message m of conversation u: everyday words, a fifth of
// them Chinese, and in the first and the sixth message the conversation's
// own order number (a rare word: two messages of all hold it).
func scaleText(u, m int) string {
	en := []string{"where is my order", "the parcel has not arrived", "can I change the address", "thank you for the help",
		"I want a refund for this", "the app shows an error", "please call me back", "is the shop open tomorrow"}
	zh := []string{"我的订单还没有到", "请问可以退款吗", "地址需要修改一下", "谢谢你的帮助"}
	text := en[(u*3+m)%len(en)]
	if (u+m)%5 == 0 {
		text = zh[(u*7+m)%len(zh)]
	}
	if m == 0 || m == 5 {
		text += ", order " + orderNumber(u)
	}
	return text
}

// orderNumber is conversation u's order number: eight digits that look
// random, as a shop's do.
func orderNumber(u int) string {
	return fmt.Sprintf("#%08d", 10000000+(u*2654435761)%90000000)
}

func dataScale(b *testing.B, driver, dsn string) {
	ctx := context.Background()
	nMsgs := envInt(b, "TONGDAO_SCALE_MESSAGES", 20000)
	nConvs := envInt(b, "TONGDAO_SCALE_CONVERSATIONS", 2000)
	clients := envInt(b, "TONGDAO_SCALE_CLIENTS", 8)
	reads := envInt(b, "TONGDAO_SCALE_READS", 400)
	s, err := store.Open(ctx, driver, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()

	// Seed: round m gives every conversation its m-th message, in batches.
	const batch = 500
	start := time.Now()
	perConv := (nMsgs + nConvs - 1) / nConvs
	seeded := 0
	var stored int64
	if err := s.DB.Model(&models.Message{}).Count(&stored).Error; err != nil {
		b.Fatal(err)
	}
	if stored > 0 {
		seeded = nMsgs // seeded by an earlier run (TONGDAO_SCALE_SQLITE_FILE or _POSTGRES_DSN)
	}
	for m := 0; m < perConv && seeded < nMsgs; m++ {
		for from := 0; from < nConvs && seeded < nMsgs; from += batch {
			n := min(batch, nConvs-from, nMsgs-seeded)
			items := make([]*store.IngestItem, n)
			for i := range items {
				u := from + i
				items[i] = &store.IngestItem{In: inbound(fmt.Sprint(u), fmt.Sprintf("%d:%d", u, m), scaleText(u, m))}
			}
			if err := s.IngestBatch(ctx, items); err != nil {
				b.Fatal(err)
			}
			seeded += n
		}
	}
	seedTime := time.Since(start)
	// The state agents work in: half the conversations assigned among 20
	// agents, a third resolved (rows changed in place: it is not what is
	// measured).
	for _, q := range []string{
		`UPDATE conversations SET assignee = 'agent' || CAST(id % 20 AS TEXT) WHERE id % 2 = 0`,
		`UPDATE conversations SET status = 'resolved' WHERE id % 3 = 0`,
	} {
		if err := s.DB.Exec(q).Error; err != nil {
			b.Fatal(err)
		}
	}
	if driver == store.DriverPostgres {
		// As autovacuum would have it after such a load.
		if err := s.DB.Exec("VACUUM ANALYZE").Error; err != nil {
			b.Fatal(err)
		}
	}
	var ids []int64
	if err := s.DB.Model(&models.Conversation{}).Order("id").Pluck("id", &ids).Error; err != nil || len(ids) == 0 {
		b.Fatalf("%d conversations, %v", len(ids), err)
	}
	rssSeeded := rssMB()

	type question struct {
		name string
		ask  func(r *rand.Rand) error
	}
	list := func(f models.ConversationFilter, atLeast int) func(*rand.Rand) error {
		return func(*rand.Rand) error {
			items, next, err := s.ListConversations(ctx, f)
			if err == nil && len(items) < atLeast && next == "" {
				err = fmt.Errorf("%d conversations", len(items))
			}
			return err
		}
	}
	rare := func(r *rand.Rand) error {
		u := r.IntN(nConvs)
		items, _, err := s.ListConversations(ctx, models.ConversationFilter{Query: orderNumber(u), Limit: 50})
		if err == nil && len(items) != 1 {
			err = fmt.Errorf("order %s: %d conversations", orderNumber(u), len(items))
		}
		return err
	}
	questions := []question{
		{"list", list(models.ConversationFilter{Limit: 50}, 50)},
		{"list status=open", list(models.ConversationFilter{Status: models.StatusOpen, Limit: 50}, 50)},
		{"list assignee=none", list(models.ConversationFilter{Assignee: "none", Limit: 50}, 50)},
		{"list view=mine", list(models.ConversationFilter{View: models.ViewMine, Me: "agent2", Limit: 50}, 1)},
		{"list view=unassigned", list(models.ConversationFilter{View: models.ViewUnassigned, Limit: 50}, 50)},
		{"view", func(r *rand.Rand) error {
			_, err := s.GetConversation(ctx, ids[r.IntN(len(ids))])
			return err
		}},
		{"timeline", func(r *rand.Rand) error {
			_, _, err := s.ListMessages(ctx, ids[r.IntN(len(ids))], "", 50)
			return err
		}},
		{"search rare word", rare},
		{"search common word", list(models.ConversationFilter{Query: "refund", Limit: 50}, 1)},
		{"search 2 characters", list(models.ConversationFilter{Query: "退款", Limit: 50}, 1)},
	}
	how := fmt.Sprintf("seeded in %s (%.0f msg/s)", seedTime.Round(time.Second), float64(seeded)/seedTime.Seconds())
	if stored > 0 {
		seeded, how = int(stored), "seeded by an earlier run"
	}
	fmt.Printf("\n%s: %d messages, %d conversations %s; %d clients, %d reads per question\n",
		driver, seeded, len(ids), how, clients, reads)
	fmt.Printf("load average %s\n", loadAverage())
	fmt.Printf("%-22s %10s %10s %10s %12s\n", "question", "p50 ms", "p99 ms", "max ms", "cpu ms/read")
	b.ResetTimer()
	only := regexp.MustCompile(os.Getenv("TONGDAO_SCALE_ONLY"))
	for _, q := range questions {
		if !only.MatchString(q.name) {
			continue
		}
		lat := make([]time.Duration, reads)
		var wg sync.WaitGroup
		var mu sync.Mutex
		var firstErr error
		cpu0 := cpuTime()
		for c := 0; c < clients; c++ {
			wg.Go(func() {
				r := rand.New(rand.NewPCG(uint64(c), 1))
				for i := c; i < reads; i += clients {
					t0 := time.Now()
					err := q.ask(r)
					lat[i] = time.Since(t0)
					if err != nil {
						mu.Lock()
						firstErr = cmpOr(firstErr, err)
						mu.Unlock()
					}
				}
			})
		}
		wg.Wait()
		cpu := ms(cpuTime()-cpu0) / float64(reads)
		if firstErr != nil {
			b.Fatalf("%s: %v", q.name, firstErr)
		}
		slices.Sort(lat)
		p50, p99 := ms(lat[len(lat)/2]), ms(lat[len(lat)*99/100])
		fmt.Printf("%-22s %10.1f %10.1f %10.1f %12.2f\n", q.name, p50, p99, ms(lat[len(lat)-1]), cpu)
		b.ReportMetric(p99, strings.ReplaceAll(q.name, " ", "_")+"-p99-ms")
	}
	rssRead := rssMB()
	fmt.Printf("RSS after seeding %d MB, after the reads %d MB\n", rssSeeded, rssRead)
	b.ReportMetric(float64(rssRead), "rss-MB")
}

func cmpOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// loadAverage is the machine's load over the last minute (the figures
// mean little on a busy machine).
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Fields(string(data))[0]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// rssMB is the process's resident memory after a collection that returns
// free memory to the system.
func rssMB() int {
	runtime.GC()
	debug.FreeOSMemory()
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.Atoi(f[1])
			return kb / 1024
		}
	}
	return 0
}
