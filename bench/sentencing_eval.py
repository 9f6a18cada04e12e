#!/usr/bin/env python3
"""How good the sentence estimate (量刑测算) is on judgments held out from the model that estimates it.

    python bench/sentencing_eval.py --docs ../shared/data/lecard/docs.jsonl.gz [--folds 5] [--seed 0]
        [--cache var/sentencing-obs.json] [--refresh] [--limit N] [--format text|json]
        [--search INDEX [--search-max N]]

The observations are the ones the model learns from (``indexer.sentencing_model.observations`` of each
extracted judgment: a defendant that one charge alone put in custody, 有期徒刑 or 拘役, in months);
extraction takes about a minute on LeCaRD, so they are cached as JSON under ``--cache`` (keyed by the
corpus path, its size and mtime, ``--limit`` and the model's version; ``--refresh`` rebuilds it).

Held-out by grouped K-fold (seeded): co-defendants of one judgment are one group, and judgments that
share a defendant's real name (2+ characters, not anonymised: no 某, ×, X, *) for the same charge are
merged into one group (union-find), so the 一审 and 二审 of the same people never straddle train and
test. ``train()`` is fitted on K−1 folds and predicts every observation of the held-out fold.

The model is ``SentencingModel.predict``'s P10/P50/P90; **as reported** scores the same clipped to the
statutory range of the case's tier, as the report's 量刑测算 states them (``retrieval.sentencing.
estimate``: an open top is not clipped, tier 0 not at all; no estimate where the tier has no 有期徒刑 or
拘役). Per charge with at least ``MIN_TEST`` held-out observations, and overall:

- **MedAE** / **MAE**: median / mean absolute error of the P50 in months (over the answered cases);
- **log-score**: LawBench's score for prison terms (Fei et al. 2023, ``evaluation/evaluation_functions/
  ljp_imprison.py``): (ln 216 − mean |ln(actual+1) − ln(predicted+1)|) / ln 216, an abstention counting
  ln 216 (so it can go below 0 for estimates off by more than a factor of 216, which terms never are);
- **coverage**: the share of actual terms inside [P10, P90] (0.80 when the quantiles are right), and the
  shares below P10 and above P90.

Baselines on the same held-out observations:

- **midpoint**: the middle of the statutory tier ``tier_of`` puts the case in (its own elements and
  province), (min_months + max_months) / 2; an open top (无期徒刑, 死刑) is capped at 180 months (the
  most 有期徒刑 one crime can get, 刑法第四十五条), a tier with no term at all counts 180; a case whose
  elements decide no tier (tier 0) gets the charge's first tier, as the model treats it;
- **similar**: the median term of the training folds' observations of the same charge and the same
  tier (the same charge only when the tier has fewer than ``MIN_TIER_CASES``); a charge absent from
  the training folds abstains. It stands in for the report's median of its similar cases.
- **search** (``--search INDEX``, slow: one search per held-out judgment): what the report does — the
  median of the pooled terms of the single-charge defendants of the same charge among the run's
  ``stats_ids`` (``stats_k=50``), the query being the judgment's facts with its whole group excluded.
  The index should hold the same corpus; its cases are read through the cached observations.

Numbers are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _lecard_docs import DEFAULT, lecard_records  # noqa: E402

from leian.corpora.law.tiers import tiers_of  # noqa: E402
from leian.indexer.sentencing_model import (  # noqa: E402
    PROBATION_MAX_MONTHS,
    VERSION,
    Observation,
    observations,
    train,
)
from leian.retrieval.sentencing.estimate import MAX_FIXED_TERM, MITIGATING  # noqa: E402

DEFAULT_CACHE = Path("var/sentencing-obs.json")
CACHE_FORMAT = "sentencing-obs/1"
MIN_TEST = 30  # a charge gets its own row from this many held-out observations
MIN_TIER_CASES = 5  # the similar-case median uses the tier from this many training cases
TERMS = frozenset({"有期徒刑", "拘役"})
OPEN_TOP_MONTHS = 180  # an open top (无期徒刑/死刑) as the longest fixed term (刑法第四十五条)
LOG_216 = math.log(216)  # LawBench's cap: an abstention's distance
ANONYMISED = frozenset("某×XＸx*＊")
ORDINALS = frozenset("甲乙丙丁戊己庚辛")
FORMATS = ("text", "json")  # --format


# ---------------------------------------------------------------- metrics


def log_distance(actual: float, predicted: float | None) -> float:
    """|ln(actual+1) − ln(predicted+1)|, months; ln 216 for an abstention (LawBench ljp_imprison)."""
    if predicted is None:
        return LOG_216
    return abs(math.log(actual + 1) - math.log(predicted + 1))


def lawbench_score(actual: Sequence[float], predicted: Sequence[float | None]) -> float | None:
    """LawBench's imprisonment score: (ln 216 − mean log distance) / ln 216; None for no cases."""
    if not actual:
        return None
    mean = sum(log_distance(a, p) for a, p in zip(actual, predicted, strict=True)) / len(actual)
    return (LOG_216 - mean) / LOG_216


