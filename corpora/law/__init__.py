"""The law as data: each 罪名's 法定刑 tiers and the numeric thresholds of the 两高 interpretations.

Both files live in ``leian/corpora/data`` with a source per row and are checked when loaded
(:class:`LawDataError` names the file, line and rule). See ``docs/law-data.md``.
"""

from leian.corpora.law.guidance import Adjustment, adjustments
from leian.corpora.law.table import LawDataError
from leian.corpora.law.thresholds import Element, ThresholdRow, load_thresholds, thresholds_of
from leian.corpora.law.tiers import (
    CONDITION_KEYS,
    ConditionKey,
    StatutoryRange,
    TierRow,
    load_tiers,
    statutory_range,
    tiers_of,
)

__all__ = [
    "Adjustment",
    "adjustments",
    "CONDITION_KEYS",
    "ConditionKey",
    "Element",
    "LawDataError",
    "StatutoryRange",
    "ThresholdRow",
    "TierRow",
    "load_thresholds",
    "load_tiers",
    "statutory_range",
    "thresholds_of",
    "tiers_of",
]
