#!/usr/bin/env bash
# The demo: a throwaway PostgreSQL 15 in PGDIR, a dev database with demo data, the nightly jobs,
# and the outputs under OUT. Safe to run again: the dev database is recreated each time.
#   usage: scripts/demo.sh PGDIR OUT SCALE
set -euo pipefail
pgdir=${1:?PGDIR}; out=${2:?OUT}; scale=${3:-1}
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${SAMIA_BIN:-$root/.build/release/samia-batch}
[ -x "$bin" ] || { echo "demo: no release binary at $bin (make demo builds it: swift build -c release)" >&2; exit 78; }
mkdir -p "$out"
# Not `eval "$(pg-start.sh)"`: a failed start must stop the demo here, with pg-start's message.
cluster_env=$("$root/scripts/pg-start.sh" "$pgdir") || { echo "demo: the PostgreSQL cluster did not start (above)" >&2; exit 1; }
eval "$cluster_env"
: "${PGHOST:?pg-start.sh printed no PGHOST}" "${PGPORT:?pg-start.sh printed no PGPORT}"
export DATABASE_URL="host=$PGHOST port=$PGPORT user=postgres dbname=samia_demo"
export SAMIA_METRICS_TEXTFILE="$out/metrics/samia_batch.prom"
export SAMIA_LOG_FORMAT=${SAMIA_LOG_FORMAT:-text}
# The platform cuts its days at midnight in Beirut: the night, the metrics and the month
# reconciled are all Beirut's, as in production.
export SAMIA_TIMEZONE=${SAMIA_TIMEZONE:-Asia/Beirut}
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
# A fictional seller for the demo; production sets these in its environment file.
export INVOICE_FROM_NAME=${INVOICE_FROM_NAME:-Samia Readings LLC (demo)}
export INVOICE_FROM_NAME_AR=${INVOICE_FROM_NAME_AR:-شركة سامية للقراءات (تجريبي)}
export INVOICE_FROM_ADDRESS=${INVOICE_FROM_ADDRESS:-King Fahd Road, Riyadh 12271, Saudi Arabia}
export INVOICE_FROM_ADDRESS_AR=${INVOICE_FROM_ADDRESS_AR:-طريق الملك فهد، الرياض 12271، المملكة العربية السعودية}
export INVOICE_FROM_EMAIL=${INVOICE_FROM_EMAIL:-billing@samia.example}
# A tax number for each registration in policy/vat-rates.yaml, unless the environment has one.
while IFS='=' read -r name value; do
  if [[ $name =~ ^[A-Z_]+$ ]] && [ -z "${!name:-}" ]; then export "$name=$value"; fi
done < "$root/scripts/demo-seller.env"
export SAMIA_STORAGE_DIR=${SAMIA_STORAGE_DIR:-$out/storage}
echo "== example documents rendered from templates/examples/"
mkdir -p "$out/examples"
for kind in invoice receipt credit-note; do
  "$bin" render "$kind" --input "$root/templates/examples/$kind.json" --out "$out/examples/$kind.pdf"
done
# Last month, in the service's zone: the one the demo reconciles.
this_month=$(TZ="$SAMIA_TIMEZONE" date +%Y-%m-01)
month=$(date -d "$this_month -1 month" +%Y-%m)
echo "== invoices for $month, numbered night by night as the nightly would have (SAMIA_NOW: dev databases only)"
night=$(date -d "${month}-01" +%F)
while [ "$night" \< "$this_month" ] || [ "$night" = "$this_month" ]; do
  # 00:30 in Beirut: yesterday's payments (and, the first night, the whole backlog before it).
  stats=$(SAMIA_NOW=$(TZ="$SAMIA_TIMEZONE" date -d "$night 00:30" --iso-8601=seconds) "$bin" invoices 2>>"$out/invoices-replay.log") \
    || { echo "demo: the invoice run of $night failed; see $out/invoices-replay.log" >&2; exit 1; }
  printf '  %s 00:30  %s\n' "$night" "$(tr ' ' '\n' <<<"$stats" | grep -E '^(invoices_issued|credit_notes_issued|pdfs_stored)=' | paste -sd' ')"
  night=$(date -d "$night +1 day" +%F)
