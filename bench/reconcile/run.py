"""Times samia-batch reconcile against the pandas and DuckDB peers on the same data, checks that
they agree on every break type the peers implement, and measures how peak memory and ZIP speed
behave. Prints a table and appends a JSON line to the results file.

usage: run.py BIN CONNINFO CONNINFO_SMALL SETTLEMENT.csv ROUNDS RESULTS.jsonl WORKDIR
"""

import json
import os
import re
import statistics
import subprocess
import sys
import time
import zipfile

bin_, conninfo, conninfo_small, settlement, rounds, results, work = sys.argv[1:8]
rounds = int(rounds)
here = os.path.dirname(os.path.abspath(__file__))
python = sys.executable
COMMON = ["missing_in_provider", "missing_in_ledger", "amount_mismatch", "currency_mismatch", "duplicate", "fee_variance",
          "payment_without_invoice", "refund_without_credit_note", "dispute_open", "matched", "in_transit"]


def timed(cmd, env=None):
    """Wall seconds and peak RSS (KiB) of a fresh process, from GNU time."""
    full = ["/usr/bin/time", "-f", "__time %e %M"] + cmd
    p = subprocess.run(full, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    m = re.search(r"__time ([0-9.]+) ([0-9]+)", p.stderr)
    return float(m.group(1)), int(m.group(2)), p.stdout


def zip_counts(path):
    counts = {}
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            if name.endswith(".csv"):
                key = os.path.basename(name)[:-4]
                with z.open(name) as f:
                    counts[key] = sum(1 for _ in f) - 1
    return counts


def ours(db, out):
    env = dict(os.environ, DATABASE_URL=db)
    seconds, rss, stdout = timed([bin_, "reconcile", "--month", "2026-10", "--out", out], env)
    phases = re.search(
        r"matching (\d+) ms; CSVs through COPY into the ZIP (\d+) ms for (\d+) bytes, of which (\d+) ms waiting", stdout)
    return seconds, rss, tuple(int(x) for x in phases.groups())


runs = {"samia-batch": [], "pandas": [], "duckdb": []}
memory = {"samia-batch": [], "pandas": [], "duckdb": []}
counts = {}
phases = []
for r in range(rounds):
    out = os.path.join(work, f"ours-{r}.zip")
    s, rss, ph = ours(conninfo, out)
    runs["samia-batch"].append(s)
    memory["samia-batch"].append(rss)
    phases.append(ph)
    counts["samia-batch"] = zip_counts(out)
    for tool in ("pandas", "duckdb"):
        out = os.path.join(work, f"{tool}-{r}.zip")
        s, rss, stdout = timed([python, os.path.join(here, "peers.py"), tool, conninfo, settlement, out])
        runs[tool].append(s)
        memory[tool].append(rss)
        counts[tool] = json.loads(stdout.strip().splitlines()[-1])
    print(f"round {r + 1}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in runs.items()), flush=True)

small_seconds, small_rss, _ = ours(conninfo_small, os.path.join(work, "small.zip"))
small_rows = zip_counts(os.path.join(work, "small.zip"))["matched"]

# The rate PostgreSQL produces CSV at, to /dev/null: the ceiling for writing the ZIP.
copy_sql = "COPY (SELECT * FROM settlement_lines) TO STDOUT WITH (FORMAT csv, HEADER)"
started = time.monotonic()
p = subprocess.run(["psql", "-X", "-q", "-d", conninfo, "-c", copy_sql], capture_output=True)
copy_seconds = time.monotonic() - started
copy_rate = len(p.stdout) / copy_seconds
match_ms, csv_ms, csv_bytes, wait_ms = (statistics.median(x[i] for x in phases) for i in range(4))
zip_rate = csv_bytes / (csv_ms / 1000)
# Reading the same COPY rows without a ZIP would have taken csv_ms - wait_ms (the reader only
# ever waited for the deflate thread): the ZIP keeps up with COPY to within that share.
pace = (csv_ms - wait_ms) / csv_ms

agree = {k: {t: counts[t].get(k) for t in counts} for k in COMMON}
disagree = {k: v for k, v in agree.items() if len(set(v.values())) != 1}
med = {k: statistics.median(v) for k, v in runs.items()}
peak = {k: max(v) // 1024 for k, v in memory.items()}
print()
print("| tool | median s | peak MiB | vs samia-batch |")
print("| --- | ---: | ---: | ---: |")
for k in runs:
    print(f"| {k} | {med[k]:.2f} | {peak[k]} | {med[k] / med['samia-batch']:.2f}x |")
print()
print(f"samia-batch phases (median): matching {match_ms / 1000:.2f} s, CSV+ZIP {csv_ms / 1000:.2f} s for {csv_bytes / 1e6:.1f} MB "
      f"({zip_rate / 1e6:.1f} MB/s), of which {wait_ms / 1000:.2f} s waiting for the ZIP writer -> ZIP at {pace:.2f}x the "
      f"speed its COPY produced rows; psql COPY of settlement_lines to /dev/null {copy_rate / 1e6:.1f} MB/s")
print(f"memory: {counts['samia-batch']['matched']} matched rows peak {peak['samia-batch']} MiB; "
      f"{small_rows} matched rows peak {small_rss // 1024} MiB")
print("counts (samia-batch / pandas / duckdb): " + ", ".join(f"{k} {v['samia-batch']}/{v['pandas']}/{v['duckdb']}" for k, v in agree.items()))
print("disagreements: " + (json.dumps(disagree) if disagree else "none"))
with open(results, "a") as f:
    f.write(json.dumps({"when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "median_s": med, "peak_mib": peak,
                        "phases_ms": {"match": match_ms, "csv_zip": csv_ms}, "csv_bytes": csv_bytes,
                        "copy_mb_s": copy_rate / 1e6, "zip_mb_s": zip_rate / 1e6, "zip_wait_ms": wait_ms, "zip_pace": pace, "small": {"matched": small_rows, "peak_mib": small_rss // 1024},
                        "counts": counts, "disagreements": disagree}) + "\n")
if disagree:
    sys.exit(1)
