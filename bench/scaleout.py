"""Runs `samia-batch invoices` as 1, 2 and 4 workers at once on copies of one database.

usage: scaleout.py BINARY WORKDIR ORDERS ROUNDS RESULTS.jsonl (PG* variables name the template)
"""
import json
import os
import subprocess
import sys
import time

binary, work, orders, rounds, results = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
template = os.environ["PGDATABASE"]
env_base = dict(os.environ)
env_base.update({
    "INVOICE_FROM_NAME": "Samia Readings LLC", "INVOICE_FROM_NAME_AR": "شركة سامية للقراءات",
    "INVOICE_FROM_EMAIL": "billing@samia.example",
    "INVOICE_FROM_ADDRESS": "Riyadh, Saudi Arabia", "INVOICE_FROM_ADDRESS_AR": "الرياض، المملكة العربية السعودية",
})
# A tax number for each registration in policy/vat-rates.yaml.
with open(os.path.join(os.path.dirname(__file__), "..", "scripts", "demo-seller.env")) as numbers:
    env_base.update(line.strip().split("=", 1) for line in numbers if line[:1].isupper())


def psql(sql, db):
    return subprocess.run(["psql", "-X", "-qAt", "-d", db, "-c", sql], check=True, capture_output=True,
                          text=True).stdout.strip()


rows = []
for workers in (1, 2, 4):
    for r in range(rounds):
        db = f"scaleout_{workers}_{r}"
        psql(f"DROP DATABASE IF EXISTS {db}", "postgres")
        psql(f"CREATE DATABASE {db} TEMPLATE {template}", "postgres")
        storage = os.path.join(work, db)
        env = dict(env_base, PGDATABASE=db, SAMIA_STORAGE_DIR=storage)
        start = time.monotonic()
        procs = [subprocess.Popen([binary, "invoices"], env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True) for _ in range(workers)]
        codes = [p.wait() for p in procs]
        elapsed = time.monotonic() - start
        if any(codes):
            sys.exit(f"a worker failed: {codes} {[p.stderr.read()[-500:] for p in procs]}")
        docs = int(psql("SELECT (SELECT count(*) FROM invoices) + (SELECT count(*) FROM credit_notes)", db))
        gapless = psql("SELECT count(*) = max(substring(number from '[0-9]+$')::int) AND count(*) = count(DISTINCT number) FROM invoices", db)
        pdfs = int(psql("SELECT count(*) FROM invoices WHERE pdf_media_id IS NOT NULL", db))
        invoices = int(psql("SELECT count(*) FROM invoices", db))
        shares = psql("SELECT string_agg(coalesce(stats->>'invoices_issued', '?'), '/' ORDER BY id) FROM batch_runs WHERE job = 'invoices'", db)
        ok = gapless == "t" and pdfs == invoices and invoices == orders
        row = {"workers": workers, "round": r + 1, "seconds": round(elapsed, 3), "documents": docs,
               "documents_per_s": round(docs / elapsed, 1), "gapless_unique": gapless == "t",
               "every_invoice_has_pdf": pdfs == invoices, "per_worker_issued": shares}
        rows.append(row)
        print(json.dumps(row))
        if not ok:
            sys.exit(f"check failed: {row}")
        psql(f"DROP DATABASE {db}", "postgres")
        subprocess.run(["rm", "-rf", storage], check=True)

with open(results, "w") as f:
    for row in rows:
        f.write(json.dumps(row) + "\n")
best = {w: max(x["documents_per_s"] for x in rows if x["workers"] == w) for w in (1, 2, 4)}
print(f"\nbest of {rounds} rounds, {orders} orders (+ credit notes):")
for w in (1, 2, 4):
    print(f"  {w} worker(s): {best[w]:8.1f} documents/s   {best[w] / best[1]:.2f}x one worker")
print(f"cores: {os.cpu_count()}")
