// Package latencyproxy is a TCP proxy that adds a fixed delay in each
// direction, as a network between machines would: the benchmarks put it
// between hub replicas and PostgreSQL, so that a round trip to the database
// costs what it costs across machines (on loopback it costs microseconds,
// which hides every round trip too many).
//
// Bytes are delayed, not throttled: each chunk read leaves the other side
// Delay after it arrived, so a stream of statements is pipelined as on a
// real link.
package latencyproxy

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"time"
)

// Proxy accepts connections on a listener and forwards each to a new
// connection made by Dial, delaying the bytes Delay each way.
type Proxy struct {
	ln    net.Listener
	dial  func(ctx context.Context) (net.Conn, error)
	delay time.Duration
	ctx   context.Context
	stop  context.CancelFunc
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

// Start serves on ln (bind 127.0.0.1:0 and pass it) until Close; dial
// connects to the target (a TCP address or a Unix socket).
func Start(ln net.Listener, dial func(ctx context.Context) (net.Conn, error), delay time.Duration) *Proxy {
	ctx, stop := context.WithCancel(context.Background())
	p := &Proxy{ln: ln, dial: dial, delay: delay, ctx: ctx, stop: stop, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	return p
}

// Addr is the proxy's address.
func (p *Proxy) Addr() net.Addr { return p.ln.Addr() }

// Close stops accepting, closes every connection and waits for them.
func (p *Proxy) Close() error {
	p.stop()
	err := p.ln.Close()
	p.mu.Lock()
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
	return err
}

func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ctx.Err() != nil {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.serve(c)
		}()
	}
}

func (p *Proxy) serve(client net.Conn) {
	defer client.Close()
	if !p.track(client) {
		return
	}
	server, err := p.dial(p.ctx)
	if err != nil {
		return
	}
	defer server.Close()
	if !p.track(server) {
		return
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); p.pipe(server, client) }()
	go func() { defer wg.Done(); p.pipe(client, server) }()
	wg.Wait()
	p.mu.Lock()
	delete(p.conns, client)
	delete(p.conns, server)
	p.mu.Unlock()
}

type chunk struct {
	b  []byte
	at time.Time
}

// pipe copies src to dst, each chunk Delay after it was read; when either
// side ends, both connections are closed.
func (p *Proxy) pipe(dst, src net.Conn) {
	q := make(chan chunk, 1024)
	done := make(chan struct{})
	go func() {
		defer close(done)
		timer := time.NewTimer(0)
		<-timer.C
		for c := range q {
			if d := time.Until(c.at.Add(p.delay)); d > 0 {
				timer.Reset(d)
				select {
				case <-timer.C:
				case <-p.ctx.Done():
					return
				}
			}
			if _, err := dst.Write(c.b); err != nil {
				return
			}
		}
	}()
	for {
		buf := make([]byte, 32<<10)
		n, err := src.Read(buf)
		if n > 0 {
			q <- chunk{b: buf[:n], at: time.Now()}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				dst.Close()
			}
			break
		}
	}
	close(q)
	<-done
	dst.Close()
	src.Close()
}