def coverage(actual: Sequence[float], intervals: Sequence[tuple[float, float] | None]) -> Coverage:
    """The shares of ``actual`` inside, below and above its interval (over the cases that have one)."""
    pairs = [(a, iv) for a, iv in zip(actual, intervals, strict=True) if iv is not None]
    n = len(pairs)
    below = sum(1 for a, (lo, _) in pairs if a < lo)
    above = sum(1 for a, (_, hi) in pairs if a > hi)
    if not n:
        return Coverage(n=0, inside=None, below=None, above=None)
    return Coverage(n=n, inside=(n - below - above) / n, below=below / n, above=above / n)


@dataclass(frozen=True)
class Coverage:
    n: int
    inside: float | None
    below: float | None
    above: float | None


@dataclass(frozen=True)
class Scores:
    """One method on one set of held-out observations."""

    n: int
    answered: int
    medae: float | None  # months, over the answered
    mae: float | None
    log_score: float | None  # abstentions count ln 216
    bias: float | None  # median of predicted − actual, months (over the answered)


def scores(actual: Sequence[float], predicted: Sequence[float | None]) -> Scores:
    errors = [p - a for a, p in zip(actual, predicted, strict=True) if p is not None]
    absolute = [abs(e) for e in errors]
    return Scores(
        n=len(actual),
        answered=len(errors),
        medae=statistics.median(absolute) if absolute else None,
        mae=statistics.fmean(absolute) if absolute else None,
        log_score=lawbench_score(actual, predicted),
        bias=statistics.median(errors) if errors else None,
    )


# ---------------------------------------------------------------- grouping and folds


def anonymised(name: str) -> bool:
    """A name that identifies nobody across judgments: under 2 characters, with 某/×/X/* or a digit
    (潘2), or a surname with an ordinal (李甲, 王乙)."""
    return (
        len(name) < 2
        or any(ch in ANONYMISED or ch.isdigit() for ch in name)
        or (len(name) == 2 and name[1] in ORDINALS)
    )


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, i: int, j: int) -> None:
        a, b = self.find(i), self.find(j)
        if a != b:
            self.parent[max(a, b)] = min(a, b)


def groups(obs: Sequence[Observation]) -> list[int]:
    """A group number per observation: one judgment's observations are one group, merged with every
    judgment sharing a real (not anonymised) defendant name for the same charge."""
    uf = _UnionFind(len(obs))
    first: dict[tuple[str, ...], int] = {}
    for i, o in enumerate(obs):
        keys = [("case", o.case_id)]
        if not anonymised(o.defendant):
            keys.append(("name", o.defendant, o.charge))
        for key in keys:
            j = first.setdefault(key, i)
            uf.union(i, j)
    roots: dict[int, int] = {}
    return [roots.setdefault(uf.find(i), len(roots)) for i in range(len(obs))]


def assign_folds(group_of: Sequence[int], folds: int, seed: int) -> list[int]:
    """A fold per observation: groups in a seeded random order, each to the fold with the fewest
    observations so far (ties to the lowest fold), so the folds are of about equal size."""
    sizes: dict[int, int] = defaultdict(int)
    for g in group_of:
        sizes[g] += 1
    order = np.random.default_rng(seed).permutation(sorted(sizes))
    load = [0] * folds
    fold_of_group = {}
    for g in order:
        k = min(range(folds), key=lambda f: (load[f], f))
        fold_of_group[int(g)] = k
        load[k] += sizes[int(g)]
    return [fold_of_group[g] for g in group_of]


