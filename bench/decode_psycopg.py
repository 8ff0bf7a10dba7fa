"""Peer for the decode benchmark: psycopg 3 fetching the same rows as typed Python values."""
import json, sys, time
import psycopg

sql = sys.argv[1]
start = time.perf_counter()
with psycopg.connect("") as conn:
    rows = conn.execute(sql).fetchall()
    checksum = 0
    for r in rows:
        checksum += r[0] + len(r[1].encode()) + int(r[2] * 100) + int(r[3].timestamp()) + (1 if r[4] else 0) + r[5].bytes[0]
print(json.dumps({"tool": "psycopg", "mode": "decode", "rows": len(rows), "checksum": checksum,
                  "seconds": time.perf_counter() - start}))
