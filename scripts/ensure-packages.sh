#!/usr/bin/env bash
# Installs the Debian packages named as arguments that are not installed yet (apt, as root or
# through sudo). Used by `make deps` and by the benchmarks for what only they need.
#   usage: scripts/ensure-packages.sh PACKAGE...
set -euo pipefail
need=()
for p in "$@"; do
  dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
[ ${#need[@]} -eq 0 ] && exit 0
echo "installing: ${need[*]}"
SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
