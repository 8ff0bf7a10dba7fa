# samia-batch: two commands on a fresh Debian 12 machine with the Swift 6 toolchain:
#   make demo   installs packages, builds, starts a throwaway PostgreSQL 15, migrates, seeds, runs the nightly jobs
#   make test   installs packages, checks the format, builds, runs every test against a real PostgreSQL 15 the
#               tests start themselves, builds release (warnings are errors) and runs the tests under Thread Sanitizer
SHELL := /bin/bash
PREFIX ?= /usr/local
DEMO_DIR ?= $(CURDIR)/out/demo
PGDIR ?= $(CURDIR)/.pgdata
SCALE ?= 1

APT_PACKAGES := libgs-common postgresql-15 postgresql-contrib libpq-dev libarchive-dev libarchive-tools libharfbuzz-dev \
  libfreetype-dev libfribidi-dev libdeflate-dev libqrencode-dev zlib1g-dev fonts-noto-core fonts-symbola fonts-droid-fallback poppler-utils qpdf zbar-tools \
  unzip p7zip-full python3 python3-venv pkg-config bc libxml2-dev

# Only the tests need these: PgBouncer (the pooler refusal), Prometheus, promtool and
# node_exporter (the alert rules, end to end), curl, systemd-analyze (the units), a CFF font
# (the fallback chain refuses one), and Chromium (the parity report's page in a real browser).
TEST_APT_PACKAGES := chromium fonts-urw-base35 pgbouncer prometheus prometheus-pushgateway prometheus-node-exporter curl systemd man-db

# `make package` links the Swift runtime statically; Foundation's networking half then needs
# libcurl's development files, and the package is assembled with binutils and dpkg-deb.
PACKAGE_APT_PACKAGES := libcurl4-openssl-dev binutils dpkg

.PHONY: install install-files deps build demo test package bench bench-invoices bench-invoices-long bench-metrics bench-reconcile bench-retention bench-parity bench-oncall format clean demo-stop

deps:
	@command -v swift >/dev/null || { echo "make: the Swift 6 toolchain is required (swift not on PATH)" >&2; exit 78; }
	@scripts/ensure-packages.sh $(APT_PACKAGES)

build: deps
	swift build

# The demo runs the release build, as production does: the whole backlog is invoiced.
demo: deps
	swift build -c release --product samia-batch
	@scripts/demo.sh "$(PGDIR)" "$(DEMO_DIR)" "$(SCALE)"

demo-stop:
	scripts/pg-stop.sh "$(PGDIR)"

# The tests, and what reviewers check: the format (.swift-format), no function over 80 lines, a
# release build in which a warning from our own modules is an error, and the suite again under
# Thread Sanitizer.
# The package is built first, so that its test (install, upgrade, removal with dpkg) reuses
# the static build instead of compiling it while timing-sensitive tests run.
test: deps
	@scripts/ensure-packages.sh $(TEST_APT_PACKAGES) $(PACKAGE_APT_PACKAGES)
	@scripts/ensure-test-tools.sh
	swift format lint --strict -r Sources Tests Package.swift Plugins bench/samia-bench
	python3 scripts/function-length.py
	scripts/package.sh out/package
	swift build --build-tests
	swift test --skip-build
	swift build -c release
	scripts/tsan.sh

bench: deps
	bench/run.sh
	bench/invoices.sh
	bench/metrics.sh
	bench/reconcile.sh
	bench/retention.sh
	bench/parity.sh

bench-invoices: deps
	bench/invoices.sh

# The long mix (issue 34): 1 to 60 lines per document, so multi-page documents count.
bench-invoices-long: deps
	bench/invoices.sh 100 2 1-60

bench-metrics: deps
	bench/metrics.sh

bench-reconcile: deps
	bench/reconcile.sh

bench-retention: deps
	bench/retention.sh

bench-parity: deps
	bench/parity.sh

bench-oncall: deps
	bench/oncall.sh

# make install PREFIX=/opt/samia-batch: the release binary and its resource bundle in
# PREFIX/bin, templates and policy examples in PREFIX/share/samia-batch (where the binary looks),
# schedules with their paths filled in, and the docs. DESTDIR stages a package.
CONFIGURATION ?= release
install: deps
	swift build -c $(CONFIGURATION) --product samia-batch
	$(MAKE) install-files BIN_PATH="$$(swift build -c $(CONFIGURATION) --show-bin-path)"

install-files:
	@test -x "$(BIN_PATH)/samia-batch" || { echo "install-files: no samia-batch in BIN_PATH=$(BIN_PATH)" >&2; exit 78; }
	@scripts/install.sh "$(BIN_PATH)" "$(DESTDIR)" "$(PREFIX)"

# make package: out/package/samia-batch_VERSION_ARCH.deb, installable with `dpkg -i` on a Debian
# 12 host without the Swift toolchain (see docs/operations.md, "Installing from the package").
package: deps
	@scripts/ensure-packages.sh $(PACKAGE_APT_PACKAGES)
	scripts/package.sh out/package

format:
	swift format -i -r Sources Tests bench

clean:
	rm -rf .build .build-tsan .build-static out
