"""Sentencing circumstances (情节) the court ACCEPTED, bound to the defendant they concern.

Read from 本院认为 only. One closed list (``CIRCUMSTANCES``) in one place. The reasoning is cut into
sentences (。；) and clauses (，：); each clause is attributed to the defendants it names, or to the
subject carried over from the previous clause ("被告人甲系主犯，被告人乙系从犯"; "其到案后如实供述…").

Acceptance rules, in order:
- a clause whose words just before the keyword negate it (不构成自首, 未取得谅解, 无前科, 不予认定)
  does not count;
- a defence/prosecution *claim* (辩护人提出…, 上诉理由…, 公诉机关认为…) counts only when the court
  accepts it (予以采纳 / 成立 / 予以支持 / 予以确认) in the same or one of the next two sentences,
  and never when it is rejected (不予采纳 / 不能成立 …); unresolved claims are dropped;
- the court's own findings after 经查 are read as findings, not as part of the claim.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass

from leian.indexer.fast_regex import compile_guarded

# canonical name -> pattern. Order matters where one pattern contains another (胁从犯 ⊃ 从犯).
CIRCUMSTANCES: dict[str, str] = {
    "重大立功": r"重大立功",
    "立功": r"(?<!重大)立功",
    "自首": r"自首",
    "坦白": r"坦白|如实(?:地)?(?:供述|交代|供认|供)|供认(?:了)?(?:主要|全部)?(?:犯罪)?事实|供认不讳",
    "认罪认罚": r"认罪认罚",
    "当庭认罪": r"(?:当庭|庭审中|庭审时|在庭审中|庭审过程中|开庭审理中|开庭审理时|审理过程中|在法庭上|法庭上)[^。；不未没无拒]{0,12}?(?:自愿|主动)?(?:认罪|承认)",
    "累犯": r"累犯",
    "前科": r"前科|(?:曾|又|还)?因(?:犯)?[^。；]{0,24}?罪[^。；]{0,6}?被(?:判处|刑事处罚|判刑|判过刑|追究刑事责任)|因[^，。；]{0,12}?被判过刑|因[^，。；]{0,16}?受过刑事处罚",
    "胁从犯": r"胁从犯|被胁迫参加犯罪",
    "主犯": r"主犯|起主要作用",
    "从犯": r"(?<!胁)(?<!主)从犯|起次要(?:或者?辅助)?作用|起辅助(?:或者?次要)?作用",
    "未遂": r"未遂",
    "中止": r"犯罪中止|系中止",
    "预备": r"犯罪预备|系预备",
    "退赃": r"退赃|退缴|退还(?:了)?(?:全部|部分)?(?:赃款|赃物|违法所得)|退出(?:了)?(?:全部|部分)?(?:赃款|违法所得|非法所得)",
    "退赔": r"(?<!责令)退赔",
    "赔偿": r"(?<![应予])(?<!依法)赔偿(?!责任|请求|义务|的诉讼请求)",
    "谅解": r"谅解",
    "刑事和解": r"刑事和解|达成(?:了)?(?:刑事)?和解",
    "未成年": r"系未成年人|未成年人犯罪|犯罪时(?:未满|不满|已满十[四六]周岁不满)(?:十八|18)周岁|(?:已满(?:十[四六]|1[46])周岁)?(?:未满|不满)(?:十八|18)周岁的?(?:未成年人)?",
    "初犯": r"初犯",
    "偶犯": r"偶犯",
    "醉酒": r"醉酒",
    "防卫过当": r"防卫过当",
    "避险过当": r"避险过当",
}
CIRCUMSTANCE_NAMES: tuple[str, ...] = tuple(CIRCUMSTANCES)

_KEYS = compile_guarded("|".join(f"(?P<c{i}>{p})" for i, p in enumerate(CIRCUMSTANCES.values())))
_GROUP_NAME = {f"c{i}": name for i, name in enumerate(CIRCUMSTANCES)}
# Circumstances that can describe the victim instead ("趁妇女醉酒", "被害人系未成年人"): not counted
# when the clause is about the victim.
_VICTIM = re.compile(r"被害|妇女|幼女|儿童|女孩|对未成年人|趁")
_VICTIM_SENSITIVE = frozenset({"未成年", "醉酒"})
# 漏罪 ("判处刑罚后…发现还有其他罪没有判决"): the earlier judgment is not a prior conviction.
_LOWER_COURT = re.compile(r"\s*(?:原判|原审|一审)(?:判决)?(?:认定|以|认为)")
_CORRECTED = re.compile(r"错误|不当|有误|予以纠正|不能成立")
_UNDETECTED = re.compile(r"漏罪|还有其他罪|其他罪没有判决|尚未判决的")

# Negation just before a keyword inside its clause. 非法 and 未遂/未成年 are not negations; 是否
# (a question: "被告人是否具有自首情节") is not a finding.
_NEG = re.compile(r"不|未(?!遂|成年|满)|没有|并无|无(?!论)|非(?!法)|否认|难以|拒绝|是否")
_NEG_WINDOW = 12
_SENTENCE = re.compile(r"[^。；;]+")
_CLAUSE = re.compile(r"[^，,：:]+")
# A claim made by someone other than the court.
_CLAIM = re.compile(
    r"原判认定|原审认定|一审认定|辩护人|辩护意见|辩称|辩解|上诉理由|上诉人提出|上诉称|上诉提出|被告人提出|公诉机关(?:认为|建议|提出|指控)|检察(?:院|员|机关)(?:认为|建议|提出|出庭意见)|抗诉(?:机关|意见|理由)|诉讼代理人"
)
_OPENER = re.compile(r"关于|对于|对(?=被告人|辩护人|上诉人|原审被告人)")
_FINDING = re.compile(r"经查|本院认为|经审查|经核实")
_ACCEPT = compile_guarded(
    r"正确|准确|无误|并无不当|予以采纳|酌予采纳|酌情予以采纳|予以酌情采纳|予以采信|予以支持|予以确认|予以认定|予以认可|可以采纳|应予采纳|依法采纳|酌情采纳|本院采纳|(?<!不)成立|属实|有理|符合(?:法律|事实)|与(?:查明的)?事实(?:、证据)?(?:及法律规定)?相符"
)
_REJECT = re.compile(
    r"错误|认定不当|不予采纳|不予采信|不予支持|不予认定|不予确认|不能成立|不成立|不能采纳|不符|无(?:事实|法律)依据|不予考虑|不能认定|缺乏(?:事实|证据)"
)
_ALL = re.compile(
    r"[二两三四五六七八九十多数全各]名?(?:原审)?(?:被告人|上诉人)|上述(?:原审)?(?:被告人|上诉人)|(?:被告人|上诉人)均|本案(?:各)?被告人"
)


@dataclass(frozen=True)
class Found:
    name: str  # canonical circumstance
    defendants: tuple[int, ...]  # indexes into the defendant list
    start: int
    end: int


# ... or right after it: "其立功不成立", "自首情节不予认定".
_NEG_AFTER = re.compile(r"不成立|不能成立|不予认定|不能认定|不予采纳|不予支持|不属实|不构成|不符|错误")


def _negated(text: str, clause_start: int, kw_start: int, kw_end: int, clause_end: int) -> bool:
    lo = max(clause_start, kw_start - _NEG_WINDOW)
    if _NEG.search(text, lo, kw_start) is not None:
        return True
    return _NEG_AFTER.search(text, kw_end, min(clause_end, kw_end + 8)) is not None


def _in_title(text: str, pos: int) -> bool:
    """Inside 《…》: the title of a law or interpretation (《关于处理自首和立功…的解释》)."""
    lo = max(0, pos - 60)
    o = text.rfind("《", lo, pos)
    return o >= 0 and text.find("》", o, pos) < 0


def find_circumstances(text: str, start: int, end: int, names, n_defendants: int) -> list[Found]:
    """Accepted circumstances in ``text[start:end]`` (the reasoning), with the defendants they bind to.

    ``names`` is an ``extract.NameMatcher`` (``finditer`` yields start, end, defendant index) or None.
    """
    out: list[Found] = []
    everyone = tuple(range(n_defendants))
    subject: tuple[int, ...] = everyone if n_defendants == 1 else ()
    pending: list[Found] = []  # claimed, waiting for the court's answer
    pending_age = 0
    # One scan for the keywords and one for the claims; sentences and clauses then look them up.
    keys = list(_KEYS.finditer(text, start, end))
    key_pos = [k.start() for k in keys]
    claims = list(_CLAIM.finditer(text, start, end))
    claim_pos = [c.start() for c in claims]
    for sm in _SENTENCE.finditer(text, start, end):
        s0, s1 = sm.span()
        ci = bisect_left(claim_pos, s0)
        claim = claims[ci] if ci < len(claims) and claim_pos[ci] < s1 else None
        find = _FINDING.search(text, claim.end(), s1) if claim else None
        claim_end = find.start() if find else s1
        # The claim starts at 关于/对于 just before its marker ("关于被告人系自首的辩护意见").
        claim_start = s1
        if claim:
            op = None
            for om in _OPENER.finditer(text, max(s0, claim.start() - 60), claim.start() + 1):
                op = om
            claim_start = op.start() if op else claim.start()
        verdict_zone = (find.start() if find else claim.end(), s1) if claim else (s0, s1)
        # Resolve older claims with this sentence's verdict words.
        if pending:
            if _REJECT.search(text, s0, s1):
                pending = []
            elif _ACCEPT.search(text, s0, s1):
                out.extend(pending)
                pending = []
            else:
                pending_age += 1
                if pending_age > 2 or claim:
                    pending = []
        claimed: list[Found] = []
        first_out = len(out)
        k_lo, k_hi = bisect_left(key_pos, s0), bisect_left(key_pos, s1)
        if k_lo == k_hi and not claim:
            # No circumstance here: only carry the subject over (the last clause naming someone).
            last_named: tuple[int, ...] = ()
            last_pos = -1
            if names is not None:
                for a, _, _ in names.finditer(text, s0, s1):
                    last_pos = a
                if last_pos >= 0:
                    c0 = max(text.rfind(p, s0, last_pos) for p in "，,：:") + 1
                    c0 = max(c0, s0)
                    cm = _CLAUSE.match(text, c0, s1)
                    c1 = cm.end() if cm else s1
                    last_named = tuple(dict.fromkeys(idx for _, _, idx in names.finditer(text, c0, c1)))
            if _ALL.search(text, max(s0, last_pos), s1) is not None:
                subject = everyone
            elif last_named:
                subject = last_named
            continue
        for cm in _CLAUSE.finditer(text, s0, s1):
            c0, c1 = cm.span()
            named: list[int] = []
            if names is not None:
                for _, _, idx in names.finditer(text, c0, c1):
                    if idx not in named:
                        named.append(idx)
            if named:
                subject = tuple(named)
            elif _ALL.search(text, c0, c1):
                subject = everyone
            for km in keys[bisect_left(key_pos, c0, k_lo, k_hi) : bisect_left(key_pos, c1, k_lo, k_hi)]:
                if _negated(text, c0, km.start(), km.end(), c1) or _in_title(text, km.start()):
                    continue
                name = _GROUP_NAME[km.lastgroup]
                if name in _VICTIM_SENSITIVE and _VICTIM.search(text, c0, c1):
                    continue
                if name == "前科" and _UNDETECTED.search(text, s0, s1):
                    continue
                # "原判认定被告人系累犯，…属错误": the lower court's finding, corrected in the same sentence.
                if _LOWER_COURT.match(text, c0) and _CORRECTED.search(text, c1, s1):
                    continue
                f = Found(name, subject or everyone, km.start(), km.end())
                if claim and claim_start <= km.start() < claim_end:
                    claimed.append(f)
                else:
                    out.append(f)
        # 如实供述 inside a 自首 finding is part of the 自首, not a separate 坦白.
        if any(f.name == "自首" for f in out[first_out:]):
            out[first_out:] = [f for f in out[first_out:] if not (f.name == "坦白" and text[f.start] == "如")]
        if claimed:
            zs, ze = verdict_zone
            if _REJECT.search(text, zs, ze):
                pass
            elif _ACCEPT.search(text, zs, ze):
                out.extend(claimed)
            else:
                pending, pending_age = claimed, 0
    return out
