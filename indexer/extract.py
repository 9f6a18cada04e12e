"""Rule-based understanding of a criminal judgment: ``extract(record) -> record`` with the fields filled.

Every value is read from the full text with precompiled regexes over the section offsets of
``leian.indexer.sections``, and every value carries a ``Span`` into ``record.text`` so a user can see
where it came from. Decisions (documented here because they change numbers):

- **Defendants** are the natural persons named in the parties block (被告人 / 上诉人（原审被告人） /
  原审被告人 / 罪犯 …), in order; when the block has none, those named in the judgment lines.
  被告单位 (organisations) are not defendants here: they take no custodial sentence. Names are
  matched longest first (李某甲 is not 李某). When anonymisation is inconsistent (parties 杜某某,
  judgment 杜亮) and the unmatched names are as many on both sides, they are paired in order.
- **Charges** are the 罪名 of the judgment lines "被告人X犯Y罪" as written (贩卖毒品罪, not the
  statute's compound name; a list "犯盗窃罪、掩饰、隐瞒犯罪所得罪" is split with the charge
  dictionary). Lines that 撤销 (quash) an earlier judgment are skipped, and an earlier conviction
  joined by 数罪并罚 ("与原判…犯抢劫罪…决定执行") counts for the sentence but is not a charge.
- **Sentence** = the principal penalty as finally executed: the 决定执行 clause for 数罪并罚, else the
  single penalty; terms in months, days dropped. ``fine_yuan`` is the 决定执行 fine, else the sum of
  the fines of the defendant's lines (刑法第六十九条: same-kind 附加刑 are added up).
- **二审/再审 that 维持原判**: when the judgment lines give a defendant no sentence, the sentence (and
  the charges, if missing) come from the 原判 quoted earlier in the text ("…判决：被告人X犯Y罪，
  判处…"), cut at the next co-defendant, i.e. the sentence that was affirmed. Statutes fall back to
  the 原判's citations likewise.
- **Statutes**: only 《中华人民共和国刑法》 articles, article level, normalised "刑法第二百六十四条"
  (and "刑法第一百三十三条之一"), in order of citation, distinct, from 本院认为 and the judgment.
  The 刑法 context carries across a list (第二百六十四条、第六十七条第三款); 刑事诉讼法 (procedure),
  司法解释 and other laws are ignored, because they say nothing about the similarity of two cases.
  All defendants of a judgment share its statutes (the 依照 clause is almost always joint).
- **Circumstances**: see ``extract_circumstances`` (accepted ones only, bound to defendants).
- **Elements** (数额, 次数, drugs, blood alcohol, injuries, deaths, responsibility, 逃逸, 形态, role) per
  defendant, and **amount_yuan**, the case's 涉案数额 (every count once however many co-defendants
  joined it): see ``leian.indexer.elements``. None for charges whose tiers turn on no 数额.
"""

from __future__ import annotations

import re
from datetime import date

from leian.corpora.dictionaries import canonical_charge
from leian.corpora.record import CaseRecord, Defendant, Sentence, Span
from leian.errors import InputTooLarge
from leian.indexer.elements import find_elements
from leian.indexer.extract_circumstances import find_circumstances
from leian.indexer.extract_numbers import (
    DURATION_NC,
    DURATION_RE,
    MONEY,
    NUM,
    article_cn,
    duration_months,
    iso_date,
    money_yuan,
)
from leian.indexer.fast_regex import compile_guarded
from leian.indexer.sections import SectionSpans, split_sections

