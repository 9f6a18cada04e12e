"""Text as it enters: one normalisation (corpora.text) for facts, uploaded documents and corpus records."""

from __future__ import annotations

import gzip
import json

import pytest

from leian.corpora.loaders import load
from leian.corpora.record import CaseRecord, Defendant, Sections, Span
from leian.corpora.text import normalise_record, normalise_text
from leian.errors import InvalidInput
from leian.retrieval.models import Query

WORD_PASTE = (
    "经审理查明：\r\n被告人张某\v于2020年5月\f在某超市\x00盗窃\x1b商品\u2028价值\u2029人民币\x85三千元。\t完"
)


@pytest.mark.parametrize(
    "raw,clean",
    [
        ("甲\r\n乙\r丙", "甲\n乙\n丙"),
        ("甲\v乙\f丙", "甲\n乙\n丙"),  # Word's manual line break and page break
        ("甲\u2028乙\u2029丙\x85丁", "甲\n乙\n丙\n丁"),
        ("甲\x00乙\x01\x08\x0e\x1f\x7f\x80\x9f丙", "甲乙丙"),  # C0, DEL, C1 removed
        ("甲\t乙\n丙", "甲\t乙\n丙"),  # tab and line feed kept
        ("甲\ud800乙\udfff丙", "甲乙丙"),  # lone surrogates removed
        ("甲\ufffe\uffff乙", "甲乙"),  # not allowed in XML
        ("  前后空白保留  ", "  前后空白保留  "),
        ("", ""),
    ],
)
def test_normalise_text(raw, clean):
    assert normalise_text(raw) == clean
    assert normalise_text(clean) == clean  # idempotent


def test_query_facts_are_normalised():
    q = Query(facts=WORD_PASTE)
    assert q.facts == "经审理查明：\n被告人张某\n于2020年5月\n在某超市盗窃商品\n价值\n人民币\n三千元。\t完"
    with pytest.raises(InvalidInput, match="facts is empty"):
        Query(facts="\x00\x01\v\f\r\n")


def test_record_normalised_and_stale_spans_dropped():
    rec = CaseRecord(
        id="a",
        text="本院认为\r\n被告人\x00李某",
        title="李某\v盗窃案",
        sections=Sections(reasoning="本院认为\r\n被告人\x00李某"),
        defendants=[Defendant(name="李\x00某")],
        spans=[Span(field="court", start=0, end=2, text="本院")],
    )
    out = normalise_record(rec)
    assert out.text == "本院认为\n被告人李某" and out.title == "李某\n盗窃案"
    assert out.sections.reasoning == out.text and out.defendants[0].name == "李某" and out.spans == []
    clean = CaseRecord(id="b", text="本院认为被告人李某", spans=rec.spans)
    assert normalise_record(clean) is clean  # nothing to change: the same object, spans kept


def test_loader_normalises_after_the_binary_check(tmp_path):
    text = "经审理查明，被告人王某于2019年3月在某市某区某商场内盗窃他人手机一部，价值人民币三千元。" * 20
    path = tmp_path / "c.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write(json.dumps({"id": "1", "text": text.replace("。", "。\r\n\v", 2) + "\x00"}) + "\n")
        f.write(json.dumps({"id": "2", "text": "\x00" * 400 + text}) + "\n")  # binary: still refused
    loader = load(path)
    records = list(loader)
    assert [r.id for r in records] == ["1"] and loader.report.by_reason == {"binary": 1}
    assert records[0].text == text.replace("。", "。\n\n", 2)
