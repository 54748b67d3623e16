package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
)

// BenchmarkWebhookThroughput measures the whole ingest path: distinct
// Telegram updates from many users posted at the hub's webhook by N
// concurrent clients for a fixed time, each acknowledged only after its
// commit (SQLite, WAL). It measures a bare Gin JSON handler the same way in
// the same run and prints both, with the ratio. Run it with:
//
//	go test -run '^$' -bench WebhookThroughput -benchtime 1x ./cmd/hub
//
// Knobs (environment): BENCH_DURATION (default 10s), BENCH_CONNS (32),
// BENCH_USERS (5000), BENCH_DB (sqlite|postgres; postgres uses the test
// cluster), BENCH_SKIP_BASELINE (set it to profile the hub alone),
// BENCH_ROUTING (set it to route every new conversation: default_team and
// the sandbox's rules).
func BenchmarkWebhookThroughput(b *testing.B) {
	dur, conns, users, driver := benchKnobs(10 * time.Second)

	// Baseline: a bare Gin handler that decodes the same JSON and answers.
	gin.SetMode(gin.ReleaseMode)
	g := gin.New()
	g.POST("/webhooks/:name", func(c *gin.Context) {
		var v map[string]any
		if err := c.ShouldBindJSON(&v); err != nil {
			c.AbortWithStatus(400)
			return
		}
		c.JSON(200, gin.H{"ok": true})
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: g}
	go srv.Serve(l)
	base := loadResult{rate: 1}
	if os.Getenv("BENCH_SKIP_BASELINE") == "" { // skip it to profile the hub alone
		base = load(b, "http://"+l.Addr().String()+"/webhooks/x", "", dur, conns, users)
	}
	srv.Close()

	m := startBenchHub(b, driver, "")
	in0, rx0 := writerSeconds(b, m.URL())
	hub := load(b, m.URL()+"/webhooks/tg-main", e2eTGSecret, dur, conns, users)
	in1, rx1 := writerSeconds(b, m.URL())
	lag, catchUp := reactionsCatchUp(b, m.URL())
	stored := countInbound(b, m)
	batch, commit := meanBatch(b, m.URL())

	b.ReportMetric(hub.rate, "msg/s")
	b.ReportMetric(ms(hub.p50), "p50-ms")
	b.ReportMetric(ms(hub.p99), "p99-ms")
	b.ReportMetric(base.rate, "gin-req/s")
	b.ReportMetric(hub.rate/base.rate, "ratio")
	b.ReportMetric(catchUp.Seconds(), "catch-up-s")
	fmt.Printf("\nwebhook ingest benchmark: %d connections, %s each, %d users, %s\n", conns, dur, users, driver)
	fmt.Printf("  %-22s %10s %9s %9s %12s\n", "", "req/s", "p50 ms", "p99 ms", "errors")
	fmt.Printf("  %-22s %10.0f %9.2f %9.2f %12d\n", "bare gin JSON handler", base.rate, ms(base.p50), ms(base.p99), base.errors)
	fmt.Printf("  %-22s %10.0f %9.2f %9.2f %12d\n", "hub webhook → commit", hub.rate, ms(hub.p50), ms(hub.p99), hub.errors)
	fmt.Printf("  ratio hub/gin: %.2f; mean group commit: %.1f messages, mean wait for the commit: %.2f ms\n", hub.rate/base.rate, batch, commit*1000)
	fmt.Printf("  SQLite's writer held during the load: %.0f%% by ingest, %.0f%% by the reactions\n",
		100*(in1-in0)/dur.Seconds(), 100*(rx1-rx0)/dur.Seconds())
	fmt.Printf("  reactions (bot, routing, SLA, ...) behind at the end of the load: %d events; caught up %.1f s after it\n", lag, catchUp.Seconds())
	fmt.Printf("  acknowledged: %d, stored: %d (every acknowledged message must be stored)\n\n", hub.acked, stored)
	if stored != hub.acked {
		b.Fatalf("stored %d != acknowledged %d", stored, hub.acked)
	}
}

// startBenchHub runs the hub in-process with a Telegram connector (webhook
// mode) on a stand-in, on SQLite or the test cluster's PostgreSQL; serverKeys
// (", key: value" pairs) are added to the configuration's server section.
func startBenchHub(b *testing.B, driver, serverKeys string) *Main {
	fake := startTelegramFake(b)
	dir := b.TempDir()
	dsn := filepath.Join(dir, "hub.db")
	if driver == "postgres" {
		dsn = pgDSN(b)
	}
	hl := listenLocal(b)
	cfg := telegramConfig(b, dir, hl.Addr().String(), fake.URL(), "webhook", driver, dsn)
	if serverKeys != "" {
		raw, err := os.ReadFile(cfg)
		if err != nil {
			b.Fatal(err)
		}
		writeConfig(b, dir, strings.Replace(string(raw), " }", serverKeys+" }", 1))
	}
	if os.Getenv("BENCH_ROUTING") != "" { // every new conversation routed (to the default team)
		appendConfig(b, cfg, routingTeams+"default_team: general\n"+sandboxRouting)
	}
	return startHub(b, hl, cfg)
}

type loadResult struct {
	rate          float64
	p50, p99      time.Duration
	acked, errors int64
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// loadRuns numbers the calls of load: each posts its own updates, from its
// own users, so that several calls on one hub are alike.
var loadRuns atomic.Int64

// load posts distinct Telegram updates from conns clients for dur.
func load(b *testing.B, url, secret string, dur time.Duration, conns, users int) loadResult {
	base := loadRuns.Add(1) << 24
	tr := &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	var updateID, acked, errs atomic.Int64
	msgIDs := make([]atomic.Int64, users)
	lat := make([][]time.Duration, conns)
	ctx, cancel := context.WithTimeout(context.Background(), dur)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < conns; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 0, 512)
			for ctx.Err() == nil {
				id := base + updateID.Add(1)
				u := int(id) % users
				user := base + 100000 + int64(u)
				mid := msgIDs[u].Add(1)
				buf = buf[:0]
				buf = append(buf, `{"update_id":`...)
				buf = strconv.AppendInt(buf, id, 10)
				buf = append(buf, `,"message":{"message_id":`...)
				buf = strconv.AppendInt(buf, mid, 10)
				buf = append(buf, `,"date":1795440000,"chat":{"id":`...)
				buf = strconv.AppendInt(buf, user, 10)
				buf = append(buf, `,"type":"private","first_name":"Load"},"from":{"id":`...)
				buf = strconv.AppendInt(buf, user, 10)
				buf = append(buf, `,"is_bot":false,"first_name":"Load","language_code":"en"},"text":"where is my order? it was due yesterday"}}`...)
				req, _ := http.NewRequest("POST", url, bytes.NewReader(buf))
				req.Header.Set("Content-Type", "application/json")
				if secret != "" {
					req.Header.Set("X-Telegram-Bot-Api-Secret-Token", secret)
				}
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					if ctx.Err() == nil {
						errs.Add(1)
					}
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					errs.Add(1)
					continue
				}
				acked.Add(1)
				lat[w] = append(lat[w], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	r := loadResult{rate: float64(acked.Load()) / elapsed.Seconds(), acked: acked.Load(), errors: errs.Load()}
	if len(all) > 0 {
		r.p50 = all[len(all)/2]
		r.p99 = all[len(all)*99/100]
	}
	return r
}

// benchKnobs reads BENCH_DURATION (default def), BENCH_CONNS (32),
// BENCH_USERS (5000) and BENCH_DB (sqlite).
func benchKnobs(def time.Duration) (dur time.Duration, conns, users int, driver string) {
	driver = os.Getenv("BENCH_DB")
	if driver == "" {
		driver = "sqlite"
	}
	return envDuration("BENCH_DURATION", def), envInt("BENCH_CONNS", 32), envInt("BENCH_USERS", 5000), driver
}

func envDuration(k string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(k)); err == nil && d > 0 {
		return d
	}
	return def
}

func envInt(k string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(k)); err == nil && n > 0 {
		return n
	}
	return def
}