# ---------------------------------------------------------------- header: 案号, court, date
_BR_OPEN = "（(〔\\[［【﹝"
_BR_CLOSE = "）)〕\\]］】﹞"
_CASE_NO = compile_guarded(
    rf"(?:[{_BR_OPEN}]\s*)?(?P<year>(?:19|20|2O|2o)[\dO]{{2}})\s*[{_BR_CLOSE}]\s*"
    r"(?P<body>[\u4e00-\u9fff\d０-９]{1,20}?(?P<kind>刑[\u4e00-\u9fff]{0,3}?)(?:字)?\s*(?:第)?\s*[\d０-９\-－、]+\s*号(?:之[一二三四五六七八九十\d]+)?)"
)
# Without a year: "粤0282刑再2号", "晋市法刑终字第14号".
_CASE_NO_BARE = re.compile(
    r"(?P<body>[\u4e00-\u9fff]{1,6}[\d０-９]{0,6}(?P<kind>刑[初终再监申更执核复他][\u4e00-\u9fff]{0,1}?)字?第?[\d０-９]+号)"
)
# 类型代字: 刑初 / 刑终 / 刑再 …, also old forms 刑一初字, 刑二终字, 刑再终字.
_PROC_KIND = re.compile(r"刑[一二三四五六七八九十事]?\s*(?P<k>再|初|终|监|申|更|执|核|复|他|辖|赔|请|抗)")
_COURT = re.compile(r"[\u4e00-\u9fff（）]{2,40}?(?:人民法院|军事法院|铁路运输法院|铁路运输中级法院|法院)")
_DOC_TYPE = compile_guarded(r"(?:刑\s*事\s*)?(?:附带民事\s*)?(判\s*决|裁\s*定|决\s*定|调\s*解)\s*书")
_DATE = re.compile(
    r"(?P<y>[〇零○ＯO0-9０-９一二三四五六七八九]{4})\s*年\s*(?P<m>[一二三四五六七八九十\d０-９]{1,3})\s*月\s*(?P<d>[一二三四五六七八九十\d０-９]{1,3})\s*日"
)
_APPEAL_COURT = re.compile(r"向([\u4e00-\u9fff]{2,40}?法院)提[出起]上诉|上诉于([\u4e00-\u9fff]{2,40}?法院)")
_PROCURATORATE = re.compile(r"公诉机关[：:]?\s*([\u4e00-\u9fff]{2,40}?人民检察院)")

# province full name, short stem(s) as court names start, 法院代字 of the 案号
_PROVINCES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("北京市", ("北京",), "京"),
    ("天津市", ("天津",), "津"),
    ("河北省", ("河北",), "冀"),
    ("山西省", ("山西",), "晋"),
    ("内蒙古自治区", ("内蒙古",), "内"),
    ("辽宁省", ("辽宁",), "辽"),
    ("吉林省", ("吉林",), "吉"),
    ("黑龙江省", ("黑龙江",), "黑"),
    ("上海市", ("上海",), "沪"),
    ("江苏省", ("江苏",), "苏"),
    ("浙江省", ("浙江",), "浙"),
    ("安徽省", ("安徽",), "皖"),
    ("福建省", ("福建",), "闽"),
    ("江西省", ("江西",), "赣"),
    ("山东省", ("山东",), "鲁"),
    ("河南省", ("河南",), "豫"),
    ("湖北省", ("湖北",), "鄂"),
    ("湖南省", ("湖南",), "湘"),
    ("广东省", ("广东",), "粤"),
    ("广西壮族自治区", ("广西",), "桂"),
    ("海南省", ("海南省",), "琼"),  # not "海南": 海南藏族自治州 is in 青海
    ("重庆市", ("重庆",), "渝"),
    ("四川省", ("四川",), "川"),
    ("贵州省", ("贵州",), "黔"),
    ("云南省", ("云南",), "云"),
    ("西藏自治区", ("西藏",), "藏"),
    ("陕西省", ("陕西",), "陕"),
    ("甘肃省", ("甘肃",), "甘"),
    (
        "青海省",
        (
            "青海",
            "海南藏族自治州",
            "海西蒙古族藏族自治州",
            "海北藏族自治州",
            "黄南藏族自治州",
            "果洛",
            "玉树",
        ),
        "青",
    ),
    ("宁夏回族自治区", ("宁夏",), "宁"),
    ("新疆维吾尔自治区", ("新疆",), "新"),
)
_PROVINCE_BY_CODE = {code: full for full, _, code in _PROVINCES}
_PROVINCE_STEMS = sorted(
    ((stem, full) for full, stems, _ in _PROVINCES for stem in stems), key=lambda x: -len(x[0])
)


def province_of_court(name: str) -> str | None:
    for stem, full in _PROVINCE_STEMS:
        if name.startswith(stem):
            return full
    return None


def court_level_of(name: str) -> str | None:
    if name.startswith("最高人民法院"):
        return "最高"
    if "高级人民法院" in name or "高级法院" in name:
        return "高级"
    if "中级" in name:
        return "中级"
    if "军事法院" in name:
        return None  # military courts have their own hierarchy
    return "基层" if name.endswith("法院") else None


