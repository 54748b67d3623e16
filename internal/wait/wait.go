// Package wait is how the project's tests wait for asynchronous work (a
// webhook delivered, an outbox drained, a gateway connected): they poll a
// condition until it holds. A timeout only ends a test that is already
// failing, so it is generous (Timeout) and never a claim about speed: a
// loaded machine running tests under -race may take seconds for what
// usually takes milliseconds.
//
// Tests that must show that something did NOT happen do not sleep and then
// look: they cause a later event that is ordered after the one that must not
// happen (a sentinel message), wait for it, and then look.
package wait

import (
	"context"
	"testing"
	"time"
)

// Timeout is how long the helpers wait before they fail the test.
const Timeout = 60 * time.Second

// maxPoll is the longest pause between two checks of a condition.
const maxPoll = 20 * time.Millisecond

// Until calls cond until it returns true and fails t (naming what it waited
// for) when timeout passes first. Call it from the test's goroutine.
func Until(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	pause := time.Millisecond
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(pause)
		pause = min(2*pause, maxPoll)
	}
}

// For is Until with the default Timeout.
func For(t testing.TB, what string, cond func() bool) {
	t.Helper()
	Until(t, Timeout, what, cond)
}

// Recv waits for a value on ch and returns it; it fails t (naming what)
// when Timeout passes first or ch is closed.
func Recv[T any](t testing.TB, what string, ch <-chan T) T {
	t.Helper()
	timer := time.NewTimer(Timeout)
	defer timer.Stop()
	select {
	case v, ok := <-ch:
		if !ok {
			t.Fatalf("channel closed while waiting for %s", what)
		}
		return v
	case <-timer.C:
		t.Fatalf("timed out after %v waiting for %s", Timeout, what)
	}
	var zero T
	return zero
}

// Context returns a context that ends after Timeout or when the test ends,
// for waits that take a context (a stand-in's WaitSent, WaitConnected).
func Context(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	t.Cleanup(cancel)
	return ctx
}
