#!/usr/bin/env bash
# Builds samia-batch_VERSION_ARCH.deb: the release binary with the Swift runtime linked in
# (--static-swift-stdlib, so the host needs no toolchain), its resource bundle, templates,
# policy examples, schedules, docs, systemd units, shell completions and a man page generated
# from the argument parser, and maintainer scripts that make the `samia-batch` system user.
# Depends is computed from the libraries the binary links (dpkg -S on each NEEDED entry).
#   usage: scripts/package.sh [OUT_DIR]   (VERSION=x.y.z overrides the release number)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/out/package}
mkdir -p "$out"
out=$(cd "$out" && pwd)
cd "$root"
version=${VERSION:-$(sed -n 's/.*static let release = "\(.*\)".*/\1/p' Sources/Pipelines/Runner/Version.swift)}
[ -n "$version" ] || { echo "package: no version found" >&2; exit 78; }
arch=$(dpkg --print-architecture)
scratch=.build-static
# Its own scratch path, never .build: a `swift test` running (the package's own test) holds
# .build's lock for as long as it runs, and a build waiting for it would wait for ever.
build=(swift build -c release --static-swift-stdlib -Xlinker -lcurl --scratch-path "$scratch")
"${build[@]}" --product samia-batch
bin=$("${build[@]}" --show-bin-path)

stage=$(mktemp -d "${TMPDIR:-/tmp}/samia-package.XXXXXX")
trap 'rm -rf "$stage"' EXIT
pkg="$stage/root"
scripts/install.sh "$bin" "$pkg" /usr >/dev/null
strip --strip-unneeded "$pkg/usr/bin/samia-batch"
# systemd units, naming the installed binary (timers stay disabled until the operator enables them).
install -d "$pkg/lib/systemd/system"
for unit in schedules/systemd/*.service schedules/systemd/*.timer; do
  sed "s#@BINDIR@#/usr/bin#g" "$unit" >"$pkg/lib/systemd/system/$(basename "$unit")"
done
# Shell completions and the man page, from the argument parser itself.
install -d "$pkg/usr/share/bash-completion/completions" "$pkg/usr/share/zsh/vendor-completions" \
  "$pkg/usr/share/fish/vendor_completions.d" "$pkg/usr/share/man/man1"
"$pkg/usr/bin/samia-batch" --generate-completion-script bash >"$pkg/usr/share/bash-completion/completions/samia-batch"
"$pkg/usr/bin/samia-batch" --generate-completion-script zsh >"$pkg/usr/share/zsh/vendor-completions/_samia-batch"
"$pkg/usr/bin/samia-batch" --generate-completion-script fish >"$pkg/usr/share/fish/vendor_completions.d/samia-batch.fish"
# swift-argument-parser's generate-manual (the tool its plugin runs; the plugin itself would
# also try the benchmark executable), dated by the commit so the page is reproducible.
"${build[@]}" --product generate-manual >/dev/null
mkdir -p "$stage/man"
"$bin/generate-manual" "$pkg/usr/bin/samia-batch" --output-directory "$stage/man" \
  --date "$(git log -1 --format=%cs 2>/dev/null || date +%F)" --authors "samia-batch developers<ops@samia.example>"
gzip -9n -c "$stage/man/samia-batch.1" >"$pkg/usr/share/man/man1/samia-batch.1.gz"

# Runtime dependencies: the Debian package of every library the binary names as NEEDED.
depends=$(readelf -d "$pkg/usr/bin/samia-batch" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | while read -r lib; do
  path=$(ldconfig -p | awk -v l="$lib" '$1 == l && /x86-64|64bit|aarch64/ { print $NF; exit }')
  [ -n "$path" ] || { echo "package: $lib not found" >&2; exit 78; }
  dpkg -S "$(readlink -f "$path")" 2>/dev/null | head -1 | cut -d: -f1 || dpkg -S "$path" | head -1 | cut -d: -f1
done | sort -u | paste -sd, | sed 's/,/, /g')
[ -n "$depends" ] || { echo "package: no dependencies found" >&2; exit 78; }

install -d "$pkg/DEBIAN"
install -m 0755 packaging/debian/postinst packaging/debian/postrm "$pkg/DEBIAN/"
size=$(du -sk --exclude=DEBIAN "$pkg" | cut -f1)
cat >"$pkg/DEBIAN/control" <<CONTROL
Package: samia-batch
Version: $version
Architecture: $arch
Maintainer: samia-batch developers <ops@samia.example>
Installed-Size: $size
Depends: $depends, adduser, fonts-noto-core, fonts-symbola, fonts-droid-fallback
Section: admin
Priority: optional
Homepage: https://github.com/samia/samia-batch
Description: scheduled back-office jobs for the Samia service
 Tax invoices, receipts and credit notes as PDFs (Arabic shaped and right to
 left), VAT and monthly finance reconciliation, data-subject-request exports and
 erasures, retention, daily metrics and RLS-parity reports, run from systemd
 timers, cron or Kubernetes CronJobs against PostgreSQL.
CONTROL
deb="$out/samia-batch_${version}_${arch}.deb"
dpkg-deb --root-owner-group --build "$pkg" "$deb" >/dev/null
echo "$deb"
