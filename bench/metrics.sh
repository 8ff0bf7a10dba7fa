#!/usr/bin/env bash
# The metrics benchmark: samia-batch's metrics job against the same KPIs as a dbt-postgres project
# (incremental models, delete+insert on the day key) and against one hand-written INSERT ... SELECT
# (the floor), on one throwaway PostgreSQL 15 with demo data topped up with synthetic events over
# 60 days. Times a nightly run (3-day window) and a 60-day backfill; diffs samia-batch's tables
# against dbt's. Results in bench/results/.
#   usage: bench/metrics.sh [EVENTS] [SCALE] [ROUNDS]    (defaults: 10000000 100 3)
set -euo pipefail
source "$(dirname "$0")/common.sh"
events=${1:-10000000}
scale=${2:-100}
rounds=${3:-3}
tz=Asia/Beirut
as_of=2026-11-21T00:10:00Z
end=2026-11-20
scripts/ensure-packages.sh python3-venv time
[ -x bench/.venv/bin/python ] || python3 -m venv bench/.venv
bench/.venv/bin/pip install -q -r bench/metrics/requirements.txt
bench_start metrics
export PGDATABASE=samia_bench
export DATABASE_URL="host=$PGHOST port=$PGPORT user=postgres dbname=$PGDATABASE"
export SAMIA_LOG_FORMAT=json METRICS_RAW_RETENTION_DAYS=36500
"$bin" dev init --reset >/dev/null
echo "seeding scale $scale and topping events_raw up to $events rows (this takes a while)"
"$bin" dev seed --scale "$scale" --seed 42 --as-of "$as_of" >/dev/null
psql -X -q -v ON_ERROR_STOP=1 -v target="$events" -v as_of="$as_of" -f bench/metrics/topup.sql
# Vacuum what was just loaded, as autovacuum would on the platform's tables: otherwise the first
# tool to read a table pays for setting its rows' hint bits, and autovacuum starts during the
# timed rounds when it likes (a payments statement took 2.7-3.3 s before a VACUUM, 1.1-1.8 s after).
psql -X -q -c "VACUUM ANALYZE"
psql -X -q -c "CREATE SCHEMA IF NOT EXISTS dbt_metrics"
mkdir -p "$work/profiles" bench/results
cat > "$work/profiles/profiles.yml" <<YAML
samia_metrics:
  target: bench
  outputs:
    bench:
      type: postgres
      host: "$PGHOST"
      port: $PGPORT
      user: postgres
      password: ""
      dbname: $PGDATABASE
      schema: dbt_metrics
      threads: 2
YAML
# dbt writes logs and target/ into the project; keep them out of the repository.
cp -r bench/metrics/dbt "$work/dbt"
bench/.venv/bin/python bench/metrics/run.py "$bin" "$work/dbt" "$work/profiles" "$end" "$tz" "$rounds" \
  "bench/results/metrics-$(date -u +%Y%m%dT%H%M%SZ).jsonl"
