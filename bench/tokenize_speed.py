"""Tokeniser speed, both engines, on the full text of the bundled sample (prints numbers, asserts nothing).

    nice python bench/tokenize_speed.py [--repeat 3] [--corpus PATH]

Reports characters per second and judgments per second for rjieba and jieba (the best of --repeat
passes, after loading the dictionary, which is timed separately).
"""

from __future__ import annotations

import argparse
import time

from leian.corpora.loaders import Loader
from leian.corpora.sample import sample_path
from leian.indexer.tokenize import Tokenizer


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument(
        "--corpus", default=str(sample_path()), help="any corpus leian can load (default: the sample)"
    )
    args = ap.parse_args(argv)

    texts = [r.text for r in Loader(args.corpus)]
    chars = sum(map(len, texts))
    print(f"corpus: {args.corpus}: {len(texts)} judgments, {chars:,} characters")
    print(f"{'engine':8s} {'load s':>8s} {'pass s':>8s} {'chars/s':>12s} {'docs/s':>8s} {'tokens':>10s}")
    for engine in ("rjieba", "jieba"):
        t0 = time.perf_counter()
        tok = Tokenizer(engine)
        tok.tokenize("预热")
        load_s = time.perf_counter() - t0
        best, n_tokens = float("inf"), 0
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            n_tokens = sum(len(tok.tokenize(t)) for t in texts)
            best = min(best, time.perf_counter() - t0)
        print(
            f"{engine:8s} {load_s:8.2f} {best:8.2f} {chars / best:12,.0f} {len(texts) / best:8.1f} {n_tokens:10,d}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
