#!/usr/bin/env bash
# The DSR benchmark (issue 5): one export of a subject with ORDERS orders and MEDIA media objects
# (incompressible, ~200 KB each, on the filesystem store), then `dsr process` over QUEUED approved
# exports on scale-10 demo data. Reports time per request and peak memory, and compares the big
# export's ZIP write rate with the disk's (copying the same media with cat) and with bsdtar writing
# a stored ZIP of the same media, and times the same export with its store in memory (tmpfs): the
# CPU work alone. No peer is named in the issue.
#   usage: bench/dsr.sh [ORDERS] [MEDIA] [QUEUED]    (defaults: 10000 1000 1000)
#   SAMIA_BENCH_BASELINE_BIN=path also times another build's export of the same subject.
#   SAMIA_BENCH_DISK_PAIRS=N sets how many disk/export pairs are timed (default 3).
set -euo pipefail
source "$(dirname "$0")/common.sh"
orders=${1:-10000}
media=${2:-1000}
queued=${3:-1000}
scripts/ensure-packages.sh time libarchive-tools
bench_start dsr
export PGDATABASE=samia_bench
export DATABASE_URL="host=$PGHOST port=$PGPORT user=postgres dbname=$PGDATABASE"
export SAMIA_LOG_FORMAT=json SAMIA_STORAGE_DIR="$work/storage" SAMIA_SIGNING_KEY_FILE="$work/signing.key"
export SAMIA_DPO_CONTACT="privacy@samia.example"
# The seed hashes analytics actors with the demo's salt (docs/privacy.md: dsr process needs it).
printf 'demo-salt' > "$work/actor.salt"
export SAMIA_ACTOR_SALT_FILE="$work/actor.salt"
"$bin" keygen --out "$SAMIA_SIGNING_KEY_FILE" >/dev/null
"$bin" dev init --reset >/dev/null
echo "seeding scale 10"
"$bin" dev seed --scale 10 --seed 42 >/dev/null
subject=$(psql -X -At -c "SELECT p.id FROM public.profiles p JOIN public.roles r ON r.id = p.role_id WHERE r.code = 'client' ORDER BY p.id LIMIT 1")
echo "subject $subject: adding $orders orders and $media media objects"
psql -X -q -v ON_ERROR_STOP=1 -v subject="$subject" -v orders="$orders" -v media="$media" <<'SQL'
INSERT INTO public.orders (user_id, service_id, status, question_text, created_at)
SELECT :'subject', (SELECT min(id) FROM public.services), 'delivered',
       'Question ' || g || ': will the new job in Riyadh work out? سؤال عن العمل الجديد. Contact my friend at f' || g || '@example.net',
       now() - make_interval(hours => g)
  FROM generate_series(1, :orders) g;
INSERT INTO public.media_assets (owner_id, kind, url, bytes)
SELECT :'subject', 'image', 'bench/' || :'subject' || '/upload-' || g || '.jpg', 200000 FROM generate_series(1, :media) g;
SQL
mkdir -p "$work/storage/bench/$subject"
for i in $(seq 1 "$media"); do head -c 200000 /dev/urandom > "$work/storage/bench/$subject/upload-$i.jpg"; done
# The fresh data's maintenance now rather than during the timings: autovacuum and the next
# checkpoint would otherwise read, hint and write the seeded tables beside the first exports.
psql -X -q -c "VACUUM (ANALYZE)" -c "CHECKPOINT"
sync

# Queues and approves one export of the subject, then times `dsr process` by BINARY (GNU time:
# seconds and peak KiB into TIMEFILE, the output into OUTFILE).
#   usage: timed_export BINARY TIMEFILE OUTFILE
timed_export() {
  "$bin" dsr request export --subject "$subject" --identity account_session --evidence bench >/dev/null
  "$bin" dsr approve "$(psql -X -At -c 'SELECT max(id) FROM public.dsr_requests')" >/dev/null
  /usr/bin/time -f "%e %M" -o "$2" "$1" dsr process > "$3"
}
timed_export "$bin" "$work/one.time" "$work/one.out"
read -r one_s one_kib < "$work/one.time"
grep '^export #' "$work/one.out"
# Optional: the same export by another build (SAMIA_BENCH_BASELINE_BIN, e.g. the previous commit's
# release binary), then by this one again, on the same data in the same run.
if [ -n "${SAMIA_BENCH_BASELINE_BIN:-}" ]; then
  for who in baseline this baseline this; do
    b=$bin; [ "$who" = baseline ] && b=$SAMIA_BENCH_BASELINE_BIN
    timed_export "$b" "$work/ab.time" "$work/ab.out"
    echo "$who: whole process $(cut -d' ' -f1 "$work/ab.time") s; $(grep '^export #' "$work/ab.out")"
  done