# ---------------------------------------------------------------- defendants and judgment lines
_NAME_CHARS = r"[\u4e00-\u9fff×ＸXx*＊○0-9０-９A-Za-z·•]"
_ROLE = r"(?:上诉人|原审被告人|被告人|罪犯|申诉人|被申诉人|被告)(?:[（(](?:原审)?被告人[）)])?[：:]?\s*"
# A role opens an entry of the parties block: at the start, or after 。；：）, a space or a comma; not
# "…系被告人X的父亲" or "附带民事诉讼被告人".
_PARTY_NAME = compile_guarded(
    rf"(?:^|(?<=[。\s；;:：）)，,]))(?:自诉人|附带民事诉讼被告人|{_ROLE})(?:自报)?(?P<name>{_NAME_CHARS}{{1,12}}?)(?=[，,（(。；;：:\s、]|$)"
)
_JUDGMENT_NAME = re.compile(rf"(?:上诉人|原审被告人|被告人|罪犯)(?P<name>{_NAME_CHARS}{{1,6}}?)(?=犯)")
# What distinguishes two anonymised co-defendants: 李某 / 李某甲 / 李某1 / 王XX.
_NAME_SUFFIX = frozenset("某甲乙丙丁戊己庚辛壬癸0123456789０１２３４５６７８９×ＸXx*＊")
_NOT_A_NAME = re.compile(r"的|及|等|与|和|人|辩护|代理|单位|公司|机关|法院|检察")

# A charge ends at a 罪 followed by punctuation or the penalty, so 掩饰、隐瞒犯罪所得罪 stays whole;
# "犯盗窃罪、掩饰、隐瞒犯罪所得罪" is then split at 罪、 (see _split_charges).
_CHARGE = re.compile(
    r"犯(?!罪)(?P<c>[\u4e00-\u9fff、（）()]{1,40}?罪)(?=[，,。；;：:\s（(）)]|、(?:判|免|单|并)|判|被|免|单|数罪|二罪|两罪|三罪|并罚|$)"
)
# "被告人魏美军强奸罪，判处…" (the 犯 left out): a charge right after the name, then the penalty.
_CHARGE_AFTER_NAME = re.compile(r"(?P<c>[\u4e00-\u9fff、（）]{2,30}?罪)[，,、]?\s*(?:判处|免予|免于|单处)")
_CHARGE_BAD = re.compile(r"[的了在被已并以其]|犯罪|数罪|新罪|前罪|余罪")
_KIND = compile_guarded(
    rf"(?P<dhx>死刑[，,]?\s*缓期(?:二|两|2)年执行)|(?P<sx>死刑)|(?P<wq>无期徒刑)|有期(?:徒刑)?(?P<yq>{DURATION_NC})"
    rf"|拘役(?P<jy>{DURATION_NC})|管制(?P<gz>{DURATION_NC})|(?P<mx>免予刑事处罚|免于刑事处罚|免除刑事处罚|免予刑事处分)"
)
_PROBATION = re.compile(rf"缓刑(?:考验期(?:限)?(?:为)?)?(?P<p>{DURATION_NC})")
# Not "已缴纳的罚金十万元" (a note on payment, not a second fine).
_FINE = re.compile(rf"(?<![的缴交纳])罚金\s*{MONEY}")
_SINGLE_FINE = re.compile(r"单处罚金|判处罚金")
_DEPRIVE = re.compile(rf"剥夺政治权利\s*(?:(?P<life>终身)|(?P<t>{DURATION_NC}))")
_FINAL = re.compile(r"决定执行|合并执行|数罪并罚[，,]?\s*执行")
_QUASH = re.compile(r"撤销")
_PRIOR = re.compile(r"与原(?:判)?|与前罪|原犯|前罪")
# A quashed passage runs from 撤销 to the end of its sentence, or to the next top-level item
# ("；三、…"): the 原判 it quotes may hold list markers and defendants of its own.
_QUASH_END = re.compile(r"。|；\s*(?=[一二三四五六七八九十]+、)")
# Without a quote ("撤销…判决中的缓刑部分；被告人X犯…"), a quash ends at the next 分号.
_QUASH_QUOTE = re.compile(r"即[：:“\"]?|如下")
_ITEM_START = re.compile(r"[。；;]|[一二三四五六七八九十]+、|\d+[、．.]")
_KIND_NAMES = {
    "dhx": "死刑缓期执行",
    "sx": "死刑",
    "wq": "无期徒刑",
    "yq": "有期徒刑",
    "jy": "拘役",
    "gz": "管制",
    "mx": "免予刑事处罚",
}