done
echo "== nightly jobs: the rest of the backlog, then metrics and retention"
"$bin" nightly
echo "== daily metrics: backfill of the previous 30 days ($SAMIA_TIMEZONE)"
today=$(TZ="$SAMIA_TIMEZONE" date +%F)
"$bin" metrics --backfill "$(date -d "$today -31 days" +%F)" "$(date -d "$today -2 days" +%F)" | tail -n 2
psql "$DATABASE_URL" -X -q -c "SELECT o.day, sum(o.orders_created) AS orders, sum(o.orders_delivered) AS delivered,
    p.payments_succeeded AS paid, round(p.first_pass_success_rate::numeric, 3) AS first_pass, c.calls_started AS calls,
    pl.daily_active_clients AS active_clients
  FROM metrics_daily_orders o JOIN metrics_daily_payments p USING (day) JOIN metrics_daily_calls c USING (day)
  JOIN metrics_daily_platform pl USING (day)
 GROUP BY o.day, p.payments_succeeded, p.first_pass_success_rate, c.calls_started, pl.daily_active_clients
 ORDER BY o.day DESC LIMIT 7"
psql "$DATABASE_URL" -X -q -c "SELECT e.day, e.active_customers AS customers, e.new_customers AS new,
    e.returning_customers AS returning, r.bookings, r.double_bookings, round(r.call_utilisation::numeric, 3) AS call_util,
    i.incidents_opened AS incidents, i.mttr_avg_s
  FROM metrics_daily_engagement e JOIN metrics_daily_readers r USING (day) JOIN metrics_daily_incidents i USING (day)
 ORDER BY e.day DESC LIMIT 7"
echo "== monthly reconciliation of last month, with settlement reports generated from the demo ledger"
from=$(date -u -d "${month}-01 -1 month" +%F); to=$(date -u -d "${month}-01 +1 month +3 days" +%F)
mkdir -p "$out/settlement" "$out/reconciliation"
psql "$DATABASE_URL" -X -q -v from="$from" -v to="$to" -f "$root/scripts/demo-settlement/stripe.sql" \
  > "$out/settlement/balance_change_from_activity.itemized.$month.csv"
psql "$DATABASE_URL" -X -q -v from="$from" -v to="$to" -f "$root/scripts/demo-settlement/checkout.sql" \
  > "$out/settlement/checkout_financial_actions.$month.csv"
"$bin" reconcile --month "$month" --timezone "$SAMIA_TIMEZONE" --settlement "$out/settlement/"*".$month.csv" \
  --out "$out/reconciliation/reconciliation-$month.zip" | grep -v '^phases'
"$bin" verify "$out/reconciliation/reconciliation-$month.zip" --public-key "$out/keys/signing.key.pub" | tail -n 1
# The story must be true: the ZIP's breaks are exactly what the generator planted, by its rules.
planted=$(psql "$DATABASE_URL" -X -At -F' ' -v month="$month" -v tz="$SAMIA_TIMEZONE" \
  -f "$root/scripts/demo-settlement/planted.sql" | grep -v ' 0$' | sort)
found=$(psql "$DATABASE_URL" -X -At -F' ' -c "WITH r AS (SELECT stats FROM batch_runs WHERE job = 'reconcile'
    AND partition_key = '$month' AND status = 'succeeded' ORDER BY id DESC LIMIT 1)
  SELECT substr(key, 8), value FROM r, jsonb_each_text(r.stats) WHERE key LIKE 'breaks\_%'
  UNION ALL SELECT 'in_transit', stats->>'in_transit' FROM r" | grep -v ' 0$' | sort)
if [ "$planted" != "$found" ]; then
  echo "demo: the finance ZIP's breaks differ from the ones the settlement generator planted:" >&2
  diff <(echo "$planted") <(echo "$found") | sed 's/^</  planted:/; s/^>/  in the ZIP:/' >&2
  exit 1
fi
# The month's journal, added up by awk rather than by samia-batch: every entry must balance.
zip="$out/reconciliation/reconciliation-$month.zip"
unbalanced=$(unzip -p "$zip" ledger/journal.csv | sed '1s/^\xEF\xBB\xBF//' \
  | awk -F, 'NR > 1 { d[$1] += $7 - $8; n[$1]++ } END { for (e in d) if (d[e] > 0.0005 || d[e] < -0.0005) print e, d[e] }')
if [ -n "$unbalanced" ]; then
  echo "demo: journal entries that do not balance (debits - credits):" >&2
  echo "$unbalanced" >&2
  exit 1
