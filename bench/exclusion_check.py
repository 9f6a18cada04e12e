"""Does excluding a case equal never having indexed it? LeCaRD dev queries whose own judgment is in the
corpus, searched twice: on INDEX with those judgments excluded, and on a copy of INDEX with them deleted.

    python bench/exclusion_check.py --index IDX [--data ../shared/data/lecard] [--work DIR]

The copy is made under --work (default: a temporary folder) and the queries' own judgments deleted
from it with the product's own delete; on INDEX every query excludes all of them (what the copy lacks). Prints, per query, whether the top 10 and the top predicted charge agree, and a
summary. BM25's collection statistics (N, df, average length) lose the deleted judgments in the copy,
so scores move in the third decimal and cases within that of each other may swap; the test
``test_an_excluded_case_changes_nothing_about_the_others`` checks exact equality with the statistics held
fixed.
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
    same_top = same_set = same_charge = 0
    for q in queries:
        ex = original.search(Query(facts=q.q, top_k=a.top, exclude_ids=own))
        de = deleted.search(Query(facts=q.q, top_k=a.top))
        top_ok = [h.id for h in ex.hits] == [h.id for h in de.hits]
        set_ok = {h.id for h in ex.hits} == {h.id for h in de.hits}
        c_ex = ex.charges_predicted[0].charge if ex.charges_predicted else None
        c_de = de.charges_predicted[0].charge if de.charges_predicted else None
        same_top += top_ok
        same_set += set_ok
        same_charge += c_ex == c_de
        order = "same" if top_ok else "same cases, other order" if set_ok else "DIFFERENT"
        print(f"{q.id}\ttop {a.top}: {order}\tcharge {c_ex} / {c_de}")
    n = len(queries)
    print(
        f"same top {a.top}: {same_top}/{n} in order, {same_set}/{n} as a set; same top charge: {same_charge}/{n}"
    )
    original.close()
    deleted.close()
    if a.work is None:
        shutil.rmtree(work)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