# ---------------------------------------------------------------- statutes
_LAW_TOKEN = compile_guarded(
    r"(?P<law>[《〈](?P<title>[^》〉]{1,60})[》〉](?P<suffix>(?![零〇一二三四五六七八九十百\d])[^第《〈，。；、\s]{0,12}))"
    r"|(?P<bare>(?:中华人民共和国)?刑法(?!修正案)|刑事诉讼法|(?<![《〈])解释)"
    rf"|(?:第|(?<=[》〉]))(?P<art>{NUM})(?:条(?P<sub>之[一二三四五六])?|(?=第[一二三四五六七八九十]+款))"
    r"|(?P<stop>[。])"
)

_NOT_THE_LAW = re.compile(r"解释|规定|意见|决定")  # 《刑法》的解释 is another text
_WS = re.compile(r"\s+")
_COURT_CODE = re.compile(r"[）)〕\]］】﹞]\s*([\u4e00-\u9fff])")  # 法院代字: （2018）赣0111… -> 赣


# ---------------------------------------------------------------- amounts
class NameMatcher:
    """Finds defendants' names in text: longest name first, so 李某甲 is not read as 李某, and a name
    followed by another anonymisation mark (李某 + 甲) is someone else."""

    def __init__(self, names: list[str], aliases: dict[str, int] | None = None):
        self._index = {n: i for i, n in enumerate(names)} | (aliases or {})
        self._longest_first = sorted(self._index, key=len, reverse=True)

    def finditer(self, text: str, start: int, end: int):
        """Yields ``(start, end, defendant index)`` in text order, without overlaps."""
        # str.find per name: judgments name a handful of people, and compiling a regex per
        # judgment costs more than these scans.
        hits: list[tuple[int, int, int]] = []
        n = len(text)
        for name in self._longest_first:
            idx, ln = self._index[name], len(name)
            i = text.find(name, start, end)
            while i >= 0:
                e = i + ln
                if not (e < n and text[e] in _NAME_SUFFIX):
                    hits.append((i, e, idx))
                i = text.find(name, i + 1, end)
        if len(hits) > 1:
            hits.sort(key=lambda h: (h[0], h[0] - h[1]))  # by position, longer name first
            kept, last_end = [], -1
            for h in hits:
                if h[0] >= last_end:
                    kept.append(h)
                    last_end = h[1]
            hits = kept
        return hits


def _party_names(text: str, sp: SectionSpans) -> list[tuple[str, int, int]]:
    out: dict[str, tuple[int, int]] = {}
    s, e = sp.parties
    for m in _PARTY_NAME.finditer(text, s, e):
        name = m.group("name")
        # The previous char must end a sentence or be a role word's start (not "…的被告人").
        if m.group().startswith(("自诉人", "附带民事诉讼被告人")):
            continue
        # "被告人周德意患病，…" restates a known name with more words after it.
        if _NOT_A_NAME.search(name) or any(
            name.startswith(k) and name[len(k)] not in _NAME_SUFFIX for k in out if len(name) > len(k)
        ):
            continue
        out[name] = m.span("name")
    if not out:
        s, e = sp.judgment
        for m in _JUDGMENT_NAME.finditer(text, s, e):
            name = m.group("name")
            if not _NOT_A_NAME.search(name) and name not in out:
                out[name] = m.span("name")
    return [(n, a, b) for n, (a, b) in out.items()]


class _Builder:
    """Collects values and their spans for one record."""

    def __init__(self, text: str):
        self.text = text
        self.spans: list[Span] = []

    def span(self, field: str, start: int, end: int) -> None:
        # validated, not model_construct: pydantic-core checks four plain fields in half the time
        # model_construct takes in Python (0.7 against 1.5 µs, ~40 spans per judgment)
        self.spans.append(Span(field=field, start=start, end=end, text=self.text[start:end]))


def _valid_charge(c: str) -> bool:
    if not 3 <= len(c) <= 30:
        return False
    return canonical_charge(c) is not None or not _CHARGE_BAD.search(c[:-1])


def _split_charges(c: str, start: int) -> list[tuple[str, int, int]]:
    """'盗窃罪、掩饰、隐瞒犯罪所得罪' -> two charges (with offsets); one 罪名 stays whole."""
    if "罪、" not in c or canonical_charge(c) is not None:
        return [(c, start, start + len(c))]
    out, pos = [], start
    for k, part in enumerate(c.split("罪、")):
        name = part if part.endswith("罪") and k == c.count("罪、") else part + "罪"
        out.append((name, pos, pos + len(name)))
        pos += len(part) + 2
    return out