# ---------------------------------------------------------------- baselines


def midpoint(o: Observation) -> float:
    """The middle of the statutory tier of the case (tier 0: the first), open top at 180 months."""
    tiers = tiers_of(o.charge)
    row = tiers[max(o.tier, 1) - 1]
    hi = row.max_months if row.max_months is not None else OPEN_TOP_MONTHS
    lo = row.min_months if row.min_months is not None else OPEN_TOP_MONTHS
    return (lo + hi) / 2


def as_reported(quantiles: list[float] | None, o: Observation) -> list[float] | None:
    """The model's quantiles as the report's 量刑测算 states them (``retrieval.sentencing.estimate``):
    at most the tier's top (an open top: 180 months), at least its floor unless a ground for 减轻处罚
    is present; no estimate when the tier has no 有期徒刑 or 拘役; tier 0, no clipping. (The report
    also bounds an uncertain tier by the charge's range; the cache does not keep certainty.)"""
    if quantiles is None or not o.tier:
        return quantiles
    row = tiers_of(o.charge)[o.tier - 1]
    if not TERMS & set(row.penalties):
        return None
    grounds = MITIGATING & {*o.circumstances, o.elements.stage or "", o.elements.role or ""}
    lo = None if grounds else row.min_months
    hi = row.max_months or MAX_FIXED_TERM
    out = [max(v, lo) if lo is not None else v for v in quantiles]
    return [min(v, hi) for v in out]


class SimilarMedian:
    """The median term of the training observations of the same charge and tier (the charge alone
    when the tier has fewer than ``MIN_TIER_CASES``)."""

    def __init__(self, training: Iterable[Observation]) -> None:
        by_tier: dict[tuple[str, int], list[int]] = defaultdict(list)
        by_charge: dict[str, list[int]] = defaultdict(list)
        for o in training:
            by_tier[o.charge, o.tier].append(o.months)
            by_charge[o.charge].append(o.months)
        self.tier = {k: float(np.median(v)) for k, v in by_tier.items() if len(v) >= MIN_TIER_CASES}
        self.charge = {k: float(np.median(v)) for k, v in by_charge.items()}

    def __call__(self, o: Observation) -> float | None:
        return self.tier.get((o.charge, o.tier), self.charge.get(o.charge))


# ---------------------------------------------------------------- the evaluation


@dataclass
class Prediction:
    """What each method said about one held-out observation."""

    index: int  # into the observations
    fold: int
    quantiles: list[float] | None  # P10, P50, P90: what ``SentencingModel.predict`` returned
    reported: list[float] | None  # the same as the report states them (``as_reported``)
    fit: str | None  # "own" (the charge's own fit), "pooled" or None (no estimate)
    midpoint: float
    similar: float | None
    search: float | None = None
    probation: float | None = None  # the model's chance of 缓刑
    probation_base: float | None = None  # the training folds' 缓刑 rate of the charge (eligible cases)
    fine: float | None = None  # the model's median fine
    fine_base: float | None = None  # the training folds' median fine of the charge


class SideBaselines:
    """The training folds' 缓刑 rate (over eligible cases) and median fine, per charge."""

    def __init__(self, training: Iterable[Observation]) -> None:
        rates: dict[str, list[bool]] = defaultdict(list)
        fines: dict[str, list[float]] = defaultdict(list)
        for o in training:
            if o.months <= PROBATION_MAX_MONTHS:
                rates[o.charge].append(o.probation)
            if o.fine_yuan:
                fines[o.charge].append(o.fine_yuan)
        self.probation = {c: float(np.mean(v)) for c, v in rates.items()}
        self.fine = {c: float(np.median(v)) for c, v in fines.items()}


