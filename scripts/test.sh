#!/usr/bin/env bash
# Runs every test of the project, printing each step and how long it took.
# On a fresh Debian machine it first installs what the tests need:
# PostgreSQL's server (the store's tests run against SQLite AND a real
# PostgreSQL, started by the tests), Node.js (web/'s tests run the
# console's JavaScript unit tests with it) and Chromium (cmd/hub's browser
# tests drive the console in it, headless).
#
# Steps: setup, vet, pure-Go build, tests (go test -race, with a line per
# package as it finishes and a progress line every 30 s), fuzz (each fuzz
# target for FUZZTIME, default 20000x inputs; FUZZTIME=0 skips it). Arguments are
# passed to go test (e.g. -run TestE2E, -count=3).
set -euo pipefail
cd "$(dirname "$0")/.."

run_start=$SECONDS
step_no=0
steps=5
timings=()
step() { # step NAME: announce a step
  step_no=$((step_no + 1))
  step_name=$1
  step_start=$SECONDS
  echo "==> [$step_no/$steps] $step_name"
}
step_done() {
  local took=$((SECONDS - step_start))
  echo "<== $step_name: done in ${took}s"
  timings+=("$step_name ${took}s")
}

SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
apt_updated=""
apt_install() {
  if [ -z "$apt_updated" ]; then
    $SUDO apt-get update -qq
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

step setup
have_pg() {
  command -v pg_ctl >/dev/null 2>&1 || compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" >/dev/null
}
if ! have_pg; then
  echo "installing PostgreSQL from Debian's packages..."
  apt_install postgresql
fi
if ! command -v node >/dev/null 2>&1; then
  echo "installing Node.js from Debian's packages (for the web console's tests)..."
  apt_install nodejs
fi
if [ ! -x /usr/bin/chromium ]; then
  echo "installing Chromium from Debian's packages (for the console's browser tests)..."
  apt_install chromium
fi
step_done

# Tests that need PostgreSQL, node or the browser fail here rather than skip.
export TONGDAO_REQUIRE_POSTGRES=1 TONGDAO_REQUIRE_NODE=1 TONGDAO_REQUIRE_BROWSER=1
export CGO_ENABLED="${CGO_ENABLED:-1}" # -race needs cgo; the binary itself builds with CGO_ENABLED=0

step vet
go vet ./...
step_done

step "pure-Go build"
# The shipped binary is pure Go.
CGO_ENABLED=0 go build -o /dev/null ./cmd/hub
step_done

step tests
# -json streams events as they happen; testprogress prints each package's
# ok/FAIL line, the output of failing tests, and a progress line when
# nothing else was printed for 30 s.
tools=$(mktemp -d)
trap 'rm -rf "$tools"' EXIT
go build -o "$tools/testprogress" ./scripts/testprogress
set +e
go test -race -count=1 -timeout 20m -json "$@" ./... 2>&1 | "$tools/testprogress" | tee "$tools/tests.log"
go_status=${PIPESTATUS[0]}
set -e
step_done

if [ "$go_status" != 0 ]; then
  echo "steps: ${timings[*]/%/;} total $((SECONDS - run_start))s"
# The tests' summary closes the output: "tests: N passed, N failed, N skipped".
grep '^tests: ' "$tools/tests.log" | tail -n 1 || true
  echo "FAIL: go test exited with status $go_status"
  exit "$go_status"
fi

step fuzz
# Each FuzzXxx target for FUZZTIME (default 20000x; FUZZTIME=0 skips the pass).
if [ "${FUZZTIME:-20000x}" = 0 ]; then
  echo "skipped (FUZZTIME=0)"
else
  ./scripts/fuzz.sh
fi
step_done

echo "steps: ${timings[*]/%/;} total $((SECONDS - run_start))s"
# The tests' summary closes the output: "tests: N passed, N failed, N skipped".
grep '^tests: ' "$tools/tests.log" | tail -n 1 || true
