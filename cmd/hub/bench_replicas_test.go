package main

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tongdao/hub/internal/latencyproxy"
)

// BenchmarkReplicas measures webhook ingest on PostgreSQL with one and with
// two hub replicas, behind a TCP proxy that adds a fixed latency each way
// between the hubs and the database (as across machines; on loopback a
// round trip costs microseconds). Each replica gets its own clients
// (BENCH_CONNS each, as a load balancer would send it twice the traffic):
// if nothing serialises the replicas, two ingest about twice as much. In the
// same run it measures one replica on SQLite and one on PostgreSQL without
// the proxy, and prints every figure with the ratios. Run it with:
//
//	BENCH_USERS=500 go test -run '^$' -bench Replicas -benchtime 1x ./cmd/hub
//
// Knobs (environment): BENCH_DURATION (default 5s a phase), BENCH_CONNS (32
// per replica), BENCH_USERS (5000: a flood of new customers; 500:
// conversations under way), BENCH_LATENCY (one way, default 1ms),
// BENCH_ROUNDS (1: how many times the four phases run, alternately).
func BenchmarkReplicas(b *testing.B) {
	dur, conns, users, _ := benchKnobs(5 * time.Second)
	delay := envDuration("BENCH_LATENCY", time.Millisecond)
	rounds := envInt("BENCH_ROUNDS", 1)
	type phase struct {
		name  string
		rates []float64
		stats []string
	}
	phases := []*phase{{name: "sqlite, 1 replica"}, {name: "postgres, 1 replica"},
		{name: fmt.Sprintf("postgres +%s, 1 replica", delay)}, {name: fmt.Sprintf("postgres +%s, 2 replicas", delay)}}
	for range rounds {
		for i, p := range phases {
			var hubs []*Main
			switch i {
			case 0:
				hubs = []*Main{startBenchHub(b, "sqlite", "")}
			case 1:
				hubs = []*Main{startBenchHub(b, "postgres", "")}
			default:
				hubs = startProxiedReplicas(b, i-1, delay)
			}
			results := make([]loadResult, len(hubs))
			var wg sync.WaitGroup
			for j, m := range hubs {
				wg.Go(func() { results[j] = load(b, m.URL()+"/webhooks/tg-main", e2eTGSecret, dur, conns, users) })
			}
			wg.Wait()
			rate, acked := 0.0, int64(0)
			for _, r := range results {
				rate += r.rate
				acked += r.acked
			}
			stored := countInbound(b, hubs[0])
			if stored != acked {
				b.Fatalf("%s: stored %d != acknowledged %d", p.name, stored, acked)
			}
			p.rates = append(p.rates, rate)
			p.stats = append(p.stats, commitStats(b, hubs))
			for _, m := range hubs {
				m.Close()
			}
		}
	}
	mean := func(p *phase) float64 {
		s := 0.0
		for _, r := range p.rates {
			s += r
		}
		return s / float64(len(p.rates))
	}
	fmt.Printf("\nreplicas benchmark: %d connections per replica, %s a phase, %d users, %d round(s), proxy latency %s each way\n",
		conns, dur, users, rounds, delay)
	for _, p := range phases {
		rates := make([]string, len(p.rates))
		for i, r := range p.rates {
			rates[i] = strconv.FormatFloat(r, 'f', 0, 64)
		}
		fmt.Printf("  %-28s msg/s %s   [%s]\n", p.name, strings.Join(rates, " · "), strings.Join(p.stats, " · "))
	}
	pgVsSQLite, twoVsOne := mean(phases[1])/mean(phases[0]), mean(phases[3])/mean(phases[2])
	fmt.Printf("  postgres / sqlite (1 replica, no proxy): %.2f; 2 replicas / 1 replica (proxy): %.2f\n", pgVsSQLite, twoVsOne)
	fmt.Printf("  every acknowledged message was stored in every phase\n\n")
	b.ReportMetric(mean(phases[0]), "sqlite-msg/s")
	b.ReportMetric(mean(phases[1]), "pg-msg/s")
	b.ReportMetric(mean(phases[2]), "pg1-proxy-msg/s")
	b.ReportMetric(mean(phases[3]), "pg2-proxy-msg/s")
	b.ReportMetric(pgVsSQLite, "pg/sqlite")
	b.ReportMetric(twoVsOne, "2/1")
}

// startProxiedReplicas starts n hubs on one fresh PostgreSQL database of the
// test cluster, each reaching it through its own latency proxy.
func startProxiedReplicas(b *testing.B, n int, delay time.Duration) []*Main {
	dsn := pgDSN(b)
	cfg, err := pgconn.ParseConfig(dsn)
	if err != nil {
		b.Fatal(err)
	}
	network, addr := "tcp", net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port)))
	if strings.HasPrefix(cfg.Host, "/") {
		network, addr = "unix", filepath.Join(cfg.Host, fmt.Sprintf(".s.PGSQL.%d", cfg.Port))
	}
	var hubs []*Main
	for range n {
		ln := listenLocal(b)
		p := latencyproxy.Start(ln, func(ctx context.Context) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		}, delay)
		b.Cleanup(func() { p.Close() })
		host, port, _ := net.SplitHostPort(p.Addr().String())
		proxied := fmt.Sprintf("host=%s port=%s user=%s dbname=%s sslmode=disable", host, port, cfg.User, cfg.Database)
		if cfg.Password != "" {
			proxied += " password=" + cfg.Password
		}
		fake := startTelegramFake(b)
		dir := b.TempDir()
		hl := listenLocal(b)
		hubs = append(hubs, startHub(b, hl, telegramConfig(b, dir, hl.Addr().String(), fake.URL(), "webhook", "postgres", proxied)))
	}
	return hubs
}

// commitStats describes the hubs' group commits: mean size and, where the
// store counts them, statements per group commit.
func commitStats(b *testing.B, hubs []*Main) string {
	var parts []string
	for _, m := range hubs {
		batch, commit := meanBatch(b, m.URL())
		s := fmt.Sprintf("%.1f msg/commit, %.1f ms wait", batch, commit*1000)
		if st, ok := any(m.Store).(interface {
			IngestStats() (int64, int64)
			IngestNanos() int64
		}); ok {
			if n, stmts := st.IngestStats(); n > 0 {
				s += fmt.Sprintf(", %.1f statements and %.1f ms a commit", float64(stmts)/float64(n), float64(st.IngestNanos())/float64(n)/1e6)
			}
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}
