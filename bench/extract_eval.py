"""Field-level quality of ``leian.indexer.extract`` on the hand-checked gold set (tests/gold/gold.jsonl).

    python bench/extract_eval.py [--gold PATH] [--errors]

Prints one table: precision / recall / F1 for the list fields (charges and circumstances per
defendant, statutes per judgment, defendant names), exact-match accuracy for the scalar fields.
``--errors`` lists every disagreement, to read against the judgment text.

Scoring rules (also used by tests/test_extract.py, which asserts the targets):
- defendants are aligned by name; a gold defendant the extractor missed costs recall on every list
  field and counts as wrong for every sentence field;
- sentence fields are scored over the gold defendants that have a sentence (无罪 ones have none);
  ``None == None`` is a match (no probation, no fine, months of 无期徒刑);
- ``amount_yuan`` matches within 1% (both ``None`` also matches); it is also shown over the
  judgments whose gold amount is not ``None``.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

from leian.corpora.record import CaseRecord
from leian.indexer.extract import extract

GOLD = Path(__file__).resolve().parent.parent / "tests" / "gold" / "gold.jsonl"
SCALARS = ("case_number", "court", "court_level", "province", "procedure", "judgment_date")
TARGETS = {
    "charges": ("f1", 0.97),
    "sentence.months": ("acc", 0.95),
    "sentence.probation_months": ("acc", 0.95),
    "sentence.fine_yuan": ("acc", 0.95),
    "case_number": ("acc", 0.98),
    "circumstances": ("f1", 0.90),
}


def load_gold(path: Path = GOLD) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _amount_ok(p: float | None, g: float | None) -> bool:
    if p is None or g is None:
        return p is None and g is None
    return abs(p - g) <= 0.01 * abs(g)


def score(gold: list[dict]) -> tuple[dict[str, dict], list[str]]:
    """Metrics per field: {"tp","fp","fn","p","r","f1"} for sets, {"n","ok","acc"} for scalars."""
    sets: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # tp, fp, fn
    acc: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # ok, n
    errors: list[str] = []

    def add_set(field: str, pred: set, want: set, where: str) -> None:
        t = sets[field]
        t[0] += len(pred & want)
        t[1] += len(pred - want)
        t[2] += len(want - pred)
        if pred != want:
            errors.append(f"{where} {field}: got {sorted(pred)} want {sorted(want)}")

    def add_acc(field: str, ok: bool, where: str, got, want) -> None:
        acc[field][0] += ok
        acc[field][1] += 1
        if not ok:
            errors.append(f"{where} {field}: got {got!r} want {want!r}")

    for item in gold:
        g = item["expected"]
        r = extract(CaseRecord(id=item["id"], text=item["text"]))
        where = f"[{item['id']}]"
        for f in SCALARS:
            add_acc(f, getattr(r, f) == g[f], where, getattr(r, f), g[f])
        add_acc(
            "amount_yuan", _amount_ok(r.amount_yuan, g["amount_yuan"]), where, r.amount_yuan, g["amount_yuan"]
        )
        if g["amount_yuan"] is not None:
            acc["amount_yuan (gold not null)"][0] += _amount_ok(r.amount_yuan, g["amount_yuan"])
            acc["amount_yuan (gold not null)"][1] += 1
        add_set("statutes", set(r.statutes), set(g["statutes"]), where)
        pred = {d.name: d for d in r.defendants}
        add_set("defendants", set(pred), {d["name"] for d in g["defendants"]}, where)
        for gd in g["defendants"]:
            pd = pred.get(gd["name"])
            w = f"{where} {gd['name']}"
            add_set("charges", set(pd.charges) if pd else set(), set(gd["charges"]), w)
            add_set("circumstances", set(pd.circumstances) if pd else set(), set(gd["circumstances"]), w)
            if gd["sentence"] is None:
                continue
            ps = pd.sentence if pd else None
            for k in ("kind", "months", "probation_months", "fine_yuan"):
                got = getattr(ps, k) if ps else None
                want = gd["sentence"][k]
                ok = (got is not None and ps is not None) if k == "kind" and want is not None else True
                ok = ok and got == want if k != "fine_yuan" else _amount_ok(got, want)
                if pd is None:
                    ok = False
                add_acc(f"sentence.{k}", ok, w, got, want)
        for name, pd in pred.items():  # extra defendants: their values are all false positives
            if name not in {d["name"] for d in g["defendants"]}:
                sets["charges"][1] += len(pd.charges)
                sets["circumstances"][1] += len(pd.circumstances)

    out: dict[str, dict] = {}
    for f, (tp, fp, fn) in sets.items():
        p = tp / (tp + fp) if tp + fp else 1.0
        rc = tp / (tp + fn) if tp + fn else 1.0
        out[f] = {
            "tp": tp,
            "fp": fp,
            "fn": fn,
            "p": p,
            "r": rc,
            "f1": 2 * p * rc / (p + rc) if p + rc else 0.0,
        }
    for f, (ok, n) in acc.items():
        out[f] = {"ok": ok, "n": n, "acc": ok / n if n else 1.0}
    return out, errors


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gold", type=Path, default=GOLD)
    ap.add_argument("--errors", action="store_true", help="list every disagreement")
    args = ap.parse_args()
    gold = load_gold(args.gold)
    metrics, errors = score(gold)
    n_def = sum(len(x["expected"]["defendants"]) for x in gold)
    print(f"gold: {len(gold)} judgments, {n_def} defendants ({args.gold})\n")
    print(f"{'field':30s} {'P':>6s} {'R':>6s} {'F1':>6s} {'acc':>6s} {'n':>5s}  target")
    for f in ("defendants", "charges", "statutes", "circumstances"):
        m = metrics[f]
        t = TARGETS.get(f)
        print(
            f"{f:30s} {m['p']:6.3f} {m['r']:6.3f} {m['f1']:6.3f} {'':>6s} {m['tp'] + m['fn']:5d}  {f'F1 >= {t[1]:.2f}' if t else ''}"
        )
    for f in (
        "sentence.kind",
        "sentence.months",
        "sentence.probation_months",
        "sentence.fine_yuan",
        *SCALARS,
        "amount_yuan",
        "amount_yuan (gold not null)",
    ):
        m = metrics[f]
        t = TARGETS.get(f)
        print(
            f"{f:30s} {'':>6s} {'':>6s} {'':>6s} {m['acc']:6.3f} {m['n']:5d}  {f'acc >= {t[1]:.2f}' if t else ''}"
        )
    if args.errors:
        print(f"\n{len(errors)} disagreements:")
        for e in errors:
            print("  " + e)


if __name__ == "__main__":
    main()