def side_summary(obs: Sequence[Observation], preds: Sequence[Prediction]) -> dict:
    """缓刑: Brier score of the model's chance against the charge's rate (cases where it was possible and
    both answer); 罚金: median absolute error against the charge's median fine (fined cases)."""
    prob = [
        (float(obs[p.index].probation), p.probation, p.probation_base)
        for p in preds
        if obs[p.index].months <= PROBATION_MAX_MONTHS
        and p.probation is not None
        and p.probation_base is not None
    ]
    fine = [
        (obs[p.index].fine_yuan, p.fine, p.fine_base)
        for p in preds
        if obs[p.index].fine_yuan and p.fine is not None and p.fine_base is not None
    ]
    out: dict = {"probation_n": len(prob), "fine_n": len(fine)}
    if prob:
        y, m, b = (np.asarray(c, dtype=float) for c in zip(*prob, strict=True))
        out |= {
            "probation_brier": float(np.mean((m - y) ** 2)),
            "probation_brier_base": float(np.mean((b - y) ** 2)),
        }
    if fine:
        y, m, b = (np.asarray(c, dtype=float) for c in zip(*fine, strict=True))
        out |= {
            "fine_medae": float(np.median(np.abs(m - y))),
            "fine_medae_base": float(np.median(np.abs(b - y))),
        }
    return out


def cross_validate(
    obs: Sequence[Observation],
    folds: int = 5,
    seed: int = 0,
    search: Callable[[Observation, set[str]], float | None] | None = None,
    on_fold: Callable[[int, int, float], None] | None = None,
) -> list[Prediction]:
    """Every observation predicted by the model trained on the folds without its group."""
    group_of = groups(obs)
    fold_of = assign_folds(group_of, folds, seed)
    cases_of_group: dict[int, set[str]] = defaultdict(set)
    for o, g in zip(obs, group_of, strict=True):
        cases_of_group[g].add(o.case_id)
    out: list[Prediction] = []
    for f in range(folds):
        t0 = time.perf_counter()
        training = [o for o, k in zip(obs, fold_of, strict=True) if k != f]
        model = train(training)
        similar = SimilarMedian(training)
        base = SideBaselines(training)
        for i, (o, k) in enumerate(zip(obs, fold_of, strict=True)):
            if k != f:
                continue
            q = model.predict(o.charge, o.tier, o.elements, o.circumstances) if model else None
            fit = model.fit_for(o.charge) if model else None
            out.append(
                Prediction(
                    index=i,
                    fold=f,
                    quantiles=q,
                    reported=as_reported(q, o),
                    fit=None if fit is None else ("own" if len(fit.charges) == 1 else "pooled"),
                    midpoint=midpoint(o),
                    similar=similar(o),
                    search=search(o, cases_of_group[group_of[i]]) if search else None,
                    probation=model.probation(o.charge, o.tier, o.elements, o.circumstances)
                    if model
                    else None,
                    probation_base=base.probation.get(o.charge),
                    fine=model.fine(o.charge, o.tier, o.elements, o.circumstances) if model else None,
                    fine_base=base.fine.get(o.charge),
                )
            )
        if on_fold:
            on_fold(f, len(training), time.perf_counter() - t0)
    out.sort(key=lambda p: p.index)
    return out


@dataclass(frozen=True)
class Row:
    charge: str  # the charge, or the summary's label
    scope: str  # "charge", or a summary: "all", "answered" (by the model), "own" / "pooled" (its fit)
    n: int
    model: Scores
    coverage: Coverage
    reported: Scores  # the model as the report states it: clipped to the tier's range
    reported_coverage: Coverage
    midpoint: Scores
    similar: Scores
    search: Scores | None


def _row(
    charge: str, scope: str, obs: Sequence[Observation], preds: Sequence[Prediction], with_search: bool
) -> Row:
    actual = [float(obs[p.index].months) for p in preds]
    return Row(
        charge=charge,
        scope=scope,
        n=len(preds),
        model=scores(actual, [p.quantiles[1] if p.quantiles else None for p in preds]),
        coverage=coverage(actual, [(p.quantiles[0], p.quantiles[2]) if p.quantiles else None for p in preds]),
        reported=scores(actual, [p.reported[1] if p.reported else None for p in preds]),
        reported_coverage=coverage(
            actual, [(p.reported[0], p.reported[2]) if p.reported else None for p in preds]
        ),
        midpoint=scores(actual, [p.midpoint for p in preds]),
        similar=scores(actual, [p.similar for p in preds]),
        search=scores(actual, [p.search for p in preds]) if with_search else None,
    )


