#!/usr/bin/env bash
# Python tools the tests run as independent peers, installed once into .venv-test/:
#   moto's S3-protocol server, which checks every request's AWS Signature V4 (the S3 store);
#   kubernetes-validate, the Kubernetes OpenAPI schemas offline (schedules/kubernetes);
#   croniter, an independent reading of cron schedules (schedules/cron against the timers).
#   usage: scripts/ensure-test-tools.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.venv-test"
[ -x "$venv/bin/python3" ] || python3 -m venv "$venv"
if [ ! -x "$venv/bin/moto_server" ] || [ ! -x "$venv/bin/kubernetes-validate" ] \
  || ! "$venv/bin/python3" -c 'import croniter' 2>/dev/null; then
  "$venv/bin/pip" install -q "moto[server]==5.2.1" "kubernetes-validate==1.31.0" "croniter==6.0.0"
fi
