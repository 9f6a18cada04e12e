"""The shared tokeniser: rjieba == jieba on real judgments, legal words whole, stop-words out, no drift."""

from __future__ import annotations

import random
import re
import subprocess
import sys
import unicodedata

import pytest

from leian.corpora.dictionaries import legal_words, stopwords
from leian.corpora.loaders import Loader
from leian.corpora.sample import sample_path
from leian.indexer.tokenize import _RUNS, _SEPARATORS, Tokenizer, unique_terms

PUNCT = re.compile(r"^[\W_]+$")


@pytest.fixture(scope="module")
def sample_texts() -> list[str]:
    return [r.text for r in Loader(sample_path())]


@pytest.fixture(scope="module", params=["rjieba", "jieba"])
def tok(request) -> Tokenizer:
    return Tokenizer(request.param)


@pytest.mark.slow
def test_rjieba_and_jieba_identical_on_every_sample_judgment(sample_texts):
    fast, ref = Tokenizer("rjieba"), Tokenizer("jieba")
    assert len(sample_texts) >= 300
    n_tokens = 0
    for text in sample_texts:  # the full text of every one
        a, b = fast.tokenize(text), ref.tokenize(text)
        assert a == b, next((i, a[i - 2 : i + 3], b[i - 2 : i + 3]) for i in range(len(a)) if a[i] != b[i])
        n_tokens += len(a)
    assert n_tokens > 500_000
    assert fast.fingerprint == ref.fingerprint


def test_auto_prefers_rjieba_and_unknown_engine_is_refused():
    assert Tokenizer().engine == "rjieba"
    with pytest.raises(ValueError, match="unknown tokenizer engine 'hanlp'"):
        Tokenizer("hanlp")


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("被告人以非法吸收公众存款罪被判处有期徒刑", "非法吸收公众存款罪"),
        ("向社会公众非法吸收公众存款人民币一百万元", "非法吸收公众存款"),
        ("其行为已构成帮助信息网络犯罪活动罪", "帮助信息网络犯罪活动罪"),
        ("明知他人利用信息网络实施犯罪，为其提供支付结算帮助，帮助信息网络犯罪活动", "帮助信息网络犯罪活动"),
        ("在道路上醉酒驾驶机动车，构成危险驾驶罪", "危险驾驶罪"),
        ("被告人张某危险驾驶一案", "危险驾驶"),
        ("被告人犯贩卖毒品罪，判处有期徒刑", "贩卖毒品罪"),
        ("经鉴定其血液酒精含量为186毫克", "血液酒精含量"),
        ("被告人自愿认罪认罚，签署具结书", "认罪认罚"),
        ("依法对被告人取保候审", "取保候审"),
        ("应当数罪并罚", "数罪并罚"),
        ("并处没收个人财产", "没收个人财产"),
        ("剥夺政治权利终身", "剥夺政治权利终身"),
        ("被告人系累犯，应从重处罚", "累犯"),
        ("以非法占有为目的，骗取他人财物", "以非法占有为目的"),
    ],
)
def test_legal_words_stay_whole(tok, text, word):
    assert word in tok.tokenize(text)


def test_charge_names_stay_whole_in_the_sample(sample_texts):
    """Every 犯X罪 of the sample whose X罪 is a dictionary word comes out as that one token."""
    tok = Tokenizer("rjieba")
    words = dict(legal_words())
    rx = re.compile(r"犯([\u4e00-\u9fd5]{2,30}?罪)")
    seen = 0
    for text in sample_texts[:150]:
        tokens = set(tok.tokenize(text))
        for m in rx.finditer(text):
            if m.group(1) in words:
                seen += 1
                assert m.group(1) in tokens, text[m.start() - 5 : m.end() + 5]
    assert seen > 500


def test_stopwords_and_punctuation_removed(tok, sample_texts):
    stop = stopwords()
    for text in sample_texts[:40]:
        tokens = tok.tokenize(text)
        assert tokens
        assert not (set(tokens) & stop)
        assert not [t for t in tokens if PUNCT.match(t)]
        assert all(t == t.strip() and t for t in tokens)
    assert "被告人" not in tok.tokenize("被告人张某，男。")
    assert "被害人" in tok.tokenize("被害人李某受轻伤")  # content word, kept


def test_numbers_and_latin_runs(tok):
    # digits and letters are split from each other and from Chinese the same way by both engines
    assert tok.tokenize("血液酒精含量为186.5mg/100ml") == ["血液酒精含量", "186.5", "mg", "100", "ml"]
    # full-width digits and letters are the same tokens as ASCII ones (NFKC), letters lower-cased
    assert tok.tokenize("盗窃人民币１２０００元，ＱＱ号") == tok.tokenize("盗窃人民币12000元，qq号")
    assert "12000" in tok.tokenize("盗窃人民币１２０００元")
    assert tok.tokenize("") == [] and tok.tokenize("，。！？×××") == []
    assert "〇" in tok.tokenize("二〇一八年九月十日")  # 〇 (U+3007) is not a jieba character; kept as a token


