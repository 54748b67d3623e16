// Package slowclient plays, in tests, the client that trickles a request:
// it sends a head, then one byte every 20 ms, to check that a server cuts
// such clients off.
package slowclient

import (
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// Trickle sends head to addr, then one byte every 20 ms until the
// connection breaks, and returns what the server answered up to the close
// of the connection. It fails the test when the server keeps the
// connection beyond bound.
func Trickle(t testing.TB, addr, head string, bound time.Duration) string {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if _, err := conn.Write([]byte("x")); err != nil {
					return
				}
			}
		}
	})
	defer func() { close(stop); wg.Wait() }()
	_ = conn.SetReadDeadline(time.Now().Add(bound))
	got, err := io.ReadAll(conn)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the server kept a trickling request open for %s; read so far: %q", bound, got)
	}
	return string(got)
}
