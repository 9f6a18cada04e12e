"""The query terms a report may name: the legal and factual words of a case, never a person, a
place, a date or a number.

BM25 is asked for every token of the facts (``terms``); this module only decides which of them a
report shows — as the 检索词 of its method, and as the 关键事实用语相同 of each similar case. A term
is shown when all of these hold:

1. **Form** — two or more Chinese characters and nothing else (no digit, Latin letter or ×), and no
   某 (the anonymised names: 赵某, 李某甲, 某某).
2. **A known word** — it is in the legal dictionary (``corpora/data/legal_words.txt``: the 罪名 and
   ``legal_terms.txt``), or jieba's own dictionary knows it with a content part of speech
   (``CONTENT_TAGS``: noun, organisation, verb, adjective, idiom …). What jieba's dictionary tags as a
   person (nr), place (ns), time (t), numeral (m), measure (q), position (f, s), pronoun, adverb or
   abbreviation is left out, and so is every word it does not know: those are the HMM's guesses, and
   in judgments they are fragments (沿乡, 五山往, 后于, 等物) or names (王治红). A word's frequency in
   the corpus does not rescue it: on the bundled sample the corpus-frequent unknown words are mostly
   fragments (等物 and 后于 occur in dozens of judgments), so frequency is no test of a word.
3. **Not a place** — not a division (X省/市/县/区/镇/乡/村, ``terms.PLACE``), not a road
   (X路/街/巷/大道 that jieba does not know as a common noun: 大桥路, 北路), not an organisation named
   after one (武汉市公安局).
4. **Not part of a name or a place in these facts** — the people the facts name (the word after
   被告人/被害人/证人 … and the names listed after it, read with jieba.posseg's HMM tagger; nicknames
   in quotes after 绰号/外号/化名; unknown
   words that begin with a common surname and that the tagger reads as a name; names the caller
   knows, such as a judgment's defendants) and the places they name (roads with the word before them,
   divisions, words jieba's dictionary tags ns) are located in the text; a term every occurrence of
   which overlaps one of them is a piece of it (文章 in 薛文章, 权属 in 周留权属…, 枫树 in 枫树二路).

Legal-dictionary words pass rules 2 and 3 (they are vetted legal vocabulary), and no name or place
is read across one (rule 4's overlap); rule 1 holds for them too.

Part of speech comes from jieba.posseg: its dictionary tags, and its HMM tagger (``viterbi``) on the
few short windows where a name may start. Running ``posseg.cut`` over whole facts costs 70–100 ms per
2,000 characters and segments differently from the index's tokenizer; the facts are segmented here
with the index's own ``Tokenizer`` instead (the terms are its tokens), which costs about a millisecond.
The dictionary and the tagger's tables are loaded once per process, on first use (about 0.7 s and
120 MB); the facts of a 2,000-character judgment then take 10–35 ms.

Order is the caller's: ``TermRarity`` orders a hit's terms by the index's idf; a report's method,
which does not hold the index's statistics, orders by ``general_rarity`` (how rare a word is in
general Chinese, by jieba's dictionary frequencies).
"""

from __future__ import annotations

import bisect
import math
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from leian.corpora.dictionaries import legal_words
from leian.indexer.tokenize import Tokenizer
from leian.retrieval.search.terms import PLACE

SHOWN_TERMS = 20  # how many terms a report's method lists