def _segments(text: str, start: int, end: int, names: NameMatcher) -> dict[int, list[tuple[int, int]]]:
    """Judgment lines per defendant: from each mention of the defendant to the next mention of anyone."""
    mentions = [(a, z, idx) for a, z, idx in names.finditer(text, start, end)]
    quashed = []
    for q in _QUASH.finditer(text, start, end):
        qe = _QUASH_END.search(text, q.end(), end)
        q_end = qe.start() if qe else end
        semi = text.find("；", q.end(), q_end)
        if semi >= 0 and not _QUASH_QUOTE.search(text, q.end(), semi):
            q_end = semi
        quashed.append((q.start(), q_end))
    segs: dict[int, list[tuple[int, int]]] = {}
    for k, (pos, name_end, idx) in enumerate(mentions):
        nxt = mentions[k + 1][0] if k + 1 < len(mentions) else end
        if any(a <= pos < b for a, b in quashed):
            continue
        # "与原被告人张某犯抢劫罪，判处…（撤销缓刑）数罪并罚": the earlier conviction joins the
        # 决定执行 but is not a charge of this judgment. Negative start marks such lines.
        prior = _PRIOR.search(text, max(start, pos - 10), pos) is not None
        segs.setdefault(idx, []).append((-name_end if prior else name_end, nxt))
    return segs


def _parse_sentence(
    text: str, segs: list[tuple[int, int]], b: _Builder, field: str
) -> tuple[Sentence | None, list[tuple[str, int, int]]]:
    """Charges and sentence of one defendant from their judgment lines (each starts right after the name;
    a negative start marks the lines of an earlier conviction: part of the sentence, not a charge)."""
    own = [(s, e) for s, e in segs if s >= 0]
    segs = [(abs(s), e) for s, e in segs]
    charges: list[tuple[str, int, int]] = []
    for s, e in own:
        for m in _CHARGE.finditer(text, s, e):
            for c, a, z in _split_charges(m.group("c"), m.start("c")):
                if _valid_charge(c) and c not in (x[0] for x in charges):
                    charges.append((c, a, z))
    if not charges:
        for s, e in own:
            m = _CHARGE_AFTER_NAME.match(text, s, e)
            if m and _valid_charge(m.group("c")) and canonical_charge(m.group("c")) is not None:
                charges.append((m.group("c"), *m.span("c")))
    # Principal penalty: after the last 决定执行 if any, else the first penalty of the lines.
    final_pos = None
    for s, e in segs:
        for m in _FINAL.finditer(text, s, e):
            final_pos = (m.end(), e)
    zones = [final_pos] if final_pos else segs
    kind = months = None
    kind_span = months_span = None
    for s, e in zones:
        m = _KIND.search(text, s, e)
        if m:
            for key in ("dhx", "sx", "wq", "yq", "jy", "gz", "mx"):
                if m.group(key) is not None:
                    kind = _KIND_NAMES[key]
                    kind_span = m.span()
                    if key in ("yq", "jy", "gz"):
                        dm = DURATION_RE.match(text, m.start(key), m.end(key))
                        months = duration_months(dm) if dm else None
                        months_span = m.span(key)
                    break
            break
    probation = None
    prob_span = None
    for s, e in zones:
        m = _PROBATION.search(text, kind_span[1] if kind_span and s <= kind_span[1] <= e else s, e)
        if m:
            dm = DURATION_RE.match(text, m.start("p"), m.end("p"))
            probation = duration_months(dm) if dm else None
            prob_span = m.span("p")
            break
    fine = None
    fine_spans: list[tuple[int, int]] = []
    final_fines = [m for s, e in ([final_pos] if final_pos else []) for m in _FINE.finditer(text, s, e)]
    fines = final_fines[:1] or [m for s, e in segs for m in _FINE.finditer(text, s, e)]
    if fines:
        vals = [money_yuan(m) for m in fines]
        vals = [v for v in vals if v is not None]
        if vals:
            fine = float(sum(vals))
            fine_spans = [m.span() for m in fines]
    if kind is None and fine is not None:
        for s, e in segs:
            if _SINGLE_FINE.search(text, s, e):
                kind = "单处罚金"
                kind_span = fine_spans[0]
                break
    # 剥夺政治权利: the 决定执行 one when there is one, else the first of the lines.
    deprivation = None
    dep_span = None
    for s, e in zones:
        m = _DEPRIVE.search(text, s, e)
        if m:
            deprivation = (
                "剥夺政治权利终身" if m.group("life") else "剥夺政治权利" + text[m.start("t") : m.end("t")]
            )
            dep_span = m.span()
            break
    if kind is None and fine is None and probation is None:
        return None, charges
    sent = Sentence(
        kind=kind,
        months=months,
        probation_months=probation,
        fine_yuan=fine,
        deprivation_of_rights=deprivation,
    )
    if kind_span:
        b.span(f"{field}.kind", *kind_span)
    if months_span and months is not None:
        b.span(f"{field}.months", *months_span)
    if prob_span and probation is not None:
        b.span(f"{field}.probation_months", *prob_span)
    for sp in fine_spans:
        b.span(f"{field}.fine_yuan", *sp)
    if dep_span:
        b.span(f"{field}.deprivation_of_rights", *dep_span)
    return sent, charges