fi
one_bytes=$(grep -o '[0-9]* bytes' "$work/one.out" | head -1 | cut -d' ' -f1)
# The disk's rate for the same bytes, measured in turn with the export, because this rate moves
# by half within minutes on a shared VM: each pair copies the media into one file with cat and
# syncs it (the export's unavoidable I/O: read the objects, write them, flush), then runs the
# same export again (request, approve, whole `dsr process`). Both read warm media.
pairs=${SAMIA_BENCH_DISK_PAIRS:-3}
: > "$work/pairs"
# The same export with its store and scratch space in memory (tmpfs), where writing costs no disk:
# what the export's CPU work alone takes on this machine. Where the export on the disk takes
# longer than that, the difference is waiting for the disk: the export is I/O-bound.
mem=$(mktemp -d /dev/shm/samia-dsr-bench-XXXX)
trap 'rm -rf "$mem"; bench_cleanup' EXIT
mkdir -p "$mem/storage" "$mem/tmp"
cp -R "$work/storage/bench" "$mem/storage/"
for p in $(seq 1 "$pairs"); do
  sync
  start=$(date +%s.%N)
  cat "$work/storage/bench/$subject"/*.jpg > "$work/copy.bin"; sync
  end=$(date +%s.%N)
  copy_bytes=$(stat -c %s "$work/copy.bin")
  rm -f "$work/copy.bin"; sync
  # A standard tool's stored ZIP of the same media, synced: what plain archiving of these bytes
  # costs on this machine (no signed manifest, no per-entry SHA-256, no database).
  zstart=$(date +%s.%N)
  bsdtar --format zip --options zip:compression=store -cf "$work/ref.zip" -C "$work/storage" "bench/$subject"; sync
  zend=$(date +%s.%N)
  rm -f "$work/ref.zip"; sync
  timed_export "$bin" "$work/pair.time" "$work/pair.out"
  pair_bytes=$(grep -o '[0-9]* bytes' "$work/pair.out" | head -1 | cut -d' ' -f1)
  # The export's own time (from claiming the request to the artefact stored), without the
  # process's start-up and data-map check.
  pair_ms=$(grep -o 'bytes in [0-9]* ms' "$work/pair.out" | head -1 | cut -d' ' -f3)
  SAMIA_STORAGE_DIR="$mem/storage" TMPDIR="$mem/tmp" timed_export "$bin" "$work/mem.time" "$work/mem.out"
  mem_ms=$(grep -o 'bytes in [0-9]* ms' "$work/mem.out" | head -1 | cut -d' ' -f3)
  find "$mem/storage" -name '*.zip' -delete
  echo "$start $end $copy_bytes $(cut -d' ' -f1 "$work/pair.time") $pair_bytes $zstart $zend $pair_ms" \
    "$(cut -d' ' -f1 "$work/mem.time") $mem_ms" >> "$work/pairs"
done
rm -rf "$mem"

echo "queueing $queued approved exports"
psql -X -q -v ON_ERROR_STOP=1 -v n="$queued" -v subject="$subject" <<'SQL'
INSERT INTO public.dsr_requests (subject, kind, status, requested_by, approved_by, approved_at, due_at)
SELECT p.id, 'export', 'approved', 'bench', 'bench', now(), now() + interval '1 month'
  FROM public.profiles p WHERE p.id <> :'subject' ORDER BY p.id LIMIT :n;
SQL
/usr/bin/time -f "%e %M" -o "$work/many.time" "$bin" dsr process > "$work/many.out"
read -r many_s many_kib < "$work/many.time"
# grep finds nothing when QUEUED is 0; the summary is still printed.
done_n=$(grep -c '^export #' "$work/many.out" || true)
{ grep '^export #' "$work/many.out" || true; } | sed -n '1p;$p'
# Time inside the exports versus the whole process (start-up, data-map check, claiming).
{ grep -o 'in [0-9]* ms' "$work/many.out" || true; } | awk '{s += $2} END {printf "time inside the exports: %.2f s\n", s / 1000}'
python3 - "$one_s" "$one_kib" "$one_bytes" "$work/pairs" "$many_s" "$many_kib" "$done_n" "$orders" "$media" <<'PY'
import statistics, sys
one_s, one_kib, one_bytes, pairs, many_s, many_kib, done, orders, media = sys.argv[1:]
one_s, many_s = float(one_s), float(many_s)
print(f"one export ({orders} orders, {media} media): {one_s:.2f} s, {int(one_bytes) / 1e6:.1f} MB ZIP, "
      f"{int(one_bytes) / one_s / 1e6:.1f} MB/s; peak {int(one_kib) // 1024} MiB")
ratios, versus_bsdtar, own, waiting = [], [], [], []
for n, line in enumerate(open(pairs), 1):
    start, end, copy_bytes, export_s, export_bytes, zstart, zend, export_ms, mem_s, mem_ms = line.split()
    disk_s = float(end) - float(start)
    disk_rate = int(copy_bytes) / disk_s
    zip_rate = int(export_bytes) / float(export_s)
    bsdtar_s = float(zend) - float(zstart)
    ratios.append(zip_rate / disk_rate)
    versus_bsdtar.append(bsdtar_s / float(export_s))
    # The export's own ZIP rate (claim to stored), and how much longer it took on the disk than in memory.
    own.append(int(export_bytes) / (int(export_ms) / 1000) / disk_rate)
    waiting.append(int(export_ms) - int(mem_ms))
    print(f"pair {n}: disk (cat + sync of the media) {disk_rate / 1e6:.1f} MB/s; bsdtar stored ZIP + sync "
          f"{bsdtar_s:.2f} s; export {float(export_s):.2f} s, {zip_rate / 1e6:.1f} MB/s -> {ratios[-1]:.2f}x disk, "
          f"{versus_bsdtar[-1]:.2f}x bsdtar's speed; the export itself {export_ms} ms -> {own[-1]:.2f}x disk; "
          f"in memory (tmpfs) {float(mem_s):.2f} s, the export itself {mem_ms} ms")
if ratios:
    print(f"export at {statistics.median(ratios):.2f}x disk speed and {statistics.median(versus_bsdtar):.2f}x "
          f"bsdtar's speed (medians of {len(ratios)} pairs, whole process)")
    print(f"the export itself (request claimed to artefact stored) at {statistics.median(own):.2f}x disk speed; "
          f"{statistics.median(waiting)} ms longer on the disk than in memory (medians)")
if int(done) > 0:
    print(f"{done} queued exports: {many_s:.2f} s, {many_s / int(done) * 1000:.0f} ms per request; peak {int(many_kib) // 1024} MiB")
else:
    print(f"no queued exports (QUEUED=0): the empty dsr process took {many_s:.2f} s; peak {int(many_kib) // 1024} MiB")
PY
