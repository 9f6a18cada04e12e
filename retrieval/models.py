"""Typed records at the retrieval boundary: what a search asks for and what it returns."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from leian.corpora.dictionaries import canonical_charge, province_name
from leian.corpora.record import COURT_LEVELS, TIERS, CaseRecord, CourtLevel, Sentence, Tier
from leian.corpora.text import normalise_text
from leian.errors import InvalidInput

MAX_FACTS_CHARS = 200_000  # a long judgment is ~20k chars; 1 MB of text is an error, not a query
MAX_TOP_K = 1000


def normalise_province(name: str, field: str = "province") -> str:
    """湖北 or 湖北省 -> 湖北省; anything else is refused (InvalidInput)."""
    full = province_name(name)
    if full is None:
        raise InvalidInput(f"{field}: unknown province {name!r}; use a name like 湖北省 or 湖北")
    return full


def normalise_charge(name: str, field: str = "charge") -> str:
    """``盗窃`` -> ``盗窃罪``; specific and compound forms of a 罪名 are both accepted (they compare
    equal downstream through ``charge_group``); colloquial names (醉驾) and typos are refused."""
    n = name.strip()
    if canonical_charge(n) is None:
        raise InvalidInput(
            f"{field}: unknown 罪名 {name!r}; use the name as in the Criminal Law, e.g. 盗窃罪, 危险驾驶罪"
        )
    return n if n.endswith("罪") else n + "罪"


# field -> how its values are checked, and the name an error gives it
_NORMALISERS = {
    "province": (normalise_province, "filters.province"),
    "charge": (normalise_charge, "filters.charge"),
    "charges": (normalise_charge, "charges"),
}


def _each_normalised(v: list[str] | None, info: ValidationInfo) -> list[str] | None:
    """A value that can never match (a misspelt 罪名, an unknown province, 北京 for 北京市) would
    silently filter everything out, or boost nothing: short forms are completed, the others refused."""
    normalise, field = _NORMALISERS[info.field_name]
    return [normalise(x, field) for x in v] if v else v


class Filters(BaseModel):
    """Applied inside the backends before top-k, so a selective filter still returns k results."""

    model_config = ConfigDict(extra="forbid")

    court_level: list[CourtLevel] | None = None
    province: list[str] | None = None
    year_from: int | None = Field(default=None, ge=1949, le=2100)
    year_to: int | None = Field(default=None, ge=1949, le=2100)
    tier: list[Tier] | None = None
    charge: list[str] | None = None

    def is_empty(self) -> bool:
        return not any(v for v in self.model_dump().values())

    @field_validator("court_level", "tier", "province", "charge", mode="before")
    @classmethod
    def _listify(cls, v):
        return [v] if isinstance(v, str) else v

    _names = field_validator("province", "charge")(_each_normalised)


class Query(BaseModel):
    """A new case: its facts, optionally its charges, and filters."""

    model_config = ConfigDict(extra="forbid")

    facts: str
    charges: list[str] | None = None  # when None they are predicted from the facts
    filters: Filters = Field(default_factory=Filters)
    top_k: int = Field(default=10, ge=1, le=MAX_TOP_K)
    exclude_ids: list[str] = Field(default_factory=list)  # e.g. the query's own judgment
    # excluded like ``exclude_ids`` but never shown (a report lists what its asker excluded): the
    # documents the asker's office may not see
    hidden_ids: list[str] = Field(default_factory=list)

    _names = field_validator("charges")(_each_normalised)

    @field_validator("facts")
    @classmethod
    def _facts_usable(cls, v: str) -> str:
        # Pasted from Word or a browser: \r\n, \v (manual line break), \f, NUL … become line breaks or go,
        # so that the search, the extraction and every report format see one clean text.
        v = normalise_text(v)
        if not v or not v.strip():
            raise InvalidInput("facts is empty: paste the facts of the new case (经审理查明…)")
        if len(v) > MAX_FACTS_CHARS:
            raise InvalidInput(
                f"facts has {len(v):,} characters; the limit is {MAX_FACTS_CHARS:,}. "
                "Send the facts section, not a whole case file."
            )
        return v


class Highlight(BaseModel):
    """A matched term in a hit's text: ``text[start:end]`` of the named section."""

    section: str  # "facts" | "reasoning" | "judgment" | "text"
    start: int
    end: int
    term: str


class Hit(BaseModel):
    id: str
    rank: int
    score: float
    components: dict[str, float]  # bm25, dense, fused, structure … (each named, each visible)
    reasons: list[str]  # human-readable, Chinese
    shared_charges: list[str] = Field(default_factory=list)
    shared_statutes: list[str] = Field(default_factory=list)
    shared_circumstances: list[str] = Field(default_factory=list)
    matched_terms: list[str] = Field(default_factory=list)
    highlights: list[Highlight] = Field(default_factory=list)
    case_number: str | None = None
    court: str | None = None
    court_level: str | None = None
    judgment_date: str | None = None
    title: str | None = None
    tier: str = "普通"
    charges: list[str] = Field(default_factory=list)
    sentence: Sentence | None = None
    record: CaseRecord | None = None  # the full record, when the caller asked for it


class ChargePrediction(BaseModel):
    charge: str
    probability: float


class SearchResult(BaseModel):
    query_terms: list[str]
    charges_given: list[str] | None
    charges_predicted: list[ChargePrediction]
    charges_used: list[str]
    filters: Filters
    backend: str
    weights: dict[str, float]
    total_candidates: int
    hits: list[Hit]
    timings_ms: dict[str, float] = Field(default_factory=dict)


__all__ = [
    "COURT_LEVELS",
    "TIERS",
    "ChargePrediction",
    "Filters",
    "Highlight",
    "Hit",
    "Query",
    "SearchResult",
]
