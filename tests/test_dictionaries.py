"""The shipped legal dictionaries: 483 罪名, charge-name canonicalisation, jieba words, stop-words."""

from __future__ import annotations

import json
import re

import pytest

from leian.corpora import dictionaries as d
from leian.corpora.loaders import Loader
from leian.corpora.sample import sample_path, sample_queries_path

ARTICLE = re.compile(
    r"^(刑法第[一二三四五六七八九十百零]+条(之[一二三四五六七八九十]+)?|关于惩治骗购外汇、逃汇和非法买卖外汇犯罪的决定第一条)$"
)


def test_all_483_charges_with_article_and_chapter():
    rows = d.charges()
    assert len(rows) == 483  # 刑法修正案(十二) / 罪名补充规定(八)
    names = d.charge_names()
    assert len(set(names)) == 483 and all(n.endswith("罪") for n in names)
    for r in rows:
        assert ARTICLE.match(r.article), r
        assert re.match(r"^第[一二三四五六七八九十]+章 \S+罪$", r.chapter), r
        assert r.section == "" or re.match(r"^第[一二三四五六七八九]节 \S+$", r.section), r
    per_chapter = {}
    for r in rows:
        per_chapter[r.chapter.split()[0]] = per_chapter.get(r.chapter.split()[0], 0) + 1
    assert per_chapter == {
        "第一章": 12, "第二章": 54, "第三章": 110, "第四章": 43, "第五章": 13,
        "第六章": 146, "第七章": 23, "第八章": 14, "第九章": 37, "第十章": 31,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("name", "article", "chapter"),
    [
        ("盗窃罪", "刑法第二百六十四条", "第五章 侵犯财产罪"),
        ("危险驾驶罪", "刑法第一百三十三条之一", "第二章 危害公共安全罪"),
        ("妨害安全驾驶罪", "刑法第一百三十三条之二", "第二章 危害公共安全罪"),
        ("帮助信息网络犯罪活动罪", "刑法第二百八十七条之二", "第六章 妨害社会管理秩序罪"),
        ("走私、贩卖、运输、制造毒品罪", "刑法第三百四十七条", "第六章 妨害社会管理秩序罪"),
        ("贪污罪", "刑法第三百八十二条", "第八章 贪污贿赂罪"),
        ("袭警罪", "刑法第二百七十七条", "第六章 妨害社会管理秩序罪"),
        ("间谍罪", "刑法第一百一十条", "第一章 危害国家安全罪"),
        ("徇私舞弊低价折股、出售公司、企业资产罪", "刑法第一百六十九条", "第三章 破坏社会主义市场经济秩序罪"),
    ],
)
def test_articles_and_chapters(name, article, chapter):
    assert d.charge_article(name) == article
    assert d.charge_chapter(name) == chapter


@pytest.mark.parametrize(
    ("form", "official"),
    [
        # official names map to themselves
        ("盗窃罪", "盗窃罪"),
        ("走私、贩卖、运输、制造毒品罪", "走私、贩卖、运输、制造毒品罪"),
        # specific forms judgments write
        ("贩卖毒品罪", "走私、贩卖、运输、制造毒品罪"),
        ("贩卖、运输毒品罪", "走私、贩卖、运输、制造毒品罪"),
        ("非法持有枪支罪", "非法持有、私藏枪支、弹药罪"),
        ("非法持有枪支、弹药罪", "非法持有、私藏枪支、弹药罪"),
        ("非法持有枪支弹药罪", "非法持有、私藏枪支、弹药罪"),  # 、 omitted
        ("非法买卖枪支罪", "非法制造、买卖、运输、邮寄、储存枪支、弹药、爆炸物罪"),
        ("拐卖儿童罪", "拐卖妇女、儿童罪"),
        ("窝藏罪", "窝藏、包庇罪"),
        ("掩饰、隐瞒犯罪所得罪", "掩饰、隐瞒犯罪所得、犯罪所得收益罪"),
        ("参加黑社会性质组织罪", "组织、领导、参加黑社会性质组织罪"),
        ("容留卖淫罪", "引诱、容留、介绍卖淫罪"),
        ("骗取贷款罪", "骗取贷款、票据承兑、金融票证罪"),
        ("虚开增值税专用发票罪", "虚开增值税专用发票、用于骗取出口退税、抵扣税款发票罪"),
        ("伪造公司印章罪", "伪造公司、企业、事业单位、人民团体印章罪"),
        ("国有公司人员滥用职权罪", "国有公司、企业、事业单位人员滥用职权罪"),
        ("内幕交易罪", "内幕交易、泄露内幕信息罪"),
        ("组织他人偷越国境罪", "组织他人偷越国（边）境罪"),
        ("组织他人偷越国(边)境罪", "组织他人偷越国（边）境罪"),
        # former official names
        ("强制猥亵妇女罪", "强制猥亵、侮辱罪"),
        ("生产、销售假药罪", "生产、销售、提供假药罪"),
        ("销售假药罪", "生产、销售、提供假药罪"),
        ("非法获取公民个人信息罪", "侵犯公民个人信息罪"),
        ("收购赃物罪", "掩饰、隐瞒犯罪所得、犯罪所得收益罪"),
        ("偷税罪", "逃税罪"),
        ("徇私舞弊低价折股、出售国有资产罪", "徇私舞弊低价折股、出售公司、企业资产罪"),
        # harmless spelling noise
        ("犯合同诈骗罪", "合同诈骗罪"),
        (" 危险驾驶 ", "危险驾驶罪"),
        ("强奸（未遂）罪", "强奸罪"),
        (
            "隐匿、故意销毁会计凭证、会计帐簿、财务会计报告罪",
            "隐匿、故意销毁会计凭证、会计账簿、财务会计报告罪",
        ),
        ("（单位）虚开增值税专用发票罪", "虚开增值税专用发票、用于骗取出口退税、抵扣税款发票罪"),
    ],
)
def test_canonical_charge(form, official):
    assert d.canonical_charge(form) == official
    assert d.charge_group(form) == d.charge_group(official)


