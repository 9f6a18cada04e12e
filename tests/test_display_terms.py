"""The terms a report names (display_terms): on the sample query and four judgments of the bundled
sample, no party's name, date, number, Latin letter, single character, place or fragment; the legal
terms of the case are there; the report's method lists them; the ranking still uses every token."""

from __future__ import annotations

import gzip
import json
import re

import pytest

from leian.corpora.sample import sample_path, sample_queries_path
from leian.indexer.tokenize import Tokenizer
from leian.retrieval.models import Query
from leian.retrieval.report import build_report
from leian.retrieval.search import open_searcher
from leian.retrieval.search.display_terms import (
    SHOWN_TERMS,
    by_general_rarity,
    display_terms,
    displayable,
    facts_words,
    lexicon,
    not_naming,
)

ONLY_HAN = re.compile(r"[\u4e00-\u9fff]{2,}")
TIME_WORDS = {
    "凌晨",
    "上午",
    "中午",
    "下午",
    "傍晚",
    "晚上",
    "当日",
    "次日",
    "当晚",
    "当天",
    "同日",
    "同年",
    "时许",
    "分许",
}
# the sample query: its parties, places and the fragments jieba's HMM cut from them
QUERY_PARTIES = ["赵某甲", "赵某", "陆某", "李某"]
QUERY_PLACES = ["大新县", "五山", "昌明", "沿乡", "五山往"]
QUERY_LEGAL = ["醉酒", "无证驾驶", "道路交通事故", "主要责任", "次要责任"]

# judgments of the bundled sample (their facts), with the parties and places they name, read by hand,
# and legal terms of the case that must be shown
TEXTS = {
    "1985": (  # 危险驾驶罪
        ["张利夕", "郭某"],
        ["乳山市", "银金大道", "维利亚路", "山东"],
        ["醉酒驾驶", "交通事故", "机动车", "危险驾驶罪"],
    ),
    "22993": (  # 帮助毁灭证据罪、窝藏罪
        ["刘军", "刘兴玉", "赵某", "老五", "毛某", "张某", "李某", "杨某", "高某"],
        [
            "湖北省",
            "丹江口市",
            "枣阳市",
            "七方镇",
            "六里坪镇",
            "襄阳市",
            "襄州区",
            "龙王镇",
            "赵集村",
            "杨垱村",
        ],
        ["尸体", "抛弃", "隐藏", "逃匿", "面包车"],
    ),
    "39796": (  # 聚众斗殴罪、故意伤害罪
        ["段桂强", "孟凡新", "黄启柱", "邓红菊", "魏某", "张某", "王某", "宫某", "黄某"],
        ["东丽区", "万新街", "增兴窑村", "天增路"],
        ["轻伤二级", "轻伤一级", "轻微伤", "骨折", "砍刀", "纠集"],
    ),
    "21866": (  # 开设赌场罪
        ["张学伟", "鲍明陈", "鲍某甲", "鲍某乙", "王某", "孙某", "徐某"],
        ["宁海县", "跃龙", "惠民路", "宁波"],
        ["网络赌博", "赌资", "赌博", "虚拟"],
    ),
}


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    return Tokenizer()


@pytest.fixture(scope="module")
def query_facts() -> str:
    return json.loads(sample_queries_path().read_text(encoding="utf-8").splitlines()[0])["q"]


@pytest.fixture(scope="module")
def judgments() -> dict[str, str]:
    with gzip.open(sample_path(), "rt", encoding="utf-8") as f:
        docs = (json.loads(line) for line in f)
        return {d["id"]: d["ajjbqk"].strip() for d in docs if d["id"] in TEXTS}


@pytest.fixture(scope="module")
def searcher(tmp_path_factory):
    from leian.retrieval.indexing import IndexJob

    out = tmp_path_factory.mktemp("display") / "sample"
    IndexJob(corpus=str(sample_path()), index=str(out), embeddings=False, workers=1).build()
    return open_searcher(index=str(out))


def assert_shows_no_party_place_date_or_number(shown: list[str], parties: list[str], places: list[str]):
    lex = lexicon()
    for t in shown:
        assert ONLY_HAN.fullmatch(t), t  # no digit, Latin letter, ×, single character
        assert "某" not in t, t
        assert not [p for p in parties if t in p or p in t], (t, parties)
        assert not [p for p in places if t in p or p in t], (t, places)
        assert t not in TIME_WORDS, t
        # jieba's time, numeral, measure, person and place words (a legal term stays: 司法鉴定 is nr there)
        assert t in lex.legal or lex.tags.get(t) not in ("t", "m", "q", "nr", "ns"), t
        assert not re.fullmatch(r".{2,}[省市县区镇乡村]", t) or t.endswith(("风景区", "保护区")), t


# ---------------------------------------------------------------- the sample query


