"""Write the example reports of docs/examples/ (Markdown and DOCX) from LeCaRD dev queries.

    python bench/make_examples.py --index IDX --data ../shared/data/lecard --out docs/examples

Ten dev queries over ten different charges, searched on facts alone (the charges are predicted, as
for a prosecutor who does not name them), each query's own judgment excluded where the corpus holds
it. Two carry a proposed sentence, to show the check: one inside the law and the practice, one a kind
the statutory tier does not allow. The index is the LeCaRD corpus indexed with the default settings.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from leian.corpora.lecard import load_lecard
from leian.retrieval.models import Query
from leian.retrieval.report import Requester, build_report, render
from leian.retrieval.search import open_searcher
from leian.retrieval.sentencing import ProposedSentence

CHARGES = (
    "盗窃罪",
    "诈骗罪",
    "故意伤害罪",
    "交通肇事罪",
    "非法持有毒品罪",
    "抢劫罪",
    "敲诈勒索罪",
    "掩饰、隐瞒犯罪所得、犯罪所得收益罪",
    "开设赌场罪",
    "受贿罪",
)
PROPOSED = {
    "交通肇事罪": ProposedSentence(kind="有期徒刑", months=18, probation_months=24),
    "盗窃罪": ProposedSentence(kind="拘役", months=5, fine_yuan=3000),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", required=True)
    ap.add_argument("--data", default="../shared/data/lecard")
    ap.add_argument("--out", default="docs/examples")
    args = ap.parse_args()
    split = load_lecard(args.data, "dev")
    exclusions = split.exclusions()
    searcher = open_searcher("embedded", args.index)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for n, charge in enumerate(CHARGES, 1):
        # the first dev query (in file order) whose labelled charges are exactly this one
        q = next(q for q in split.queries if list(q.crime) == [charge])
        query = Query(facts=q.q, exclude_ids=exclusions.get(q.id, []))
        report = build_report(
            searcher,
            query,
            Requester(name="示例", organisation="示例检察院"),
            PROPOSED.get(charge),
            top_k=10,
            stats_k=50,
        )
        stem = f"{n:02d}-{charge.rstrip('罪').replace('、', '')}-{q.id}"
        for fmt in ("md", "docx"):
            (out / f"{stem}.{fmt}").write_bytes(render(report, fmt))
        print(f"{stem}: {report.id}", file=sys.stderr)


if __name__ == "__main__":
    main()
