"""The reconciliation peers: the same payment and refund matching as samia-batch, written with
pandas and with DuckDB. Each reads the ledger from PostgreSQL (COPY through psycopg) and the
settlement CSV file, classifies, and writes one CSV per break type plus matched.csv into a ZIP.

Implemented (and compared with samia-batch's counts): missing_in_provider, missing_in_ledger,
amount_mismatch, currency_mismatch, duplicate, fee_variance, payment_without_invoice,
refund_without_credit_note, dispute_open, matched, in_transit. Not implemented by the peers:
payouts, FX differences, dispute status from webhooks, invoice arithmetic, VAT rates, number
sequences, the VAT summary, the PDF and the signed manifest (samia-batch does all of these in
the timed run, so the comparison flatters the peers).

usage: peers.py pandas|duckdb CONNINFO SETTLEMENT.csv OUT.zip
"""

import io
import os
import sys
import tempfile
import zipfile

import psycopg

START = "2026-10-01 00:00:00+00"
END = "2026-11-01 00:00:00+00"
PREV = "2026-09-01 00:00:00+00"
TRANSIT_DAYS = 3
AMOUNT_TOL = 0
FEE_TOL = 1
FEE_BP = 290
EXP = {"USD": 2, "SAR": 2, "KWD": 3, "EUR": 2, "AED": 2, "BHD": 3, "JPY": 0}

PAYMENTS = f"""COPY (SELECT pi.id, pi.order_id, pi.provider_intent_id AS ref, pi.amount_cents AS amount, pi.currency::text AS currency,
                      to_char(pi.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS paid_at, i.number AS invoice_number
                 FROM payment_intents pi LEFT JOIN invoices i ON i.payment_intent_id = pi.id
                WHERE pi.status = 'succeeded' AND pi.updated_at >= '{PREV}' AND pi.updated_at < '{END}')
       TO STDOUT WITH (FORMAT csv, HEADER)"""
REFUNDS = f"""COPY (SELECT r.id, r.provider_refund_id AS ref, r.amount_cents AS amount, r.currency::text AS currency,
                     to_char(r.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_at, r.status, cn.number AS credit_note
                FROM refunds r LEFT JOIN credit_notes cn ON cn.refund_id = r.id
               WHERE r.created_at >= '{PREV}' AND r.created_at < '{END}')
       TO STDOUT WITH (FORMAT csv, HEADER)"""


def export(conninfo, sql, path=None):
    """COPY out of PostgreSQL into memory (pandas) or a file (DuckDB)."""
    buffer = io.BytesIO() if path is None else open(path, "wb")
    with psycopg.connect(conninfo) as conn, conn.cursor() as cur:
        with cur.copy(sql) as copy:
            for chunk in copy:
                buffer.write(chunk)
    if path is None:
        buffer.seek(0)
        return buffer
    buffer.close()
    return path


def write_zip(out, files):
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as z:
        for name, path in files:
            z.write(path, name)


