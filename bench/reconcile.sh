#!/usr/bin/env bash
# The reconciliation benchmark: samia-batch reconcile against the same matching written with
# pandas and with DuckDB, on N succeeded payments with invoices and about N settlement lines
# with about 1 % of each kind of break (bench/reconcile/*.sql), on one throwaway PostgreSQL 15.
# A second database with N/10 payments shows whether samia-batch's memory grows with the rows.
#   usage: bench/reconcile.sh [N] [ROUNDS]    (defaults: 1000000 3)
set -euo pipefail
source "$(dirname "$0")/common.sh"
n=${1:-1000000}
rounds=${2:-3}
scripts/ensure-packages.sh python3-venv time
[ -x bench/.venv/bin/python ] || python3 -m venv bench/.venv
bench/.venv/bin/pip install -q -r bench/reconcile/requirements.txt
bench_start reconcile
export SAMIA_LOG_FORMAT=json SAMIA_STORAGE_DIR="$work/storage" SAMIA_SIGNING_KEY_FILE="$work/signing.key"
export SAMIA_RECONCILIATION_POLICY="$work/policy.yaml"
cat > "$SAMIA_RECONCILIATION_POLICY" <<YAML
time_zone: UTC
tolerances: { amount_minor_units: 0, fee_minor_units: 1, in_transit_days: 3 }
fees:
  stripe:
    USD: { percent: "2.9", fixed: "0" }
    SAR: { percent: "2.9", fixed: "0" }
    KWD: { percent: "2.9", fixed: "0" }
    EUR: { percent: "2.9", fixed: "0" }
    AED: { percent: "2.9", fixed: "0" }
YAML
"$bin" keygen --out "$SAMIA_SIGNING_KEY_FILE" >/dev/null
mkdir -p bench/results
for db in bench_big bench_small; do
  size=$n; [ "$db" = bench_small ] && size=$((n / 10))
  export DATABASE_URL="host=$PGHOST port=$PGPORT user=postgres dbname=$db"
  PGDATABASE=$db "$bin" dev init --reset >/dev/null
  echo "== $db: ledger of $size payments"
  psql -X -q -d "$DATABASE_URL" -v n="$size" -f bench/reconcile/ledger.sql >/dev/null
  psql -X -q -d "$DATABASE_URL" -f bench/reconcile/settlement.sql > "$work/$db.balance_change_from_activity.itemized.csv"
  echo "   settlement file: $(($(wc -l < "$work/$db.balance_change_from_activity.itemized.csv") - 1)) lines; importing"
  file="$work/$db.balance_change_from_activity.itemized.csv"
  /usr/bin/time -o "$work/import.time" -f "%e %M" "$bin" settlement import "$file" | tail -n 1
  # The floor an import cannot beat: PostgreSQL's own COPY of the same file into text columns.
  columns=$(head -n 1 "$file" | tr ',' '\n' | awk '{ printf "%sc%d text", (NR > 1 ? ", " : ""), NR }')
  psql -X -q -d "$DATABASE_URL" -c "DROP TABLE IF EXISTS bench_copy_floor" -c "CREATE UNLOGGED TABLE bench_copy_floor ($columns)"
  /usr/bin/time -o "$work/copy.time" -f "%e" psql -X -q -d "$DATABASE_URL" \
    -c "\\copy bench_copy_floor FROM '$file' WITH (FORMAT csv, HEADER true)"
  psql -X -q -d "$DATABASE_URL" -c "DROP TABLE bench_copy_floor"
  read -r import_s peak_kib < "$work/import.time"
  copy_s=$(cat "$work/copy.time")
  echo "   import: $import_s s, peak $peak_kib KiB; COPY of the same file into text columns: $copy_s s" \
    "(import / COPY = $(awk -v a="$import_s" -v b="$copy_s" 'BEGIN { printf "%.1f", a / b }')x)"
done
bench/.venv/bin/python bench/reconcile/run.py "$bin" "host=$PGHOST port=$PGPORT user=postgres dbname=bench_big" \
  "host=$PGHOST port=$PGPORT user=postgres dbname=bench_small" "$work/bench_big.balance_change_from_activity.itemized.csv" \
  "$rounds" "bench/results/reconcile-$(date -u +%Y%m%dT%H%M%SZ).jsonl" "$work"
