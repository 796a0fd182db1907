#!/usr/bin/env bash
# A private PostgreSQL for the distributed-sweep tests and for trying multi-worker sweeps on one machine.
#
#   AUTOML_TEST_POSTGRES=$(bash scripts/postgres.sh)   # install if missing, start, create the database: prints its URL
#   bash scripts/postgres.sh stop                      # stop the cluster (its data stays for the next start)
#
# Idempotent: a running cluster is reused. The cluster listens on loopback only (127.0.0.1:$PG_PORT) and trusts
# local connections: a throwaway test database, not a server to expose. For machines that must reach it, use a
# real server with passwords (README: "A sweep on several machines").
# Everything but the URL goes to stderr, so the URL can be captured.
set -euo pipefail
PG_PORT=${PG_PORT:-55432}
PG_DATA=${PG_DATA:-/tmp/nlp-advisor-postgres}
PG_DB=${PG_DB:-automl}
log() { echo "postgres.sh: $*" >&2; }

as_postgres() {  # the server refuses to run as root: root runs it as the package's postgres user
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_bin() {
  local found
  found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -z "$found" ] && command -v pg_ctl >/dev/null; then found=$(dirname "$(command -v pg_ctl)"); fi
  echo "$found"
}

BIN=$(pg_bin)
if [ "${1:-}" = stop ]; then
  if [ -n "$BIN" ] && [ -f "$PG_DATA/PG_VERSION" ]; then as_postgres "$BIN/pg_ctl" -D "$PG_DATA" -m fast -w stop >&2 || true; fi
  exit 0
fi

if [ -z "$BIN" ] || [ ! -x "$BIN/initdb" ]; then
  log "installing PostgreSQL from the distribution's packages"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >&2
  BIN=$(pg_bin)
fi

if [ ! -f "$PG_DATA/PG_VERSION" ]; then
  log "new cluster in $PG_DATA"
  mkdir -p "$PG_DATA"
  [ "$(id -u)" = 0 ] && chown postgres: "$PG_DATA"
  chmod 700 "$PG_DATA"
  as_postgres "$BIN/initdb" -D "$PG_DATA" -U postgres -A trust --no-sync >/dev/null
fi

if ! as_postgres "$BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; then
  # the socket lives in the data folder: no write access to /var/run/postgresql is needed
  as_postgres "$BIN/pg_ctl" -D "$PG_DATA" -l "$PG_DATA/server.log" -w -t 60 \
    -o "-p $PG_PORT -k $PG_DATA -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off" start >&2
fi

PSQL=("$BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -tAq)
if [ "$("${PSQL[@]}" -c "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'")" != 1 ]; then
  "${PSQL[@]}" -c "CREATE DATABASE \"$PG_DB\"" >&2
fi
echo "postgresql://postgres@127.0.0.1:$PG_PORT/$PG_DB"
