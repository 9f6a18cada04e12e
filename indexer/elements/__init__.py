"""Sentencing elements per defendant, each with its span: ``find_elements``.

What is read for which defendant follows the law that defines their charge (``corpora/data``):
a 数额 for the economic, property and corruption chapters (三、五、八) and for any 罪名 whose tiers or
thresholds turn on a 数额 (掩饰、隐瞒犯罪所得 …); drug kinds and grams for 第六章第七节; injuries and
deaths for the public-safety, person and public-order chapters (二、四、六章第一节) and 抢劫, where "no
death" (0) is stated only for charges whose tiers turn on an injury or a death, or when someone was
hurt; the responsibility share for road traffic crimes and 逃逸 for 交通肇事; blood alcohol for anyone
it is stated for. 犯罪形态 and the role in a joint crime come from the circumstances the court accepted
(``extract_circumstances``), which are bound to defendants already. Each module's docstring gives its
rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache

from leian.corpora.dictionaries import charge_row
from leian.corpora.law import thresholds_of, tiers_of
from leian.corpora.record import DrugQuantity, Elements
from leian.indexer.elements.counts import defendant_counts
from leian.indexer.elements.harm import defendant_harm, defendant_traffic
from leian.indexer.elements.money import case_amount, defendant_amounts
from leian.indexer.elements.substances import defendant_bac, defendant_drugs

MONEY_CHAPTERS = ("第三章", "第五章", "第八章")
DRUG_SECTION = "第七节 走私、贩卖、运输、制造毒品罪"
HARM_CHAPTERS = ("第二章", "第四章")
HARM_SECTION = "第一节 扰乱公共秩序罪"
HARM_CHARGES = frozenset({"抢劫罪"})
TRAFFIC_CHARGES = frozenset({"交通肇事罪", "危险驾驶罪"})
ESCAPE_CHARGES = frozenset({"交通肇事罪"})  # 逃逸 sets a tier of 交通肇事 (刑法第一百三十三条) only
STAGES = ("预备", "中止", "未遂")  # a circumstance the court accepted → the 犯罪形态
ROLES = ("胁从犯", "从犯", "主犯")


@cache
def reads(charge: str) -> frozenset[str]:
    """Which elements are read for a defendant convicted of ``charge`` (any 罪名 form)."""
    row = charge_row(charge)
    if row is None:
        return frozenset()
    official, chapter, section = row.name, row.chapter, row.section
    kinds = set()
    conditions = "".join(t.condition for t in tiers_of(official))
    if (
        chapter.startswith(MONEY_CHAPTERS)
        or "数额" in conditions
        or any(r.element == "amount_yuan" for r in thresholds_of(official))
    ):
        kinds.add("money")
    if section == DRUG_SECTION:
        kinds.add("drugs")
    if chapter.startswith(HARM_CHAPTERS) or section == HARM_SECTION or official in HARM_CHARGES:
        kinds.add("harm")
    if chapter.startswith("第四章") or official in TRAFFIC_CHARGES or re.search(r"伤|死亡", conditions):
        kinds.add("deaths")
    if official in TRAFFIC_CHARGES:
        kinds.add("traffic")
    if official in ESCAPE_CHARGES:
        kinds.add("escape")
    return frozenset(kinds)


@dataclass
class Found:
    elements: list[Elements]
    case_amount_yuan: float | None
    spans: list[tuple[str, int, int]] = field(default_factory=list)  # (field, start, end)


def find_elements(
    text: str,
    facts: tuple[int, int],
    reasoning: tuple[int, int],
    names,
    defendant_names: list[str],
    defendant_charges: list[list[str]],
    defendant_circumstances: list[list[str]],
    proceedings: tuple[int, int] | None = None,
) -> Found:
    """Elements of each defendant (by index) and the case's 涉案数额. ``names`` is the judgment's
    ``NameMatcher`` (None when no defendant is named).

    What the facts and the reasoning do not state is read from ``proceedings`` (指控, 原审认定): a
    court that finds "事实与指控一致", or an appeal that affirms the 原判's facts, states them there."""
    n = len(defendant_names)
    kinds = [frozenset().union(*(reads(c) for c in cs)) if cs else frozenset() for cs in defendant_charges]
    want = {
        k: {i for i in range(n) if k in kinds[i]} for k in ("money", "drugs", "harm", "traffic", "escape")
    }
    spans: list[tuple[str, int, int]] = []
    money = defendant_amounts(text, reasoning, facts, names, n, want["money"])
    drugs = defendant_drugs(text, reasoning, facts, names, n, want["drugs"])
    harm = defendant_harm(text, [facts, reasoning], names, n, defendant_names, want["harm"])
    traffic = defendant_traffic(text, facts, reasoning, names, n, want["traffic"], want["escape"])
    # a blood test anywhere (the 指控 included) wins over a breath test in the facts
    bac = defendant_bac(text, [facts, reasoning, *([proceedings] if proceedings else [])], names, n)
    if proceedings is not None and proceedings[1] > proceedings[0]:
        none = (reasoning[1], reasoning[1])
        for i, f in defendant_amounts(text, none, proceedings, names, n, want["money"] - set(money)).items():
            money[i] = f
        for i, f in defendant_drugs(text, none, proceedings, names, n, want["drugs"] - set(drugs)).items():
            drugs[i] = f
        lacking = {i for i in want["harm"] if not (harm[i].injuries or harm[i].deaths)}
        for i, f in defendant_harm(text, [proceedings], names, n, defendant_names, lacking).items():
            if f.injuries or f.deaths:
                harm[i] = f
    # A road accident's dead and injured are the accident's: every driver charged for it shares them.
    drivers = [i for i in want["traffic"] if i in harm]
    if len(drivers) > 1:
        toll = max((harm[i] for i in drivers), key=lambda h: ((h.deaths or 0), len(h.injuries)))
        for i in drivers:
            harm[i] = toll
    times = defendant_counts(text, reasoning, facts, names, n, set(money) | set(drugs))
    out: list[Elements] = []
    for i in range(n):
        f = f"defendants.{i}.elements"
        e: dict = {}
        if i in money:
            e["amount_yuan"] = money[i].yuan
            spans += [(f"{f}.amount_yuan", a, b) for a, b in money[i].spans]
        if i in drugs:
            e["drugs"] = [DrugQuantity(kind=k, grams=g) for k, g in drugs[i].grams.items()]
            spans += [(f"{f}.drugs", a, b) for a, b in drugs[i].spans]
        if i in harm:
            e["injuries"] = harm[i].injuries
            # "no death" is stated where a death would set the tier, or where the case hurt someone
            if harm[i].deaths or "deaths" in kinds[i] or harm[i].injuries:
                e["deaths"] = harm[i].deaths
            spans += [(f"{f}.injuries", a, b) for a, b in harm[i].spans]
        if i in traffic:
            e["traffic_responsibility"] = traffic[i].responsibility
            e["hit_and_run"] = traffic[i].hit_and_run
            spans += [(f"{f}.traffic", a, b) for a, b in traffic[i].spans]
        if i in times:
            e["offence_count"] = times[i][0]
            if times[i][2] > times[i][1]:
                spans.append((f"{f}.offence_count", times[i][1], times[i][2]))
        if i in bac:
            e["bac_mg_per_100ml"] = bac[i].mg_per_100ml
            spans.append((f"{f}.bac_mg_per_100ml", bac[i].start, bac[i].end))
        circ = defendant_circumstances[i] if i < len(defendant_circumstances) else []
        if defendant_charges[i]:
            e["stage"] = next((s for s in STAGES if s in circ), "既遂")
        e["role"] = next((r for r in ROLES if r in circ), None)
        out.append(Elements(**e))
    case = None
    if want["money"]:
        found = case_amount(text, facts, names, n, money)
        if found:
            case = found.yuan
            spans += [("amount_yuan", a, b) for a, b in found.spans]
    return Found(out, case, spans)
