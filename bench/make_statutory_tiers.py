"""Generate ``corpora/data/statutory_tiers.tsv``: every 罪名's 法定刑 tiers, read off the Criminal Law's text.

Inputs (all under ``bench/law/``):

- ``xingfa_fenze.txt`` — the 分则 as amended through 刑法修正案（十二）, one 款 per line, with its provenance
  in the header;
- ``charge_refs.tsv`` — which 款 hold each 罪名's penalties (default: the first 款 of the article in
  ``charges.tsv``);
- ``amendments.tsv`` — the amendment that last set each article's (or 款's) wording;
- ``hand_tiers.tsv`` — rows written by hand, used instead of the parsed ones for the charges they name.

Each 款 is cut into clauses at ``；``/``。``; a clause with a penalty (``处三年以下有期徒刑…``) is a tier, and
the words before ``处`` are its condition. A 款 that only says ``依照前款的规定处罚`` takes the tiers of the 款
it points to. A tier's months follow 刑法 arts. 38, 42, 45 (管制 3–24, 拘役 1–6, 有期徒刑 6–180 months);
无期徒刑/死刑 leave the bound open.

Hand-checked: the 60 most common charges (``HAND_CHECKED`` below) were read row by row against the
article text; the ones whose parsed rows were wrong or unclear have rows in ``hand_tiers.tsv``. Charges
that could not be finished: none.

Run: ``.venv/bin/python bench/make_statutory_tiers.py`` (writes the TSV; ``--check`` only compares).
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import cn2an

ROOT = Path(__file__).resolve().parents[1]
LAW = ROOT / "bench" / "law"
OUT = ROOT / "corpora" / "data" / "statutory_tiers.tsv"
CHARGES = ROOT / "corpora" / "data" / "charges.tsv"
COLUMNS = (
    "charge", "article", "level", "condition", "condition_key", "min_months", "max_months",
    "penalties", "fine", "penalty_text", "source",
)  # fmt: skip

HAND_CHECKED = (
    "盗窃罪", "诈骗罪", "抢夺罪", "抢劫罪", "敲诈勒索罪", "职务侵占罪", "贪污罪", "受贿罪", "行贿罪",
    "非国家工作人员受贿罪", "挪用公款罪", "挪用资金罪", "合同诈骗罪", "集资诈骗罪", "信用卡诈骗罪",
    "贷款诈骗罪", "非法吸收公众存款罪", "掩饰、隐瞒犯罪所得、犯罪所得收益罪", "非法经营罪", "故意伤害罪",
    "故意杀人罪", "强奸罪", "非法拘禁罪", "寻衅滋事罪", "聚众斗殴罪", "妨害公务罪", "交通肇事罪", "危险驾驶罪",
    "走私、贩卖、运输、制造毒品罪", "非法持有毒品罪", "容留他人吸毒罪", "引诱、容留、介绍卖淫罪", "组织卖淫罪",
    "开设赌场罪", "赌博罪", "故意毁坏财物罪", "滥伐林木罪", "盗伐林木罪", "非法持有、私藏枪支、弹药罪",
    "非法制造、买卖、运输、邮寄、储存枪支、弹药、爆炸物罪", "滥用职权罪", "玩忽职守罪", "帮助信息网络犯罪活动罪",
    "侵犯公民个人信息罪", "组织、领导传销活动罪", "虚开增值税专用发票、用于骗取出口退税、抵扣税款发票罪",
    "骗取贷款、票据承兑、金融票证罪", "污染环境罪", "非法采矿罪", "非法占用农用地罪", "窝藏、包庇罪",
    "拒不支付劳动报酬罪", "拒不执行判决、裁定罪", "生产、销售伪劣产品罪", "生产、销售有毒、有害食品罪",
    "假冒注册商标罪", "销售假冒注册商标的商品罪", "猥亵儿童罪", "强制猥亵、侮辱罪",
    "伪造、变造、买卖国家机关公文、证件、印章罪",
)  # fmt: skip

NUM = "零一二三四五六七八九十百"
ARTICLE = re.compile(rf"^(第[{NUM}]+条(?:之[{NUM}]+)?|决定第一条) (.*)$")
HEADING = re.compile(rf"^第[{NUM}]+[编章节] ")
ITEM = re.compile(rf"^（[{NUM}]+）")
REF = re.compile(rf"^(第[{NUM}]+条(?:之[{NUM}]+)?|决定第一条)(?:第([{NUM}]+)款)?(?:#(\d+))?(?:\{{(.+?)\}})?$")
# the start of a penalty: 处 followed by a term or a kind (so 处罚, 判处罚金 and 定罪处罚 never match)
PENALTY = re.compile(rf"处(?=[{NUM}]+年|拘役|管制|无期徒刑|死刑)")
ROLE_SPLIT = re.compile(r"；(?:对)?(?:其他)?(?:积极)?参加")
# who is punished (单位犯罪的罚金、直接责任人员) is not part of a tier's condition
UNIT_TAIL = re.compile(r"，(?:对单位判处|并?对其直接负责的|对直接责任人员).*$")
POINTER = re.compile(rf"依照(前款|前两款|第([{NUM}]+)款)(?:的)?规定(?:从重)?(?:酌情)?处罚")
TERM_RANGE = re.compile(rf"([{NUM}]+)年以上([{NUM}]+)年以下有期徒刑")
TERM_MAX = re.compile(rf"(?<!以上)([{NUM}]+)年以下有期徒刑")
TERM_MIN = re.compile(rf"([{NUM}]+)年以上有期徒刑")
TERM_FIXED = re.compile(rf"([{NUM}]+)年有期徒刑")
KINDS = ("管制", "拘役", "有期徒刑", "无期徒刑", "死刑", "剥夺政治权利")
# 刑法 arts. 38, 42, 45: the bounds of each term penalty in months
TERM_BOUNDS = {"管制": (3, 24), "拘役": (1, 6), "有期徒刑": (6, 180)}

# condition phrase → key, first match wins: amount before 情节 (the law writes 数额巨大或者有其他严重情节), and
# both before roles (聚众哄抢: 数额较大…的，对首要分子和积极参加的 is graded by the amount)
KEYS: tuple[tuple[str, str], ...] = (
    ("escape_death", r"因逃逸致人死亡"),
    ("escape", r"逃逸"),
    ("lesser", r"情节较轻"),
    ("amount_extra", r"数额特别巨大|数量特别巨大|差额特别巨大"),
    ("amount_huge", r"数额巨大|数量巨大|差额巨大|数量大"),
    ("amount_large", r"数额较大|数量较大"),
    ("very_serious", r"情节特别严重|特别严重情节"),
    ("serious", r"情节严重|严重情节"),
    ("moderate", r"情节较重|较重情节"),
    ("very_vile", r"情节特别恶劣|特别恶劣情节"),
    ("vile", r"情节恶劣|恶劣情节"),
    ("role_leader", r"首要分子|罪行重大"),
    ("role_active", r"积极参加"),
    ("role_other", r"其他参加|其他参与"),
    ("injury_or_death", r"重伤、死亡|伤残、死亡|重残、死亡"),
    ("death", r"死亡"),
    ("grave_injury", r"重伤"),
    ("consequence_very_serious", r"后果特别严重|特别严重后果"),
    ("consequence_serious", r"严重后果|后果严重|严重危害|严重损害"),
    ("loss_extra", r"特别重大损失"),
    ("loss_major", r"重大损失"),
    ("loss_large", r"较大损失"),
    ("aggravated", r"下列情形之一"),
)
OPENING_SKIP = ("aggravated", "death", "grave_injury", "injury_or_death")
# keys that grade the offence named before them rather than name an offence of their own
RELATIVE = frozenset(
    {"lesser", "moderate", "serious", "very_serious", "vile", "very_vile", "consequence_serious",
     "consequence_very_serious"}
)  # fmt: skip


@dataclass
class Tier:
    condition: str
    key: str
    min_months: int | None
    max_months: int | None
    penalties: tuple[str, ...]
    fine: str
    penalty_text: str
    article: str  # 刑法第X条[第Y款]
    source: str
    words: str = ""  # the law's words before 处, for renaming a tier later


def n(text: str) -> int:
    return int(cn2an.cn2an(text, "smart"))


def load_law() -> dict[str, list[str]]:
    """Article → its 款 (each with its items appended on new lines)."""
    articles: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in (LAW / "xingfa_fenze.txt").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#") or HEADING.match(line):
            continue
        if m := ARTICLE.match(line):
            current = articles.setdefault(m.group(1), [])
            current.append(m.group(2))
        elif ITEM.match(line):
            current[-1] += "\n" + line
        else:
            current.append(line)
    return articles


def load_tsv(path: Path) -> list[dict[str, str]]:
    lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln and not ln.startswith("#")]
    return list(csv.DictReader(lines, delimiter="\t"))


def amendment_of(amendments: dict[str, str], article: str, paragraph: int) -> str:
    hit = amendments.get(f"{article}第{cn2an.an2cn(paragraph)}款") or amendments.get(article)
    return f"{hit}修正" if hit else "1997年修订后未经修正"


def cite(article: str, paragraph: int, paragraphs: int) -> str:
    if article == "决定第一条":
        return "《全国人民代表大会常务委员会关于惩治骗购外汇、逃汇和非法买卖外汇犯罪的决定》第一条第一款"
    return f"刑法{article}" + (f"第{cn2an.an2cn(paragraph)}款" if paragraphs > 1 else "")


def classify(text: str, skip: tuple[str, ...] = ()) -> tuple[str, str] | None:
    """The key of a condition and the comma-separated piece of the text that names it."""
    for key, pattern in KEYS:
        if key not in skip and (m := re.search(pattern, text)):
            start, end = text.rfind("，", 0, m.start()) + 1, text.find("，", m.end())
            while text.startswith("或者", start) and start > 0:  # 严重损害…利益，或者有其他严重情节
                start = text.rfind("，", 0, start - 1) + 1
            piece = text[start : end if end >= 0 else len(text)].rstrip("的").removeprefix("对")
            # 尚未造成严重后果 (第一百一十四条) names the absence of the aggravation: the base offence
            return ("base" if "尚未" in piece else key), piece
    return None


def parse_penalty(text: str) -> tuple[int | None, int | None, tuple[str, ...], str]:
    """``处…`` (up to the clause end) → (min months, max months, kinds, fine key)."""
    principal, _, additional = text.partition("，")
    kinds = tuple(k for k in KINDS if k in principal)
    fixed_term = "有期徒刑" in kinds
    lo = hi = None
    if m := TERM_RANGE.search(principal):
        lo, hi = n(m.group(1)) * 12, n(m.group(2)) * 12
    elif m := TERM_MAX.search(principal):
        hi = n(m.group(1)) * 12
    elif m := TERM_MIN.search(principal):
        lo, hi = n(m.group(1)) * 12, TERM_BOUNDS["有期徒刑"][1]
    elif m := TERM_FIXED.search(principal):
        lo = hi = n(m.group(1)) * 12
    terms = [k for k in ("管制", "拘役", "有期徒刑") if k in kinds]
    lows = [TERM_BOUNDS[k][0] for k in terms if k != "有期徒刑"] + ([lo or 6] if fixed_term else [])
    highs = [TERM_BOUNDS[k][1] for k in terms if k != "有期徒刑"] + ([hi or 180] if fixed_term else [])
    min_months = min(lows) if lows else None
    max_months = None if {"无期徒刑", "死刑"} & set(kinds) else (max(highs) if highs else None)
    if "单处" in additional:
        fine = "并处或者单处"
    elif "可以并处" in additional and "罚金" in additional:
        fine = "可以并处"
    elif "并处" in additional and "罚金" in additional:
        fine = "并处"
    elif "罚金" in principal:
        fine = "单处"
    else:
        fine = "none"
    return min_months, max_months, kinds, fine


def clauses(paragraph: str) -> list[tuple[str, list[str]]]:
    """(clause, items that describe it): the 款's sentences cut at ；/。, items attached to their clause.

    Items that carry their own penalty (第一百五十三条, 第三百八十三条) are clauses themselves."""
    head, *items = paragraph.split("\n")
    out = [(c, []) for c in re.split(r"[；。：]", head) if c.strip()]
    if any(PENALTY.search(i) for i in items):
        for item in items:
            out += [(c, []) for c in re.split(r"[；。]", ITEM.sub("", item)) if c.strip()]
    elif items:
        listed = next((c for c in out if "下列" in c[0]), out[-1])
        listed[1].extend(ITEM.sub("", i).rstrip("；。的") for i in items)
    return out


def tiers_of(
    law: dict[str, list[str]], amendments: dict[str, str], article: str, paragraph: int, first: bool
) -> list[Tier]:
    paragraphs = law[article]
    text = paragraphs[paragraph - 1]
    parts = clauses(text)
    if not any(PENALTY.search(c) for c, _ in parts):
        if m := POINTER.search(text):  # 依照前款（第X款）的规定处罚
            target = paragraph - 1 if m.group(1).startswith("前") else n(m.group(2))
            return tiers_of(law, amendments, article, target, first)
        raise ValueError(f"{article}第{cn2an.an2cn(paragraph)}款 states no penalty")
    out: list[Tier] = []
    opening: str | None = None  # the condition of the 款's first tier
    # 对首要分子，处…；对其他积极参加的，处…: here the role, not the 情节 before it, tells the tiers apart
    by_role = ROLE_SPLIT.search(text) is not None
    for clause, items in parts:
        at = PENALTY.search(clause)
        if at is None:
            continue
        before = clause[: at.start()].strip("，")
        last = UNIT_TAIL.sub("", before).rsplit("，", 1)[-1]
        role = classify(last) if by_role else None
        if role and role[0].startswith("role_"):
            key, condition = role
        elif opening is None and first:
            # the first tier of an offence: its words describe the offence, so only a named
            # threshold (数额较大, 情节严重 …) is its condition; a list of forms is not an aggravation
            # and the harm that defines the offence (过失致人死亡) is not a grade
            key, condition = classify(before, skip=OPENING_SKIP) or ("base", "基本犯")
        else:
            condition = re.sub(r"^(对|犯前款罪，)", "", UNIT_TAIL.sub("", before)).rstrip("的")
            key = (classify(condition) or ("specified", ""))[0]
            if items:
                condition = f"{condition}：{'；'.join(items)}"
            if opening and not first and key in RELATIVE:
                # 情节严重 after 战时犯前款罪 grades that 款's offence, so it keeps the 款's condition
                condition = f"{opening}，{condition}"
        opening = opening or condition
        lo, hi, kinds, fine = parse_penalty(clause[at.start() :])
        out.append(
            Tier(
                condition=condition,
                key=key,
                min_months=lo,
                max_months=hi,
                penalties=kinds,
                fine=fine,
                penalty_text=clause[at.start() :],
                words=before,
                article=cite(article, paragraph, len(paragraphs)),
                source=f"{cite(article, paragraph, len(paragraphs))}（{amendment_of(amendments, article, paragraph)}）",
            )
        )
    return out


def severity(t: Tier) -> tuple[float, float]:
    inf = float("inf")
    return (inf if t.min_months is None else t.min_months, inf if t.max_months is None else t.max_months)


def parsed_rows(charge: str, refs: str, law, amendments) -> list[dict[str, str]]:
    tiers: list[Tier] = []
    for i, ref in enumerate(refs.split("+")):
        m = REF.match(ref)
        if m is None:
            raise ValueError(f"{charge}: bad reference {ref!r}")
        article, para, pick, override = m.groups()
        got = tiers_of(law, amendments, article, n(para) if para else 1, first=i == 0)
        if pick:
            got = [got[int(pick) - 1]]
            if int(pick) > 1:  # the second clause of a 款 holding two charges is that charge's base
                got[0].condition, got[0].key = "基本犯", "base"
        if override:
            condition, _, key = override.partition("|")
            got[0].condition = condition
            got[0].key = key or (classify(condition) or ("specified", ""))[0]
        tiers += got
    if any(t.key in ("role_active", "role_other") for t in tiers):
        # 组织、领导恐怖活动组织的…；积极参加的…；其他参加的…: the unnamed first role leads
        for t in tiers:
            if t.key == "base":
                t.key, t.condition = "role_leader", t.words.rstrip("的")
    tiers.sort(key=severity)  # stable: equal ranges keep the law's order
    return [
        {
            "charge": charge,
            "article": t.article,
            "level": str(level),
            "condition": t.condition,
            "condition_key": t.key,
            "min_months": "" if t.min_months is None else str(t.min_months),
            "max_months": "" if t.max_months is None else str(t.max_months),
            "penalties": "|".join(t.penalties),
            "fine": t.fine,
            "penalty_text": t.penalty_text,
            "source": t.source,
        }
        for level, t in enumerate(tiers, 1)
    ]


def build() -> list[dict[str, str]]:
    law = load_law()
    amendments = {r["article"]: r["amendment"] for r in load_tsv(LAW / "amendments.tsv")}
    refs = {r["charge"]: r["refs"] for r in load_tsv(LAW / "charge_refs.tsv")}
    hand: dict[str, list[dict[str, str]]] = {}
    for row in load_tsv(LAW / "hand_tiers.tsv"):
        hand.setdefault(row["charge"], []).append(row)
    rows: list[dict[str, str]] = []
    failed: list[str] = []
    for charge in load_tsv(CHARGES):
        name = charge["name"]
        if name in hand:
            rows += hand[name]
            continue
        article = (
            charge["article"].removeprefix("刑法").removeprefix("关于惩治骗购外汇、逃汇和非法买卖外汇犯罪的")
        )
        try:
            rows += parsed_rows(name, refs.get(name, article), law, amendments)
        except (ValueError, KeyError, IndexError) as exc:
            failed.append(f"{name}: {exc}")
    if failed:
        raise ValueError(
            "could not parse, add rows to hand_tiers.tsv or fix charge_refs.tsv:\n" + "\n".join(failed)
        )
    unknown = set(hand) - {c["name"] for c in load_tsv(CHARGES)}
    if unknown:
        raise ValueError(f"hand_tiers.tsv names charges not in charges.tsv: {sorted(unknown)}")
    return rows


def render(rows: list[dict[str, str]]) -> str:
    header = (
        "# 每个罪名的法定刑档次（刑法分则，修正至《刑法修正案（十二）》）。由 bench/make_statutory_tiers.py 从 bench/law/ 生成，勿手改；\n"
        "# level 1 为最轻一档；min_months/max_months 为该档主刑的月数（无期徒刑、死刑不设上限）。\n"
    )
    body = ["\t".join(COLUMNS)] + ["\t".join(row[c] for c in COLUMNS) for row in rows]
    return header + "\n".join(body) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare with the committed file")
    args = parser.parse_args(argv)
    text = render(build())
    if args.check:
        same = OUT.read_text(encoding="utf-8") == text
        print("up to date" if same else f"{OUT} is stale: run bench/make_statutory_tiers.py")
        return 0 if same else 1
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT} ({text.count(chr(10)) - 3} rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