// reactionsCatchUp reads, right after a load, how many events the
// reactions are behind (the largest lag) and waits until none is behind:
// ingest goes first on SQLite's writer, the reactions catch up after.
func reactionsCatchUp(b *testing.B, base string) (lag int64, took time.Duration) {
	start := time.Now()
	first := true
	for {
		behind := int64(0)
		for _, line := range strings.Split(metricsText(b, base), "\n") {
			if rest, ok := strings.CutPrefix(line, "tongdao_reaction_lag_events{"); ok {
				if _, v, ok := strings.Cut(rest, "} "); ok {
					n, _ := strconv.ParseFloat(v, 64)
					behind = max(behind, int64(n))
				}
			}
		}
		if first {
			lag, first = behind, false
		}
		if behind == 0 {
			return lag, time.Since(start)
		}
		if time.Since(start) > 5*time.Minute {
			b.Fatalf("reactions still %d events behind 5 minutes after the load", behind)
		}
		time.Sleep(50 * time.Millisecond) // polling a live figure, not synchronising
	}
}

func metricsText(b *testing.B, base string) string {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.Fatal(err)
	}
	return string(body)
}

// metricValue is the value of the sample named name (with its labels, if
// any) in a /metrics text, 0 when absent.
func metricValue(body, name string) float64 {
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}

// writerSeconds reads how long ingest and the reactions have held SQLite's
// writer (0 on PostgreSQL).
func writerSeconds(b *testing.B, base string) (ingest, reactions float64) {
	body := metricsText(b, base)
	return metricValue(body, `tongdao_sqlite_writer_seconds_total{by="ingest"}`),
		metricValue(body, `tongdao_sqlite_writer_seconds_total{by="reactions"}`)
}

// meanBatch reads the mean group-commit size and the mean time an inbound
// waits for its commit from the hub's /metrics.
func meanBatch(b *testing.B, base string) (batch, commit float64) {
	body := metricsText(b, base)
	metric := func(name string) float64 { return metricValue(body, name) }
	mean := func(h string) float64 {
		if n := metric(h + "_count"); n > 0 {
			return metric(h+"_sum") / n
		}
		return 0
	}
	return mean("tongdao_ingest_batch_size"), mean("tongdao_ingest_commit_seconds")
}
