// Package seeds reads the seed inputs of the project's fuzz targets: the
// real payloads kept in each package's testdata.
package seeds

import (
	"os"
	"path/filepath"
	"testing"
)

// Files returns the contents of the files matching the glob patterns (or
// named by them), in order; it fails the test when there is none.
func Files(tb testing.TB, patterns ...string) [][]byte {
	tb.Helper()
	var out [][]byte
	for _, p := range patterns {
		files, err := filepath.Glob(p)
		if err != nil {
			tb.Fatalf("seed pattern %q: %v", p, err)
		}
		for _, file := range files {
			b, err := os.ReadFile(file)
			if err != nil {
				tb.Fatal(err)
			}
			out = append(out, b)
		}
	}
	if len(out) == 0 {
		tb.Fatalf("no seeds in %v", patterns)
	}
	return out
}