@pytest.mark.parametrize(
    "not_a_charge",
    [
        "醉驾",
        "帮信罪",
        "流氓罪",
        "嫖宿幼女罪",
        "犯罪",
        "走私罪",
        "贩卖罪",
        "儿童罪",
        "",
        "罪",
        "盗窃案",
        "故意",
    ],
)
def test_not_charge_forms(not_a_charge):
    """Colloquial names, abolished 罪名, section titles and fragments are not 罪名 forms."""
    assert d.canonical_charge(not_a_charge) is None


def test_charge_group_compares_forms_of_one_statute():
    assert d.charge_group("贩卖毒品罪") == d.charge_group("运输毒品罪") == "走私、贩卖、运输、制造毒品罪"
    assert d.charge_group("盗窃罪") != d.charge_group("诈骗罪")
    assert d.charge_group("非法持有毒品罪") != d.charge_group("贩卖毒品罪")  # a different statute
    assert d.charge_group("醉驾") == "醉驾" == d.charge_group(" 醉驾")  # unknown: equal to itself only
    assert d.charge_group("醉驾") != d.charge_group("危险驾驶罪")


def test_derives_never_drops_the_shared_object_or_splits_words():
    assert d.derives("贩卖毒品", "走私、贩卖、运输、制造毒品")
    assert not d.derives("贩卖", "走私、贩卖、运输、制造毒品")  # lost the object
    assert not d.derives("走私运输", "走私、贩卖、运输、制造毒品")
    assert not d.derives("非法持药", "非法持有、私藏枪支、弹药")  # cuts through words


def test_every_official_name_and_alias_resolves():
    for name in d.charge_names():
        assert d.canonical_charge(name) == name
    current = set(d.charge_names())
    for old, new in d.charge_aliases().items():
        assert new in current, (old, new)
        assert old not in current
        assert d.canonical_charge(old) == new


def test_sample_query_labels_and_judgment_charges_canonicalise():
    """Every 犯X罪 of the sample's 判决结果 (judgment's specific form) maps to an official 罪名."""
    labels = [
        c
        for ln in sample_queries_path().read_text(encoding="utf-8").splitlines()
        for c in json.loads(ln)["labels"]["crime"]
    ]
    assert all(d.canonical_charge(c) == c for c in labels)
    rx = re.compile(r"犯([\u4e00-\u9fff、（）]{2,30}?罪)[，。；,、]")
    found = mapped = 0
    for rec in Loader(sample_path()):
        for m in rx.findall(rec.sections.judgment):
            found += 1
            mapped += d.canonical_charge(m) is not None
    assert found > 400
    assert mapped / found > 0.97


def test_specific_forms_cover_the_common_ones():
    forms = d.specific_forms("走私、贩卖、运输、制造毒品罪")
    assert {"贩卖毒品罪", "运输毒品罪", "制造毒品罪", "走私毒品罪"} <= set(forms)
    assert all("、" not in f and d.canonical_charge(f) == "走私、贩卖、运输、制造毒品罪" for f in forms)
    assert d.specific_forms("盗窃罪") == ["盗窃罪"]


def test_legal_words_file():
    words = dict(d.legal_words())
    assert len(words) > 500
    for w in ("非法吸收公众存款", "非法吸收公众存款罪", "帮助信息网络犯罪活动", "危险驾驶罪", "贩卖毒品罪",
              "认罪认罚", "取保候审", "数罪并罚", "血液酒精含量", "剥夺政治权利", "没收个人财产"):  # fmt: skip
        assert w in words, w
    assert all(f >= 1 and " " not in w and "、" not in w for w, f in words.items())
    # every 罪名 without 、 is there, with and without 罪
    for name in d.charge_names():
        if "、" not in name:
            assert name in words and name[:-1] in words, name


def test_stopwords_policy():
    stop = d.stopwords()
    assert {"的", "了", "在", "被告人", "公诉机关", "本院"} <= stop
    # content words, negation and the victim stay searchable
    assert not ({"被害人", "不", "未", "没有", "无", "自首", "盗窃", "犯罪", "元"} & stop)
    assert not any(w.isdigit() for w in stop)
    assert len(stop) < 300