# jieba's tags of the words a prosecutor reads as facts (ICTCLAS set as jieba uses it): n noun, nz other
# proper noun (摩托车, 甲基苯丙胺), nt organisation (公安局, 交警大队), v verb, vn verbal noun, vd adverbial
# verb, a adjective, ad adverbial adjective, an nominal adjective, i idiom (另案处理), l fixed expression
# (近亲属, 吸食毒品)
CONTENT_TAGS = frozenset({"n", "nz", "nt", "v", "vn", "vd", "a", "ad", "an", "i", "l"})
NAME_TAGS = frozenset({"nr", "nrfg", "nrt"})
PLACE_TAGS = frozenset({"ns"})
# the words that introduce a person in a judgment; longest first so that 原审被告人 is not read as 被告
_ROLE = re.compile(
    r"原审被告人|被上诉人|上诉人|被告人|被害人|犯罪嫌疑人|嫌疑人|同案犯|同案人|受害人|证人|罪犯|死者|伤者|被告"
)
# a nickname or an alias, before or after its quotes: 绰号“老五”, “老五”（绰号）
_ALIAS = re.compile(
    r"(?:绰号|外号|化名|网名|昵称|诨名)[为叫是：:]?[“\"‘'「]([\u4e00-\u9fff]{2,6})[”\"’'」]"
    r"|[“\"‘'「]([\u4e00-\u9fff]{2,6})[”\"’'」][（(](?:绰号|外号|化名|网名|昵称|诨名)"
)
_LIST_JOIN = "、和及与"  # 被告人王某、李某和张某
_NAME_WINDOW = 6  # a name is at most 4 characters; 2 more let the tagger see where it ends
_ONLY_HAN = re.compile(r"[\u4e00-\u9fff]{2,}")
_HAN_RUN = re.compile(r"[\u4e00-\u9fff]+")
_ROAD_SUFFIX = ("路", "街", "巷", "大道", "大街", "胡同")
_TIME = re.compile(r"[〇零一二两三四五六七八九十百]+[年月日时分秒]")
_PARTY_MARK = "某"
_ANONYMISED = re.compile(r"[\u4e00-\u9fff]{1,2}?某+[甲乙丙丁戊己庚辛]?")
_DIVISION = ("省", "市", "县", "区", "镇", "乡", "村")
# what follows a piece of an address: 观山/湖区, 世纪/城, 景怡/院, 8组团, 9单元, 501号
_ADDRESS_NEXT = re.compile(
    r"[\u4e00-\u9fff]?(?:[省市县区镇乡村路街巷]|城(?!市)|苑|院(?!长)|花园|小区|大厦|广场|公寓|家园|山庄)"
    r"|[\d０-９一二三四五六七八九十]*(?:组团|单元|栋|幢|号楼|号|室)"
)
# address parts, never facts: 组团, 单元 …
_ADDRESS_PARTS = frozenset({"组团", "单元", "号楼", "门牌", "楼层", "住址"})
# tags of two-character words ending in 路/街 or 村/市 … that are common nouns (公路, 走路, 农村,
# 超市), not a road's or a place's name (北路 ns, 二路 m)
_COMMON_TAGS = frozenset({"n", "vn", "v", "l", "i"})
# the kinds of road a longer word ending in 路/街 may name without being a road's name (高速公路,
# 水泥路, 步行街); any other (学院路, 大桥路, 环城路) names one road
_GENERIC_ROADS = (
    "公路", "马路", "铁路", "道路", "高速路", "柏油路", "水泥路", "土路", "山路", "小路", "大路", "坡路",
    "十字路", "步行街", "商业街", "一条街",
)  # fmt: skip
# tags of a word that cannot be the first part of a place's name (修/路, 一条/路, 往/北路, 去/农村)
_NOT_NAME_PART_TAGS = frozenset({"v", "vn", "p", "r", "m", "q", "d", "u", "c", "f", "t", "a", "ad"})
# compound surnames that are not also common words (东方, 西门, 百里 and 长孙 are left out)
COMPOUND_SURNAMES = frozenset((
    "欧阳", "上官", "司马", "诸葛", "皇甫", "令狐", "公孙", "慕容", "尉迟", "宇文", "司徒", "夏侯", "轩辕",
    "端木", "独孤", "呼延", "申屠", "钟离", "宗政", "淳于", "赫连", "澹台", "万俟", "闻人", "公冶", "太叔",
))  # fmt: skip
_COMPOUND = re.compile("(?:" + "|".join(sorted(COMPOUND_SURNAMES)) + ")[\u4e00-\u9fff]")
# the commonest Chinese surnames (公安部 户籍人口统计 2020, the first ~120): an unknown word that begins
# with one is read by the tagger to see whether it is a name (王治红, 周留权)
SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许邓韩冯曹彭曾肖田董潘袁蔡蒋余于杜叶程魏苏吕丁任"
    "卢姚沈钟姜崔谭陆范汪廖石金韦贾夏付方邹熊白孟秦邱侯江尹薛闫段雷龙黎史陶贺毛郝顾龚邵万覃武钱戴严欧"
    "莫孔向常汤康易乔赖文施洪辛柯庄葛阎牛单包左詹聂童俞翟"
)


