"""Renders documents whose fields grow, to show how the time per document grows with them.

Issue 34, point 5: rendering must take time linear in the length of every field, up to the
documented limits (docs/invoices.md: names 200 characters, addresses 400, line descriptions 300,
200 lines). For each field, documents with the field at 1/8, 1/4, 1/2 and all of its limit are
rendered COPIES at a time by `samia-batch render invoice --input-dir` (whole processes, timed by
GNU time: seconds and peak KiB). Each size doubles the last: linear work takes at most twice
the previous size's time per document (less, as a document's fixed costs stay), quadratic work
approaches four times; the time per unit added beyond the smallest size stays flat when linear. The documents are mixed Arabic and Latin (shaping and bidi on every line).
    usage: scaling.py SAMIA_BATCH WORK_DIR [COPIES]
"""

import json
import os
import subprocess
import sys

AR = "قراءة التاروت الذهبية مع تفسير مفصل للأبراج "
EN = "Tarot reading, gold, with a detailed report "


def text(base: str, length: int) -> str:
    return (base * (length // len(base) + 1))[:length].strip() or base[:1]


def document(buyer: int, description: int, lines: int, address: int) -> dict:
    line = {"description_en": text(EN, description), "description_ar": text(AR, description),
            "quantity": 1, "unit_price": "12.50", "vat_rate": "15"}
    return {
        "kind": "invoice", "number": "SAMIA-2026-000001", "issued_at": "2026-11-03T09:00:00Z",
        "supplied_at": "2026-11-03T08:00:00Z", "order_reference": "ORDER-1", "currency": "SAR",
        "prices_include_vat": True,
        "seller": {"name_en": "Samia Readings LLC", "name_ar": "شركة سامية للقراءات",
                   "address_en": "King Fahd Road, Riyadh 12271, Saudi Arabia",
                   "address_ar": "طريق الملك فهد، الرياض 12271، المملكة العربية السعودية",
                   "vat_number": "310122393500003", "email": "billing@samia.example"},
        "buyer": {"name": text("فاطمة Khoury ", buyer), "email": "buyer@example.com", "country": "SA",
                  "address": text("12 شارع الملك فهد, Riyadh ", address)},
        "lines": [dict(line) for _ in range(lines)], "payment_reference": "pi_1",
    }


# field: (limit, the document at a given size of that field)
FIELDS = {
    "buyer name (chars)": (200, lambda n: document(n, 24, 1, 40)),
    "buyer address (chars)": (400, lambda n: document(14, 24, 1, n)),
    "line description (chars, EN and AR)": (300, lambda n: document(14, n, 1, 40)),
    "lines (300-char descriptions)": (200, lambda n: document(14, 300, n, 40)),
}


def render(samia: str, directory: str, out: str) -> tuple[float, int]:
    os.makedirs(out, exist_ok=True)
    timing = os.path.join(out, "time")
    subprocess.run(["/usr/bin/time", "-f", "%e %M", "-o", timing, samia, "render", "invoice", "--input-dir",
                    directory, "--out", out], check=True, stdout=subprocess.DEVNULL)
    seconds, kib = open(timing).read().split()
    return float(seconds), int(kib)


def main() -> None:
    samia, work = sys.argv[1], sys.argv[2]
    copies = int(sys.argv[3]) if len(sys.argv) > 3 else 200
    print("| field | size | ms per document | ÷ previous size's | ms per unit added | peak MiB |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, (limit, make) in FIELDS.items():
        base = None
        previous = None
        for size in [limit // 8, limit // 4, limit // 2, limit]:
            directory = os.path.join(work, f"{name[:6].strip()}-{size}")
            os.makedirs(directory, exist_ok=True)
            for i in range(copies):
                doc = make(size)
                doc["number"] = f"SAMIA-2026-{i + 1:06d}"
                with open(os.path.join(directory, f"{i:04d}.json"), "w", encoding="utf-8") as f:
                    json.dump(doc, f, ensure_ascii=False)
            seconds, kib = min(render(samia, directory, directory + "-out") for _ in range(3))
            ms = seconds * 1000 / copies
            ratio = f"{ms / previous:.2f}" if previous else ""
            added = f"{(ms - base[1]) / (size - base[0]):.3f}" if base else ""
            print(f"| {name} | {size} | {ms:.1f} | {ratio} | {added} | {kib / 1024:.0f} |")
            base = base or (size, ms)
            previous = ms


if __name__ == "__main__":
    main()
