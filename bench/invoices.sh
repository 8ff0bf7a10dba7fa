#!/usr/bin/env bash
# The invoice-rendering benchmark: the same N varied bilingual invoices (QR included, one A4 page)
# rendered by samia-batch and, in the same run, by WeasyPrint, fpdf2 (HarfBuzz shaping on) and
# Typst, with the same four Noto fonts. Reports invoices/s for the whole process, median bytes,
# peak memory, and independent checks (qpdf, pdffonts, pdftotext, zbarimg) of every tool's output.
# LINES is the range of line items per document: 1-4 (one page; the default) or 1-60 (the long
# mix: documents over several pages, `make bench-invoices-long`).
#   usage: bench/invoices.sh [N] [ROUNDS] [LINES]     (defaults: 200 invoices, 3 rounds, 1-4)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-200}
rounds=${2:-3}
lines=${3:-1-4}
cd "$root"
# WeasyPrint needs Pango at run time; the rest comes with `make deps`.
scripts/ensure-packages.sh libpango-1.0-0 libpangoft2-1.0-0 python3-venv
[ -x bench/.venv/bin/python ] || python3 -m venv bench/.venv
bench/.venv/bin/pip install -q -r bench/invoices/requirements.txt
swift build -c release --product samia-batch >/dev/null
work=$(mktemp -d /tmp/samia-invoice-bench-XXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p bench/results
bench/.venv/bin/python bench/invoices/generate.py "$work/docs" "$n" "$lines"
bench/.venv/bin/python bench/invoices/run.py "$root/.build/release/samia-batch" "$work/docs" "$work" "$rounds" \
  "bench/results/invoices-$lines-$(date -u +%Y%m%dT%H%M%SZ).jsonl"
