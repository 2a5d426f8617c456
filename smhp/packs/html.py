"""A pack as one HTML document, made to be printed and read without the dashboard.

Landscape A4 (``@page``), ``lang="en-GB"`` and a ``<title>`` (the PDF's title), large type
(12 pt text, tables 10.5 pt), headings in order, every table with a caption and ``<th
scope>`` headers that repeat on each page, and every chart with its text alternative (in
the SVG) and a visible sentence and description under it. Nothing relies on colour alone:
the SPC charts' signals differ by shape, the Making Data Count icons carry a letter and are
always written out beside them, and the colours are the dashboard's (dark enough to print
in greyscale).
"""

from __future__ import annotations

import base64
from html import escape

from dashboard.theme import TEXT

from .charts import text_alternative
from .content import Chart, Pack, Table

CSS = f"""
@page {{
  size: A4 landscape;
  margin: 14mm 14mm 16mm 14mm;
  @bottom-left {{ content: string(pack-title); font: 9pt "DejaVu Sans", sans-serif;
                  color: {TEXT}; }}
  @bottom-right {{ content: "Page " counter(page) " of " counter(pages);
                   font: 9pt "DejaVu Sans", sans-serif; color: {TEXT}; }}
}}
html {{ font-family: "DejaVu Sans", Arial, sans-serif; font-size: 12pt; color: {TEXT};
        line-height: 1.35; }}
h1 {{ font-size: 26pt; margin: 30mm 0 8mm 0; string-set: pack-title content(); }}
h2 {{ font-size: 18pt; margin: 0 0 4mm 0; break-after: avoid; }}
section {{ break-before: page; }}
.cover p {{ font-size: 14pt; max-width: 220mm; }}
p {{ margin: 0 0 3mm 0; max-width: 250mm; }}
table {{ border-collapse: collapse; margin: 2mm 0 6mm 0; font-size: 10.5pt; }}
caption {{ caption-side: top; text-align: left; font-weight: bold; font-size: 12pt;
           padding-bottom: 2mm; }}
thead {{ display: table-header-group; }}
th, td {{ border: 0.6pt solid #767676; padding: 1.2mm 2mm; vertical-align: top;
          text-align: left; }}
thead th {{ background: #EEEEEE; }}
tbody th {{ font-weight: normal; }}
td.number {{ text-align: right; }}
tr {{ break-inside: avoid; }}
figure {{ margin: 0 0 6mm 0; break-inside: avoid; }}
figure img.chart {{ width: 100%; height: auto; }}
figcaption {{ font-size: 11pt; }}
figcaption .sentence {{ font-size: 13pt; font-weight: bold; }}
.icons img {{ width: 12mm; height: 12mm; vertical-align: middle; }}
.icons span {{ margin-right: 8mm; }}
.about {{ font-size: 10pt; }}
"""


def _is_number(text: str) -> bool:
    bare = text.replace(",", "").replace("%", "").replace(" days", "").lstrip("+-")
    return bare.replace(".", "", 1).isdigit()


def table_html(table: Table) -> str:
    """A table with its caption, column headers (``scope="col"``) and each row's first
    cell as its header (``scope="row"``)."""
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in table.header)
    body = []
    for row in table.rows:
        first, *rest = row
        cells = "".join(
            f'<td class="number">{escape(c)}</td>' if _is_number(c) else f"<td>{escape(c)}</td>"
            for c in rest
        )
        body.append(f'<tr><th scope="row">{escape(first)}</th>{cells}</tr>')
    return (
        f"<table><caption>{escape(table.caption)}</caption>"
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


def chart_html(chart: Chart, svg: str) -> str:
    """A chart with the icons written out, its plain sentence and its description.

    The SVG is an image (``<img>`` of a data URL), not inline: WeasyPrint then draws it as
    one replaced element instead of styling each of plotly's thousands of SVG nodes with
    the page's CSS (a third less time per pack), and the image's ``alt``, the chart's full
    text alternative, becomes the tagged PDF figure's ``/Alt``."""
    name, description = text_alternative(chart.figure)
    source = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    alt = escape(f"{name}. {description}", quote=True)
    image = f'<img class="chart" src="data:image/svg+xml;base64,{source}" alt="{alt}">'
    icons = "".join(
        f'<span><img src="{icon.image}" alt="{escape(icon.text, quote=True)}"> '
        f"{escape(icon.text)}</span>"
        for icon in chart.icons
    )
    return (
        f"<figure>{image}<figcaption>"
        + (f'<p class="icons">{icons}</p>' if icons else "")
        + f'<p class="sentence">{escape(chart.sentence)}</p>'
        + f'<p class="about">About this chart: {escape(description)}</p>'
        + "</figcaption></figure>"
    )


def pack_html(pack: Pack, svgs: dict[int, str]) -> str:
    """The whole pack as HTML; ``svgs`` holds each chart's SVG by ``id`` of its Chart."""
    parts = [
        '<section class="cover" style="break-before: auto">',
        f"<h1>{escape(pack.title)}</h1>",
        *(f"<p>{escape(line)}</p>" for line in pack.cover),
        "<p>Contents: " + "; ".join(escape(s.title) for s in pack.sections) + ".</p>",
        "</section>",
    ]
    for section in pack.sections:
        parts.append(f"<section><h2>{escape(section.title)}</h2>")
        for block in section.blocks:
            if isinstance(block, str):
                parts.append(f"<p>{escape(block)}</p>")
            elif isinstance(block, Table):
                parts.append(table_html(block))
            else:
                parts.append(chart_html(block, svgs[id(block)]))
        parts.append("</section>")
    return (
        '<!DOCTYPE html><html lang="en-GB"><head><meta charset="utf-8">'
        f"<title>{escape(pack.title)}</title>"
        '<meta name="author" content="Student mental-health partnership">'
        f"<style>{CSS}</style></head><body>{''.join(parts)}</body></html>"
    )
