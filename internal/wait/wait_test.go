package wait

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// recorder is a testing.TB whose Fatalf records the message and ends the
// goroutine, as t.Fatalf does.
type recorder struct {
	testing.TB
	msg string
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	r.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// run calls f with a recorder on its own goroutine and returns what it
// recorded ("" when f returned normally).
func run(f func(tb testing.TB)) string {
	r := &recorder{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	return r.msg
}

func TestUntilReturnsOnceCondHolds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		calls := 0
		start := time.Now()
		msg := run(func(tb testing.TB) {
			Until(tb, time.Minute, "three calls", func() bool { calls++; return calls == 3 })
		})
		if msg != "" || calls != 3 {
			t.Fatalf("failed %q after %d calls", msg, calls)
		}
		if d := time.Since(start); d > 10*time.Millisecond {
			t.Errorf("took %v for three polls", d)
		}
	})
}

func TestUntilFailsAfterTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		msg := run(func(tb testing.TB) { Until(tb, 5*time.Second, "Godot", func() bool { return false }) })
		if !strings.Contains(msg, "waiting for Godot") {
			t.Fatalf("message %q", msg)
		}
		if d := time.Since(start); d < 5*time.Second || d > 5*time.Second+maxPoll {
			t.Errorf("gave up after %v, want 5 s", d)
		}
	})
}

func TestRecv(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ch := make(chan int, 1)
		ch <- 42
		var got int
		if msg := run(func(tb testing.TB) { got = Recv(tb, "the answer", ch) }); msg != "" || got != 42 {
			t.Fatalf("Recv = %d, failed %q", got, msg)
		}
		start := time.Now()
		if msg := run(func(tb testing.TB) { Recv(tb, "a value", ch) }); !strings.Contains(msg, "timed out") {
			t.Fatalf("empty channel: %q", msg)
		}
		if d := time.Since(start); d != Timeout {
			t.Errorf("gave up after %v, want %v", d, Timeout)
		}
		close(ch)
		if msg := run(func(tb testing.TB) { Recv(tb, "a value", ch) }); !strings.Contains(msg, "closed") {
			t.Fatalf("closed channel: %q", msg)
		}
	})
}
