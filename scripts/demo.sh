#!/usr/bin/env bash
# The demo: a throwaway PostgreSQL 15 in PGDIR, a dev database with demo data, the nightly jobs,
# and the outputs under OUT. Safe to run again: the dev database is recreated each time.
#   usage: scripts/demo.sh PGDIR OUT SCALE
set -euo pipefail
pgdir=${1:?PGDIR}; out=${2:?OUT}; scale=${3:-1}
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/.build/debug/samia-batch"
mkdir -p "$out"
eval "$("$root/scripts/pg-start.sh" "$pgdir")"
export DATABASE_URL="host=$PGHOST port=$PGPORT user=postgres dbname=samia_demo"
export SAMIA_METRICS_TEXTFILE="$out/metrics/samia_batch.prom"
export SAMIA_LOG_FORMAT=${SAMIA_LOG_FORMAT:-text}
echo "== PostgreSQL 15 running at $PGHOST (port $PGPORT)"
"$bin" dev init --reset
"$bin" migrate --status
echo "== seeding demo data (scale $scale)"
"$bin" dev seed --scale "$scale" --seed 42
if [ ! -f "$out/keys/signing.key" ]; then
  mkdir -p "$out/keys"
  "$bin" keygen --out "$out/keys/signing.key"
fi
export SAMIA_SIGNING_KEY_FILE="$out/keys/signing.key"
# The demo numbers the first 200 documents per nightly run (a debug build renders slowly).
export SAMIA_INVOICE_LIMIT=${SAMIA_INVOICE_LIMIT:-200}
echo "== nightly jobs"
"$bin" nightly
"$bin" dev exercise --seconds 0.5
echo "== run ledger"
"$bin" runs --limit 10
cat <<TXT

Outputs:
  database      $DATABASE_URL  (psql "\$DATABASE_URL")
  run ledger    samia-batch runs
  metrics       $SAMIA_METRICS_TEXTFILE
  signing key   $out/keys/signing.key (+ .pub)
Stop the database with: make demo-stop
TXT