@dataclass(frozen=True)
class Lexicon:
    """jieba's dictionary (tag and frequency of each word), the legal dictionary and jieba.posseg's tagger."""

    tags: dict[str, str]
    freq: dict[str, str]  # the count in jieba's dictionary, as written there
    total: int
    legal: frozenset[str]
    tagger: Callable[[str], tuple[tuple[str, str], ...]]
    no_name_start: frozenset[str]

    def known(self, word: str) -> bool:
        return word in self.legal or word in self.tags


_lexicon: Lexicon | None = None
_lock = threading.Lock()


def lexicon() -> Lexicon:
    """Loaded once per process (about 0.6 s: jieba's 350,000-word dictionary and posseg's tables)."""
    global _lexicon
    if _lexicon is None:
        with _lock:
            if _lexicon is None:
                _lexicon = _load()
    return _lexicon


def _load() -> Lexicon:
    import jieba
    import jieba.posseg as posseg
    from jieba.posseg.viterbi import viterbi

    # the dictionary file itself ("word count tag" lines): a jieba.Tokenizer is never initialised (its
    # prefix dictionary costs most of a second and nothing here needs it)
    with jieba.Tokenizer().get_dict_file() as f:
        fields = f.read().decode("utf-8").split()
    words = fields[0::3]
    tags = dict(zip(words, fields[2::3], strict=True))
    freq = dict(zip(words, fields[1::3], strict=True))  # counts as text: int() when asked (0.1 s less)
    total = sum(map(int, fields[1::3]))
    del fields, words

    @lru_cache(maxsize=4096)  # a judgment repeats its 被告人X: the same windows come back
    def tagger(text: str) -> tuple[tuple[str, str], ...]:
        """posseg's HMM on a short run of Chinese characters: (word, tag) pairs."""
        _, states = viterbi(text, posseg.char_state_tab_P, posseg.start_P, posseg.trans_P, posseg.emit_P)
        out, begin, done = [], 0, 0
        for i, (bmes, tag) in enumerate(states):
            if bmes == "B":
                begin = i
            elif bmes in "ES":
                out.append((text[begin if bmes == "E" else i : i + 1], tag))
                done = i + 1
        if done < len(text):  # a word still open at the end (as posseg's own cut yields it)
            out.append((text[done:], states[done][1]))
        return tuple(out)

    # the characters the tagger cannot begin a name of two or more characters with (its states per
    # character allow no B-nr): a window starting with one is not tagged (a character it has no states
    # for may begin anything)
    no_name_start = frozenset(
        ch
        for ch, states in posseg.char_state_tab_P.items()
        if not any(bmes == "B" and tag in NAME_TAGS for bmes, tag in states)
    )

    return Lexicon(tags, freq, total, frozenset(w for w, _ in legal_words()), tagger, no_name_start)


def general_rarity(term: str) -> float:
    """How rare ``term`` is in general Chinese: -ln(its share of jieba's dictionary counts), the rarest
    value for a word the dictionary lacks (most legal terms: 无证驾驶, 次要责任)."""
    lex = lexicon()
    return math.log(lex.total / max(int(lex.freq.get(term, 0)), 1))


def by_general_rarity(terms: Sequence[str]) -> list[str]:
    """``terms`` rarest and longest first (``TermRarity``'s order, with general Chinese for the corpus);
    ties keep their order."""
    return sorted(terms, key=lambda t: -general_rarity(t) * len(t))