fi
journal_entries=$(unzip -p "$zip" ledger/journal.csv | awk -F, 'NR > 1 { e[$1] = 1 } END { print length(e) }')
echo "  journal: $journal_entries balanced entries (day x currency); Xero files: $(unzip -Z1 "$zip" 'ledger/xero-*' | paste -sd' ')"
describe() {
  case $1 in
    missing_in_provider) echo "every 97th Stripe payment of the month left out of the report" ;;
    amount_mismatch) echo "every 89th Stripe payment settled one minor unit high" ;;
    duplicate) echo "every 83rd Stripe payment charged twice" ;;
    timing) echo "every 97th Stripe payment of the previous month's last 3 days: still unsettled" ;;
    in_transit) echo "every 97th Stripe payment of the month's last 3 days: in transit, not a break" ;;
    *) echo "?" ;;
  esac
}
planted_story=$(while read -r kind count; do printf '  %-20s %5s  %s\n' "$kind" "$count" "$(describe "$kind")"; done <<<"$planted")
echo "== data-subject requests: an export (masked, signed) and an erasure, with a dry run first"
export SAMIA_DPO_CONTACT=${SAMIA_DPO_CONTACT:-"privacy@samia.example (demo)"}
# The seed hashes analytics actors with this salt (Sources/Pipelines/Schema/dev/seed.sql);
# production's salt is the platform's secret, in a file only the service user reads.
if [ -z "${SAMIA_ACTOR_SALT_FILE:-}" ]; then
  printf 'demo-salt' > "$out/keys/actor.salt"
  export SAMIA_ACTOR_SALT_FILE="$out/keys/actor.salt"
fi
mkdir -p "$out/dsr"
"$bin" datamap check
client=$(psql "$DATABASE_URL" -X -At -c "SELECT o.user_id FROM public.orders o JOIN public.invoices i ON i.order_id = o.id
  GROUP BY o.user_id ORDER BY count(*) DESC, o.user_id LIMIT 1")
other=$(psql "$DATABASE_URL" -X -At -c "SELECT p.id FROM public.profiles p JOIN public.roles r ON r.id = p.role_id
  WHERE r.code = 'client' AND p.id <> '$client' ORDER BY p.id LIMIT 1")
export_id=$("$bin" dsr request export --subject "$client" --requested-by demo --identity account_session --evidence demo-ticket-1 | sed -n 's/^request #\([0-9]*\):.*/\1/p')
"$bin" dsr approve "$export_id" --by demo >/dev/null
erase_id=$("$bin" dsr request erase --subject "$other" --requested-by demo --identity email_challenge --evidence demo-ticket-2 | sed -n 's/^request #\([0-9]*\):.*/\1/p')
"$bin" dsr approve "$erase_id" --by demo-dpo >/dev/null  # an erasure takes a second person
"$bin" dsr process --dry-run | head -n 8
"$bin" dsr process
"$bin" dsr download "$export_id" --out "$out/dsr/export-$export_id.zip"
"$bin" dsr download "$erase_id" --out "$out/dsr/erasure-proof-$erase_id.zip"
"$bin" verify "$out/dsr/export-$export_id.zip" --public-key "$out/keys/signing.key.pub" | tail -n 1
"$bin" dsr list --all | tail -n 2
"$bin" dev exercise --seconds 0.5
echo "== RLS-parity report for auditors (read and write probes: this is a dev database)"
"$bin" parity --out "$out/parity"
"$bin" verify "$out/parity" --public-key "$out/keys/signing.key.pub" | tail -n 1
echo "== on-call: what a catch-up would run, and whether every job succeeded recently"
"$bin" backfill metrics --from "$(date -d "$today -7 days" +%F)" --to "$(date -d "$today -1 days" +%F)" --dry-run
"$bin" check-freshness --max-age 26h --job invoices --job metrics --job retention --job dsr-process --job parity
echo "== run ledger"
"$bin" runs --limit 10
cat <<TXT

Outputs:
  database      $DATABASE_URL  (psql "\$DATABASE_URL")
  run ledger    samia-batch runs
  metrics       $SAMIA_METRICS_TEXTFILE
  daily KPIs    metrics_daily_* tables (docs/metrics.md)
  invoice PDFs  $SAMIA_STORAGE_DIR/invoices/  (examples: $out/examples/)
  finance ZIP   $out/reconciliation/  (journal for the accountant in ledger/; samia-batch artifacts list; docs/reconciliation.md)
  DSR           $out/dsr/  (an export ZIP and an erasure proof; docs/privacy.md)
  RLS parity    $out/parity/report.html (+ .pdf, .md, .json, signed; docs/parity.md)
  signing key   $out/keys/signing.key (+ .pub)

The finance ZIP for $month ($SAMIA_TIMEZONE) shows exactly the breaks the demo's settlement
generator (scripts/demo-settlement/) planted, and no other: every document was invoiced first.
$planted_story
Stop the database with: make demo-stop
TXT
