"""Score the sentencing elements against the hand-checked gold set (tests/gold/elements*.jsonl).

    python bench/elements_eval.py                       # the development half
    python bench/elements_eval.py --gold tests/gold/elements_heldout.jsonl
    python bench/elements_eval.py --errors              # every disagreement, to read

Per field, over defendants matched by name (the case's 涉案数额 over judgments): P = agreeing /
extracted, R = agreeing / in the gold set, and "acc" = agreeing / (extracted or in gold) — the strict
figure the targets use (a value found where the gold has none counts against it, as a missed one does).
Amounts and grams agree within 1 %, blood alcohol within 0.5 mg/100ml; drugs per (defendant, kind),
and again with 甲基苯丙胺片剂 counted as 甲基苯丙胺 (the court's own totals do so);
injuries as the defendant's worst grade. "binding": of the circumstances extracted for a defendant that
the gold gives to some defendant of the same multi-defendant judgment, the share given to the right one.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

from leian.corpora.record import INJURY_GRADES, CaseRecord
from leian.indexer.extract import extract

ROOT = Path(__file__).resolve().parents[1]
FIELDS = (
    "case amount_yuan",
    "amount_yuan",
    "drugs",
    "drugs (meth. forms as one)",
    "bac_mg_per_100ml",
    "injury (worst)",
    "deaths",
    "traffic_responsibility",
    "hit_and_run",
    "stage",
    "role",
    "offence_count",
)


def _close(a: float, b: float, rel: float = 0.01) -> bool:
    return abs(a - b) <= rel * max(abs(a), abs(b))


def _same(field: str, got, want) -> bool:
    if field in ("case amount_yuan", "amount_yuan"):
        return _close(got, want)
    if field == "bac_mg_per_100ml":
        return abs(got - want) <= 0.5
    return got == want


class Tally:
    def __init__(self):
        self.agree = self.got = self.want = self.either = 0

    def add(self, got, want, same: bool) -> bool:
        g, w = got is not None, want is not None
        self.got += g
        self.want += w
        self.either += g or w
        ok = g and w and same
        self.agree += ok
        return ok or (not g and not w)

    def row(self) -> tuple[str, ...]:
        p = self.agree / self.got if self.got else float("nan")
        r = self.agree / self.want if self.want else float("nan")
        a = self.agree / self.either if self.either else float("nan")
        return (f"{p:.3f}", f"{r:.3f}", f"{a:.3f}", str(self.want), str(self.got))


def _meth_as_one(grams: dict[str, float]) -> dict[str, float]:
    """Tablets and crystal summed as 甲基苯丙胺: courts state one total ("甲基苯丙胺218克") where the
    gold set, reading the facts, splits the forms."""
    out = dict(grams)
    if "甲基苯丙胺片剂" in out:
        out["甲基苯丙胺"] = out.get("甲基苯丙胺", 0.0) + out.pop("甲基苯丙胺片剂")
    return out


def _worst(grades: list[str]) -> str | None:
    return max(grades, key=INJURY_GRADES.index) if grades else None


def evaluate(gold_path: Path, errors: bool = False) -> dict[str, Tally]:
    tallies: dict[str, Tally] = defaultdict(Tally)
    bind_ok = bind_n = 0
    for line in gold_path.open(encoding="utf-8"):
        g = json.loads(line)
        rec = extract(CaseRecord(id=g["id"], text=g["text"]))
        exp = g["expected"]

        def note(field, got, want, ok, who="", g=g):
            if errors and not ok:
                print(f"{g['id']}\t{g['charge']}\t{who}\t{field}\tgot={got}\twant={want}")

        t = tallies["case amount_yuan"]
        got, want = rec.amount_yuan, exp["amount_yuan"]
        note(
            "case amount_yuan",
            got,
            want,
            t.add(got, want, got is not None and want is not None and _same("case amount_yuan", got, want)),
        )
        by_name = {d.name: d for d in rec.defendants}
        gold_circ = defaultdict(set)
        for gd in exp["defendants"]:
            for c in gd["circumstances"]:
                gold_circ[c].add(gd["name"])
        for gd in exp["defendants"]:
            d = by_name.get(gd["name"])
            e = d.elements if d else None
            ge = gd["elements"]
            for field in (
                "amount_yuan",
                "bac_mg_per_100ml",
                "deaths",
                "traffic_responsibility",
                "hit_and_run",
                "stage",
                "role",
                "offence_count",
            ):
                got = getattr(e, field) if e else None
                want = ge[field]
                if field == "hit_and_run" and want is False and got is None:
                    pass
                ok = tallies[field].add(
                    got, want, got is not None and want is not None and _same(field, got, want)
                )
                note(field, got, want, ok, gd["name"])
            got_w, want_w = (_worst(e.injuries) if e else None), _worst(ge["injuries"])
            note(
                "injury",
                got_w,
                want_w,
                tallies["injury (worst)"].add(got_w, want_w, got_w == want_w),
                gd["name"],
            )
            got_d = {q.kind: q.grams for q in e.drugs} if e else {}
            want_d = {q["kind"]: q["grams"] for q in ge["drugs"]}
            for kind in set(got_d) | set(want_d):
                a, b = got_d.get(kind), want_d.get(kind)
                ok = tallies["drugs"].add(a, b, a is not None and b is not None and _close(a, b))
                note(f"drugs {kind}", a, b, ok, gd["name"])
            merged_got, merged_want = _meth_as_one(got_d), _meth_as_one(want_d)
            for kind in set(merged_got) | set(merged_want):
                a, b = merged_got.get(kind), merged_want.get(kind)
                tallies["drugs (meth. forms as one)"].add(
                    a, b, a is not None and b is not None and _close(a, b)
                )
            if d is not None and len(exp["defendants"]) > 1:
                for c in d.circumstances:
                    if gold_circ.get(c):
                        bind_n += 1
                        right = gd["name"] in gold_circ[c]
                        bind_ok += right
                        if errors and not right:
                            print(
                                f"{g['id']}\t{g['charge']}\t{gd['name']}\tbinding\t{c}\tgold: {sorted(gold_circ[c])}"
                            )
    tallies["binding"] = Tally()
    tallies["binding"].agree, tallies["binding"].got = bind_ok, bind_n
    tallies["binding"].want = tallies["binding"].either = bind_n
    return tallies


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gold", default=str(ROOT / "tests" / "gold" / "elements.jsonl"))
    ap.add_argument("--errors", action="store_true", help="print every disagreement")
    args = ap.parse_args()
    tallies = evaluate(Path(args.gold), args.errors)
    print(f"\n{Path(args.gold).name}")
    print(f"{'field':26s} {'P':>6s} {'R':>6s} {'acc':>6s} {'gold':>5s} {'found':>5s}")
    for field in (*FIELDS, "binding"):
        p, r, a, w, g = tallies[field].row()
        print(f"{field:26s} {p:>6s} {r:>6s} {a:>6s} {w:>5s} {g:>5s}")


if __name__ == "__main__":
    main()
