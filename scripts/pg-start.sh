#!/usr/bin/env bash
# Starts a throwaway PostgreSQL 15 cluster in DIR (created if needed): unix socket in DIR/socket,
# TCP on 127.0.0.1 at a free port, trust authentication for the local user `postgres`.
# Runs the server as the `postgres` user when invoked as root (initdb refuses root).
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
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
  chown postgres "$dir"
  chmod 0755 "$dir"
fi
if [ -f "$dir/data/postmaster.pid" ] && as_pg "$bindir/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
  cat "$dir/env"
  exit 0
fi
if [ ! -f "$dir/data/PG_VERSION" ]; then
  as_pg "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; exit 1; }
  # Members of samia_password_login must give a password (the tests' expired and wrong
  # passwords); everyone else keeps trust.
  as_pg sed -i '0,/^local/s//local   all  +samia_password_login  scram-sha-256\nhost    all  +samia_password_login  127.0.0.1\/32  scram-sha-256\n&/' \
    "$dir/data/pg_hba.conf"
fi
as_pg mkdir -p "$dir/socket"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
  -o "-p $port -k $dir/socket -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 -c shared_buffers=256MB" \
  start >/dev/null
cat >"$dir/env" <<ENV
export PGHOST=$dir/socket
export PGPORT=$port
export PGUSER=postgres
ENV
cat "$dir/env"
