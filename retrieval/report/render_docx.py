"""The report as a Word document (DOCX), with its JSON data in a Custom XML Data part.

python-docx is imported inside the functions: it loads lxml and its templates, which only the commands
that write or read a DOCX need.
"""

from __future__ import annotations

import base64
import io
import json
import re

from leian import PRODUCT
from leian.corpora.text import normalise_text
from leian.errors import InvalidInput
from leian.retrieval.report.blocks import Chart, Heading, Items, Para, Quote, Table, blocks
from leian.retrieval.report.chart import chart_png
from leian.retrieval.report.model import Report
from leian.retrieval.report.render_json import render_json

# The data travels as a Custom XML Data part (what Word keeps when it re-saves a document), holding the
# base64 of the report JSON in one element of our namespace.
DOCX_DATA_RELTYPE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/customXml"
DOCX_DATA_NS = "urn:leian:report"
THUMBNAIL_RELTYPE = "http://schemas.openxmlformats.org/package/2006/relationships/metadata/thumbnail"

# A4 with the margins of the 党政机关公文格式 (GB/T 9704-2012): 上37 mm, 下35 mm, 左28 mm, 右26 mm.
PAGE_MM = (210, 297)
MARGINS_MM = {"top": 37, "bottom": 35, "left": 28, "right": 26}
HEADER_FOOTER_MM = 15  # from the page edge to the header and to the footer
TEXT_WIDTH_MM = PAGE_MM[0] - MARGINS_MM["left"] - MARGINS_MM["right"]  # 156 mm

# East Asian fonts by role, as Word names them (the body in 仿宋, headings in 黑体, the title in 宋体); the
# font table gives each its English name, GB2312 charset and PANOSE class, so that Word, WPS or LibreOffice
# without that font takes the nearest Chinese font of the same kind instead of a Western one.
BODY_FONT, HEADING_FONT, TITLE_FONT, LATIN_FONT = "仿宋", "黑体", "宋体", "Times New Roman"
CJK_FONTS = {  # name -> (alternative name, PANOSE-1, family)
    "仿宋": ("FangSong", "02010609060101010101", "modern"),
    "黑体": ("SimHei", "02010609060101010101", "modern"),
    "宋体": ("SimSun", "02010600030101010101", "auto"),
}


def _x(text: str) -> str:
    """Text XML can hold: DOCX refuses NUL and the other C0 controls, which stored texts may carry."""
    return normalise_text(text)


def _fonts(style_or_rpr_owner, east_asia: str, size_pt: float | None = None, bold: bool | None = None):
    """Set a style's fonts: the Latin font, and ``east_asia`` for Chinese text (theme fonts removed:
    they would win over the named font)."""
    from docx.oxml.ns import qn
    from docx.shared import Pt

    font = style_or_rpr_owner.font
    font.name = LATIN_FONT
    if size_pt is not None:
        font.size = Pt(size_pt)
    if bold is not None:
        font.bold = bold
    rfonts = style_or_rpr_owner.element.get_or_add_rPr().get_or_add_rFonts()
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        rfonts.attrib.pop(qn(attr), None)
    rfonts.set(qn("w:eastAsia"), east_asia)
    rfonts.set(qn("w:hint"), "eastAsia")