def summarise(
    obs: Sequence[Observation],
    preds: Sequence[Prediction],
    min_test: int = MIN_TEST,
    with_search: bool = False,
) -> list[Row]:
    """A row per charge with ``min_test`` held-out observations (most first), then the summary rows:
    all observations, the ones the model answered (every method on the same cases), and the charges
    with their own fit and those in the pooled fit."""
    by_charge: dict[str, list[Prediction]] = defaultdict(list)
    for p in preds:
        by_charge[obs[p.index].charge].append(p)
    charges = sorted(
        (c for c, v in by_charge.items() if len(v) >= min_test), key=lambda c: (-len(by_charge[c]), c)
    )
    rows = [_row(c, "charge", obs, by_charge[c], with_search) for c in charges]
    for label, scope, subset in (
        ("overall", "all", list(preds)),
        ("model answered", "answered", [p for p in preds if p.quantiles]),
        ("own-fit charges", "own", [p for p in preds if p.fit == "own"]),
        ("pooled-fit charges", "pooled", [p for p in preds if p.fit == "pooled"]),
    ):
        if subset:
            rows.append(_row(label, scope, obs, subset, with_search))
    return rows


# ---------------------------------------------------------------- the observations and their cache


def _cache_key(docs: Path, limit: int | None) -> dict:
    st = docs.stat()
    return {
        "format": CACHE_FORMAT,
        "model": VERSION,
        "docs": str(docs.resolve()),
        "size": st.st_size,
        "mtime": int(st.st_mtime),
        "limit": limit,
    }