# ---------------------------------------------------------------- one term, out of context


def displayable(term: str, lex: Lexicon | None = None) -> bool:
    """Rules 1–3: the term's form, whether it is a known content word, whether it is a place."""
    lex = lex or lexicon()
    if not _ONLY_HAN.fullmatch(term) or _PARTY_MARK in term or _TIME.fullmatch(term):
        return False
    if term in lex.legal:
        return True
    tag = lex.tags.get(term)
    if tag not in CONTENT_TAGS or PLACE.fullmatch(term):
        return False
    if _is_road(term, lex):
        return False
    if term in COMPOUND_SURNAMES:  # 上官, 诸葛 (司马 nr and 欧阳 ns are out already)
        return False
    if tag == "nt":  # an organisation named after a place: 武汉市公安局, 大新县人民法院
        return not any(_is_place(term[:k], lex) for k in range(2, len(term) - 1))
    return True


def _is_road(word: str, lex: Lexicon) -> bool:
    """A road's name: 学院路, 大桥路 (three characters or more, not a kind of road such as 高速公路), or
    a two-character word ending in 路/街 that jieba does not know as a common noun (北路, 二路)."""
    if not word.endswith(_ROAD_SUFFIX):
        return False
    if len(word) >= 3:
        return not word.endswith(_GENERIC_ROADS)
    return lex.tags.get(word) not in _COMMON_TAGS


def _is_place(word: str, lex: Lexicon) -> bool:
    return lex.tags.get(word) in PLACE_TAGS or bool(PLACE.fullmatch(word))


# ---------------------------------------------------------------- the people and places of a text


@dataclass(frozen=True)
class FactsWords:
    """The people and places a text names, and where (sorted, non-overlapping (start, end) spans)."""

    names: frozenset[str]
    places: frozenset[str]
    spans: tuple[tuple[int, int], ...]


@lru_cache(maxsize=64)
def facts_words(facts: str) -> FactsWords:
    """Rule 4's inventory for ``facts`` (memoised: a report's method and its hits ask for the same)."""
    lex = lexicon()
    tokens = _located(facts, Tokenizer().tokenize(facts))
    starting = {start: word for word, start, _ in tokens}
    # nicknames and aliases are names too: 绰号“老五”
    names: set[str] = {m.group(1) or m.group(2) for m in _ALIAS.finditer(facts)}
    for m in _ROLE.finditer(facts):
        names.update(_names_at(facts, m.end(), lex, starting, names))
    for m in _COMPOUND.finditer(facts):  # 上官光化, wherever it stands
        names.update(_names_at(facts, m.start(), lex, starting, names, listed=False))
    for word, start, _ in tokens:
        if 2 <= len(word) <= 3 and word[0] in SURNAMES and not lex.known(word) and word not in names:
            names.update(_names_at(facts, start, lex, starting, names, listed=False))
    # a compound surname that begins a name names a person wherever it occurs (上官光文、上官王和)
    names.update(n[:2] for n in list(names) if n[:2] in COMPOUND_SURNAMES)
    places: set[str] = set()
    place_spans: list[tuple[int, int]] = []
    for j, (word, start, end) in enumerate(tokens):
        if word in lex.legal:
            continue
        if len(word) >= 2 and (_is_place(word, lex) or (len(word) >= 3 and _is_road(word, lex))):
            places.add(word)  # 大新县, 朝阳 (jieba's ns), 大桥路
            continue
        if len(word) > 2 or not word.endswith((*_ROAD_SUFFIX, *_DIVISION)):
            continue
        # a road or a division cut in two: 枫树/二路, 中沟/路, 颛桥/镇, 王/家村, 银金/大道 — the word
        # before it is part of the name unless it is a verb, a number … (修/路, 一条/路, 去/农村), or
        # both are common words (华联/超市)
        common = len(word) == 2 and lex.tags.get(word) in _COMMON_TAGS
        prev = tokens[j - 1] if j else None
        if (
            prev is not None
            and prev[2] == start
            and prev[0] not in lex.legal
            and lex.tags.get(prev[0]) not in _NOT_NAME_PART_TAGS
            and (not common or len(prev[0]) == 1 or not lex.known(prev[0]))
        ):
            start = prev[1]
        elif len(word) == 1 or common:
            continue
        places.add(facts[start:end])
        place_spans.append((start, end))
    spans = [*place_spans, *_occurrences(facts, names | places)]
    return FactsWords(frozenset(names), frozenset(places), _merged(spans))


