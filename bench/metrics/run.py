"""Times samia-batch's metrics job against a dbt-postgres project and a hand-written floor on the
same database, checks that samia-batch and dbt produce identical tables, and prints ratios.

    usage: run.py SAMIA_BATCH DBT_PROJECT PROFILES_DIR END_DAY TIME_ZONE ROUNDS RESULTS_JSONL

With SAMIA_BENCH_BASELINE_BIN=path, another build of samia-batch is timed in the same rounds.

The database comes from DATABASE_URL (samia-batch) and PG* variables (psql, dbt's profile).
"""

import datetime
import json
import os
import statistics
import subprocess
import sys
import time

TABLES = {
    "metrics_daily_orders": "day, service_code", "metrics_daily_payments": "day", "metrics_daily_revenue": "day, currency",
    "metrics_daily_calls": "day", "metrics_daily_content": "day", "metrics_daily_notifications": "day, channel",
    "metrics_daily_platform": "day", "metrics_daily_engagement": "day", "metrics_daily_readers": "day",
    "metrics_daily_incidents": "day",
}


def timed(argv, env=None):
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    out, err = proc.communicate()
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{' '.join(argv[:3])} failed ({proc.returncode}):\n{out.decode()[-2000:]}\n{err.decode()[-2000:]}")
    return seconds


def peak_rss(argv, env=None):
    """Runs once more under /usr/bin/time to read the process's maximum RSS (KiB)."""
    r = subprocess.run(["/usr/bin/time", "-f", "%M"] + argv, capture_output=True, text=True, env=env)
    return int(r.stderr.strip().splitlines()[-1])


def psql(sql):
    return subprocess.run(["psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql], capture_output=True, text=True,
                          check=True).stdout.strip()


def floor_sql(start, end, tz):
    """One hand-written INSERT ... SELECT ... GROUP BY over events_raw: the cheapest possible pass."""
    return f"""
    DROP TABLE IF EXISTS bench_floor; CREATE UNLOGGED TABLE bench_floor AS
    SELECT (occurred_at AT TIME ZONE '{tz}')::date AS day, service_code,
           count(*) FILTER (WHERE event = 'order_created') AS orders_created,
           count(*) FILTER (WHERE event = 'order_delivered') AS orders_delivered,
           count(*) FILTER (WHERE event = 'call_started') AS calls_started,
           count(*) FILTER (WHERE event = 'sql_latency') AS sql_latency_samples
      FROM public.events_raw
     WHERE occurred_at >= ('{start}'::date::timestamp AT TIME ZONE '{tz}')
       AND occurred_at < (('{end}'::date + 1)::timestamp AT TIME ZONE '{tz}')
     GROUP BY 1, 2;"""


def diff(start, end):
    """Rows that differ between samia-batch's and dbt's tables in the window (doubles to 9 digits)."""
    total = 0
    for table in TABLES:
        cols = psql(f"SELECT string_agg(CASE WHEN data_type = 'double precision' THEN 'round(' || column_name || "
                    f"'::numeric, 9)' ELSE column_name END, ', ' ORDER BY ordinal_position) FROM information_schema.columns "
                    f"WHERE table_schema = 'public' AND table_name = '{table}'")
        where = f"day BETWEEN '{start}' AND '{end}'"
        n = int(psql(f"SELECT count(*) FROM ((SELECT {cols} FROM public.{table} WHERE {where} EXCEPT ALL "
                     f"SELECT {cols} FROM dbt_metrics.{table} WHERE {where}) UNION ALL "
                     f"(SELECT {cols} FROM dbt_metrics.{table} WHERE {where} EXCEPT ALL "
                     f"SELECT {cols} FROM public.{table} WHERE {where})) d"))
        total += n
        if n:
            print(f"  {table}: {n} differing rows", flush=True)
    return total


def main():
    samia, project, profiles, end, tz, rounds, results = sys.argv[1:8]
    rounds = int(rounds)
    end_day = datetime.date.fromisoformat(end)
    dbt = [os.path.join(os.path.dirname(sys.executable), "dbt"), "run", "--project-dir", project, "--profiles-dir",
           profiles, "--quiet", "--threads", "2"]
    modes = {"nightly (3 days)": end_day - datetime.timedelta(days=2), "backfill (60 days)": end_day - datetime.timedelta(days=59)}
    events = int(psql("SELECT count(*) FROM public.events_raw"))
    rows = []
    for mode, start_day in modes.items():
        start = start_day.isoformat()
        vars_ = json.dumps({"start": start, "end": end, "tz": tz})
        if mode.startswith("nightly"):
            ours = [samia, "metrics", "--date", end, "--timezone", tz, "--force"]
        else:
            ours = [samia, "metrics", "--backfill", start, end, "--timezone", tz, "--force"]
        theirs = dbt + ["--vars", vars_]
        times = {"samia-batch": [], "dbt": [], "floor": []}
        # Another build of samia-batch (SAMIA_BENCH_BASELINE_BIN), timed in the same rounds just
        # before this one, so that its tables are rewritten by this build before the diff.
        baseline = os.environ.get("SAMIA_BENCH_BASELINE_BIN")
        if baseline:
            times["baseline"] = []
        for r in range(rounds):
            if baseline:
                times["baseline"].append(timed([baseline] + ours[1:]))
            times["samia-batch"].append(timed(ours))
            times["dbt"].append(timed(theirs))
            times["floor"].append(timed(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", floor_sql(start, end, tz)]))
            print(f"{mode} round {r + 1}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in times.items()), flush=True)
        differing = diff(start, end)
        row = {"mode": mode, "events_total": events, "from": start, "to": end, "time_zone": tz,
               **{f"{k}_s": statistics.median(v) for k, v in times.items()},
               "rounds": times, "differing_rows": differing,
               "samia_peak_rss_kib": peak_rss(ours), "dbt_peak_rss_kib": peak_rss(theirs)}
        rows.append(row)
        with open(results, "a") as f:
            f.write(json.dumps(row) + "\n")
    print()
    print(f"events_raw: {events:,} rows")
    print("| run | samia-batch | dbt-postgres | floor (one INSERT…SELECT) | dbt ÷ samia-batch | samia-batch ÷ floor | differing rows | peak RSS samia-batch / dbt |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r['mode']} | {r['samia-batch_s']:.2f} s | {r['dbt_s']:.2f} s | {r['floor_s']:.2f} s "
              f"| {r['dbt_s'] / r['samia-batch_s']:.1f}× | {r['samia-batch_s'] / r['floor_s']:.1f}× | {r['differing_rows']} "
              f"| {r['samia_peak_rss_kib'] / 1024:.0f} / {r['dbt_peak_rss_kib'] / 1024:.0f} MiB |")
    if any("baseline_s" in r for r in rows):
        print()
        print("| run | baseline build | this build | this ÷ baseline |")
        print("| --- | ---: | ---: | ---: |")
        for r in rows:
            print(f"| {r['mode']} | {r['baseline_s']:.2f} s | {r['samia-batch_s']:.2f} s "
                  f"| {r['samia-batch_s'] / r['baseline_s']:.2f}× |")


if __name__ == "__main__":
    main()
