#!/usr/bin/env bash
# The scale-out benchmark (issue 9): the same queue worked by 1, 2 and 4 `samia-batch invoices`
# processes started together against one PostgreSQL, each count on a fresh copy of the same
# database. Reports documents/s, the speed-up against one worker (the peer), and checks every run
# for gapless, unique numbers and one PDF per document.
#   usage: bench/scaleout.sh [ORDERS] [ROUNDS]    (defaults: 600 orders, 2 rounds)
set -euo pipefail
source "$(dirname "$0")/common.sh"
orders=${1:-600}
rounds=${2:-2}
bench_start scaleout
export PGDATABASE=samia_scaleout
export SAMIA_LOG_FORMAT=json
.build/release/samia-batch dev init --reset >/dev/null
psql -X -q -v ON_ERROR_STOP=1 -v orders="$orders" -f Tests/CLITests/Fixtures/invoicing.sql
mkdir -p bench/results
python3 bench/scaleout.py "$root/.build/release/samia-batch" "$work" "$orders" "$rounds" \
  "bench/results/scaleout-$(date -u +%Y%m%dT%H%M%SZ).jsonl"