def _names_at(
    facts: str, at: int, lex: Lexicon, starting: dict[int, str], seen: set[str], listed: bool = True
) -> list[str]:
    """The person named at ``at`` (after a role word, or where an unknown word that may be a name
    starts) and, when ``listed``, the ones listed after it (王某某、李某和张某)."""
    found: list[str] = []
    while True:
        run = _HAN_RUN.match(facts, at)
        if not run:
            return found
        text = facts[at : run.end()]
        name = next((n for n in seen if text.startswith(n)), None) or _name(facts, at, text, lex, starting)
        if name is None:
            return found
        found.append(name)
        at += len(name)
        if not listed or at >= len(facts) or facts[at] not in _LIST_JOIN:
            return found
        at += 1


def _name(facts: str, at: int, text: str, lex: Lexicon, starting: dict[int, str]) -> str | None:
    """The name ``text`` (the run of Chinese at ``at``) begins with, or None.

    - anonymised: up to its 某 and 甲/乙 (陆某 in 陆某醉酒);
    - a compound surname with one or two characters (上官光化, 欧阳龙);
    - 3 characters (most Chinese names) when the tagger reads the first three alone as one name
      (posseg's HMM cuts 3-character names short inside a longer run: 王庆 / 丰、武);
    - else what the tagger reads as a name at the start of the run (徐瑞阳 in 徐瑞阳以…);
    - else an unknown word of the facts' tokens beginning with a surname (刘计岗).
    A name that runs into a word of the facts (林根伙 in 林根伙同) ends where the word starts, unless
    the longer name recurs in the facts as often as the shorter (杨忠意, always before 意在…)."""
    anonymised = _ANONYMISED.match(text)
    if anonymised:
        return anonymised.group()
    if text[:2] in COMPOUND_SURNAMES and len(text) >= 3:
        return _settle(text[:4], facts, at, lex, starting, shortest=3)
    if text[0] not in lex.no_name_start:
        if len(text) >= 3 and lex.tagger(text[:3]) == ((text[:3], "nr"),):
            return _settle(text[:3], facts, at, lex, starting)
        word, tag = lex.tagger(text[:_NAME_WINDOW])[0]
        if len(word) >= 2 and tag in NAME_TAGS and not lex.known(word):
            return _settle(word, facts, at, lex, starting)
    token = starting.get(at)
    if token and 2 <= len(token) <= 3 and token[0] in SURNAMES and not lex.known(token):
        return token
    return None


def _settle(name: str, facts: str, at: int, lex: Lexicon, starting: dict[int, str], shortest: int = 2) -> str:
    """``name`` (found at ``at``), or its part before the first known word of the facts that starts
    inside it (not shorter than ``shortest``), when that part occurs more often than the whole or the
    whole only once."""
    for k in range(shortest, len(name)):
        word = starting.get(at + k)
        if word and len(word) >= 2 and lex.known(word):
            whole = facts.count(name)
            return name if whole >= 2 and whole == facts.count(name[:k]) else name[:k]
    return name


def _located(text: str, tokens: Iterable[str]) -> list[tuple[str, int, int]]:
    """The Chinese tokens of ``text`` with their spans (the tokenizer drops stop-words and punctuation
    but keeps the order, so each is found after the one before; one it changed is skipped)."""
    out, at = [], 0
    for t in tokens:
        if not _HAN_RUN.fullmatch(t):
            continue
        i = text.find(t, at, at + len(t) + 64)
        if i >= 0:
            out.append((t, i, i + len(t)))
            at = i + len(t)
    return out


