"""Renders every invoice JSON in a directory with one peer, in one process (as samia-batch does).

    usage: peers.py weasyprint|fpdf2|typst IN_DIR OUT_DIR

Each peer gets the same content as samia-batch's layout (bilingual labels from templates/locales,
seller and buyer blocks, line table, totals, the ZATCA QR as vectors, footer) and the same four
Noto fonts, and is driven the fastest way its API allows (fonts loaded once per process).
"""

import html
import json
import os
import sys
import tempfile

import segno

import model


def docs(in_dir):
    for name in sorted(os.listdir(in_dir)):
        if name.endswith(".json"):
            with open(os.path.join(in_dir, name), encoding="utf-8") as f:
                yield name[:-5], json.load(f)


def qr_svg(payload: str) -> str:
    return segno.make(payload, error="m", micro=False).svg_inline(scale=1, border=0, dark="black", omitsize=True)


# ---------------------------------------------------------------- WeasyPrint

CSS = """
@font-face { font-family: NotoSans; src: url(file://%(sans)s); }
@font-face { font-family: NotoSans; font-weight: bold; src: url(file://%(sans_bold)s); }
@font-face { font-family: NotoNaskh; src: url(file://%(arabic)s); }
@font-face { font-family: NotoNaskh; font-weight: bold; src: url(file://%(arabic_bold)s); }
@page { size: A4; margin: 36pt; }
body { font-family: NotoSans, NotoNaskh; font-size: 9pt; margin: 0; }
[lang=ar] { font-family: NotoNaskh, NotoSans; direction: rtl; text-align: right; }
.two { display: flex; justify-content: space-between; } .two > div { width: 48%%; }
.seller { font-size: 15pt; } .small { font-size: 8.5pt; color: #616161; }
.band { background: #eef0f5; padding: 4pt 8pt; font-weight: bold; font-size: 13pt; margin: 8pt 0; }
table { width: 100%%; border-collapse: collapse; } td, th { padding: 1pt 3pt; vertical-align: top; }
th { background: #eef0f5; font-weight: normal; font-size: 8pt; color: #616161; }
.lines td { border-bottom: 0.5pt solid #bfbfc7; } .num { text-align: right; }
.facts td.l { width: 35%%; color: #616161; } .facts td.v { text-align: center; }
.bold td { font-weight: bold; color: black; }
.qr { width: 118pt; height: 118pt; margin-top: 10pt; }
footer { position: absolute; bottom: 0; width: 100%%; border-top: 0.5pt solid #bfbfc7; }
""" % model.FONTS


def weasy_html(v) -> str:
    e = html.escape
    s = v["seller"]
    out = [f"<html lang=en><head><meta charset=utf-8><title>{e(v['title_en'])}</title><style>{CSS}</style></head><body>"]
    out.append(f"<div class=two><div><div class=seller>{e(s['name_en'])}</div><div class=small>{e(s['address_en'])}<br>"
               f"{e(v['vat_line'][0])}</div></div><div lang=ar><div class=seller>{e(s['name_ar'])}</div>"
               f"<div class=small>{e(s['address_ar'])}<br>{e(v['vat_line'][1])}</div></div></div>")
    out.append(f"<div class='band two'><div>{e(v['title_en'])}</div><div lang=ar>{e(v['title_ar'])}</div></div>")

    def facts(rows, cls="facts"):
        out.append(f"<table class={cls}>")
        for en, ar, value, *bold in rows:
            b = " class=bold" if bold and bold[0] else ""
            out.append(f"<tr{b}><td class=l>{e(en)}</td><td class=v dir=auto>{e(value)}</td>"
                       f"<td class=l lang=ar>{e(ar)}</td></tr>")
        out.append("</table>")

    facts(v["facts"])
    lab = v["labels"]
    out.append(f"<div class=two style='border-bottom:0.5pt solid #bfbfc7;margin-top:8pt'><div>{e(lab['en']['buyer'])}</div>"
               f"<div lang=ar>{e(lab['ar']['buyer'])}</div></div>")
    facts(v["buyer_rows"])
    out.append("<table class=lines style='margin-top:10pt'><tr>")
    for i, (en, ar) in enumerate(v["columns"]):
        out.append(f"<th>{e(en)}<div lang=ar{' style=text-align:center' if i else ''}>{e(ar)}</div></th>")
    out.append("</tr>")
    for line in v["lines"]:
        out.append(f"<tr><td>{e(line['en'])}<div lang=ar>{e(line['ar'])}</div></td>" +
                   "".join(f"<td class=num>{e(line[k])}</td>" for k in ("qty", "unit", "rate", "vat", "total")) + "</tr>")
    out.append("</table><div style='height:6pt'></div>")
    facts(v["totals"])
    out.append(f"<div class='two small'><div>{e(v['statement'][0])}</div><div lang=ar>{e(v['statement'][1])}</div></div>")
    svg = qr_svg(v["qr"]).replace("<svg ", "<svg class=qr ", 1)
    out.append(svg)
    out.append(f"<footer class='two small'><div>{e(v['footer'][0])}</div><div lang=ar>{e(v['footer'][1])}</div></footer>")
    out.append("</body></html>")
    return "".join(out)


