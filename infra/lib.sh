#!/usr/bin/env bash
# Shared by infra/up, infra/down, infra/demo, infra/test. Paths, ports, logging helpers.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOCAL="$REPO/.local"
PG_BIN="/usr/lib/postgresql/15/bin"
PG_PORT="${AUDIT_PG_PORT:-55432}"
CH_HTTP_PORT="${AUDIT_CH_HTTP_PORT:-58123}"
CH_TCP_PORT="${AUDIT_CH_TCP_PORT:-59000}"
API_PORT="${AUDIT_API_PORT:-58080}"
BUILD_CONFIG="${AUDIT_BUILD_CONFIG:-Release}"

say()  { printf '\033[1m==>\033[0m %s\n' "$*"; }
fail() { printf '\033[31merror:\033[0m %s\n' "$*" >&2; exit 1; }

# PostgreSQL runs as the postgres user, which must be able to enter every parent of its
# data dir. A checkout under a folder it cannot enter (a 700 home) gets its data in /tmp.
pg_data_root() {
  if runuser -u postgres -- test -x "$LOCAL" 2>/dev/null || { mkdir -p "$LOCAL" && runuser -u postgres -- test -x "$LOCAL" 2>/dev/null; }; then
    echo "$LOCAL/postgres"
  else
    echo "/tmp/auditpipeline-$(printf '%s' "$REPO" | sha256sum | cut -c1-12)/postgres"
  fi
}

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

wait_for() { # wait_for <seconds> <description> <command...>
  local limit=$1 what=$2; shift 2
  for _ in $(seq 1 $((limit * 10))); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  return 1
}