_ORIG_END = re.compile(
    r"。|；\s*[二三四五六七八九十]+、|；\s*(?:责令|扣押|没收|追缴|作案工具|被告人|上诉人|原审被告人)"
)


def _original_judgment(
    text: str, start: int, end: int, name: str, names: NameMatcher | None = None
) -> list[tuple[int, int]]:
    """The 原判's lines for one defendant, quoted before the appeal court's reasoning.

    "原判以被告人X犯Y罪，判处有期徒刑…" / "…判决：被告人X犯Y罪，判处…"; the last quote wins
    (the 原判 is restated after the parties' arguments when it is restated at all).
    """
    pat = re.compile(
        rf"{re.escape(name)}(?![某甲乙丙丁\d])(?:[^。；]{{0,6}}?)犯(?!罪)[\u4e00-\u9fff、]{{1,30}}?罪[，,]?(?:判处|决定执行|免予)"
    )
    found = None
    for m in pat.finditer(text, start, end):
        stop = _ORIG_END.search(text, m.end(), end)
        stop_at = stop.start() if stop else end
        # "…；犯诈骗罪，判处…。两罪并罚，决定执行…": the 决定执行 belongs to the same lines.
        fin = _FINAL.search(text, m.end(), min(end, stop_at + 200))
        if fin and fin.start() > stop_at:
            stop2 = _ORIG_END.search(text, fin.end(), end)
            stop_at = stop2.start() if stop2 else end
        if names is not None:  # the lines end where the next co-defendant's begin
            me = names._index.get(name)
            for a, _, idx in names.finditer(text, m.start() + len(name), stop_at):
                if idx != me:
                    stop_at = a
                    break
        found = (m.start() + len(name), stop_at)
    return [found] if found else []


def _statutes(text: str, ranges: list[tuple[int, int]]) -> list[tuple[str, int, int]]:
    out: dict[str, tuple[int, int]] = {}
    for s, e in ranges:
        law: str | None = None
        # Nothing before the first mention of 刑法 can be a 刑法 article: start the scan there.
        first = text.find("刑法", s, e)
        if first < 0:
            continue
        s = max(s, text.rfind("《", s, first), first - 8)
        for m in _LAW_TOKEN.finditer(text, s, e):
            if m.group("law"):
                title = m.group("title").strip()
                suffix = m.group("suffix")
                is_xingfa = title in ("中华人民共和国刑法", "刑法") and not _NOT_THE_LAW.search(suffix)
                law = "刑法" if is_xingfa else None
            elif m.group("bare"):
                law = "刑法" if m.group("bare").endswith("刑法") else None
            elif m.group("art"):
                if law != "刑法":
                    continue
                num = article_cn(m.group("art"))
                if num is None:
                    continue
                key = f"刑法第{num}条{m.group('sub') or ''}"
                out.setdefault(key, m.span())
            else:
                law = None
    return [(k, a, b) for k, (a, b) in out.items()]


def _header(text: str, sp: SectionSpans, b: _Builder) -> dict:
    out: dict = {}
    h0, h1 = sp.header
    head_end = max(h1, min(len(text), 400)) if h1 < 10 else h1
    # 案号
    m = _CASE_NO.search(text, 0, head_end) or _CASE_NO_BARE.search(text, 0, head_end)
    if m:
        body = _WS.sub("", m.group("body")).translate(_FW)
        year = m.groupdict().get("year")
        out["case_number"] = f"（{year.replace('O', '0').replace('o', '0')}）{body}" if year else body
        pk = _PROC_KIND.search(body)
        out["_kind"] = pk.group("k") if pk else ""
        b.span("case_number", *m.span())
    # court: the last court name of the header before the document title
    court_m = None
    for cm in _COURT.finditer(text, 0, head_end):
        court_m = cm
        break
    if court_m:
        name = court_m.group()
        cut = max(name.rfind("书"), name.rfind("号"))
        start = court_m.start() + cut + 1 if cut >= 0 else court_m.start()
        name = text[start : court_m.end()]
        if len(name) >= 4:
            out["court"] = name
            b.span("court", start, court_m.end())
    dm = _DOC_TYPE.search(text, 0, head_end)
    if dm:
        out["doc_type"] = _WS.sub("", dm.group(1)) + "书"
        out["_title"] = _WS.sub("", dm.group())
    return out


