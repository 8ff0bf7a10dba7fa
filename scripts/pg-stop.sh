#!/usr/bin/env bash
# Stops a cluster started by pg-start.sh and, with --remove, deletes its directory.
#   usage: scripts/pg-stop.sh DIR [--remove]
set -euo pipefail
dir=${1:?usage: pg-stop.sh DIR [--remove]}
bindir=${PG_BINDIR:-/usr/lib/postgresql/15/bin}
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
# pg-start.sh may have put the cluster outside DIR (DIR/cluster says where).
cluster=$dir
if [ -f "$dir/cluster" ]; then cluster=$(cat "$dir/cluster"); fi
if [ -f "$cluster/data/postmaster.pid" ]; then
  as_pg "$bindir/pg_ctl" -D "$cluster/data" -m fast -w stop >/dev/null 2>&1 || true
fi
if [ "${2:-}" = "--remove" ]; then
  [ "$cluster" = "$dir" ] || rm -rf "$cluster"
  rm -rf "$dir"
fi
