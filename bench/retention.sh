#!/usr/bin/env bash
# The retention benchmark (issue 6): EXPIRED expired horoscopes, each with its own audio row and
# object on the filesystem store, among TOTAL horoscopes. Two runs on identical copies (the
# database from one template, the objects as hard links of one set):
#   samia-batch retention --rule horoscopes   batches of BATCH rows, objects deleted after each commit
#   the peer: one statement                    DELETE the horoscopes and their media rows in one go
# While each runs, a writer keeps updating random expired horoscopes by primary key, one at a
# time through one psql session with \timing: its longest wait is how long
# the purge made an API write wait. Reports rows/s for both, the ratio, and the longest waits.
# With WORKERS > 1, that many `samia-batch retention` processes start together (they share the
# rows through SKIP LOCKED, docs/scaling.md).
#   usage: bench/retention.sh [TOTAL] [EXPIRED] [BATCH] [WORKERS]   (defaults: 10000000 1000000 5000 1)
# Each process purges on SESSIONS sessions at once (the policy's `workers:`; default 2, the job's default).
set -euo pipefail
source "$(dirname "$0")/common.sh"
total=${1:-10000000}
expired=${2:-1000000}
batch=${3:-5000}
workers=${4:-1}
bench_start retention
export PGDATABASE=samia_demo
export SAMIA_LOG_FORMAT=json
"$bin" dev init --reset >/dev/null
echo "generating $total horoscopes, $expired of them expired with their own audio"
start=$(date +%s)
psql -X -q -v ON_ERROR_STOP=1 -v total="$total" -v expired="$expired" <<'SQL'
SET synchronous_commit = off;
INSERT INTO public.media_assets (kind, url, bytes)
SELECT 'audio', 'horoscopes/bench/' || (g / 1000) || '/' || g || '.mp3', 1 FROM generate_series(1, :expired) g;
-- Older rows have lower ids, as in production: the expired ones come first.
INSERT INTO public.horoscopes (scope, zodiac, ref_date, audio_media_id, text_content, approved_at)
SELECT 'daily', 'z' || g,
       CASE WHEN g <= :expired THEN current_date - 61 - (:expired - g) / 10000 ELSE current_date - ((g * 7) % 55) END,
       CASE WHEN g <= :expired THEN g END, 'text', now()
  FROM generate_series(1, :total) g;
VACUUM ANALYZE public.horoscopes;
VACUUM ANALYZE public.media_assets;
SQL
psql -X -q -c "ALTER DATABASE samia_demo IS_TEMPLATE true" -d postgres
echo "writing $expired objects"
python3 - "$work/objects" "$expired" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
for g in range(1, n + 1):
    d = f"{root}/horoscopes/bench/{g // 1000}"
    if g % 1000 == 0 or g == 1:
        os.makedirs(d, exist_ok=True)
    with open(f"{d}/{g}.mp3", "wb") as f:
        f.write(b"a")
PY
echo "data ready in $(( $(date +%s) - start )) s"

cat > "$work/data-map.yaml" <<YAML
$(sed '/^retention:/,$d' policy/data-map.yaml)
retention:
  time_zone: UTC
  batch_size: $batch
  pause_ms: 0
  workers: ${SESSIONS:-2}
  rules:
    horoscopes: { table: horoscopes, age: ref_date, keep_days: 60, floor_days: 60, media: [audio_media_id], max_fraction: 0.5 }
YAML

# The writer: one psql session, one UPDATE of a random expired row (by primary key) every 20 ms,
# each waited for and timed with \timing. A row the purge holds makes it wait until that
# transaction ends: with batches about one batch in 200 is hit, with one statement most are.
writer() {
  python3 "$root/bench/timed_writer.py" "$2" "$work/stop" "$expired" \
    "UPDATE public.horoscopes SET text_content = 'edited' WHERE id = {id}" "$1"
}
longest() { grep -o 'Time: [0-9.]*' "$1" | awk '{ if ($2 > m) m = $2 } END { printf "%.1f", m }'; }

