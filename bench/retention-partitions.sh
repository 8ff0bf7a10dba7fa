#!/usr/bin/env bash
# Purging expired raw events (issue 7: dropping expired partitions is retention's job). EVENTS
# events over 100 days, of which the oldest EXPIRED_DAYS days are past a 90-day keep period, purged
# three ways on identical data in one run:
#   drop_partitions   samia-batch retention on events_raw partitioned by UTC day (DROP TABLE per day)
#   batches           samia-batch retention on a plain events_raw (rows in committed batches of BATCH)
#   one DELETE        the peer: one statement deleting the same rows from a plain copy
# While each runs, a writer inserts one event at a time through one psql session with \timing:
# its longest insert is how long the purge made the API's writes wait.
#   usage: bench/retention-partitions.sh [EVENTS] [EXPIRED_DAYS] [BATCH]   (defaults: 10000000 10 5000)
set -euo pipefail
source "$(dirname "$0")/common.sh"
events=${1:-10000000}
expired_days=${2:-10}
batch=${3:-5000}
bench_start partitions
export PGDATABASE=samia_demo SAMIA_LOG_FORMAT=json SAMIA_STORAGE_DIR="$work/storage"
mkdir -p "$work/storage"
"$bin" dev init --reset >/dev/null
echo "generating $events events over 100 days, the oldest $expired_days days past 90 days"
# The events end 1 hour before now, so the newest day is partly filled, like a live table.
psql -X -q -v ON_ERROR_STOP=1 -v events="$events" <<'SQL'
SET synchronous_commit = off;
ALTER TABLE public.events_raw RENAME TO events_raw_template;
CREATE UNLOGGED TABLE bench_times AS
SELECT now() - interval '1 hour' - (interval '100 days' * g / :events) AS occurred_at FROM generate_series(1, :events) g;
INSERT INTO public.events_raw_template (occurred_at, event, service_code, props)
SELECT occurred_at, 'page_view', 'tarot', '{"ms": 12}' FROM bench_times ORDER BY occurred_at;
DROP TABLE bench_times;
SQL

# The partitioned table: one partition per UTC day, a default one, the time index
# (scripts/partition-events-raw.sql, filled from the template).
make_partitioned() {
  psql -X -q -c "DROP TABLE IF EXISTS public.events_raw"
  local first last
  first=$(psql -X -At -c "SELECT (now() AT TIME ZONE 'UTC')::date - 101")
  last=$(psql -X -At -c "SELECT (now() AT TIME ZONE 'UTC')::date + 1")
  psql -X -q -v first="$first" -v last="$last" -v source=events_raw_template -f scripts/partition-events-raw.sql
  psql -X -q -c "VACUUM ANALYZE public.events_raw"
}
make_plain() {
  psql -X -q -v ON_ERROR_STOP=1 <<'SQL'
DROP TABLE IF EXISTS public.events_raw;
CREATE TABLE public.events_raw (LIKE public.events_raw_template INCLUDING DEFAULTS INCLUDING INDEXES);
INSERT INTO public.events_raw SELECT * FROM public.events_raw_template;
VACUUM ANALYZE public.events_raw;
SQL
}
# The policy: the repository's data map with one rule on events_raw, kept 90 days.
policy() {
  sed -n '1,/^retention:/p' policy/data-map.yaml | sed '$d'
  printf 'retention:\n  batch_size: %s\n  pause_ms: 0\n  rules:\n    raw-events: { table: events_raw, age: occurred_at, keep_days: 90, max_fraction: 0.5%s }\n' "$batch" "$1"
}
policy ", drop_partitions: true" > "$work/partitions.yaml"
policy "" > "$work/batches.yaml"

# Runs COMMAND... while one psql session inserts an event at a time; prints "SECONDS LONGEST_MS".
timed_with_writer() {
  ( while true; do echo "INSERT INTO public.events_raw (occurred_at, event) VALUES (now(), 'bench_write');"; sleep 0.005; done ) \
    | psql -X -q -v ON_ERROR_STOP=0 -c '\timing on' -f - > "$work/writer.out" 2>&1 &
  local writer=$!
  # The copies just written are flushed first, so no purge runs beside the checkpoint of the
  # last load (one run's drop took 1.54 s here, the same drop by hand 0.43 s).
  psql -X -q -c "CHECKPOINT"
  sleep 1
  local start end
  start=$(date +%s.%N)
  "$@" > "$work/run.out" 2>&1 || { cat "$work/run.out" >&2; kill "$writer"; exit 1; }
  end=$(date +%s.%N)
  sleep 0.5
  kill "$writer" 2>/dev/null || true
  wait "$writer" 2>/dev/null || true
  local longest
  longest=$(grep -o 'Time: [0-9.]* ms' "$work/writer.out" | awk '{ if ($2 > m) m = $2 } END { printf "%.1f", m }')
  echo "$(echo "$end - $start" | bc) $longest"
}
count_expired() {
  psql -X -At -c "SELECT count(*) FROM public.events_raw WHERE occurred_at < now() - interval '90 days'"
}

make_partitioned
due=$(count_expired)
read -r part_s part_wait < <(timed_with_writer env SAMIA_DATA_MAP="$work/partitions.yaml" "$bin" retention --rule raw-events)
grep '^retention' "$work/run.out"
left_part=$(count_expired)

make_plain
read -r batch_s batch_wait < <(timed_with_writer env SAMIA_DATA_MAP="$work/batches.yaml" "$bin" retention --rule raw-events)
grep '^retention' "$work/run.out"

make_plain
read -r delete_s delete_wait < <(timed_with_writer psql -X -q -v ON_ERROR_STOP=1 -c "DELETE FROM public.events_raw WHERE occurred_at < now() - interval '90 days'")
left_plain=$(count_expired)
# A DELETE leaves its rows' space to VACUUM; a dropped partition's files are gone at commit.
vstart=$(date +%s.%N); psql -X -q -c "VACUUM public.events_raw"; vend=$(date +%s.%N)
vacuum_s=$(echo "$vend - $vstart" | bc)

echo "expired rows: $due of $events; left after drop_partitions: $left_part (the day straddling the cutoff), after DELETE: $left_plain"
python3 - "$due" "$part_s" "$part_wait" "$batch_s" "$batch_wait" "$delete_s" "$delete_wait" "$vacuum_s" <<'PY'
import sys
due, part_s, part_w, batch_s, batch_w, delete_s, delete_w, vacuum_s = sys.argv[1:]
due = int(due)
print("| purge | seconds | longest API insert meanwhile | time ÷ drop_partitions |")
print("| --- | ---: | ---: | ---: |")
for name, s, w in (("drop_partitions (samia-batch)", part_s, part_w), (f"batches (samia-batch)", batch_s, batch_w),
                   ("one DELETE (peer)", delete_s, delete_w)):
    print(f"| {name} | {float(s):.2f} s | {float(w):.1f} ms | {float(s) / float(part_s):.1f}× |")
print(f"then VACUUM of the plain table after the DELETE (its space back): {float(vacuum_s):.2f} s")
PY
