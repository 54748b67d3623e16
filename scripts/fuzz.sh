#!/usr/bin/env bash
# Runs every fuzz target of the project briefly: each FuzzXxx function in a
# *_test.go file, one after the other, for FUZZTIME (default 20000x: twenty
# thousand inputs) each. The seed corpora (testdata/ files and testdata/fuzz/)
# already run in every `go test`; this pass explores a little beyond them.
# The budget is a count, not a duration: with a duration, Go 1.26's fuzz
# coordinator can report "context deadline exceeded" as a failure when the
# time runs out while a worker is busy (golang/go#75804, fixed in Go 1.27),
# which made this pass fail on a loaded machine with no failing input.
# Run longer with
#   FUZZTIME=1000000x ./scripts/fuzz.sh
# or one target:
#   go test -run '^$' -fuzz '^FuzzPush$' -fuzztime 1000000x ./connectors/wechat
# A failing input is written to the package's testdata/fuzz/FuzzXxx/: fix
# the cause and commit the input, which then runs as a seed.
set -euo pipefail
cd "$(dirname "$0")/.."

fuzztime=${FUZZTIME:-20000x}
mapfile -t targets < <(grep -rl --include='*_test.go' '^func Fuzz[A-Z0-9_a-z]*(f \*testing.F)' . |
  sort | while read -r file; do
    dir=$(dirname "$file")
    sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(f \*testing.F).*/\1/p' "$file" | while read -r name; do
      echo "./${dir#./} $name"
    done
  done)
if [ ${#targets[@]} -eq 0 ]; then
  echo "no fuzz targets found" >&2
  exit 1
fi

start=$SECONDS
log=$(mktemp)
trap 'rm -f "$log"' EXIT
n=0
for t in "${targets[@]}"; do
  read -r pkg name <<<"$t"
  n=$((n + 1))
  printf -- '--> fuzz [%d/%d] %s %s (%s)... ' "$n" "${#targets[@]}" "$pkg" "$name" "$fuzztime"
  t0=$SECONDS
  if go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" "$pkg" >"$log" 2>&1; then
    execs=$(grep -o 'execs: [0-9]*' "$log" | tail -n 1 || true)
    echo "ok in $((SECONDS - t0))s (${execs:-no execs reported})"
  else
    echo "FAIL"
    cat "$log"
    exit 1
  fi
done
echo "fuzz: ${#targets[@]} targets in $((SECONDS - start))s"
