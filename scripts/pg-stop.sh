#!/usr/bin/env bash
# Stops a cluster started by pg-start.sh and, with --remove, deletes its directory.
#   usage: scripts/pg-stop.sh DIR [--remove]
set -euo pipefail
dir=${1:?usage: pg-stop.sh DIR [--remove]}
bindir=${PG_BINDIR:-/usr/lib/postgresql/15/bin}
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if [ -f "$dir/data/postmaster.pid" ]; then
  as_pg "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
fi
if [ "${2:-}" = "--remove" ]; then rm -rf "$dir"; fi
