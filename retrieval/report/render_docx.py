"""The report as a Word document (DOCX), with its JSON data in a Custom XML Data part.

python-docx is imported inside the functions: it loads lxml and its templates, which only the commands
that write or read a DOCX need.
"""

from __future__ import annotations

import base64
import io
import json
import re

from leian.errors import InvalidInput
from leian.retrieval.report.blocks import Chart, Heading, Items, Para, Quote, Table, blocks
from leian.retrieval.report.chart import chart_png
from leian.retrieval.report.model import Report
from leian.retrieval.report.render_json import render_json

# The data travels as a Custom XML Data part (what Word keeps when it re-saves a document), holding the
# base64 of the report JSON in one element of our namespace.
DOCX_DATA_RELTYPE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/customXml"
DOCX_DATA_NS = "urn:leian:report"


def render_docx(report: Report) -> bytes:
    from docx import Document
    from docx.opc.part import Part
    from docx.oxml.ns import qn
    from docx.shared import Inches, Pt, RGBColor

    doc = Document()
    normal = doc.styles["Normal"]
    normal.font.name = "SimSun"
    normal.font.size = Pt(10.5)
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), "宋体")
    for name in ("Title", "Heading 1", "Heading 2", "Heading 3"):
        st = doc.styles[name]
        st.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), "黑体")
    props = doc.core_properties
    props.title = f"{report.title} {report.id}"
    props.subject = f"SHA-256 {report.sha256}"
    props.author = report.generator
    props.identifier = report.id

    png = chart_png(report)
    for b in blocks(report):
        if isinstance(b, Heading):
            doc.add_heading(b.text, level=0 if b.level == 1 else b.level - 1)
        elif isinstance(b, Para):
            para = doc.add_paragraph()
            run = para.add_run(b.text)
            if b.style == "warn":
                run.bold = True
                run.font.color.rgb = RGBColor(0x9C, 0x00, 0x06)
            elif b.style == "ok":
                run.bold = True
            elif b.style in ("note", "meta"):
                run.font.size = Pt(9)
        elif isinstance(b, Items):
            for i in b.items:
                doc.add_paragraph(i, style="List Bullet")
        elif isinstance(b, Quote):
            doc.add_paragraph(b.text.strip(), style="Quote")
        elif isinstance(b, Table):
            t = doc.add_table(rows=1, cols=len(b.header))
            t.style = "Table Grid"
            for cell, text in zip(t.rows[0].cells, b.header, strict=True):
                cell.text = text
                for run in cell.paragraphs[0].runs:
                    run.bold = True
            for row in b.rows:
                cells = t.add_row().cells
                for cell, text in zip(cells, row, strict=True):
                    cell.text = text
        elif isinstance(b, Chart):
            if png:
                doc.add_picture(io.BytesIO(png), width=Inches(6.2))
            doc.add_paragraph(f"图：{b.alt}")

    payload = base64.b64encode(render_json(report)).decode("ascii")
    xml = f'<?xml version="1.0" encoding="UTF-8"?>\n<report xmlns="{DOCX_DATA_NS}">{payload}</report>'
    package = doc.part.package
    name = package.next_partname("/customXml/item%d.xml")  # the default template already has item1
    part = Part(name, "application/xml", xml.encode("utf-8"), package)
    doc.part.relate_to(part, DOCX_DATA_RELTYPE)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def docx_text(doc) -> list[str]:
    """The visible text of a document, block by block (paragraphs and table cells in body order)."""
    from docx.table import Table as DocxTable
    from docx.text.paragraph import Paragraph

    out = []
    for item in doc.iter_inner_content():
        if isinstance(item, Paragraph):
            out.append(item.text)
        elif isinstance(item, DocxTable):
            out.extend(" | ".join(c.text for c in row.cells) for row in item.rows)
    return out


def docx_picture_count(doc) -> int:
    return len(doc.inline_shapes)


def open_docx(raw: bytes):
    from docx import Document

    try:
        return Document(io.BytesIO(raw))
    except Exception as e:  # python-docx raises zipfile/KeyError/ValueError variants for a damaged file
        raise InvalidInput(f"not a readable DOCX file: {e}") from None


def docx_data(raw: bytes) -> dict:
    """The report data a DOCX copy carries (a damaged payload raises ValueError)."""
    doc = open_docx(raw)
    for rel in doc.part.rels.values():
        blob = rel.target_part.blob if rel.reltype == DOCX_DATA_RELTYPE and not rel.is_external else b""
        m = re.search(rf'<report xmlns="{DOCX_DATA_NS}">([A-Za-z0-9+/=\s]*)</report>', blob.decode("utf-8"))
        if m:
            return json.loads(base64.b64decode("".join(m.group(1).split()), validate=True).decode("utf-8"))
    raise InvalidInput("this DOCX carries no leian report data (was it saved by another program?)")


__all__ = [
    "DOCX_DATA_NS",
    "DOCX_DATA_RELTYPE",
    "docx_data",
    "docx_picture_count",
    "docx_text",
    "open_docx",
    "render_docx",
]
