#!/usr/bin/env python3
"""A large corpus for benchmarks, synthesised by recombining real LeCaRD judgments (deterministic).

    python bench/synth_corpus.py --lecard /work/shared/data/lecard -n 100000 --out /tmp/synth.jsonl.gz

Synthetic judgment ``syn-000001`` … is built from real judgments of ONE charge group (the statute-level
罪名 of the first charge named in the judgment result), so the charges the extractor finds stay
coherent with the facts:

- the court line (court, 刑事判决书, case number: what the court/province/year filters see) of real
  doc ``a``, then the parties and procedure of ``b`` (the extractor ties each charge in the judgment
  to a named defendant, so the parties must be those the judgment names);
- the facts of real doc ``b``, with, in ``splice_rate`` of the docs, one paragraph of the facts of a
  third doc ``c`` inserted at a paragraph boundary (at 100k, each real doc is the facts source of ~11
  synthetic ones; the splices keep most of those texts distinct);
- the reasoning, judgment and appendix of ``b``.

Written in the LeCaRD candidate format (``id``, ``ajName``, ``ajjbqk``, ``cpfxgc``, ``pjjg``, ``qw``,
``writName``) that ``leian index`` reads, plus ``synth`` = the source ids {header (court line), facts, splice},
which the loader ignores and the benchmark uses to give each synthetic doc a vector derived from
its sources. Every doc is drawn from its own seeded generator (seed, i): the first k docs are the same
whatever n is, and the output is byte-identical for the same seed and sources. Only the (few thousand)
source judgments are held in memory; the output is streamed.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import io
import json
import re
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_CHARGE_ANY = re.compile(r"([\u4e00-\u9fff、]{2,30}?罪)")
_PARA = re.compile(r"\s+")
# where the parties start after the court line: 公诉机关 / 原公诉机关 / 抗诉机关 / 自诉人 / 上诉人 / 被告人
_PARTIES = re.compile(r"(?:原|抗诉|上诉|申诉|自诉)?(?:公诉机关|抗诉机关|自诉人|上诉人|被告人)")
MAX_SPLICE_CHARS = 400


@dataclass(frozen=True)
class SourceDoc:
    """One real judgment, cut where its facts start and end in the full text."""

    id: str
    name: str
    writ_name: str
    court_line: str  # qw before the parties: court, 刑事判决书, case number
    parties: str  # the rest of qw before the facts: prosecutor, defendants, procedure
    facts: str
    tail: str  # qw after the facts: reasoning, judgment, appendix
    reasoning: str
    judgment: str
    group: str


@dataclass(frozen=True)
class Sources:
    docs: list[SourceDoc]
    groups: dict[str, np.ndarray]  # charge group -> indices into docs
    skipped: int  # judgments whose facts could not be located in their full text


def charge_key(judgment: str, name: str) -> str:
    """The recombination group: the statute-level 罪名 (``charge_group``) of the first charge named in
    the judgment result, else in the case name; "?" when neither names one."""
    from leian.corpora.dictionaries import canonical_charge

    for text in (judgment, name):
        for m in _CHARGE_ANY.finditer(text):
            cand = m.group(1)
            for k in range(len(cand) - 2):  # "王某某犯故意伤害罪": drop leading characters until a 罪名
                got = canonical_charge(cand[k:])
                if got:
                    return got
    return "?"


def _cut(obj: dict) -> SourceDoc | None:
    qw = obj.get("qw") or ""
    facts = (obj.get("ajjbqk") or "").strip()
    if len(facts) < 20:
        return None
    at = qw.find(facts)
    if at < 0:
        return None
    judgment = (obj.get("pjjg") or "").strip()
    name = (obj.get("ajName") or "").strip()
    m = _PARTIES.search(qw, 0, at)
    cut = m.start() if m else 0
    return SourceDoc(
        id=str(obj["id"]),
        name=name,
        writ_name=(obj.get("writName") or "").strip(),
        court_line=qw[:cut],
        parties=qw[cut:at],
        facts=facts,
        tail=qw[at + len(facts) :],
        reasoning=(obj.get("cpfxgc") or "").strip(),
        judgment=judgment,
        group=charge_key(judgment, name),
    )


def load_sources(path: str | Path, limit: int | None = None) -> Sources:
    """Real judgments (LeCaRD candidate JSONL, optionally gzipped) usable for recombination."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    docs: list[SourceDoc] = []
    skipped = 0
    with opener(path, "rt", encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            doc = _cut(json.loads(line))
            if doc is None:
                skipped += 1
            else:
                docs.append(doc)
            if limit and len(docs) >= limit:
                break
    if not docs:
        raise ValueError(f"{path}: no judgment with a facts section found in its full text")
    groups: dict[str, list[int]] = {}
    for i, d in enumerate(docs):
        groups.setdefault(d.group, []).append(i)
    return Sources(docs, {g: np.array(v, dtype=np.int64) for g, v in groups.items()}, skipped)


def _other(rng: np.random.Generator, members: np.ndarray, not_this: int) -> int:
    if len(members) == 1:
        return int(members[0])
    while True:
        j = int(members[rng.integers(len(members))])
        if j != not_this:
            return j


def _paragraph(rng: np.random.Generator, facts: str) -> str:
    paras = [p for p in _PARA.split(facts) if len(p) >= 20] or [facts]
    p = paras[int(rng.integers(len(paras)))]
    if len(p) > MAX_SPLICE_CHARS:  # keep whole sentences: cut after the last 。 within the limit
        end = p.rfind("。", 0, MAX_SPLICE_CHARS)
        p = p[: end + 1] if end > 0 else p[:MAX_SPLICE_CHARS]
    return p


def synth_doc(sources: Sources, i: int, seed: int = 0, splice_rate: float = 0.5) -> dict:
    """Synthetic judgment number ``i`` (0-based; its id is ``syn-{i+1:06d}``)."""
    rng = np.random.default_rng([seed, i])
    docs = sources.docs
    b = int(rng.integers(len(docs)))
    members = sources.groups[docs[b].group]
    a = _other(rng, members, b)
    src_b, src_a = docs[b], docs[a]
    facts = src_b.facts
    splice = None
    if rng.random() < splice_rate and len(members) > 1:
        c = _other(rng, members, b)
        para = _paragraph(rng, docs[c].facts)
        # insert at a paragraph boundary of b's facts (LeCaRD separates paragraphs with spaces)
        bounds = [0] + [m.end() for m in _PARA.finditer(facts)] + [len(facts)]
        at = bounds[int(rng.integers(len(bounds)))]
        facts = (facts[:at].rstrip() + " " + para + " " + facts[at:].lstrip()).strip()
        splice = docs[c].id
    return {
        "id": f"syn-{i + 1:06d}",
        "ajName": src_b.name,
        "ajjbqk": facts,
        "cpfxgc": src_b.reasoning or None,
        "pjjg": src_b.judgment or None,
        "qw": src_a.court_line + src_b.parties + facts + src_b.tail,
        "writName": src_b.writ_name,
        "synth": {"header": src_a.id, "facts": src_b.id, "splice": splice},
    }


def synthesise(sources: Sources, n: int, seed: int = 0, splice_rate: float = 0.5) -> Iterator[dict]:
    for i in range(n):
        yield synth_doc(sources, i, seed, splice_rate)


@dataclass(frozen=True)
class SynthSummary:
    path: str
    docs: int
    sources: int
    groups: int
    skipped_sources: int
    seconds: float
    bytes: int


def write_corpus(
    out: str | Path,
    sources: Sources,
    n: int,
    seed: int = 0,
    splice_rate: float = 0.5,
    compresslevel: int = 1,
    provenance: str | Path | None = None,
) -> SynthSummary:
    """Stream ``n`` synthetic judgments to ``out`` (gzip when it ends in .gz; level 1: the benchmark
    reads it back, and level 6 would triple the writing time for a ~15% smaller file).

    ``provenance``: also write a TSV ``id header facts splice facts_chars`` (source ids, splice empty
    when none; the length of the judgment's facts as the loader reads them), so they can be had
    without parsing the full judgments again."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    tmp = out.with_name(out.name + ".part")
    with contextlib.ExitStack() as stack:
        raw = stack.enter_context(open(tmp, "wb"))
        if out.suffix == ".gz":
            # mtime 0 and no file name in the gzip header: the same seed gives the same bytes
            raw = stack.enter_context(gzip.GzipFile(filename="", mode="wb", fileobj=raw,
                                                    compresslevel=compresslevel, mtime=0))  # fmt: skip
        f = stack.enter_context(io.TextIOWrapper(raw, encoding="utf-8", newline="\n"))
        prov = stack.enter_context(open(provenance, "w", encoding="utf-8")) if provenance else None
        for doc in synthesise(sources, n, seed, splice_rate):
            f.write(json.dumps(doc, ensure_ascii=False))
            f.write("\n")
            if prov is not None:
                src = doc["synth"]
                facts = len(doc["ajjbqk"].strip()) or len(doc["qw"])
                prov.write(f"{doc['id']}\t{src['header']}\t{src['facts']}\t{src['splice'] or ''}\t{facts}\n")
    tmp.replace(out)  # a half-written corpus never carries the final name
    return SynthSummary(
        path=str(out),
        docs=n,
        sources=len(sources.docs),
        groups=len(sources.groups),
        skipped_sources=sources.skipped,
        seconds=time.perf_counter() - t0,
        bytes=out.stat().st_size,
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lecard", default="/work/shared/data/lecard", help="LeCaRD dir or a docs JSONL(.gz)")
    ap.add_argument("-n", type=int, default=100_000, help="number of synthetic judgments")
    ap.add_argument("--out", required=True, help="output .jsonl or .jsonl.gz")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--splice-rate", type=float, default=0.5)
    ap.add_argument("--provenance", default=None, help="also write source ids as TSV here")
    args = ap.parse_args(argv)
    if args.n < 1:
        print("synth_corpus: -n must be at least 1", file=sys.stderr)
        return 1
    src = Path(args.lecard)
    src = src / "docs.jsonl.gz" if src.is_dir() else src
    if not src.is_file():
        print(f"synth_corpus: {src} not found", file=sys.stderr)
        return 1
    sources = load_sources(src)
    s = write_corpus(args.out, sources, args.n, args.seed, args.splice_rate, provenance=args.provenance)
    print(
        f"wrote {s.docs:,} synthetic judgments to {s.path} ({s.bytes / 2**20:,.0f} MiB) in {s.seconds:.1f} s "
        f"from {s.sources:,} real ones in {s.groups} charge groups ({s.skipped_sources} unusable: facts not "
        "found in the full text)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
