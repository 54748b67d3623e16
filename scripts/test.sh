#!/usr/bin/env bash
# Runs every test of the project. On a fresh Debian machine it first installs
# what the tests need: PostgreSQL's server (the store's tests run against
# SQLite AND a real PostgreSQL, started on 127.0.0.1 by the tests).
set -euo pipefail
cd "$(dirname "$0")/.."

have_pg() {
  command -v pg_ctl >/dev/null 2>&1 || compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" >/dev/null
}
if ! have_pg; then
  echo "installing PostgreSQL from Debian's packages..."
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
fi
command -v runuser >/dev/null 2>&1 || true

export TONGDAO_REQUIRE_POSTGRES=1
export CGO_ENABLED="${CGO_ENABLED:-1}"   # -race needs cgo; the binary itself builds with CGO_ENABLED=0
go vet ./...
# The shipped binary is pure Go.
CGO_ENABLED=0 go build -o /dev/null ./cmd/hub
go test -race -count=1 -timeout 20m "$@" ./...
# A short fuzz pass: each FuzzXxx target for a few seconds (FUZZTIME).
./scripts/fuzz.sh