def _reference_tokenize(tok: Tokenizer, text: str) -> list[str]:
    """The rules read literally: each run on its own, each Chinese run cut by its own jieba call."""
    out = []
    for m in _RUNS.finditer(unicodedata.normalize("NFKC", text).lower()):
        run = m.group()
        if m.lastgroup == "han":
            out.extend(t for t in tok._seg.cut(run) if t not in tok._stop)
        elif run not in tok._stop:
            out.append(run)
    return out


def test_characters_left_without_nfkc_are_separators_either_way():
    for c in _SEPARATORS:
        assert not _RUNS.search(c) and not _RUNS.search(unicodedata.normalize("NFKC", c).lower()), c


def test_fast_paths_equal_the_literal_rules(tok, sample_texts):
    # tokenize() joins the Chinese runs into one jieba call, and skips NFKC where it changes no token;
    # it must give exactly the tokens of the rules applied literally
    edge = [
        "１．５克，价值２０００元……",  # full-width digits and point, ellipsis
        "①盗窃②抢劫⑴诈骗",  # circled and parenthesised numbers
        "面积３０㎡，ＡＢＣ型号",
        "e\u0301盗窃",  # a combining mark composes with the letter before it
        "\u2f00\uf900\U0002f800盗窃",  # a radical and compatibility ideographs: NFKC makes them han
        "二〇一八年，（另案处理）：；“盗窃”",
        "\u3000盗窃\u3000",
        "盗窃",
        "2018年盗窃手机1部",
        "甲，乙。丙",
        "mg盗窃",
        "盗窃mg",
        "的",
        "被告人张某、李某（另案处理）",
        "a1b2",
    ]
    for text in edge + sample_texts:
        assert tok.tokenize(text) == _reference_tokenize(tok, text)


def test_nfkc_of_the_runs_that_need_it_equals_nfkc_of_the_whole_text(tok):
    # NFKC is applied only to the characters that need it (with the one before them); random strings
    # of what composes, decomposes, reorders or changes under NFKC, among plain text, must tokenise
    # exactly as the whole text normalised would
    pieces = [
        *"盗窃抢劫被告人二〇一八年",  # ideographs and 〇
        *"ae1.5 xyz，。（）",  # ASCII and separators
        *"\u0301\u0327\u0308\u0323\u3099",  # combining marks (the last composes kana)
        *"ｅＡ１２３．％",  # full-width forms
        *"①⑴㎡²ﬁ㈱Å\u2f00\uf900\U0002f800",  # circled, squared, superscript, ligature, compatibility
        *"\u1100\u1161\u11a8か",  # Hangul jamo (they compose), kana
    ]
    rng = random.Random(7)
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 24)))
        assert tok.tokenize(text) == _reference_tokenize(tok, text), ascii(text)


def test_tokenising_never_changes_the_vocabulary(tok, sample_texts):
    probe = sample_texts[3]
    before = tok.tokenize(probe)
    novel = ["赛博朋克币", "张三丰某甲", "量子区块链传销平台"]
    assert not any(tok.has_word(w) for w in novel)
    for q in [f"被告人在{w}上实施诈骗，骗得{w}若干" for w in novel] + sample_texts[:20]:
        tok.tokenize(q)
    assert tok.tokenize(probe) == before
    assert not any(tok.has_word(w) for w in novel)
    # words HMM discovers are emitted but never added to the dictionary
    hmm_words = [t for t in tok.tokenize(sample_texts[0]) if len(t) > 1 and not tok.has_word(t)]
    assert hmm_words
    tok.tokenize(sample_texts[0])
    assert not any(tok.has_word(t) for t in hmm_words)


def test_legal_dictionary_loaded(tok):
    assert all(tok.has_word(w) for w, _ in legal_words()[:200])


def test_fingerprint_is_stable_and_names_the_dictionary():
    a, b = Tokenizer("rjieba"), Tokenizer("rjieba")
    assert a.fingerprint == b.fingerprint
    assert a.fingerprint.startswith("jieba-legal:") and len(a.fingerprint) == len("jieba-legal:") + 16


def test_jieba_is_quiet_and_global_logging_untouched():
    code = (
        "import logging, sys\n"
        "root = logging.getLogger(); before = (root.level, list(root.handlers))\n"
        "import leian.indexer.tokenize as t\n"
        "assert 'jieba' not in sys.modules, 'jieba imported at import time'\n"
        "assert (root.level, list(root.handlers)) == before\n"
        "print(t.Tokenizer('jieba').tokenize('被告人张某犯盗窃罪'))\n"
        "assert (root.level, list(root.handlers)) == before\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""  # no "Building prefix dict from the default dictionary ..."
    assert "盗窃罪" in out.stdout


def test_unique_terms_keeps_first_seen_order():
    assert unique_terms(["盗窃", "财物", "盗窃", "手机", "财物"]) == ["盗窃", "财物", "手机"]
    assert unique_terms([]) == []
