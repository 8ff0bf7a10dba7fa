#!/usr/bin/env bash
# Time per invoice as each field grows to its documented limit (issue 34, point 5: linear time
# and bounded memory in the length of every field). See bench/invoices/scaling.py.
#   usage: bench/invoice-scaling.sh [COPIES]    (default 200 documents per size)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/ensure-packages.sh time python3
swift build -c release --product samia-batch >/dev/null
work=$(mktemp -d /tmp/samia-invoice-scaling-XXXX)
trap 'rm -rf "$work"' EXIT
# The shipped demo seller's registrations (invented numbers, valid in form).
set -a; source scripts/demo-seller.env; set +a
python3 bench/invoices/scaling.py "$root/.build/release/samia-batch" "$work" "${1:-200}"