def test_the_sample_query_shows_its_legal_terms_and_no_name_place_date_or_number(tokenizer, query_facts):
    tokens = tokenizer(query_facts)
    assert {"赵某", "2012", "km", "毫升", "时许", "沿乡", "五山往"} <= set(tokens)  # what BM25 is asked for
    shown = display_terms(tokens, query_facts)
    assert_shows_no_party_place_date_or_number(shown, QUERY_PARTIES, QUERY_PLACES)
    top = display_terms(tokens, query_facts, order=by_general_rarity, limit=SHOWN_TERMS)
    assert len(top) == SHOWN_TERMS and set(top) <= set(shown)
    assert set(QUERY_LEGAL) <= set(top), top
    assert not [a for a in top if any(a != b and a in b for b in top)], top  # none inside another


@pytest.mark.parametrize("doc_id", sorted(TEXTS))
def test_judgments_show_their_legal_terms_and_no_party_place_date_or_number(tokenizer, judgments, doc_id):
    parties, places, legal = TEXTS[doc_id]
    facts = judgments[doc_id]
    assert [p for p in parties if "某" not in p and p in facts]  # real names, in the text
    shown = display_terms(tokenizer(facts), facts)
    assert_shows_no_party_place_date_or_number(shown, parties, places)
    assert set(legal) <= set(shown), (set(legal) - set(shown), shown)


# ---------------------------------------------------------------- the rules, one by one


@pytest.mark.parametrize(
    ("term", "shown"),
    [
        ("醉酒", True),
        ("无证驾驶", True),  # the legal dictionary
        ("交警大队", True),  # nt
        ("高速公路", True),  # a kind of road
        ("另案处理", True),  # an idiom (i)
        ("沿乡", False),  # unknown to both dictionaries: an HMM fragment
        ("五山往", False),
        ("2012", False),
        ("km", False),
        ("毫升", False),  # q
        ("万元", False),  # m
        ("两车", False),  # m
        ("时许", False),
        ("凌晨", False),  # t
        ("当日", False),
        ("车", False),  # one character
        ("赵某", False),
        ("某某", False),
        ("昌明", False),  # nr
        ("大新县", False),
        ("朝阳", False),  # ns
        ("大桥路", False),  # a road's name (nz)
        ("学院路", False),  # a road's name (n)
        ("北路", False),
        ("武汉市公安局", False),  # an organisation named after a place
        ("上官", False),  # a compound surname
        ("附近", False),  # f
        ("分别", False),  # d
    ],
)
def test_displayable(term, shown):
    assert displayable(term) is shown


def test_the_people_a_text_names_are_found_after_role_words_in_lists_and_by_nickname():
    text = (
        "被告人陈济铿、李梦潇、林根伙同刘计岗，在某地纠集上官光化、欧阳龙持刀殴打被害人薛文章。"
        "赵某1（绰号“老五”）将被害人周留权打伤。"
    )
    names = facts_words(text).names
    assert {
        "陈济铿",
        "李梦潇",
        "林根",
        "刘计岗",
        "上官光化",
        "欧阳龙",
        "薛文章",
        "老五",
        "周留权",
    } <= names, names


def test_a_word_inside_a_name_or_a_place_is_not_shown(tokenizer):
    text = "被害人薛文章驾驶轿车沿枫树二路行驶，薛文章受伤。"
    shown = display_terms(tokenizer(text), text)
    assert "轿车" in shown and "文章" not in shown and "枫树" not in shown, shown
    # the same word outside the name is a word of its own
    longer = text + "其在网上发表文章，途经一片枫树林。"
    assert "文章" in display_terms(tokenizer(longer), longer)


def test_a_term_naming_a_judgments_defendant_is_not_shown():
    assert not_naming(["文章", "轿车"], "被告人薛文章驾驶轿车", ["薛文章"]) == ["轿车"]
    assert not_naming(["文章"], "被告人张三", ["某某", ""]) == ["文章"]


# ---------------------------------------------------------------- in the search and the report


def test_the_report_method_lists_the_shown_terms_and_the_ranking_uses_every_token(searcher, query_facts):
    query = Query(facts=query_facts, top_k=10)
    res = searcher.search(query)
    # the ranking: every token still goes to BM25 (names, numbers and all), and the hits are in the
    # order of the ranking alone
    assert {"赵某", "2012", "沿乡"} <= set(res.query_terms)
    assert [(h.id, h.score) for h in res.hits] == searcher.rank(query)

    rep = build_report(searcher, query, top_k=10, stats_k=20)
    m = rep.method
    assert m.query_terms == display_terms(
        res.query_terms, query_facts, order=by_general_rarity, limit=SHOWN_TERMS
    )
    assert set(QUERY_LEGAL) <= set(m.query_terms), m.query_terms
    assert m.query_terms_total == len(res.query_terms) > len(m.query_terms) == SHOWN_TERMS
    assert_shows_no_party_place_date_or_number(m.query_terms, QUERY_PARTIES, QUERY_PLACES)

    for case in rep.results:
        assert case.matched_terms, case.id
        assert_shows_no_party_place_date_or_number(case.matched_terms, QUERY_PARTIES, QUERY_PLACES)
        assert all(displayable(t) for t in case.matched_terms)
        named = [r for r in case.reasons if r.startswith("关键事实用语相同：")]
        assert named and not re.search(r"五山往|沿乡|赵某|陆某|李某", named[0]), named
