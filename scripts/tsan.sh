#!/usr/bin/env bash
# The whole test suite built with Thread Sanitizer (into .build-tsan), the samia-batch binary the
# CLI tests start included; fails on any report, in the test process or in a child.
#   usage: scripts/tsan.sh [swift test arguments, e.g. --filter Runner]
set -euo pipefail
cd "$(dirname "$0")/.."
swift build --build-tests --sanitize=thread --scratch-path .build-tsan
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
  swift test --skip-build --sanitize=thread --scratch-path .build-tsan "$@" 2>&1 | tee "$log" || status=$?
if grep -q "WARNING: ThreadSanitizer" "$log"; then
  echo "tsan: Thread Sanitizer reported a race or a lock misuse (above)" >&2
  exit 1
fi
exit "$status"