def run_weasyprint(in_dir, out_dir):
    import weasyprint
    from weasyprint.text.fonts import FontConfiguration

    fonts = FontConfiguration()
    css = weasyprint.CSS(string="", font_config=fonts)
    lab = model.labels()
    for name, doc in docs(in_dir):
        v = model.invoice(doc, lab)
        weasyprint.HTML(string=weasy_html(v)).write_pdf(
            os.path.join(out_dir, name + ".pdf"), font_config=fonts, stylesheets=[css])


# ---------------------------------------------------------------- fpdf2

def run_fpdf2(in_dir, out_dir):
    from fpdf import FPDF

    lab = model.labels()
    grey = (97, 97, 97)
    for name, doc in docs(in_dir):
        v = model.invoice(doc, lab)
        pdf = FPDF(unit="pt", format="A4")
        pdf.set_margins(36, 36, 36)
        pdf.set_auto_page_break(False)
        pdf.add_font("NotoSans", "", model.FONTS["sans"])
        pdf.add_font("NotoSans", "B", model.FONTS["sans_bold"])
        pdf.add_font("NotoNaskh", "", model.FONTS["arabic"])
        pdf.add_font("NotoNaskh", "B", model.FONTS["arabic_bold"])
        pdf.set_text_shaping(True)
        pdf.set_title(v["title_en"])
        pdf.set_lang("ar")
        pdf.add_page()
        w = pdf.w - 72
        half = w / 2 - 6

        def put(text, x, y, width, size, align="L", bold=False, arabic=False, color=(0, 0, 0)):
            pdf.set_font("NotoNaskh" if arabic else "NotoSans", "B" if bold else "", size)
            pdf.set_fallback_fonts(["NotoSans"] if arabic else ["NotoNaskh"], exact_match=False)
            pdf.set_text_color(*color)
            pdf.set_xy(x, y)
            pdf.multi_cell(width, size * 1.45, text, align=align)
            return pdf.get_y()

        s = v["seller"]
        yl = put(s["name_en"], 36, 36, half, 15)
        yr = put(s["name_ar"], 36 + w - half, 36, half, 15, "R", arabic=True)
        yl = put(s["address_en"] + "\n" + v["vat_line"][0], 36, yl + 2, half, 8.5, color=grey)
        yr = put(s["address_ar"] + "\n" + v["vat_line"][1], 36 + w - half, yr + 2, half, 8.5, "R", arabic=True, color=grey)
        y = max(yl, yr) + 10
        pdf.set_fill_color(238, 240, 245)
        pdf.rect(36, y, w, 28, style="F")
        put(v["title_en"], 44, y + 6, half, 13, bold=True)
        put(v["title_ar"], 36 + w - half, y + 3, half - 8, 13, "R", bold=True, arabic=True)
        y += 38

        def row(en, ar, value, y, bold=False):
            a = put(en, 36, y, 170, 9, bold=bold, color=(0, 0, 0) if bold else grey)
            b = put(value, 36 + 175, y, 170, 9.5, "C", bold=bold)
            c = put(ar, 36 + w - 170, y, 170, 9, "R", bold=bold, arabic=True, color=(0, 0, 0) if bold else grey)
            return max(a, b, c) + 2

        for en, ar, value in v["facts"]:
            y = row(en, ar, value, y)
        y += 8
        put(lab["en"]["buyer"], 36, y, 200, 10.5)
        y = put(lab["ar"]["buyer"], 36 + w - 200, y, 200, 10.5, "R", arabic=True) + 1
        pdf.set_draw_color(191, 191, 199)
        pdf.set_line_width(0.5)
        pdf.line(36, y, 36 + w, y)
        y += 4
        for en, ar, value in v["buyer_rows"]:
            y = row(en, ar, value, y)
        y += 10
        widths = [200, 40, 75, 48, 70, w - 433]
        pdf.rect(36, y, w, 30, style="F")
        x, bottom = 36, y
        for i, (en, ar) in enumerate(v["columns"]):
            cy = put(en, x + 4, y + 3, widths[i] - 8, 8, "L" if i == 0 else "C", color=grey)
            cy = put(ar, x + 4, cy, widths[i] - 8, 8, "R" if i == 0 else "C", arabic=True, color=grey)
            bottom = max(bottom, cy)
            x += widths[i]
        y = max(bottom, y + 30) + 4
        for line in v["lines"]:
            # A long document goes on over pages (a plain break: no repeated header, which
            # samia-batch draws; the peer does less work for it).
            if y > pdf.h - 36 - 60:
                pdf.add_page()
                y = 36
            cy = put(line["en"], 40, y, widths[0] - 8, 9)
            bottom = put(line["ar"], 40, cy, widths[0] - 8, 9, "R", arabic=True)
            x = 36 + widths[0]
            for k, key in enumerate(("qty", "unit", "rate", "vat", "total")):
                bottom = max(bottom, put(line[key], x + 4, y, widths[k + 1] - 8, 9, "R"))
                x += widths[k + 1]
            y = bottom + 3
            pdf.line(36, y, 36 + w, y)
            y += 4
        y += 6
        # Totals, statement and QR stay together on the last page.
        if y + 18 * len(v["totals"]) + 40 + 118 > pdf.h - 36 - 30:
            pdf.add_page()
            y = 36
        for en, ar, value, bold in v["totals"]:
            y = row(en, ar, value, y, bold)
        y += 10
        a = put(v["statement"][0], 36, y, half, 8.5, color=grey)
        b = put(v["statement"][1], 36 + w - half, y, half, 8.5, "R", arabic=True, color=grey)
        y = max(a, b) + 6
        qr = segno.make(v["qr"], error="m", micro=False)
        matrix = qr.matrix
        module = 118 / len(matrix)
        qy = max(y, pdf.h - 36 - 30 - 118)
        pdf.set_fill_color(0, 0, 0)
        for r, cells in enumerate(matrix):
            for c, dark in enumerate(cells):
                if dark:
                    pdf.rect(36 + c * module, qy + r * module, module, module, style="F")
        fy = pdf.h - 36 - 14
        pdf.line(36, fy - 4, 36 + w, fy - 4)
        put(v["footer"][0], 36, fy, half, 8.5, color=grey)
        put(v["footer"][1], 36 + w - half, fy, half, 8.5, "R", arabic=True, color=grey)
        pdf.output(os.path.join(out_dir, name + ".pdf"))