def load_observations(
    docs: Path, cache: Path, limit: int | None = None, refresh: bool = False
) -> list[Observation]:
    """The corpus's observations: from ``cache`` when it was made from the same corpus, else extracted
    (and written to ``cache``)."""
    from leian.indexer.extract import extract

    key = _cache_key(docs, limit)
    if cache.exists() and not refresh:
        data = json.loads(cache.read_text(encoding="utf-8"))
        if data.get("key") == key:
            return [Observation.model_validate(o) for o in data["observations"]]
        print(f"{cache} was made from another corpus or version: extracting again", file=sys.stderr)
    t0 = time.perf_counter()
    obs: list[Observation] = []
    n = 0
    for rec in lecard_records(docs, limit):
        obs.extend(observations(extract(rec)))
        n += 1
    print(f"extracted {n} judgments in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    cache.parent.mkdir(parents=True, exist_ok=True)
    payload = {"key": key, "judgments": n, "observations": [o.model_dump(mode="json") for o in obs]}
    cache.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
    return obs


def search_baseline(
    index: str, docs: Path, obs: Sequence[Observation]
) -> Callable[[Observation, set[str]], float | None]:
    """The report's similar-case median for a held-out observation: one search with its facts."""
    from leian.indexer.sections import sections_of
    from leian.retrieval.models import Query
    from leian.retrieval.search import open_searcher

    searcher = open_searcher("embedded", index)
    wanted = {o.case_id for o in obs}
    facts = {r.id: sections_of(r.text).facts or r.text for r in lecard_records(docs) if r.id in wanted}
    terms: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for o in obs:
        terms[o.case_id][o.charge].append(o.months)
    memo: dict[tuple[str, str], float | None] = {}

    def median_of_search(o: Observation, group: set[str]) -> float | None:
        if (o.case_id, o.charge) not in memo:
            text = facts.get(o.case_id)
            if not text or not text.strip():  # not in --docs: nothing to search with
                return None
            run = searcher.run(Query(facts=text, exclude_ids=sorted(group)), stats_k=50)
            pooled = [m for i in run.stats_ids if i not in group for m in terms.get(i, {}).get(o.charge, [])]
            memo[o.case_id, o.charge] = float(np.median(pooled)) if pooled else None
        return memo[o.case_id, o.charge]

    return median_of_search


# ---------------------------------------------------------------- output


def _f(x: float | None, spec: str) -> str:
    return "—" if x is None else format(x, spec)


def _pad(text: str, width: int) -> str:
    """``text`` left-aligned in ``width`` terminal columns (a CJK character takes two)."""
    used = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return text + " " * max(width - used, 0)


def render_table(rows: Sequence[Row]) -> str:
    """The rows as a fixed-width table: the model, the model as reported, then the baselines."""
    search = any(r.search for r in rows)
    head = (
        f"{'charge':<16} {'n':>5} {'ans':>5} {'MedAE':>6} {'MAE':>6} {'log':>6} {'cover':>6} {'<P10':>5} {'>P90':>5}"
        f" | {'rep MedAE':>9} {'rep cover':>9} | {'mid MedAE':>9} {'mid log':>7} | {'sim MedAE':>9} {'sim log':>7}"
        + (f" | {'srch MedAE':>10} {'srch log':>8}" if search else "")
    )
    rule = "-" * len(head)
    lines = [head, rule]
    for r in rows:
        if r.scope == "all" and lines[-1] != rule:
            lines.append(rule)
        m, c = r.model, r.coverage
        cells = [
            f"{_pad(r.charge, 16)} {r.n:>5} {m.answered:>5} {_f(m.medae, '.1f'):>6} {_f(m.mae, '.1f'):>6}",
            f"{_f(m.log_score, '.3f'):>6} {_f(c.inside, '.3f'):>6} {_f(c.below, '.2f'):>5} {_f(c.above, '.2f'):>5}",
            f"| {_f(r.reported.medae, '.1f'):>9} {_f(r.reported_coverage.inside, '.3f'):>9}",
            f"| {_f(r.midpoint.medae, '.1f'):>9} {_f(r.midpoint.log_score, '.3f'):>7}",
            f"| {_f(r.similar.medae, '.1f'):>9} {_f(r.similar.log_score, '.3f'):>7}",
        ]
        if search:
            s = r.search
            cells.append(
                f"| {_f(s.medae if s else None, '.1f'):>10} {_f(s.log_score if s else None, '.3f'):>8}"
            )
        lines.append(" ".join(cells))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", type=Path, default=DEFAULT, help="LeCaRD's docs.jsonl.gz")
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="observations cache (JSON)")
    ap.add_argument("--refresh", action="store_true", help="extract again even when the cache matches")
    ap.add_argument("--limit", type=int, default=None, help="only the first N judgments")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--min-test", type=int, default=MIN_TEST, help="held-out observations for a charge's row")
    ap.add_argument("--search", metavar="INDEX", help="also the report's search median (slow)")
    ap.add_argument("--format", choices=FORMATS, default="text")
    args = ap.parse_args(argv)
    if args.folds < 2:
        ap.error(f"--folds {args.folds}: at least 2 are needed to hold cases out")
    if not args.docs.exists():
        print(
            f"sentencing_eval: no corpus at {args.docs}; pass --docs PATH to LeCaRD's docs.jsonl.gz",
            file=sys.stderr,
        )
        return 2

    t0 = time.perf_counter()
    obs = load_observations(args.docs, args.cache, args.limit, args.refresh)
    if len({o.case_id for o in obs}) < args.folds:
        print(f"sentencing_eval: {len(obs)} observations are too few for {args.folds} folds", file=sys.stderr)
        return 2
    n_groups = len(set(groups(obs)))
    print(
        f"{len(obs)} observations from {len({o.case_id for o in obs})} judgments, {n_groups} groups; "
        f"{args.folds}-fold grouped cross-validation (seed {args.seed})",
        file=sys.stderr,
    )
    search = search_baseline(args.search, args.docs, obs) if args.search else None

    def progress(f: int, n: int, s: float) -> None:
        print(f"fold {f + 1}/{args.folds}: trained on {n}, {s:.0f} s", file=sys.stderr, flush=True)

    preds = cross_validate(obs, args.folds, args.seed, search, progress)
    rows = summarise(obs, preds, args.min_test, with_search=search is not None)
    elapsed = time.perf_counter() - t0
    if args.format == "json":
        out = {
            "observations": len(obs),
            "groups": n_groups,
            "folds": args.folds,
            "seed": args.seed,
            "seconds": round(elapsed, 1),
            "rows": [asdict(r) for r in rows],
            "probation_and_fine": side_summary(obs, preds),
        }
        print(json.dumps(out, ensure_ascii=False, indent=1))
    else:
        print(render_table(rows))
        side = side_summary(obs, preds)
        if "probation_brier" in side:
            print(
                f"缓刑 ({side['probation_n']} cases where it was possible): Brier {side['probation_brier']:.3f}, "
                f"the charge's rate {side['probation_brier_base']:.3f}"
            )
        if "fine_medae" in side:
            print(
                f"罚金 ({side['fine_n']} fined cases): MedAE {side['fine_medae']:,.0f} yuan, "
                f"the charge's median {side['fine_medae_base']:,.0f} yuan"
            )
        print(f"run time {elapsed:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