def run_pandas(conninfo, settlement, out):
    import numpy as np
    import pandas as pd

    pay = pd.read_csv(export(conninfo, PAYMENTS))
    pay["paid_at"] = pd.to_datetime(pay["paid_at"], utc=True, format="ISO8601")
    ref = pd.read_csv(export(conninfo, REFUNDS))
    ref["created_at"] = pd.to_datetime(ref["created_at"], utc=True, format="ISO8601")
    lines = pd.read_csv(settlement, dtype=str, keep_default_na=False)
    start, end, prev = pd.Timestamp(START), pd.Timestamp(END), pd.Timestamp(PREV)
    transit_from = end - pd.Timedelta(days=TRANSIT_DAYS)
    lines["currency"] = lines["currency"].str.upper()
    lines["shown_currency"] = lines["customer_facing_currency"].str.upper()
    exp = lines["currency"].map(EXP).astype("int64")
    scale = np.power(10.0, exp)

    def minor(col):
        return (lines[col].astype(float) * scale).round().astype("int64")

    lines["gross_m"], lines["fee_m"], lines["shown_m"] = minor("gross"), minor("fee").abs(), minor("customer_facing_amount")
    lines["at"] = pd.to_datetime(lines["created_utc"], utc=True)
    lines = lines[lines["at"] >= prev]
    in_window = (lines["at"] >= start) & (lines["at"] < end)

    charges = lines[lines["reporting_category"] == "charge"]
    pay["in_month"] = pay["paid_at"] >= start
    m = pay.merge(charges, how="left", left_on="ref", right_on="payment_intent_id")
    m = m.sort_values(["id", "at", "balance_transaction_id"])
    m["k"] = m.groupby("id").cumcount() + 1
    has = m["balance_transaction_id"].notna()
    first = m[m["k"] == 1]
    fh = first["balance_transaction_id"].notna()
    settled_in = (first["at"] < end) & (first["in_month"] | (first["at"] >= start))
    breaks = {}
    breaks["missing_in_provider"] = [first[first["in_month"] & ~fh & (first["paid_at"] < transit_from)]]
    in_transit = [first[first["in_month"] & ((~fh & (first["paid_at"] >= transit_from)) | (fh & (first["at"] >= end)))]]
    matched_rows = first[fh & settled_in]
    same = matched_rows["shown_currency"] == matched_rows["currency_x"]
    diff = (matched_rows["shown_m"] - matched_rows["amount"]).abs()
    breaks["currency_mismatch"] = [matched_rows[~same]]
    breaks["amount_mismatch"] = [matched_rows[same & (diff > AMOUNT_TOL)]]
    matched = [matched_rows[same & (diff <= AMOUNT_TOL)]]
    fee_rows = first[fh & (first["at"] >= start) & (first["at"] < end)]
    expected = (fee_rows["gross_m"] * FEE_BP + 5000) // 10000
    breaks["fee_variance"] = [fee_rows[(fee_rows["fee_m"] - expected).abs() > FEE_TOL]]
    dup = m[has & (m["k"] > 1)]
    breaks["duplicate"] = [dup[(dup["at"] >= start) & (dup["at"] < end)]]
    known = set(pay["ref"])
    wc = charges[in_window.loc[charges.index]]
    breaks["missing_in_ledger"] = [wc[~wc["payment_intent_id"].isin(known)]]
    breaks["payment_without_invoice"] = [pay[pay["in_month"] & pay["invoice_number"].isna()]]

    rl = lines[lines["reporting_category"] == "refund"]
    ref = ref[ref["status"] == "succeeded"]
    ref["in_month"] = ref["created_at"] >= start
    r = ref.merge(rl, how="left", left_on="ref", right_on="source_id")
    rh = r["balance_transaction_id"].notna()
    breaks["missing_in_provider"].append(r[r["in_month"] & ~rh & (r["created_at"] < transit_from)])
    in_transit.append(r[r["in_month"] & ((~rh & (r["created_at"] >= transit_from)) | (rh & (r["at"] >= end)))])
    matched.append(r[rh & (r["at"] < end) & (r["in_month"] | (r["at"] >= start))])
    breaks["refund_without_credit_note"] = [r[r["in_month"] & r["credit_note"].isna()]]
    disputes = lines[(lines["reporting_category"] == "dispute") & in_window]
    breaks["dispute_open"] = [disputes]

    counts = {}
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for name, parts in list(breaks.items()) + [("matched", matched), ("in_transit", in_transit)]:
            frame = pd.concat(parts, ignore_index=True)
            counts[name] = len(frame)
            path = os.path.join(tmp, name + ".csv")
            frame.to_csv(path, index=False, encoding="utf-8-sig")
            files.append((("breaks/" if name in breaks else "") + name + ".csv", path))
        write_zip(out, files)
    return counts


