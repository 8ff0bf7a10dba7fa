"""What every peer renderer needs from one invoice JSON: labels, exact totals, the ZATCA QR.

Mirrors the rules in docs/invoices.md (integer minor units, half-up per line) so that every
tool prints the same numbers; check.py compares them in the extracted text.
"""

import base64
import json
import os
from decimal import ROUND_HALF_UP, Decimal

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
EXPONENTS = {"SAR": 2, "AED": 2, "BHD": 3, "KWD": 3, "USD": 2, "GBP": 2, "EUR": 2, "JPY": 0, "EGP": 2}
FONT_DIR = "/usr/share/fonts/truetype/noto"
FONTS = {
    "sans": f"{FONT_DIR}/NotoSans-Regular.ttf",
    "sans_bold": f"{FONT_DIR}/NotoSans-Bold.ttf",
    "arabic": f"{FONT_DIR}/NotoNaskhArabic-Regular.ttf",
    "arabic_bold": f"{FONT_DIR}/NotoNaskhArabic-Bold.ttf",
}


def labels():
    out = {}
    for lang in ("en", "ar"):
        with open(os.path.join(ROOT, "templates", "locales", f"{lang}.json"), encoding="utf-8") as f:
            out[lang] = json.load(f)
    return out


def money(minor: int, exponent: int) -> str:
    text = f"{Decimal(minor).scaleb(-exponent):,.{exponent}f}"
    return text


def decimal(minor: int, exponent: int) -> str:
    return f"{Decimal(minor).scaleb(-exponent):.{exponent}f}"


def rate_text(rate: str) -> str:
    d = Decimal(rate).normalize()
    return format(d, "f")


def zatca(seller: str, vat_number: str, timestamp: str, total: str, vat: str) -> str:
    data = b""
    for tag, value in enumerate([seller, vat_number, timestamp, total, vat], start=1):
        raw = value.encode("utf-8")
        data += bytes([tag, len(raw)]) + raw
    return base64.b64encode(data).decode("ascii")


def invoice(doc: dict, lab: dict) -> dict:
    """The values an invoice page shows, in display form."""
    e = EXPONENTS[doc["currency"]]
    q = Decimal(1)
    # VAT once per rate on the rate's gross (EN 16931 BR-CO-17), each line's VAT its
    # largest-remainder share, as samia-batch computes it (docs/invoices.md).
    grosses, groups = [], {}
    for i, item in enumerate(doc["lines"]):
        unit = int(Decimal(item["unit_price"]).scaleb(e))
        grosses.append((unit, unit * item["quantity"]))
        groups.setdefault(item["vat_rate"], []).append(i)
    shares, by_rate = {}, {}
    for rate_text_raw, members in groups.items():
        gross = sum(grosses[i][1] for i in members)
        rate = Decimal(rate_text_raw)
        net = int((Decimal(gross) * 100 / (100 + rate)).quantize(q, rounding=ROUND_HALF_UP))
        vat = gross - net
        by_rate[rate_text(rate_text_raw)] = [net, vat]
        parts = [(vat * grosses[i][1] // gross if gross else 0, (vat * grosses[i][1]) % gross if gross else 0, k)
                 for k, i in enumerate(members)]
        left = vat - sum(p[0] for p in parts)
        bonus = {k for _, _, k in sorted(parts, key=lambda p: (-p[1], p[2]))[:left]}
        for k, i in enumerate(members):
            shares[i] = parts[k][0] + (1 if k in bonus else 0)
    lines = []
    for i, item in enumerate(doc["lines"]):
        unit, gross = grosses[i]
        lines.append({"en": item["description_en"], "ar": item["description_ar"], "qty": str(item["quantity"]),
                      "unit": money(unit, e), "rate": rate_text(item["vat_rate"]) + "%", "vat": money(shares[i], e),
                      "total": money(gross, e)})
    subtotal = sum(v[0] for v in by_rate.values())
    vat_total = sum(v[1] for v in by_rate.values())
    total = subtotal + vat_total
    c = " " + doc["currency"]
    title = "title_simplified_invoice" if doc["buyer"]["country"] == "SA" else "title_invoice"
    issued = doc["issued_at"]
    seller = doc["seller"]
    rows = [("invoice_number", doc["number"]), ("issue_date", issued.replace("T", " ").replace("Z", " UTC")),
            ("supply_date", doc["supplied_at"][:10]), ("order_reference", doc["order_reference"]),
            ("payment_reference", doc["payment_reference"])]
    totals = [(lab["en"]["subtotal"], lab["ar"]["subtotal"], money(subtotal, e) + c, False)]
    for rate in sorted(by_rate, key=Decimal):
        totals.append((lab["en"]["vat_at_rate"].replace("{rate}", rate), lab["ar"]["vat_at_rate"].replace("{rate}", rate),
                       money(by_rate[rate][1], e) + c, False))
    totals.append((lab["en"]["total"], lab["ar"]["total"], money(total, e) + c, True))
    totals.append((lab["en"]["amount_paid"], lab["ar"]["amount_paid"], money(total, e) + c, False))
    return {
        "title_en": lab["en"][title], "title_ar": lab["ar"][title],
        "seller": seller, "buyer": doc["buyer"],
        "facts": [(lab["en"][k], lab["ar"][k], v) for k, v in rows],
        "buyer_rows": [(lab["en"][k], lab["ar"][k], doc["buyer"][k]) for k in ("name", "email", "country")],
        "columns": [(lab["en"][k], lab["ar"][k]) for k in
                    ("description", "quantity", "unit_price", "vat_rate", "vat_amount", "line_total")],
        "lines": lines, "totals": totals,
        "statement": (lab["en"]["includes_vat"], lab["ar"]["includes_vat"]),
        "footer": (lab["en"]["footer"].replace("{email}", seller["email"]),
                   lab["ar"]["footer"].replace("{email}", seller["email"])),
        "vat_line": (f'{lab["en"]["vat_number"]}: {seller["vat_number"]}', f'{lab["ar"]["vat_number"]}: {seller["vat_number"]}'),
        "labels": lab,
        "qr": zatca(seller["name_ar"], seller["vat_number"], issued, decimal(total, e), decimal(vat_total, e)),
    }
