#!/usr/bin/env bash
# The Postgres-layer benchmark: COPY-out throughput against psql's \copy, and row decoding
# against psycopg 3, on the same 1M-row table in the same run. Results in bench/results/.
#   usage: bench/run.sh [ROWS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rows=${1:-1000000}
results="$root/bench/results"
mkdir -p "$results"
cd "$root"
swift build -c release --product samia-bench >/dev/null
bench="$root/.build/release/samia-bench"
if [ ! -x bench/.venv/bin/python ]; then
  python3 -m venv bench/.venv
  bench/.venv/bin/pip install -q 'psycopg[binary]>=3.1'
fi
pgdir=$(mktemp -d /tmp/samia-bench-XXXX)
trap 'scripts/pg-stop.sh "$pgdir" --remove' EXIT
cluster_env=$(scripts/pg-start.sh "$pgdir") || { echo "bench: the PostgreSQL cluster did not start (above)" >&2; exit 1; }
eval "$cluster_env"
export PGDATABASE=postgres
psql -q -v ON_ERROR_STOP=1 <<SQL
DROP TABLE IF EXISTS bench_rows;
CREATE TABLE bench_rows AS
SELECT g::bigint AS id, 'customer ' || g || ' عميل' AS label, (g % 100000) / 100.0 AS amount,
       timestamptz '2026-01-01' + g * interval '1 second' AS at, g % 3 = 0 AS flag, md5(g::text)::uuid AS ref
  FROM generate_series(1, $rows) g;
VACUUM ANALYZE bench_rows;
SQL
query="SELECT id, label, amount::numeric(12,2), at, flag, ref FROM bench_rows"
out="$results/$(date -u +%Y%m%dT%H%M%SZ).jsonl"
for i in 1 2 3; do
  s=$(date +%s.%N); psql -q -c "\\copy ($query) to '/dev/null'"; e=$(date +%s.%N)
  echo "{\"tool\":\"psql\",\"mode\":\"copy-out\",\"rows\":$rows,\"seconds\":$(printf "%.6f" "$(echo "$e - $s" | bc)")}" | tee -a "$out"
  "$bench" copy-out "$query" | tee -a "$out"
  "$bench" decode "$query" | tee -a "$out"
  bench/.venv/bin/python bench/decode_psycopg.py "$query" | tee -a "$out"
done
python3 - "$out" <<'PY'
import json, sys, statistics
rows = [json.loads(l) for l in open(sys.argv[1])]
def med(tool, mode): return statistics.median(r["seconds"] for r in rows if r["tool"] == tool and r["mode"] == mode)
psql, ours = med("psql", "copy-out"), med("samia-batch", "copy-out")
dec, py = med("samia-batch", "decode"), med("psycopg", "decode")
n = rows[0]["rows"]
print(f"COPY out, {n} rows: psql {psql:.3f} s, samia-batch {ours:.3f} s -> samia-batch/psql time ratio {ours/psql:.2f}")
print(f"decode,   {n} rows: psycopg {py:.3f} s, samia-batch {dec:.3f} s -> samia-batch is {py/dec:.1f}x faster")
PY
