package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkEventStreams measures webhook ingest with no event stream open
// and with many (default 1,000) open on the same replica, alternately in one
// run (the machine's load moves), and the delay from an event's commit to
// its arrival on a stream. Run it with:
//
//	go test -run '^$' -bench EventStreams -benchtime 1x ./cmd/hub
//
// Knobs (environment): BENCH_STREAMS (1000), BENCH_ROUNDS (2: each round is
// one phase without streams and one with), BENCH_DURATION (5s a phase),
// BENCH_CONNS (32), BENCH_USERS (5000), BENCH_DB (sqlite|postgres).
//
// Every stream reads everything; a sample of them (one in 50) parses each
// event and measures now − created_at. created_at is taken inside the
// committing transaction, before the commit, so the figure is an upper bound
// of "from the commit".
func BenchmarkEventStreams(b *testing.B) {
	dur, conns, users, driver := benchKnobs(5 * time.Second)
	streams := envInt("BENCH_STREAMS", 1000)
	rounds := envInt("BENCH_ROUNDS", 2)
	m := startBenchHub(b, driver, fmt.Sprintf(", max_event_streams: %d, max_event_streams_per_token: %d", streams, streams))
	addr := strings.TrimPrefix(m.URL(), "http://")
	token, _, err := m.Store.CreateToken(context.Background(), "bench-agent", "agent")
	if err != nil {
		b.Fatal(err)
	}

	type phase struct {
		streams  int
		res      loadResult
		lat      []time.Duration
		received int64
	}
	var phases []phase
	for range rounds {
		for _, n := range []int{0, streams} {
			p := phase{streams: n}
			var open *openStreams
			if n > 0 {
				open = openEventStreams(b, addr, token, n)
			}
			p.res = load(b, m.URL()+"/webhooks/tg-main", e2eTGSecret, dur, conns, users)
			if open != nil {
				latest, err := m.Inbox.LatestEventID(context.Background())
				if err != nil {
					b.Fatal(err)
				}
				p.lat, p.received = open.finish(latest)
			}
			phases = append(phases, p)
		}
	}

	fmt.Printf("\nevent streams benchmark: %d connections, %s a phase, %d users, %s, phases alternated\n", conns, dur, users, driver)
	fmt.Printf("  %-8s %10s %9s %9s %8s %16s %16s %14s\n", "streams", "msg/s", "p50 ms", "p99 ms", "errors", "commit→stream p50", "commit→stream p99", "MB to streams")
	var rate [2]float64
	var count [2]int
	var all []time.Duration
	for _, p := range phases {
		l50, l99 := "", ""
		if p.streams > 0 {
			l50, l99 = fmt.Sprintf("%.1f ms", ms(pct(p.lat, 50))), fmt.Sprintf("%.1f ms", ms(pct(p.lat, 99)))
			all = append(all, p.lat...)
		}
		i := min(p.streams, 1)
		rate[i] += p.res.rate
		count[i]++
		fmt.Printf("  %-8d %10.0f %9.2f %9.2f %8d %17s %17s %14.1f\n", p.streams, p.res.rate, ms(p.res.p50), ms(p.res.p99), p.res.errors, l50, l99, float64(p.received)/1e6)
	}
	none, with := rate[0]/float64(count[0]), rate[1]/float64(count[1])
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	fmt.Printf("  mean msg/s: %.0f without streams, %.0f with %d: ratio %.2f; commit→stream over all phases p50 %.1f ms, p99 %.1f ms (%d events sampled)\n\n",
		none, with, streams, with/none, ms(pct(all, 50)), ms(pct(all, 99)), len(all))
	b.ReportMetric(with/none, "ratio")
	b.ReportMetric(none, "msg/s-0")
	b.ReportMetric(with, "msg/s-streams")
	b.ReportMetric(ms(pct(all, 99)), "stream-p99-ms")
}

// pct returns the p-th percentile of sorted (or not) durations.
func pct(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[(len(s)-1)*p/100]
}

// openStreams are event streams open on the hub: most read and discard
// bytes; a sample parses every event.
type openStreams struct {
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	bytes   atomic.Int64
	sampled []*sampledStream
}

type sampledStream struct {
	mu   sync.Mutex
	last int64
	lat  []time.Duration
}

func openEventStreams(b *testing.B, addr, token string, n int) *openStreams {
	ctx, cancel := context.WithCancel(context.Background())
	o := &openStreams{cancel: cancel}
	var connected sync.WaitGroup
	for i := range n {
		connected.Add(1)
		if i%50 == 0 {
			s := &sampledStream{}
			o.sampled = append(o.sampled, s)
			o.wg.Go(func() { s.run(ctx, addr, token, &connected, &o.bytes) })
			continue
		}
		o.wg.Go(func() { rawStream(ctx, addr, token, &connected, &o.bytes) })
	}
	connected.Wait()
	return o
}

// rawStream opens a stream on a plain connection and discards what comes.
func rawStream(ctx context.Context, addr, token string, connected *sync.WaitGroup, n *atomic.Int64) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		connected.Done()
		return
	}
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	defer c.Close()
	fmt.Fprintf(c, "GET /api/v1/events HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n\r\n", addr, token)
	buf := make([]byte, 64<<10)
	k, err := c.Read(buf) // the headers
	connected.Done()
	for err == nil {
		n.Add(int64(k))
		k, err = c.Read(buf)
	}
}

func (s *sampledStream) run(ctx context.Context, addr, token string, connected *sync.WaitGroup, n *atomic.Int64) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/api/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	tr := &http.Transport{DisableCompression: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	connected.Done()
	if err != nil {
		return
	}
	defer resp.Body.Close()
	r := bufio.NewReaderSize(resp.Body, 64<<10)
	key := []byte(`"created_at":"`)
	for {
		line, err := r.ReadSlice('\n')
		if err != nil && err != bufio.ErrBufferFull {
			if err != io.EOF {
				return
			}
			return
		}
		n.Add(int64(len(line)))
		now := time.Now()
		switch {
		case bytes.HasPrefix(line, []byte("id: ")):
			id, _ := strconv.ParseInt(string(bytes.TrimSpace(line[4:])), 10, 64)
			s.mu.Lock()
			s.last = id
			s.mu.Unlock()
		case bytes.HasPrefix(line, []byte("data: ")):
			// The event's own created_at is its last one (the data's may
			// hold others).
			i := bytes.LastIndex(line, key)
			if i < 0 {
				continue
			}
			rest := line[i+len(key):]
			j := bytes.IndexByte(rest, '"')
			if j < 0 {
				continue
			}
			if t, err := time.Parse(time.RFC3339Nano, string(rest[:j])); err == nil {
				s.mu.Lock()
				s.lat = append(s.lat, now.Sub(t))
				s.mu.Unlock()
			}
		}
	}
}

// finish waits (at most 60 s) until every sampled stream has the event
// latest, closes the streams and returns the sampled delays and the bytes
// received. A stream still behind then is reported, and its missing events
// are not in the delays.
func (o *openStreams) finish(latest int64) ([]time.Duration, int64) {
	deadline := time.Now().Add(60 * time.Second)
	for _, s := range o.sampled {
		for {
			s.mu.Lock()
			last := s.last
			s.mu.Unlock()
			if last >= latest {
				break
			}
			if time.Now().After(deadline) {
				fmt.Printf("  a sampled stream is at event %d after 60 s, the log at %d\n", last, latest)
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	o.cancel()
	o.wg.Wait()
	var lat []time.Duration
	for _, s := range o.sampled {
		lat = append(lat, s.lat...)
	}
	return lat, o.bytes.Load()
}
