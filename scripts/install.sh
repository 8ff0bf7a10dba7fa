#!/usr/bin/env bash
# Copies a built samia-batch and everything it reads into DESTDIR/PREFIX (see `make install`).
#   usage: scripts/install.sh BIN_PATH DESTDIR PREFIX
set -euo pipefail
bin=${1:?BIN_PATH}; destdir=${2:-}; prefix=${3:?PREFIX}
root=$(cd "$(dirname "$0")/.." && pwd)
target="$destdir$prefix"
share="$target/share/samia-batch"
install -d "$target/bin" "$share" "$target/share/doc/samia-batch"
install -m 0755 "$bin/samia-batch" "$target/bin/samia-batch"
install -m 0755 "$root/schedules/cron/samia-batch-scheduled" "$target/bin/samia-batch-scheduled"
# SwiftPM resource bundles (the migrations) are found beside the executable.
for bundle in "$bin"/*.resources; do
  rm -rf "$target/bin/$(basename "$bundle")"
  cp -R "$bundle" "$target/bin/"
done
# Templates and schedules are ours: replaced whole (the paths are fixed, never empty).
for part in templates schedules; do
  rm -rf "${share:?}/$part"
  cp -R "$root/$part" "$share/$part"
done
# Policy files are the operator's once installed: never deleted or overwritten. A file not yet
# there is installed; one that differs from the new example is left alone and the example goes
# beside it as FILE.dist, as dpkg does with changed configuration files.
install -d "$share/policy"
for example in "$root"/policy/*; do
  name=$(basename "$example")
  if [ ! -e "$share/policy/$name" ]; then
    install -m 0644 "$example" "$share/policy/$name"
  elif ! cmp -s "$example" "$share/policy/$name"; then
    install -m 0644 "$example" "$share/policy/$name.dist"
    echo "kept your $share/policy/$name; the new example is $name.dist beside it"
  fi
done
# The schedules name the installed binary.
grep -rl '@BINDIR@' "$share/schedules" | while read -r f; do
  sed -i "s#@BINDIR@#$prefix/bin#g" "$f"
done
cp "$root"/docs/*.md "$root/README.md" "$target/share/doc/samia-batch/"
echo "installed $("$target/bin/samia-batch" --version) into $target"
echo "next: schedules/README.md in $share/schedules says how to enable the timers, cron or CronJobs"
