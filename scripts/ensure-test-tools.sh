#!/usr/bin/env bash
# Python tools the tests run as independent peers: moto's S3-protocol server, which checks
# every request's AWS Signature V4, for the S3 object store. Installed once into .venv-test/.
#   usage: scripts/ensure-test-tools.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.venv-test"
if [ ! -x "$venv/bin/moto_server" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "moto[server]==5.2.1"
fi