def _occurrences(text: str, words: Iterable[str]) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for w in words if w for m in re.finditer(re.escape(w), text)]


def _merged(spans: Iterable[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    out: list[tuple[int, int]] = []
    for s, e in sorted(spans):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return tuple(out)


def inside(term: str, text: str, spans: Sequence[tuple[int, int]]) -> bool:
    """Whether ``term`` occurs in ``text`` and every occurrence overlaps one of ``spans`` (sorted,
    merged): then it is a piece of a name or a place, not a word of its own."""
    if not spans:
        return False
    starts = [s for s, _ in spans]
    seen = False
    for m in re.finditer(re.escape(term), text):
        seen = True
        j = bisect.bisect_left(starts, m.end()) - 1  # the last span starting before the term ends
        if j < 0 or spans[j][1] <= m.start():
            return False
    return seen


# ---------------------------------------------------------------- the terms a report shows


def display_terms(
    terms: Sequence[str],
    facts: str,
    *,
    order: Callable[[Sequence[str]], list[str]] | None = None,
    limit: int | None = None,
) -> list[str]:
    """The ``terms`` (tokens of ``facts``) a report may show, by rules 1–4 above, in the given order
    unless ``order`` reorders them; with ``limit``, the first ``limit`` none inside another
    (``distinct_terms``)."""
    lex = lexicon()
    fw = facts_words(facts) if facts else FactsWords(frozenset(), frozenset(), ())
    shown = [
        t
        for t in dict.fromkeys(terms)
        if displayable(t, lex)
        and t not in fw.names
        and t not in fw.places
        and t not in _ADDRESS_PARTS
        and not _family_of(t, facts)
        and (t in lex.legal or not (inside(t, facts, fw.spans) or _in_address(t, facts)))
    ]
    if order is not None:
        shown = order(shown)
    return distinct_terms(shown, limit) if limit is not None else shown


def _family_of(term: str, facts: str) -> bool:
    """温家 where the facts name 温某: a person's family named by the surname is a name too."""
    return len(term) == 2 and term[1] in "家氏" and f"{term[0]}某" in facts


def _in_address(term: str, facts: str) -> bool:
    """Whether every occurrence of ``term`` in ``facts`` is directly followed by an address's next
    part (观山 in 观山湖区, 世纪 in 世纪城): then it is a piece of a place's name."""
    seen = False
    for m in re.finditer(re.escape(term), facts):
        seen = True
        if not _ADDRESS_NEXT.match(facts, m.end()):
            return False
    return seen


def not_naming(terms: Sequence[str], text: str, names: Iterable[str]) -> list[str]:
    """``terms`` less those that name one of ``names`` in ``text`` (a judgment's defendants, in its
    facts): the name, a piece of it, a word holding it, or a word found in ``text`` only across it."""
    known = [n for n in names if n and len(n) >= 2 and _PARTY_MARK not in n]
    if not known:
        return list(terms)
    spans = _merged(_occurrences(text, known))
    return [t for t in terms if not any(t in n or n in t for n in known) and not inside(t, text, spans)]


def distinct_terms(terms: Sequence[str], limit: int) -> list[str]:
    """The first ``limit`` terms, none inside another: 三轮 says nothing that 三轮车 does not, so the
    longer one is kept (in the place of the first shorter one it holds) and the shorter dropped."""
    kept: list[str] = []
    for t in terms:
        if any(t in k for k in kept):
            continue
        inner = [j for j, k in enumerate(kept) if k in t]
        if inner:
            kept[inner[0]] = t
            kept = [k for j, k in enumerate(kept) if j not in inner[1:]]
        else:
            kept.append(t)
        if len(kept) == limit:
            break
    return kept


__all__ = [
    "CONTENT_TAGS",
    "SHOWN_TERMS",
    "FactsWords",
    "Lexicon",
    "by_general_rarity",
    "display_terms",
    "displayable",
    "distinct_terms",
    "facts_words",
    "general_rarity",
    "inside",
    "lexicon",
    "not_naming",
]
