"""Writes N varied bilingual invoice documents (the render JSON schema of docs/invoices.md).

Deterministic (fixed seed): every tool in the benchmark renders the same documents. LINES is
the range of line items per document: 1-4 (one page, the default) or 1-60 (the long mix, where
documents run over several pages).
    usage: generate.py OUT_DIR [N] [LINES]
"""

import json
import os
import random
import sys
from decimal import Decimal

SELLER = {
    "name_en": "Samia Readings LLC",
    "name_ar": "شركة سامية للقراءات",
    "address_en": "King Fahd Road, Riyadh 12271, Saudi Arabia",
    "address_ar": "طريق الملك فهد، الرياض 12271، المملكة العربية السعودية",
    "vat_number": "310122393500003",
    "email": "billing@samia.example",
}
# country, currency, exponent, VAT percent
MARKETS = [
    ("SA", "SAR", 2, "15"), ("SA", "SAR", 2, "15"), ("AE", "AED", 2, "5"), ("BH", "BHD", 3, "10"),
    ("KW", "KWD", 3, "0"), ("LB", "USD", 2, "11"), ("GB", "GBP", 2, "20"), ("FR", "EUR", 2, "20"),
    ("JP", "JPY", 0, "10"), ("EG", "EGP", 2, "14"),
]
# SAR per unit (illustrative): a KSA invoice in another currency states its VAT in SAR.
SAR_RATES = {"AED": "1.0211", "BHD": "9.9467", "KWD": "12.2019", "USD": "3.75", "GBP": "4.7512", "EUR": "4.0507",
             "JPY": "0.0251", "EGP": "0.0759"}
SERVICES = [
    ("Tarot reading (gold)", "قراءة التاروت الذهبية"),
    ("Coffee cup reading", "قراءة الفنجان"),
    ("Natal chart, full report", "الخريطة الفلكية الكاملة"),
    ("Voice call with a reader (30 min)", "مكالمة صوتية مع القارئة (30 دقيقة)"),
    ("Monthly horoscope subscription", "اشتراك الأبراج الشهري"),
    ("Love compatibility reading", "قراءة التوافق العاطفي"),
    ("Dream interpretation", "تفسير الأحلام"),
]
FIRST = ["عبد الله", "فاطمة", "محمد", "نور", "Layla", "Omar", "Sarah", "خديجة", "Youssef", "Maya", "عبد الرحمن"]
LAST = ["الحربي", "Haddad", "العتيبي", "Smith", "الشمري", "Khoury", "Nasser", "القحطاني"]


def main() -> None:
    out = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    low, high = (int(x) for x in (sys.argv[3] if len(sys.argv) > 3 else "1-4").split("-"))
    rng = random.Random(20261121)
    os.makedirs(out, exist_ok=True)
    for i in range(n):
        country, currency, exponent, rate = rng.choice(MARKETS)
        lines = []
        for _ in range(rng.randint(low, high)):
            en, ar = rng.choice(SERVICES)
            minor = rng.randint(5 * 10**exponent, 900 * 10**exponent)
            price = Decimal(minor).scaleb(-exponent).quantize(Decimal(1).scaleb(-exponent))
            lines.append({"description_en": en, "description_ar": ar, "quantity": rng.randint(1, 3),
                          "unit_price": str(price), "vat_rate": rate})
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        day = rng.randint(1, 20)
        doc = {
            "kind": "invoice",
            "number": f"SAMIA-2026-{i + 1:06d}",
            "issued_at": f"2026-11-{day:02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00Z",
            "supplied_at": f"2026-11-{day:02d}T08:00:00Z",
            "order_reference": f"ORDER-{rng.randint(10000, 99999)}",
            "currency": currency,
            "prices_include_vat": True,
            "seller": SELLER,
            "buyer": {"name": name, "email": f"buyer{i + 1}@example.com", "country": country},
            "lines": lines,
            "payment_reference": f"pi_{rng.getrandbits(64):016x}",
        }
        if currency != "SAR":
            doc["accounting"] = {"currency": "SAR", "rate": SAR_RATES[currency], "rate_date": f"2026-11-{day:02d}"}
        with open(os.path.join(out, f"inv-{i + 1:04d}.json"), "w", encoding="utf-8") as f:
            json.dump(doc, f, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
