#!/usr/bin/env bash
# What the on-call guards cost per start (issue 38): a whole run of the harmless `dev exercise`
# job (connect, the role-rights check, the pooler probe, the job's lock, dead-run reaping, a
# ledger row, metrics) and `doctor` (every precondition), against the peer `psql -c 'SELECT 1'`
# (a bare connection and one query), each started ROUNDS times on one cluster. Medians, in ms.
#   usage: bench/oncall.sh [ROUNDS]    (default 30)
set -euo pipefail
source "$(dirname "$0")/common.sh"
rounds=${1:-30}
bench_start oncall
export PGDATABASE=samia_oncall
export SAMIA_LOG_FORMAT=json
bin="$root/.build/release/samia-batch"
"$bin" dev init --reset >/dev/null
"$bin" keygen --out "$work/signing.key" >/dev/null
mkdir -p "$work/storage"
export DATABASE_URL="host=$PGHOST port=$PGPORT user=postgres dbname=$PGDATABASE"
export SAMIA_SIGNING_KEY_FILE="$work/signing.key" SAMIA_STORAGE_DIR="$work/storage" SAMIA_TIMEZONE=Asia/Beirut
export INVOICE_FROM_NAME="Bench" INVOICE_FROM_NAME_AR="تجربة" INVOICE_FROM_EMAIL="bench@samia.example"
export SAMIA_STORAGE_MIN_FREE_MB=1
set -a
. "$root/scripts/demo-seller.env"
set +a

# Median wall time in ms of ROUNDS runs of the command.
median_ms() {
  local times=()
  for _ in $(seq "$rounds"); do
    local start end
    start=$(date +%s%N)
    "$@" >/dev/null 2>&1 || { echo "bench: $* failed" >&2; exit 1; }
    end=$(date +%s%N)
    times+=($(((end - start) / 1000000)))
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'
}

peer=$(median_ms psql -X -q -c 'SELECT 1')
run=$(median_ms "$bin" dev exercise --seconds 0)
doctor=$(median_ms "$bin" doctor)
mkdir -p bench/results
printf '{"date":"%s","rounds":%s,"psql_ms":%s,"run_ms":%s,"doctor_ms":%s}\n' "$(date -u +%FT%TZ)" "$rounds" \
  "$peer" "$run" "$doctor" | tee -a "bench/results/oncall-$(date -u +%Y%m%dT%H%M%SZ).jsonl"
echo "| start | median ms | ÷ psql |"
echo "| --- | ---: | ---: |"
echo "| psql -c 'SELECT 1' (peer) | $peer | 1.0× |"
awk -v p="$peer" -v r="$run" -v d="$doctor" 'BEGIN {
  printf "| a whole run of dev exercise | %d | %.1f× |\n", r, r / p
  printf "| doctor (14 checks) | %d | %.1f× |\n", d, d / p }'
