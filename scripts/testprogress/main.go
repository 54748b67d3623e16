// Command testprogress turns `go test -json` into a readable, live log for
// scripts/test.sh: each package's ok/FAIL line as it finishes, the output
// of every failing test, build errors, a line every 30 s naming the
// packages still running (so a long run is never silent), and at the end
// one summary line: "tests: N passed, N failed, N skipped".
//
// It reads the events on stdin and exits 0; the test command's own exit
// status says whether the tests passed.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Action     string
	Package    string
	Test       string
	Output     string
	ImportPath string
}

type state struct {
	mu       sync.Mutex
	out      io.Writer
	start    time.Time
	lastLine time.Time
	running  map[string]time.Time // package → when it started
	buffered map[string][]string  // package/test → output lines
	passed   int
	failed   int
	skipped  int
}

func (s *state) printf(format string, args ...any) {
	fmt.Fprintf(s.out, format, args...)
	s.lastLine = time.Now()
}

func (s *state) handle(e event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := e.Package + "\x00" + e.Test
	switch e.Action {
	case "build-output":
		s.printf("%s", e.Output)
	case "start":
		s.running[e.Package] = time.Now()
	case "output":
		if e.Test == "" {
			// The package's own lines: ok/FAIL/panic, TestMain's output.
			if e.Output != "PASS\n" && !strings.HasPrefix(e.Output, "=== ") {
				s.printf("%s", e.Output)
			}
			return
		}
		s.buffered[key] = append(s.buffered[key], e.Output)
	case "pass", "fail", "skip":
		if e.Test == "" {
			delete(s.running, e.Package)
			s.flushUnfinished(e.Package + "\x00")
			return
		}
		switch e.Action {
		case "pass":
			s.passed++
		case "skip":
			s.skipped++
		case "fail":
			s.failed++
			for _, l := range s.buffered[key] {
				s.printf("%s", l)
			}
		}
		delete(s.buffered, key)
	}
}

// flushUnfinished prints the output of the tests whose key starts with
// prefix that never ended (a panic or a timeout killed the test binary):
// it is the clue. Tests that passed or failed are gone from buffered.
func (s *state) flushUnfinished(prefix string) {
	var keys []string
	for key, lines := range s.buffered {
		if strings.HasPrefix(key, prefix) && len(lines) > 0 {
			keys = append(keys, key)
		}
	}
	slices.Sort(keys)
	for _, key := range keys {
		s.printf("--- output of %s, which did not finish:\n%s", strings.Replace(key, "\x00", ".", 1), strings.Join(s.buffered[key], ""))
		delete(s.buffered, key)
	}
}

// tick reports the packages still running when nothing was printed for a
// while.
func (s *state) tick(every time.Duration) {
	for range time.Tick(every) {
		s.mu.Lock()
		if time.Since(s.lastLine) >= every {
			el := time.Since(s.start).Round(time.Second)
			if len(s.running) == 0 {
				s.printf("… %v: building test binaries\n", el)
			} else {
				var names []string
				for p, t := range s.running {
					names = append(names, fmt.Sprintf("%s (%v)", p, time.Since(t).Round(time.Second)))
				}
				slices.Sort(names)
				s.printf("… %v: %d tests passed so far; running %s\n", el, s.passed, strings.Join(names, ", "))
			}
		}
		s.mu.Unlock()
	}
}

func main() {
	s := &state{out: os.Stdout, start: time.Now(), lastLine: time.Now(),
		running: map[string]time.Time{}, buffered: map[string][]string{}}
	go s.tick(30 * time.Second)
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &e) != nil {
			// Not an event (go vet or build errors on stderr merged in).
			s.mu.Lock()
			s.printf("%s\n", line)
			s.mu.Unlock()
			continue
		}
		s.handle(e)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.flushUnfinished("")
	s.printf("tests: %d passed, %d failed, %d skipped\n", s.passed, s.failed, s.skipped)
}
