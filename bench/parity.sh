#!/usr/bin/env bash
# The parity benchmark (issue 8): the full RLS-parity report for the platform schema (every
# table × 6 roles × 4 commands; reads and, by default since issue 37, writes with synthetic
# rows, all rolled back) on scale-SCALE demo data, RUNS times, with the
# default sample (1,000 rows each side of every scope) and once comparing every row
# (--sample-rows 0). While each report runs, an API-like writer updates random orders by
# primary key every 20 ms through one psql session with \timing; its longest wait, against
# the same writer with nothing else running, shows whether the probe phase blocks the API
# (update probes lock the rows they try, until their savepoint is rolled back). Each report
# is stopped after PARITY_BENCH_TIMEOUT seconds (default 600) and says so.
#   usage: bench/parity.sh [SCALE] [RUNS]    (defaults: 10 3)
set -euo pipefail
source "$(dirname "$0")/common.sh"
scale=${1:-10}
runs=${2:-3}
bench_start parity
trap 'touch "$work/stop"; bench_cleanup' EXIT
export PGDATABASE=samia_demo
export SAMIA_LOG_FORMAT=json
"$bin" dev init --reset >/dev/null
start=$(date +%s)
"$bin" dev seed --scale "$scale" >/dev/null
psql -X -q -c "VACUUM ANALYZE"
echo "scale-$scale demo data in $(( $(date +%s) - start )) s: $(psql -X -At -c "SELECT count(*) FROM public.orders") orders, $(psql -X -At -c "SELECT count(*) FROM public.events_raw") events"
"$bin" keygen --out "$work/key" >/dev/null
export SAMIA_SIGNING_KEY_FILE="$work/key"
maxid=$(psql -X -At -c "SELECT max(id) FROM public.orders")

writer() {
  python3 "$root/bench/timed_writer.py" "$1" "$work/stop" "$maxid" "UPDATE public.orders SET updated_at = now() WHERE id = {id}"
}
longest() { grep -o 'Time: [0-9.]*' "$1" | awk '{ if ($2 > m) m = $2 } END { printf "%.1f", m }'; }
count() { grep -c 'Time: ' "$1" || true; }

rm -f "$work/stop"
writer "$work/writer-alone.log" &
sleep 10
touch "$work/stop"
wait
echo "writer alone for 10 s: $(count "$work/writer-alone.log") updates, longest $(longest "$work/writer-alone.log") ms"

report() {
  local name=$1; shift
  rm -f "$work/stop"
  writer "$work/writer-$name.log" &
  local t0 t1
  t0=$(date +%s.%N)
  timeout "${PARITY_BENCH_TIMEOUT:-600}" "$bin" parity --out "$work/report-$name" "$@" >"$work/out-$name.txt" \
    2>"$work/err-$name.txt" || { rc=$?; [ "$rc" = 124 ] && echo "(timed out)" || echo "(exit $rc)"; } >>"$work/out-$name.txt"
  t1=$(date +%s.%N)
  touch "$work/stop"
  wait
  printf '%-12s %7.2f s  %s  writer: %s updates, longest wait %s ms\n' "$name" "$(echo "$t1 - $t0" | bc -l)" \
    "$(grep -o '^[0-9]* cells: .*\|^(timed out)\|^(exit [0-9]*)' "$work/out-$name.txt" | tr '\n' ' ')" "$(count "$work/writer-$name.log")" \
    "$(longest "$work/writer-$name.log")"
}
for i in $(seq 1 "$runs"); do report "sampled-$i"; done
report "all-rows" --sample-rows 0
report "json-only" --format json
psql -X -At -c "SELECT count(*) AS relations FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind IN ('r','p','v','m','f')" | sed 's/^/relations in the report: /'
