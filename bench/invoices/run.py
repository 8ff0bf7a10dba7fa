"""Times every tool over the same invoices, then checks each tool's output independently.

    usage: run.py SAMIA_BATCH IN_DIR WORK_DIR ROUNDS RESULTS_JSONL

Each round runs each tool as a fresh process over the whole directory; wall time and peak RSS
come from os.wait4 on that process (so Python start-up and font loading count for the peers, as
process start-up and font loading count for samia-batch).
"""

import json
import os
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))


def timed(argv, cwd):
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{argv[0]} {argv[1]} failed with status {status}")
    return seconds, usage.ru_maxrss  # KiB on Linux


def main():
    samia, in_dir, work, rounds, results = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
    n = len([f for f in os.listdir(in_dir) if f.endswith(".json")])
    python = sys.executable
    tools = {
        "samia-batch": lambda out: [samia, "render", "invoice", "--input-dir", in_dir, "--out", out],
        "typst": lambda out: [python, os.path.join(HERE, "peers.py"), "typst", in_dir, out],
        "fpdf2": lambda out: [python, os.path.join(HERE, "peers.py"), "fpdf2", in_dir, out],
        "weasyprint": lambda out: [python, os.path.join(HERE, "peers.py"), "weasyprint", in_dir, out],
    }
    runs = {t: [] for t in tools}
    for r in range(rounds):
        for tool, argv in tools.items():
            out = os.path.join(work, tool)
            shutil.rmtree(out, ignore_errors=True)
            seconds, rss = timed(argv(out), ROOT)
            runs[tool].append((seconds, rss))
            print(f"round {r + 1} {tool}: {seconds:.2f} s, {n / seconds:.1f} invoices/s, peak {rss / 1024:.0f} MiB",
                  flush=True)
    summary = {}
    with open(results, "a", encoding="utf-8") as f:
        for tool in tools:
            check = json.loads(subprocess.run([python, os.path.join(HERE, "check.py"), in_dir, os.path.join(work, tool)],
                                              capture_output=True, text=True, check=True).stdout)
            seconds = statistics.median(s for s, _ in runs[tool])
            row = {"tool": tool, "documents": n, "seconds": seconds, "per_second": n / seconds,
                   "peak_rss_mib": max(m for _, m in runs[tool]) / 1024, "rounds": [s for s, _ in runs[tool]], **check}
            summary[tool] = row
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    fastest = max((t for t in tools if t != "samia-batch"), key=lambda t: summary[t]["per_second"])
    smallest = min((t for t in tools if t != "samia-batch"), key=lambda t: summary[t]["median_bytes"])
    print()
    print("| tool | invoices/s | median bytes | peak RSS | qpdf ok | one page | fonts embedded | pure strings found "
          "| mixed lines in logical order | QR decoded |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for tool, s in summary.items():
        print(f"| {tool} | {s['per_second']:.1f} | {s['median_bytes']:,.0f} | {s['peak_rss_mib']:.0f} MiB "
              f"| {s['qpdf_ok']}/{n} | {s['one_page']}/{n} | {s['fonts_embedded']}/{n} "
              f"| {100 * s['pure_strings_found'] / s['pure_strings']:.1f}% "
              f"| {100 * s['mixed_logical'] / s['mixed_strings']:.1f}% | {s['qr_ok']}/{s['qr_checked']} |")
    ours = summary["samia-batch"]
    print()
    print(f"speed: samia-batch {ours['per_second']:.1f}/s vs fastest peer {fastest} {summary[fastest]['per_second']:.1f}/s"
          f" -> {ours['per_second'] / summary[fastest]['per_second']:.1f}x")
    print(f"size: samia-batch {ours['median_bytes']:,.0f} B vs smallest peer {smallest} "
          f"{summary[smallest]['median_bytes']:,.0f} B -> {ours['median_bytes'] / summary[smallest]['median_bytes']:.2f}x")
    for tool, s in summary.items():
        if s["pure_missing_examples"]:
            print(f"{tool}: not found e.g. {s['pure_missing_examples'][:3]}")


if __name__ == "__main__":
    main()