def run_duckdb(conninfo, settlement, out):
    import duckdb

    with tempfile.TemporaryDirectory() as tmp:
        export(conninfo, PAYMENTS, os.path.join(tmp, "payments.csv"))
        export(conninfo, REFUNDS, os.path.join(tmp, "refunds.csv"))
        db = duckdb.connect()
        db.execute("SET TimeZone = 'UTC'")
        db.execute(f"CREATE TABLE exps AS SELECT * FROM (VALUES {', '.join(f'({chr(39)}{c}{chr(39)}, {e})' for c, e in EXP.items())}) t(code, exp)")
        db.execute(f"CREATE TABLE pay AS SELECT *, paid_at >= TIMESTAMPTZ '{START}' AS in_month FROM read_csv('{tmp}/payments.csv', header=true, auto_detect=true)")
        db.execute(f"CREATE TABLE ref AS SELECT *, created_at >= TIMESTAMPTZ '{START}' AS in_month FROM read_csv('{tmp}/refunds.csv', header=true, auto_detect=true) WHERE status = 'succeeded'")
        db.execute(f"""CREATE TABLE lines AS
            SELECT l.balance_transaction_id AS txn, CAST(l.created_utc AS TIMESTAMP) AT TIME ZONE 'UTC' AS settled_at, upper(l.currency) AS currency,
                   l.reporting_category AS category, l.source_id, l.payment_intent_id AS pi, upper(l.customer_facing_currency) AS shown_currency,
                   CAST(round(CAST(l.gross AS DECIMAL(18, 3)) * pow(10, e.exp)) AS BIGINT) AS gross,
                   abs(CAST(round(CAST(l.fee AS DECIMAL(18, 3)) * pow(10, e.exp)) AS BIGINT)) AS fee,
                   CAST(round(CAST(l.customer_facing_amount AS DECIMAL(18, 3)) * pow(10, e.exp)) AS BIGINT) AS shown
              FROM read_csv('{settlement}', header=true, all_varchar=true) l JOIN exps e ON e.code = upper(l.currency)
             WHERE CAST(l.created_utc AS TIMESTAMP) AT TIME ZONE 'UTC' >= TIMESTAMPTZ '{PREV}'""")
        w = f"c.settled_at >= TIMESTAMPTZ '{START}' AND c.settled_at < TIMESTAMPTZ '{END}'"
        tf = f"TIMESTAMPTZ '{END}' - INTERVAL {TRANSIT_DAYS} DAY"
        db.execute("""CREATE TABLE m AS SELECT p.*, c.txn, c.settled_at, c.shown_currency, c.shown, c.gross, c.fee,
                          row_number() OVER (PARTITION BY p.id ORDER BY c.settled_at, c.txn) AS k
                     FROM pay p LEFT JOIN (SELECT * FROM lines WHERE category = 'charge') c ON c.pi = p.ref""")
        settled_in = f"c.txn IS NOT NULL AND c.settled_at < TIMESTAMPTZ '{END}' AND (c.in_month OR c.settled_at >= TIMESTAMPTZ '{START}')"
        queries = {
            "missing_in_provider": f"""SELECT id, ref, amount, currency FROM m c WHERE k = 1 AND in_month AND txn IS NULL AND paid_at < {tf}
                                       UNION ALL SELECT r.id, r.ref, r.amount, r.currency FROM ref r
                                        WHERE r.in_month AND r.created_at < {tf} AND NOT EXISTS (SELECT 1 FROM lines l WHERE l.category = 'refund' AND l.source_id = r.ref)""",
            "currency_mismatch": f"SELECT * FROM m c WHERE k = 1 AND {settled_in} AND shown_currency <> currency",
            "amount_mismatch": f"SELECT * FROM m c WHERE k = 1 AND {settled_in} AND shown_currency = currency AND abs(shown - amount) > {AMOUNT_TOL}",
            "fee_variance": f"SELECT * FROM m c WHERE k = 1 AND txn IS NOT NULL AND {w} AND abs(fee - (gross * {FEE_BP} + 5000) // 10000) > {FEE_TOL}",
            "duplicate": f"SELECT * FROM m c WHERE k > 1 AND {w}",
            "missing_in_ledger": f"SELECT c.* FROM lines c WHERE category = 'charge' AND {w} AND NOT EXISTS (SELECT 1 FROM pay p WHERE p.ref = c.pi)",
            "payment_without_invoice": "SELECT * FROM pay WHERE in_month AND invoice_number IS NULL",
            "refund_without_credit_note": "SELECT * FROM ref WHERE in_month AND credit_note IS NULL",
            "dispute_open": f"SELECT c.* FROM lines c WHERE category = 'dispute' AND {w}",
            "matched": f"""SELECT id, ref, txn, amount, currency FROM m c WHERE k = 1 AND {settled_in} AND shown_currency = currency AND abs(shown - amount) <= {AMOUNT_TOL}
                           UNION ALL SELECT r.id, r.ref, c.txn, r.amount, r.currency FROM ref r JOIN lines c ON c.category = 'refund' AND c.source_id = r.ref
                            WHERE c.settled_at < TIMESTAMPTZ '{END}' AND (r.in_month OR c.settled_at >= TIMESTAMPTZ '{START}')""",
            "in_transit": f"""SELECT id, ref, amount, currency FROM m c WHERE k = 1 AND in_month AND ((txn IS NULL AND paid_at >= {tf}) OR settled_at >= TIMESTAMPTZ '{END}')
                              UNION ALL SELECT r.id, r.ref, r.amount, r.currency FROM ref r LEFT JOIN lines c ON c.category = 'refund' AND c.source_id = r.ref
                               WHERE r.in_month AND ((c.txn IS NULL AND r.created_at >= {tf}) OR c.settled_at >= TIMESTAMPTZ '{END}')""",
        }
        counts, files = {}, []
        for name, sql in queries.items():
            path = os.path.join(tmp, name + ".csv")
            db.execute(f"COPY ({sql}) TO '{path}' (HEADER)")
            counts[name] = db.execute(f"SELECT count(*) FROM read_csv('{path}', header=true, all_varchar=true)").fetchone()[0]
            files.append((("" if name in ("matched", "in_transit") else "breaks/") + name + ".csv", path))
        write_zip(out, files)
    return counts


if __name__ == "__main__":
    tool, conninfo, settlement, out = sys.argv[1:5]
    counts = (run_pandas if tool == "pandas" else run_duckdb)(conninfo, settlement, out)
    import json

    print(json.dumps(counts, sort_keys=True))