# ---------------------------------------------------------------- Typst

TYPST = r"""
#let d = json(bytes(sys.inputs.data))
#set page(paper: "a4", margin: 36pt)
#set text(font: ("Noto Sans", "Noto Naskh Arabic"), size: 9pt)
#let grey = rgb("#616161")
#let ar(body, ..args) = text(lang: "ar", dir: rtl, font: ("Noto Naskh Arabic", "Noto Sans"), ..args, body)
#let pair(en, arb, size: 9pt, fill: black, weight: "regular") = grid(columns: (1fr, 1fr), column-gutter: 12pt,
  text(size: size, fill: fill, weight: weight, en),
  align(right, ar(size: size, fill: fill, weight: weight, arb)))
#let facts(rows) = table(columns: (170pt, 1fr, 170pt), stroke: none, inset: 1.5pt,
  ..rows.map(r => {
    let w = if r.len() > 3 and r.at(3) { "bold" } else { "regular" }
    let f = if w == "bold" { black } else { grey }
    (text(fill: f, weight: w, r.at(0)), align(center, text(size: 9.5pt, weight: w, r.at(2))),
     align(right, ar(fill: f, weight: w, r.at(1))))
  }).flatten())
#pair(text(size: 15pt, d.seller.name_en), text(size: 15pt, d.seller.name_ar))
#pair(d.seller.address_en + "\n" + d.vat_line.at(0), d.seller.address_ar + "\n" + d.vat_line.at(1), size: 8.5pt, fill: grey)
#block(fill: rgb("#eef0f5"), width: 100%, inset: 6pt, pair(d.title_en, d.title_ar, size: 13pt, weight: "bold"))
#facts(d.facts)
#pair(d.labels.en.buyer, d.labels.ar.buyer, size: 10.5pt)
#line(length: 100%, stroke: 0.5pt + rgb("#bfbfc7"))
#facts(d.buyer_rows)
#v(6pt)
#table(columns: (200pt, 40pt, 75pt, 48pt, 70pt, 1fr), stroke: (x, y) => (bottom: if y > 0 { 0.5pt + rgb("#bfbfc7") }),
  fill: (x, y) => if y == 0 { rgb("#eef0f5") }, inset: 3pt,
  ..d.columns.enumerate().map(((i, c)) => text(size: 8pt, fill: grey)[#c.at(0) \ #align(if i == 0 { right } else { center }, ar(c.at(1)))]),
  ..d.lines.map(l => ([#l.en \ #align(right, ar(l.ar))],
     ..("qty", "unit", "rate", "vat", "total").map(k => align(right, l.at(k))))).flatten())
#facts(d.totals)
#pair(d.statement.at(0), d.statement.at(1), size: 8.5pt, fill: grey)
#v(1fr)
#image(bytes(sys.inputs.qr), format: "svg", width: 118pt)
#line(length: 100%, stroke: 0.5pt + rgb("#bfbfc7"))
#pair(d.footer.at(0), d.footer.at(1), size: 8.5pt, fill: grey)
"""


def run_typst(in_dir, out_dir):
    import typst

    fonts = tempfile.mkdtemp(prefix="typst-fonts-")
    for path in model.FONTS.values():
        os.symlink(path, os.path.join(fonts, os.path.basename(path)))
    template = os.path.join(fonts, "invoice.typ")
    with open(template, "w", encoding="utf-8") as f:
        f.write(TYPST)
    compiler = typst.Compiler(template, font_paths=[fonts], ignore_system_fonts=True)
    lab = model.labels()
    for name, doc in docs(in_dir):
        v = model.invoice(doc, lab)
        data = json.dumps({k: v[k] for k in v if k != "qr"}, ensure_ascii=False)
        compiler.compile(output=os.path.join(out_dir, name + ".pdf"), sys_inputs={"data": data, "qr": qr_svg(v["qr"])})


if __name__ == "__main__":
    tool, in_dir, out_dir = sys.argv[1:4]
    os.makedirs(out_dir, exist_ok=True)
    {"weasyprint": run_weasyprint, "fpdf2": run_fpdf2, "typst": run_typst}[tool](in_dir, out_dir)
