"""POST /v1/extract-text: the plain text of an uploaded .txt or .docx (for the web page's upload)."""

from __future__ import annotations

import io
import zipfile

from fastapi import APIRouter, UploadFile

from leian.api.deps import Reader
from leian.api.routers.responses import BODY, V1, errors
from leian.api.schemas import ExtractedTextOut
from leian.errors import InvalidInput

router = APIRouter(prefix="/v1", tags=["text"], responses=errors(*V1))


def docx_text(data: bytes) -> str:
    """Paragraphs and table cells of a .docx, in document order."""
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        doc = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as e:
        raise InvalidInput("not a readable .docx file (save it again from Word, or send it as .txt)") from e
    lines: list[str] = []
    for block in doc.element.body.iterchildren():
        tag = block.tag.rsplit("}", 1)[-1]
        if tag == "p":
            lines.append(Paragraph(block, doc).text)
        elif tag == "tbl":
            for row in Table(block, doc).rows:
                lines.append("\t".join(c.text for c in row.cells))
    return "\n".join(ln for ln in lines if ln.strip())


def plain_text(data: bytes) -> str:
    for enc in ("utf-8-sig", "gb18030"):  # 裁判文书 saved on Windows are often GBK/GB18030
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        if "\x00" not in text:
            return text
    raise InvalidInput("the .txt file is neither UTF-8 nor GB18030 text")


@router.post(
    "/extract-text",
    response_model=ExtractedTextOut,
    summary="plain text of an uploaded .txt or .docx",
    responses=errors(*BODY),
)
def extract_text(file: UploadFile, _caller: Reader) -> ExtractedTextOut:
    name = file.filename or "upload"
    data = file.file.read()
    if not data:
        raise InvalidInput(f"{name}: the file is empty")
    lower = name.lower()
    if lower.endswith(".docx") or data[:2] == b"PK":
        text = docx_text(data)
    elif lower.endswith(".txt") or (file.content_type or "").startswith("text/"):
        text = plain_text(data)
    else:
        raise InvalidInput(f"{name}: unsupported file type; upload a .txt or .docx file")
    text = text.strip()
    if not text:
        raise InvalidInput(f"{name}: no text found in the file")
    return ExtractedTextOut(filename=name, chars=len(text), text=text)