_FW = str.maketrans("０１２３４５６７８９－", "0123456789-")


# Ten times LeCaRD's longest judgment (99,163 characters): anything longer is not one judgment.
MAX_TEXT_CHARS = 1_000_000


def extract(record: CaseRecord) -> CaseRecord:
    """Return a copy of ``record`` with the structured fields and their spans filled from ``record.text``.

    Never raises on odd text (empty, not Chinese, not a judgment): the fields stay ``None``/empty.
    Raises ``InputTooLarge`` for a text over ``MAX_TEXT_CHARS``.
    """
    text = record.text
    if len(text) > MAX_TEXT_CHARS:
        raise InputTooLarge(
            f"judgment {record.id!r} has {len(text):,} characters; the limit is {MAX_TEXT_CHARS:,} "
            "(one judgment is at most ~100,000): split the file into one judgment per record"
        )
    sp = split_sections(text)
    b = _Builder(text)
    h = _header(text, sp, b)
    court = h.get("court")
    case_number = h.get("case_number")

    # court level and province
    court_level = court_level_of(court) if court else None
    if court_level and court:
        b.span("court_level", *next(s for s in ((x.start, x.end) for x in b.spans if x.field == "court")))
    province = None
    if court:
        province = province_of_court(court)
        if province:
            cs = next(x for x in b.spans if x.field == "court")
            b.span("province", cs.start, cs.end)
    if province is None and case_number:
        cn = next(x for x in b.spans if x.field == "case_number")
        code_m = _COURT_CODE.search(cn.text)
        if code_m and code_m.group(1) in _PROVINCE_BY_CODE:
            province = _PROVINCE_BY_CODE[code_m.group(1)]
            b.span("province", cn.start + code_m.start(1), cn.start + code_m.end(1))
    if province is None:
        for rx, (s, e) in ((_APPEAL_COURT, sp.tail), (_PROCURATORATE, sp.parties)):
            m = rx.search(text, s, e)
            g = (m.lastindex or 1) if m else 1
            if m and (p := province_of_court(m.group(g))):
                province = p
                b.span("province", *m.span(g))
                break

    # procedure
    procedure = None
    kind = h.get("_kind") or ""
    title_zone = text[: max(sp.header[1], 80)]
    if "再审" in title_zone or kind == "再":
        procedure = "再审"
    elif kind == "初":
        procedure = "一审"
    elif kind in ("终", "抗"):  # 刑抗: an old code for appeals brought by the procuratorate
        procedure = "二审"
    elif kind:
        procedure = "其他"
    elif "二审" in title_zone or "上诉人" in text[sp.parties[0] : sp.parties[1]]:
        procedure = "二审"
    elif "一审" in title_zone or "公诉机关" in text[sp.parties[0] : sp.parties[1]]:
        procedure = "一审"
    doc_type = h.get("doc_type")
    if doc_type is None:
        j = text[sp.reasoning[1] - 6 : sp.reasoning[1]]
        doc_type = "判决书" if "判决" in j else "裁定书" if "裁定" in j else None

    # judgment date: the first date of the 尾部, else the last Chinese-numeral date of the text
    judgment_date = None
    dm = _DATE.search(text, sp.tail[0], sp.tail[1])
    if dm is None:
        for dm2 in _DATE.finditer(text, max(0, sp.end - 400), sp.end):
            dm = dm2
    if dm:
        judgment_date = iso_date(dm.group("y"), dm.group("m"), dm.group("d"))
        if judgment_date and judgment_date > date.today().isoformat():
            judgment_date = None  # a misread date (二0三五年 for 二0一五年) cannot lie in the future
        if judgment_date:
            b.span("judgment_date", *dm.span())

    # defendants
    parties = _party_names(text, sp)
    names = [n for n, _, _ in parties]
    matcher = NameMatcher(names) if names else None
    defendants: list[Defendant] = []
    j0, j1 = sp.judgment
    segs = _segments(text, j0, j1, matcher) if matcher else {}
    # Anonymisation is sometimes inconsistent (parties: 杜某某, judgment: 杜亮). When the defendants the
    # judgment lines never name are as many as the names they use instead, pair them in order.
    missing = [i for i in range(len(names)) if i not in segs]
    if missing:
        others = list(
            dict.fromkeys(
                m.group("name")
                for m in _JUDGMENT_NAME.finditer(text, j0, j1)
                if m.group("name") not in matcher._index and not _NOT_A_NAME.search(m.group("name"))
            )
        )
        if len(others) == len(missing):
            matcher = NameMatcher(names, dict(zip(others, missing, strict=True)))
            segs = _segments(text, j0, j1, matcher)
    statutes = _statutes(text, [sp.reasoning, sp.judgment])
    if not statutes and procedure in ("二审", "再审"):
        statutes = _statutes(text, [sp.proceedings, sp.facts])
    for i, (name, ns, ne) in enumerate(parties):
        field = f"defendants.{i}"
        b.span(f"{field}.name", ns, ne)
        sent, charges = _parse_sentence(text, segs.get(i, []), b, f"{field}.sentence")
        if (sent is None or sent.kind is None) and procedure in ("二审", "再审"):
            orig = _original_judgment(text, sp.parties[1], sp.reasoning[0], name, matcher)
            if orig:
                sent2, charges2 = _parse_sentence(text, orig, b, f"{field}.sentence")
                if sent2 is not None:
                    sent = sent2
                charges = charges or charges2
        for k, (_, a, e) in enumerate(charges):
            b.span(f"{field}.charges.{k}", a, e)
        for k, (_, a, e) in enumerate(statutes):
            b.span(f"{field}.statutes.{k}", a, e)
        defendants.append(
            Defendant(
                name=name,
                charges=[c for c, _, _ in charges],
                statutes=[s for s, _, _ in statutes],
                sentence=sent,
            )
        )

    # circumstances from 本院认为
    r0, r1 = sp.reasoning
    found = find_circumstances(text, r0, r1, matcher, len(defendants))
    for f in found:
        for idx in f.defendants:
            d = defendants[idx]
            if f.name not in d.circumstances:
                d.circumstances.append(f.name)
                b.span(f"defendants.{idx}.circumstances.{len(d.circumstances) - 1}", f.start, f.end)

    # sentencing elements and the case's 涉案数额
    found_elements = find_elements(
        text,
        sp.facts,
        sp.reasoning,
        matcher,
        names,
        [d.charges for d in defendants],
        [d.circumstances for d in defendants],
        sp.proceedings,
    )
    for d, e in zip(defendants, found_elements.elements, strict=True):
        d.elements = e
    for field, s, e in found_elements.spans:
        b.span(field, s, e)
    amount_yuan = found_elements.case_amount_yuan

    title = record.title
    if not title and court and h.get("_title"):
        title = court + h["_title"]
    return record.model_copy(
        update={
            "title": title,
            "case_number": case_number,
            "court": court,
            "court_level": court_level,
            "province": province,
            "procedure": procedure,
            "doc_type": doc_type,
            "judgment_date": judgment_date,
            "sections": sp.to_sections(text),
            "defendants": defendants,
            "amount_yuan": amount_yuan,
            "spans": b.spans,
        }
    )


def extract_fields(record: CaseRecord, spans: bool = False) -> dict:
    """The JSON object `leian extract` prints: ``EXTRACT_FIELDS`` in order (plus ``spans``)."""
    out = {
        "id": record.id,
        "case_number": record.case_number,
        "court": record.court,
        "court_level": record.court_level,
        "province": record.province,
        "procedure": record.procedure,
        "judgment_date": record.judgment_date,
        "defendants": [
            {
                "name": d.name,
                "charges": d.charges,
                "statutes": d.statutes,
                "sentence": (
                    {
                        "kind": d.sentence.kind,
                        "months": d.sentence.months,
                        "probation_months": d.sentence.probation_months,
                        "fine_yuan": d.sentence.fine_yuan,
                    }
                    if d.sentence
                    else None
                ),
                "circumstances": d.circumstances,
                "elements": d.elements.model_dump(exclude_defaults=True),
            }
            for d in record.defendants
        ],
        "amount_yuan": record.amount_yuan,
    }
    if spans:
        out["spans"] = [s.model_dump() for s in record.spans]
    return out


__all__ = ["extract", "extract_fields", "court_level_of", "province_of_court"]
