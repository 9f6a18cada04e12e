"""Where the text side of an index build spends its CPU, per judgment (prints numbers, asserts nothing).

    python bench/text_side_budget.py [--docs PATH] [--limit 3000]

Runs each stage of a build over the same judgments in this one process and prints its CPU time
(``time.process_time``) per judgment:

- reading the corpus: gzip, JSON, the text checks, the records;
- a judgment's trip from the main process to a worker process (pickled and back);
- extraction;
- tokenising the facts: jieba's own cut of their Chinese runs, then the whole tokeniser;
- the case's trip back to the main process (pickled in compact form and back);
- the embedded builder's work per case (postings, SQLite rows).

It then prints the once-per-build stages: the charge model's fit on these judgments, and the
builder's finish (BM25 postings, the swap). A build spreads the stages over a main process and
worker processes. The sum per judgment is what one judgment costs, and cores / sum is the most that
any number of processes could index on this machine, even with perfect overlap.
"""

from __future__ import annotations

import argparse
import os
import pickle
import sys
import tempfile
import time
from collections import Counter
from itertools import islice
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _lecard_docs import DEFAULT  # noqa: E402

from leian.corpora.loaders import load  # noqa: E402
from leian.errors import CorpusReadError  # noqa: E402
from leian.indexer.charge_model import ChargeModel  # noqa: E402
from leian.indexer.indexed import IndexedCase  # noqa: E402
from leian.indexer.pipeline import extract_keeping_sections, search_text  # noqa: E402
from leian.indexer.tokenize import _RUNS, Tokenizer, _normalise  # noqa: E402
from leian.retrieval.backends import build_backend, new_manifest  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=Path, default=DEFAULT, help="a corpus leian can load (default: LeCaRD)")
    ap.add_argument("--limit", type=int, default=3000, help="judgments to time (default 3000)")
    args = ap.parse_args()
    tok = Tokenizer()
    tok.tokenize("预热：被告人张某犯盗窃罪")  # the dictionary loads outside the timing
    rows: list[tuple[str, float]] = []

    def stage(name: str, fn):
        c0 = time.process_time()
        out = fn()
        rows.append((name, (time.process_time() - c0) * 1e3 / n))
        return out

    c0 = time.process_time()
    try:
        records = list(islice(load(args.docs), args.limit))
    except CorpusReadError as e:
        print(f"text_side_budget: {e}", file=sys.stderr)
        return 1
    n = len(records)
    if not n:
        print(f"text_side_budget: no judgment could be read from {args.docs}", file=sys.stderr)
        return 1
    rows.append(("read the corpus (gzip, JSON, checks, records)", (time.process_time() - c0) * 1e3 / n))
    records = stage(
        "send it to a worker process (pickle + unpickle)", lambda: pickle.loads(pickle.dumps(records))
    )
    extracted = stage("extract", lambda: [extract_keeping_sections(r) for r in records])
    facts = [search_text(r) for r in extracted]
    chars = sum(map(len, facts)) / n
    # jieba's share: the same single call per text that the tokeniser makes, on its Chinese runs
    han = [" ".join(h for h, _ in _RUNS.findall(_normalise(t)) if h) for t in facts]
    c0 = time.process_time()
    for t in han:
        tok._seg.cut(t)
    cut_ms = (time.process_time() - c0) * 1e3 / n  # a part of the tokenising row, not added to the sum
    tokens = stage("tokenise the facts (all of it)", lambda: [tok.tokenize(t) for t in facts])
    cases = stage(
        "count terms, make the case",
        lambda: [
            IndexedCase(r, token_text=" ".join(t), counts=Counter(t))
            for r, t in zip(extracted, tokens, strict=True)
        ],
    )
    cases = stage(
        "send it back to the main process (pickle + unpickle)", lambda: pickle.loads(pickle.dumps(cases))
    )
    with tempfile.TemporaryDirectory(prefix="leian-budget-") as tmp:
        manifest = new_manifest("embedded", "budget", tokenizer=tok.fingerprint)
        with build_backend("embedded", index=os.path.join(tmp, "idx"), manifest=manifest) as b:
            stage("index it (postings, SQLite row)", lambda: b.upsert(cases))
            w0, c0 = time.perf_counter(), time.process_time()
            model = ChargeModel.train_counts(b.term_counts, workers=1)
            fit = (time.perf_counter() - w0, time.process_time() - c0)
            c0 = time.process_time()
        finish_s = time.process_time() - c0

    total = sum(ms for _, ms in rows)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    print(f"{n} judgments from {args.docs}; facts {chars:,.0f} characters on average")
    print(f"{'stage':52s} {'CPU ms/judgment':>16s}")
    for name, ms in rows:
        print(f"{name:52s} {ms:16.3f}")
        if name.startswith("tokenise"):
            print(f"{'  of which jieba cut (rjieba, Rust)':52s} {cut_ms:16.3f}")
    print(f"{'sum':52s} {total:16.3f}")
    labels = len(model.labels) if model else 0
    print(
        f"charge model fit, once per build: {fit[1]:.1f} s CPU in one process ({labels} charges, {n} judgments)"
    )
    print(f"builder finish, once per build: {finish_s:.1f} s CPU")
    print(
        f"ceiling on {cores} core(s), perfect overlap, per-build stages left out: "
        f"{cores * 1e3 / total:,.0f} judgments/s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
