# Sourced by the benchmarks that need a database; it sets $root and works from there. `bench_start NAME` builds the release binary
# ($bin), makes a scratch directory ($work) and starts a throwaway PostgreSQL 15 in it (exporting
# PGHOST, PGPORT, PGUSER); on exit `bench_cleanup` stops background jobs and the database and
# removes the directory. A script with more to do on exit sets its own trap that ends with
# `bench_cleanup`.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

bench_cleanup() {
    kill $(jobs -p) 2>/dev/null || true
    scripts/pg-stop.sh "$work/pg" --remove >/dev/null 2>&1 || true
    rm -rf "$work"
}

bench_start() {
    swift build -c release --product samia-batch >/dev/null
    bin="$root/.build/release/samia-batch"
    work=$(mktemp -d "/tmp/samia-$1-bench-XXXX")
    chmod 755 "$work"  # the postgres user must reach the data directory inside it
    trap bench_cleanup EXIT
    local cluster_env
    cluster_env=$(scripts/pg-start.sh "$work/pg") || { echo "bench: the PostgreSQL cluster did not start (above)" >&2; exit 1; }
    eval "$cluster_env"
}
