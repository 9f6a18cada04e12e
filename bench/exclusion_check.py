"""Does excluding a case equal never having indexed it? LeCaRD dev queries whose own judgment is in the
corpus, searched twice: on INDEX with the judgment excluded, and on a copy of INDEX with it deleted.

    python bench/exclusion_check.py --index IDX [--data ../shared/data/lecard] [--work DIR]

The copy is made under --work (default: a temporary folder) and its judgments deleted with the
product's own delete. Prints, per query, whether the top 10 and the top predicted charge agree, and a
summary. BM25's collection statistics lose one document in the copy, so scores differ in the last
digits; the ranking and the charge must not.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from leian.corpora.lecard import load_lecard
from leian.retrieval.models import Query
from leian.retrieval.search import open_searcher


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", required=True)
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared/data/lecard"))
    ap.add_argument("--split", default="dev")
    ap.add_argument("--work", default=None, help="where the copy is made (default: a temporary folder)")
    ap.add_argument("--top", type=int, default=10)
    a = ap.parse_args()

    split = load_lecard(a.data, a.split)
    exclusions = split.exclusions()
    queries = [q for q in split.queries if exclusions.get(q.id)]
    own = sorted({d for q in queries for d in exclusions[q.id]})
    work = Path(a.work or tempfile.mkdtemp(prefix="leian-exclusion-"))
    copy = work / "deleted"
    if copy.exists():
        shutil.rmtree(copy)
    shutil.copytree(a.index, copy)
    print(f"{len(queries)} queries have their own judgment in the corpus; deleting {len(own)} from {copy}")
    deleted = open_searcher(index=str(copy))
    report = deleted.delete_documents(own)
    if report.failed:
        print(f"delete failed: {report.failed}", file=sys.stderr)
        return 1
    original = open_searcher(index=a.index)
    same_top = same_charge = 0
    for q in queries:
        ex = original.search(Query(facts=q.q, top_k=a.top, exclude_ids=exclusions[q.id]))
        de = deleted.search(Query(facts=q.q, top_k=a.top))
        top_ok = [h.id for h in ex.hits] == [h.id for h in de.hits]
        c_ex = ex.charges_predicted[0].charge if ex.charges_predicted else None
        c_de = de.charges_predicted[0].charge if de.charges_predicted else None
        same_top += top_ok
        same_charge += c_ex == c_de
        print(f"{q.id}\ttop{a.top} {'same' if top_ok else 'DIFFERENT'}\tcharge {c_ex} / {c_de}")
    print(f"same top {a.top}: {same_top}/{len(queries)}; same top charge: {same_charge}/{len(queries)}")
    original.close()
    deleted.close()
    if a.work is None:
        shutil.rmtree(work)
    return 0 if same_top == same_charge == len(queries) else 1


if __name__ == "__main__":
    raise SystemExit(main())