def _setup_styles(doc) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Pt, RGBColor

    styles = doc.styles
    # document defaults: Chinese text, no theme fonts (the template's East Asian theme font is Japanese)
    rpr_default = styles.element.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    rfonts = rpr_default.find(qn("w:rFonts"))
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        rfonts.attrib.pop(qn(attr), None)
    for attr, value in (("w:ascii", LATIN_FONT), ("w:hAnsi", LATIN_FONT), ("w:eastAsia", BODY_FONT)):
        rfonts.set(qn(attr), value)
    lang = rpr_default.find(qn("w:lang"))
    lang.set(qn("w:val"), "zh-CN")
    lang.set(qn("w:eastAsia"), "zh-CN")

    _fonts(styles["Normal"], BODY_FONT, 12)
    styles["Normal"].paragraph_format.space_after = Pt(4)
    styles["Normal"].paragraph_format.line_spacing = 1.3
    for name, size in (("Heading 1", 14), ("Heading 2", 12), ("Heading 3", 12)):
        st = styles[name]
        _fonts(st, HEADING_FONT, size, bold=False)  # 黑体 is bold enough; a faux bold blurs it
        st.font.color.rgb = RGBColor(0, 0, 0)
        st.paragraph_format.space_before = Pt(10)
        st.paragraph_format.space_after = Pt(4)
    title = styles["Title"]
    _fonts(title, TITLE_FONT, 22, bold=True)
    title.font.color.rgb = RGBColor(0, 0, 0)
    title.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    title.paragraph_format.space_after = Pt(12)
    ppr = title.element.get_or_add_pPr()
    for border in ppr.findall(qn("w:pBdr")):  # the template's blue rule under the title
        ppr.remove(border)
    quote = styles["Quote"]
    _fonts(quote, BODY_FONT)
    quote.font.italic = False  # Chinese has no italics
    quote.paragraph_format.left_indent = Pt(24)
    _fonts(styles["List Bullet"], BODY_FONT)

    # the font table: an English name and a class for each Chinese font, for substitution
    font_table = doc.part.part_related_by(
        "http://schemas.openxmlformats.org/officeDocument/2006/relationships/fontTable"
    )
    from lxml import etree

    root = etree.fromstring(font_table.blob)
    for name, (alt, panose, family) in CJK_FONTS.items():
        el = OxmlElement("w:font")
        el.set(qn("w:name"), name)
        for tag, value in (
            ("w:altName", alt),
            ("w:panose1", panose),
            ("w:charset", "86"),
            ("w:family", family),
        ):
            child = OxmlElement(tag)
            child.set(qn("w:val"), value)
            el.append(child)
        pitch = OxmlElement("w:pitch")
        pitch.set(qn("w:val"), "variable")
        el.append(pitch)
        root.append(el)
    font_table._blob = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _field(paragraph, instr: str) -> None:
    """A field (PAGE, NUMPAGES) the word processor fills in when it lays out the page."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    for kind, text in (("begin", None), ("instr", f" {instr} "), ("end", None)):
        run = paragraph.add_run()
        if kind == "instr":
            el = OxmlElement("w:instrText")
            el.set(qn("xml:space"), "preserve")
            el.text = text
        else:
            el = OxmlElement("w:fldChar")
            el.set(qn("w:fldCharType"), kind)
        run._r.append(el)


def _setup_page(doc, report: Report) -> None:
    from docx.enum.section import WD_ORIENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Mm, Pt

    sec = doc.sections[0]
    sec.orientation = WD_ORIENT.PORTRAIT
    sec.page_width, sec.page_height = Mm(PAGE_MM[0]), Mm(PAGE_MM[1])
    sec.top_margin, sec.bottom_margin = Mm(MARGINS_MM["top"]), Mm(MARGINS_MM["bottom"])
    sec.left_margin, sec.right_margin = Mm(MARGINS_MM["left"]), Mm(MARGINS_MM["right"])
    sec.header_distance = sec.footer_distance = Mm(HEADER_FOOTER_MM)
    sec.gutter = Mm(0)

    head = sec.header.paragraphs[0]
    head.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    run = head.add_run(_x(f"{report.title}　报告编号：{report.id}"))
    run.font.size = Pt(9)

    foot = sec.footer.paragraphs[0]
    foot.alignment = WD_ALIGN_PARAGRAPH.CENTER
    foot.add_run(_x(f"SHA-256：{report.sha256}")).font.size = Pt(7.5)
    pages = sec.footer.add_paragraph()
    pages.alignment = WD_ALIGN_PARAGRAPH.CENTER
    pages.add_run("第 ")
    _field(pages, "PAGE")
    pages.add_run(" 页 共 ")
    _field(pages, "NUMPAGES")
    pages.add_run(" 页")
    for r in pages.runs:
        r.font.size = Pt(10.5)


def _setup_properties(doc, report: Report) -> None:
    """Core properties from the report: its title, time and id; the product as author."""
    props = doc.core_properties
    created = report.created
    props.title = _x(report.title)
    props.subject = _x(f"报告编号 {report.id}")
    props.identifier = _x(report.id)
    props.author = props.last_modified_by = PRODUCT
    props.created = props.modified = created.replace(tzinfo=None)  # python-docx writes naive times as UTC
    props.revision = 1
    props.language = "zh-CN"
    props.category = "类案检索报告"
    props.keywords = "类案检索报告"
    props.comments = _x(f"SHA-256：{report.sha256}；生成程序：{report.generator}")
    package = doc.part.package
    for rid, rel in list(package.rels.items()):  # the template's thumbnail shows another document
        if rel.reltype == THUMBNAIL_RELTYPE:
            package.rels.pop(rid)


def render_docx(report: Report) -> bytes:
    from docx import Document
    from docx.opc.part import Part
    from docx.shared import Mm, Pt, RGBColor

    doc = Document()
    _setup_styles(doc)
    _setup_page(doc, report)
    _setup_properties(doc, report)

    # python-docx finds a style given by name with a linear search of the styles part (~3 ms each):
    # looked up once here, a report's ~80 styled paragraphs cost nothing
    style = {
        n: doc.styles[n] for n in ("Title", "Heading 1", "Heading 2", "List Bullet", "Quote", "Table Grid")
    }
    for b in blocks(report):  # blocks() has cleaned every string of what XML refuses
        if isinstance(b, Heading):
            doc.add_paragraph(b.text, style=style["Title" if b.level == 1 else f"Heading {b.level - 1}"])
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
                doc.add_paragraph(i, style=style["List Bullet"])
        elif isinstance(b, Quote):
            doc.add_paragraph(b.text.strip(), style=style["Quote"])
        elif isinstance(b, Table):
            t = doc.add_table(rows=1, cols=len(b.header))
            t.style = style["Table Grid"]
            for cell, text in zip(t.rows[0].cells, b.header, strict=True):
                cell.text = text
                for run in cell.paragraphs[0].runs:
                    run.bold = True
            for row in b.rows:
                cells = t.add_row().cells
                for cell, text in zip(cells, row, strict=True):
                    cell.text = text
            for row in t.rows:
                for cell in row.cells:
                    for para in cell.paragraphs:
                        para.paragraph_format.space_after = Pt(0)
                        para.paragraph_format.line_spacing = 1.0
                        for run in para.runs:
                            run.font.size = Pt(10.5)
        elif isinstance(b, Chart):
            png = chart_png(report, b.picture)
            if png:
                doc.add_picture(io.BytesIO(png), width=Mm(TEXT_WIDTH_MM - 1))
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


def docx_margin_text(doc) -> list[str]:
    """The text of every section's header and footer (the report id, the SHA-256, the page line)."""
    out = []
    for sec in doc.sections:
        for part in (sec.header, sec.footer):
            out.extend(p.text for p in part.paragraphs)
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
    "MARGINS_MM",
    "PAGE_MM",
    "docx_data",
    "docx_margin_text",
    "docx_picture_count",
    "docx_text",
    "open_docx",
    "render_docx",
]
