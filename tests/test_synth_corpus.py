"""The benchmark's corpus synthesiser (bench/synth_corpus.py): deterministic, LeCaRD-shaped, coherent.

Runs on the bundled sample (405 real LeCaRD judgments), so it needs no external data.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import sys
from pathlib import Path

import pytest

from leian.corpora.dictionaries import charge_group
from leian.corpora.loaders import load
from leian.corpora.sample import sample_path
from leian.indexer.pipeline import extract_keeping_sections

ROOT = Path(__file__).resolve().parent.parent


def _module():
    spec = importlib.util.spec_from_file_location("synth_corpus", ROOT / "bench" / "synth_corpus.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["synth_corpus"] = mod  # dataclasses resolve their module by name
    spec.loader.exec_module(mod)
    return mod


synth = _module()


@pytest.fixture(scope="module")
def sources():
    return synth.load_sources(sample_path())


def _lines(path: Path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(x) for x in f]


def test_sources_are_cut_where_the_facts_are(sources):
    assert len(sources.docs) >= 390  # a few judgments lack a locatable facts section
    assert sources.skipped + len(sources.docs) == 405
    for d in sources.docs[:50]:
        assert d.facts and not d.facts[0].isspace()
        assert d.group != "?"
    assert sum(len(v) for v in sources.groups.values()) == len(sources.docs)


def test_same_seed_same_bytes_and_prefix_stable(sources, tmp_path):
    a, b = tmp_path / "a.jsonl.gz", tmp_path / "b.jsonl.gz"
    synth.write_corpus(a, sources, 40, seed=7)
    synth.write_corpus(b, sources, 40, seed=7)
    assert a.read_bytes() == b.read_bytes()
    # doc i depends on (seed, i) only: a longer corpus starts with the shorter one
    assert list(synth.synthesise(sources, 15, seed=7)) == _lines(a)[:15]
    other = list(synth.synthesise(sources, 40, seed=8))
    assert sum(x["qw"] == y["qw"] for x, y in zip(other, _lines(a), strict=True)) < 5


def test_lecard_shape_read_by_the_loader(sources, tmp_path):
    out, prov = tmp_path / "s.jsonl.gz", tmp_path / "s.tsv"
    summary = synth.write_corpus(out, sources, 60, seed=1, provenance=prov)
    assert summary.docs == 60 and summary.bytes == out.stat().st_size
    assert not (tmp_path / "s.jsonl.gz.part").exists()
    raw = _lines(out)
    assert [d["id"] for d in raw] == [f"syn-{i:06d}" for i in range(1, 61)]
    loader = load(out, fmt="lecard")
    records = list(loader)
    assert loader.report.skipped == 0 and len(records) == 60
    by_id = {d.id: d for d in sources.docs}
    rows = [line.split("\t") for line in prov.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 60
    for d, rec, row in zip(raw, records, rows, strict=True):
        assert rec.id == d["id"] == row[0]
        assert rec.sections.facts == d["ajjbqk"] and d["ajjbqk"] in d["qw"]
        src = d["synth"]
        assert [src["header"], src["facts"], src["splice"] or ""] == row[1:4]
        assert int(row[4]) == len(rec.sections.facts or rec.text)
        a, b = by_id[src["header"]], by_id[src["facts"]]
        assert a.group == b.group  # header and facts from one charge group
        assert d["qw"] == a.court_line + b.parties + d["ajjbqk"] + b.tail
        assert d["pjjg"] == b.judgment


def test_splice_inserts_a_paragraph_of_a_same_charge_doc(sources):
    by_id = {d.id: d for d in sources.docs}
    docs = list(synth.synthesise(sources, 40, seed=3, splice_rate=1.0))
    spliced = [d for d in docs if d["synth"]["splice"]]
    assert len(spliced) >= 30  # only singleton charge groups have nothing to splice
    for d in spliced:
        b, c = by_id[d["synth"]["facts"]], by_id[d["synth"]["splice"]]
        assert c.group == b.group and c.id != b.id
        assert len(d["ajjbqk"]) > len(b.facts)
        # every paragraph of b survives, and the inserted text comes from c's facts
        assert all(p in d["ajjbqk"] for p in b.facts.split())
        extra = d["ajjbqk"]
        for p in b.facts.split():
            extra = extra.replace(p, "", 1)
        assert extra.strip() and extra.split()[0][:20] in c.facts
    plain = list(synth.synthesise(sources, 20, seed=3, splice_rate=0.0))
    assert all(
        d["synth"]["splice"] is None and d["ajjbqk"] == by_id[d["synth"]["facts"]].facts for d in plain
    )


def test_extracted_charges_follow_the_facts_doc(sources, tmp_path):
    """The point of recombining within a charge group: the extractor finds the facts doc's charge."""
    out = tmp_path / "c.jsonl.gz"
    synth.write_corpus(out, sources, 30, seed=2)
    originals = {r.id: r for r in load(sample_path(), fmt="lecard")}
    agree = 0
    for d, rec in zip(_lines(out), load(out, fmt="lecard"), strict=True):
        got = {charge_group(c) for c in extract_keeping_sections(rec).charges}
        want = {charge_group(c) for c in extract_keeping_sections(originals[d["synth"]["facts"]]).charges}
        agree += bool(got & want)
    assert agree >= 27


def test_cli_writes_corpus_and_rejects_bad_input(tmp_path, capsys):
    out = tmp_path / "cli.jsonl"
    assert synth.main(["--lecard", str(sample_path()), "-n", "5", "--out", str(out)]) == 0
    assert len(out.read_text(encoding="utf-8").splitlines()) == 5
    assert "wrote 5 synthetic judgments" in capsys.readouterr().out
    assert synth.main(["--lecard", str(tmp_path / "missing"), "-n", "5", "--out", str(out)]) == 1
    assert "not found" in capsys.readouterr().err
    assert synth.main(["--lecard", str(sample_path()), "-n", "0", "--out", str(out)]) == 1