run() {
  local name=$1 db=$2
  psql -X -q -d postgres -c "CREATE DATABASE $db TEMPLATE samia_demo"
  rm -rf "$work/storage" && cp -al "$work/objects" "$work/storage"
  rm -f "$work/stop"
  writer "$db" "$work/writer-$name.log" &
  local wpid=$!
  sleep 1
  local t0 t1
  t0=$(date +%s.%N)
  if [ "$name" = samia ]; then
    local pids=() w
    for w in $(seq 1 "$workers"); do
      DATABASE_URL="host=$PGHOST port=$PGPORT user=postgres dbname=$db" SAMIA_DATA_MAP="$work/data-map.yaml" \
        SAMIA_STORAGE_DIR="$work/storage" "$bin" retention --rule horoscopes > "$work/samia.out.$w" 2> "$work/samia.err.$w" &
      pids+=($!)
    done
    for w in "${pids[@]}"; do wait "$w"; done
    cat "$work"/samia.out.* > "$work/samia.out"
  else
    psql -X -q -d "$db" -v ON_ERROR_STOP=1 <<'SQL'
WITH gone AS (DELETE FROM public.horoscopes t WHERE t.ref_date < current_date - 60 RETURNING t.audio_media_id)
DELETE FROM public.media_assets m USING gone WHERE m.id = gone.audio_media_id
  AND NOT EXISTS (SELECT 1 FROM public.orders o WHERE o.input_media_id = m.id OR o.output_media_id = m.id);
SQL
  fi
  t1=$(date +%s.%N)
  touch "$work/stop"; wait "$wpid" || true
  local left
  left=$(psql -X -At -d "$db" -c "SELECT count(*) FROM public.horoscopes WHERE ref_date < current_date - 60")
  local secs
  secs=$(echo "$t1 - $t0" | bc -l)
  printf '%-10s %8.2f s  %9.0f rows/s  longest writer wait %s ms\n' "$name" "$secs" "$(echo "$expired / $secs" | bc -l)" \
    "$(longest "$work/writer-$name.log")"
  echo "$secs" > "$work/$name.secs"
  if [ "$left" != 0 ]; then
    # SKIP LOCKED leaves a row the writer held at that moment for the next run; check it takes them.
    [ "$name" = samia ] || { echo "$name left $left expired rows" >&2; exit 1; }
    echo "  $left expired row(s) were locked by the writer when their batch came; a second run (not timed):"
    DATABASE_URL="host=$PGHOST port=$PGPORT user=postgres dbname=$db" SAMIA_DATA_MAP="$work/data-map.yaml" \
      SAMIA_STORAGE_DIR="$work/storage" "$bin" retention --rule horoscopes 2>/dev/null | sed 's/^/  /'
    left=$(psql -X -At -d "$db" -c "SELECT count(*) FROM public.horoscopes WHERE ref_date < current_date - 60")
    [ "$left" = 0 ] || { echo "$name still left $left expired rows" >&2; exit 1; }
  fi
}

echo "== runs ($expired of $total rows; batch $batch; $workers process(es) of ${SESSIONS:-2} session(s))"
run samia run_samia
grep '^retention horoscopes' "$work/samia.out"
psql -X -At -d run_samia -c "SELECT 'per run: ' || string_agg(format('%s rows in %s batches, transactions %s ms, object deletes %s ms (own thread)',
    stats->>'horoscopes.rows_deleted', stats->>'horoscopes.batches', stats->>'horoscopes.transaction_ms',
    stats->>'horoscopes.object_delete_ms'), '; ') FROM batch_runs WHERE job = 'retention' AND NOT dry_run"
objects_left=$(find "$work/storage/horoscopes/bench" -type f | wc -l)
echo "objects left on the store after samia-batch: $objects_left"
run single run_single
echo "samia-batch / single DELETE time ratio: $(echo "$(cat "$work/samia.secs") / $(cat "$work/single.secs")" | bc -l | xargs printf '%.2f')"
