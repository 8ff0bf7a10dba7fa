"""Independent checks of one tool's PDFs: qpdf, pdffonts, pdftotext, zbarimg (via pdftoppm).

    usage: check.py IN_DIR PDF_DIR [QR_SAMPLE]   -> one JSON object on stdout

Expected strings come from the JSON documents and templates/locales, not from any renderer.
"pure" strings are wholly English or wholly Arabic; "mixed" strings are Arabic with digits or
Latin in the same line (e.g. "ضريبة القيمة المضافة 15%"), where extraction order is the question.
"""

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import unicodedata

import model

BIDI_CONTROLS = dict.fromkeys(map(ord, "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u061c"))
ARABIC = re.compile(r"[\u0600-\u06ff\ufb50-\ufdff\ufe70-\ufeff]")
LATIN_OR_DIGIT = re.compile(r"[A-Za-z0-9%@]")


def norm(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).translate(BIDI_CONTROLS)
    return " ".join(text.split())


def expected(doc, lab):
    v = model.invoice(doc, lab)
    s = v["seller"]
    strings = [v["title_en"], v["title_ar"], s["name_en"], s["name_ar"], s["address_en"], s["address_ar"],
               v["vat_line"][0], v["vat_line"][1], v["statement"][0], v["statement"][1], v["footer"][0],
               v["footer"][1], doc["number"], doc["buyer"]["email"], doc["buyer"]["name"]]
    for en, ar, value, *_ in v["facts"] + v["totals"]:
        strings += [en, ar, value]
    for en, ar, _ in v["buyer_rows"]:
        strings += [en, ar]
    for en, ar in v["columns"]:
        strings += [en, ar]
    for line in v["lines"]:
        strings += [line["en"], line["ar"], line["total"]]
    pure, mixed = set(), set()
    for text in strings:
        text = norm(text)
        if ARABIC.search(text) and LATIN_OR_DIGIT.search(text):
            mixed.add(text)
        else:
            pure.add(text)
    return pure, mixed, v["qr"]


def run(*args):
    return subprocess.run(args, capture_output=True, text=True)


def main():
    in_dir, pdf_dir = sys.argv[1:3]
    qr_sample = int(sys.argv[3]) if len(sys.argv) > 3 else 10
    lab = model.labels()
    names = sorted(n[:-5] for n in os.listdir(in_dir) if n.endswith(".json"))
    sizes, qpdf_ok, fonts_ok, pure_found, pure_all, mixed_found, mixed_all, qr_ok, pages_one = [], 0, 0, 0, 0, 0, 0, 0, 0
    missing_examples = []
    tmp = tempfile.mkdtemp(prefix="check-")
    for i, name in enumerate(names):
        with open(os.path.join(in_dir, name + ".json"), encoding="utf-8") as f:
            doc = json.load(f)
        pdf = os.path.join(pdf_dir, name + ".pdf")
        sizes.append(os.path.getsize(pdf))
        qpdf_ok += run("qpdf", "--check", pdf).returncode == 0
        info = run("pdfinfo", pdf).stdout
        pages_one += bool(re.search(r"^Pages:\s+1$", info, re.M))
        rows = run("pdffonts", pdf).stdout.splitlines()[2:]
        # columns: name type encoding emb sub uni object ID -> emb is the 4th field from the right end block
        fonts_ok += bool(rows) and all(r.split()[-5] == "yes" for r in rows)
        text = norm(run("pdftotext", "-enc", "UTF-8", pdf, "-").stdout)
        pure, mixed, qr = expected(doc, lab)
        for s in pure:
            pure_all += 1
            if s in text:
                pure_found += 1
            elif len(missing_examples) < 5:
                missing_examples.append(s)
        for s in mixed:
            mixed_all += 1
            mixed_found += s in text
        if i < qr_sample:
            png = os.path.join(tmp, name)
            # The QR code is on the last page (with the totals) of a longer document.
            last = re.search(r"^Pages:\s+(\d+)$", info, re.M).group(1)
            run("pdftoppm", "-r", "200", "-gray", "-png", "-singlefile", "-f", last, "-l", last, pdf, png)
            decoded = run("zbarimg", "-q", "--raw", png + ".png").stdout.strip()
            qr_ok += decoded == qr
    print(json.dumps({
        "documents": len(names), "median_bytes": statistics.median(sizes), "qpdf_ok": qpdf_ok, "one_page": pages_one,
        "fonts_embedded": fonts_ok, "pure_strings_found": pure_found, "pure_strings": pure_all,
        "mixed_logical": mixed_found, "mixed_strings": mixed_all, "qr_checked": min(qr_sample, len(names)),
        "qr_ok": qr_ok, "pure_missing_examples": missing_examples}, ensure_ascii=False))


if __name__ == "__main__":
    main()
