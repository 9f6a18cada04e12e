"""Draw the judgments of the sentencing-elements gold set (tests/gold/elements*.jsonl) from LeCaRD.

Stratified by charge over the 23 crimes of the 2021 量刑指导意见 and LeCaRD's most frequent charges;
per charge, judgments whose judgment lines name that charge first, 1,500–7,000 characters (so each can
be read in full), not already in the other gold files; seeded, so the draw is reproducible. In drawing
order the judgments alternate between the development half and the held-out half.

    python bench/elements_gold_select.py --data ../shared/data/lecard > selection.jsonl

A second development draw (``tests/gold/elements_dev2.jsonl``) used ``--seed 20261207`` and kept the
"dev" rows: more judgments to write rules from, the held-out half untouched.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import sys
from pathlib import Path

from leian.corpora.dictionaries import canonical_charge

SEED = 20261206
# charge -> judgments drawn. Charges whose tier is set by a number get more.
QUOTA: dict[str, int] = {
    "盗窃罪": 10,
    "诈骗罪": 8,
    "走私、贩卖、运输、制造毒品罪": 9,
    "故意伤害罪": 8,
    "危险驾驶罪": 7,
    "交通肇事罪": 7,
    "受贿罪": 4,
    "贪污罪": 4,
    "合同诈骗罪": 4,
    "非法吸收公众存款罪": 3,
    "集资诈骗罪": 3,
    "信用卡诈骗罪": 3,
    "职务侵占罪": 3,
    "敲诈勒索罪": 3,
    "抢劫罪": 4,
    "抢夺罪": 3,
    "掩饰、隐瞒犯罪所得、犯罪所得收益罪": 3,
    "非法持有毒品罪": 4,
    "容留他人吸毒罪": 3,
    "寻衅滋事罪": 3,
    "聚众斗殴罪": 2,
    "妨害公务罪": 2,
    "非法拘禁罪": 2,
    "强奸罪": 2,
    "引诱、容留、介绍卖淫罪": 2,
    "开设赌场罪": 3,
    "赌博罪": 2,
    "非法经营罪": 2,
    "行贿罪": 2,
    "非国家工作人员受贿罪": 2,
    "挪用资金罪": 2,
    "挪用公款罪": 2,
    "滥伐林木罪": 2,
    "故意杀人罪": 2,
    "非法持有、私藏枪支、弹药罪": 2,
    "非法制造、买卖、运输、邮寄、储存枪支、弹药、爆炸物罪": 1,
    "滥用职权罪": 1,
}
_CHARGE = re.compile(r"犯([\u4e00-\u9fff、]{2,30}?罪)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="../shared/data/lecard")
    ap.add_argument("--seed", type=int, default=SEED)
    args = ap.parse_args()
    taken = set()
    for path in sorted((Path(__file__).parents[1] / "tests" / "gold").glob("*.jsonl")):
        if args.seed == SEED and path.name.startswith("elements"):
            continue  # the first draw excluded only the files that existed before it
        with path.open(encoding="utf-8") as f:
            taken.update(json.loads(line)["id"] for line in f)
    by_charge: dict[str, list[dict]] = {c: [] for c in QUOTA}
    with gzip.open(Path(args.data) / "docs.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            if d["id"] in taken or not 1500 <= len(d["qw"]) <= 7000:
                continue
            first = next((canonical_charge(m.group(1)) for m in _CHARGE.finditer(d.get("pjjg") or "")), None)
            if first in by_charge:
                by_charge[first].append(d)
    rng = random.Random(args.seed)
    drawn = 0
    for charge, n in QUOTA.items():
        pool = sorted(by_charge[charge], key=lambda d: int(d["id"]))
        if len(pool) < n:
            print(f"{charge}: only {len(pool)} judgments qualify", file=sys.stderr)
        for d in rng.sample(pool, min(n, len(pool))):
            half = "dev" if drawn % 2 == 0 else "heldout"
            drawn += 1
            print(
                json.dumps(
                    {"id": d["id"], "charge": charge, "half": half, "title": d["writName"], "text": d["qw"]},
                    ensure_ascii=False,
                )
            )


if __name__ == "__main__":
    main()
