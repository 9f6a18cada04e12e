"""Checks on filter and charge values that the schemas cannot express (they need the dictionaries).

A filter value that can never match (a misspelt 罪名, an unknown province) would silently return
nothing; it is rejected with the reason and the fix instead.
"""

from __future__ import annotations

from functools import cache

from leian.api.schemas import FiltersIn
from leian.errors import InvalidInput

PROVINCES: tuple[str, ...] = (
    "北京市", "天津市", "上海市", "重庆市", "河北省", "山西省", "辽宁省", "吉林省", "黑龙江省", "江苏省",
    "浙江省", "安徽省", "福建省", "江西省", "山东省", "河南省", "湖北省", "湖南省", "广东省", "海南省",
    "四川省", "贵州省", "云南省", "陕西省", "甘肃省", "青海省", "台湾省", "内蒙古自治区",
    "广西壮族自治区", "西藏自治区", "宁夏回族自治区", "新疆维吾尔自治区", "香港特别行政区", "澳门特别行政区",
)  # fmt: skip


@cache
def _province_names() -> dict[str, str]:
    """Full and short names -> the full name (湖北 -> 湖北省, 广西 -> 广西壮族自治区)."""
    out = {}
    for p in PROVINCES:
        out[p] = p
        short = p
        for suffix in ("特别行政区", "维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "省", "市"):
            if short.endswith(suffix):
                short = short[: -len(suffix)]
                break
        out[short] = p
    return out


def normalise_province(name: str) -> str:
    full = _province_names().get(name.strip())
    if full is None:
        raise InvalidInput(f"filters.province: unknown province {name!r}; use a name like 湖北省 or 湖北")
    return full


def normalise_charge(name: str, field: str) -> str:
    """``盗窃`` -> ``盗窃罪``; specific and compound forms of a 罪名 are both accepted (they compare
    equal downstream through ``charge_group``); colloquial names (醉驾) and typos are refused."""
    from leian.corpora.dictionaries import canonical_charge

    n = name.strip()
    if canonical_charge(n) is None:
        raise InvalidInput(
            f"{field}: unknown 罪名 {name!r}; use the name as in the Criminal Law, e.g. 盗窃罪, 危险驾驶罪"
        )
    return n if n.endswith("罪") else n + "罪"


def check_request(charges: list[str] | None, filters: FiltersIn) -> None:
    """Normalise in place (short forms to full ones) or raise InvalidInput (422)."""
    if charges:
        charges[:] = [normalise_charge(c, "charges") for c in charges]
    if filters.charge:
        filters.charge = [normalise_charge(c, "filters.charge") for c in filters.charge]
    if filters.province:
        filters.province = [normalise_province(p) for p in filters.province]
