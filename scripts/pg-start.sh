#!/usr/bin/env bash
# Starts a throwaway PostgreSQL 15 cluster in DIR (created if needed): unix socket in DIR/socket,
# TCP on 127.0.0.1 at a free port, trust authentication for the local user `postgres`.
# Runs the server as the `postgres` user when invoked as root (initdb refuses root).
# A DIR the postgres user cannot reach (under a private home) is handled: see below.
# Writes DIR/env with PGHOST, PGPORT, PGUSER exports and prints it.
#   usage: scripts/pg-start.sh DIR
set -euo pipefail
dir=${1:?usage: pg-start.sh DIR}
bindir=${PG_BINDIR:-/usr/lib/postgresql/15/bin}
if [ ! -x "$bindir/initdb" ]; then
  echo "pg-start: no PostgreSQL 15 at $bindir (apt-get install postgresql-15, or set PG_BINDIR)" >&2
  exit 78
fi
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
# The cluster lives in DIR, unless DIR sits where the `postgres` user cannot reach it (a
# checkout under /root, mode 700): then in /var/tmp, named after DIR, and DIR/cluster says where.
cluster=$dir
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
  chown postgres "$dir"
  chmod 0755 "$dir"
  if ! runuser -u postgres -- test -w "$dir"; then
    cluster=/var/tmp/samia-batch-pg-$(printf '%s' "$dir" | sha256sum | cut -c1-16)
    install -d -m 0700 -o postgres "$cluster"
    echo "pg-start: $dir is not reachable by the postgres user (a parent directory is private); the cluster lives in $cluster" >&2
  fi
  printf '%s\n' "$cluster" >"$dir/cluster"
fi
if [ -f "$cluster/data/postmaster.pid" ] && as_pg "$bindir/pg_ctl" -D "$cluster/data" status >/dev/null 2>&1; then
  cat "$dir/env"
  exit 0
fi
if [ ! -f "$cluster/data/PG_VERSION" ]; then
  as_pg "$bindir/initdb" -D "$cluster/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
    || { echo "pg-start: initdb failed in $cluster/data:" >&2; cat "$dir/initdb.log" >&2; exit 1; }
  # Members of samia_password_login must give a password (the tests' expired and wrong
  # passwords); everyone else keeps trust.
  as_pg sed -i '0,/^local/s//local   all  +samia_password_login  scram-sha-256\nhost    all  +samia_password_login  127.0.0.1\/32  scram-sha-256\n&/' \
    "$cluster/data/pg_hba.conf"
fi
as_pg mkdir -p "$cluster/socket"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
as_pg "$bindir/pg_ctl" -D "$cluster/data" -l "$cluster/server.log" -w -t 60 \
  -o "-p $port -k $cluster/socket -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 -c shared_buffers=256MB" \
  start >/dev/null || { echo "pg-start: the server did not start; see $cluster/server.log" >&2; exit 1; }
cat >"$dir/env" <<ENV
export PGHOST=$cluster/socket
export PGPORT=$port
export PGUSER=postgres
ENV
cat "$dir/env"
