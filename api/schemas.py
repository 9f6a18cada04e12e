"""The API's own input and output models (kept apart from the retrieval records on purpose).

Inputs forbid unknown fields, so a typo in a filter name is a 422 that names the field instead of a
filter silently ignored. Outputs are what the API promises in OpenAPI; they are built from the
retrieval records by the ``from_*`` helpers, never by passing internal objects straight through.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from leian.corpora.loaders import check_text
from leian.corpora.record import CaseRecord, CourtLevel, Elements, Sections, Sentence, SentenceKind, Tier
from leian.corpora.text import normalise_record, normalise_text
from leian.errors import InvalidInput
from leian.indexer.extract_circumstances import CIRCUMSTANCE_NAMES
from leian.indexer.sentencing_model import SentencingModel
from leian.retrieval.models import (
    MAX_FACTS_CHARS,
    ChargePrediction,
    Filters,
    Hit,
    Query,
    SearchResult,
    normalise_charge,
    normalise_province,
)
from leian.retrieval.report import ReportFormat
from leian.retrieval.search import SearchRun
from leian.retrieval.sentencing import SentenceEstimate, estimate_sentence, suspect_for


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


def _listify(v):
    return [v] if isinstance(v, str) else v


class FiltersIn(_In):
    """Restrict the candidates; a case must match every given filter (values of one filter are OR'ed)."""

    court_level: list[CourtLevel] | None = Field(default=None, examples=[["基层", "中级"]])
    province: list[str] | None = Field(default=None, examples=[["湖北省"]])
    year_from: int | None = Field(default=None, ge=1949, le=2100)
    year_to: int | None = Field(default=None, ge=1949, le=2100)
    tier: list[Tier] | None = None
    charge: list[str] | None = Field(default=None, examples=[["盗窃罪"]])

    _lists = field_validator("court_level", "tier", "province", "charge", mode="before")(_listify)

    @model_validator(mode="after")
    def _range(self):
        if self.year_from and self.year_to and self.year_from > self.year_to:
            raise ValueError(f"year_from ({self.year_from}) is after year_to ({self.year_to})")
        return self

    def to_filters(self) -> Filters:
        return Filters(**self.model_dump())


Facts = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_FACTS_CHARS,
        description="the facts of the new case (经审理查明…), plain text",
        examples=["2019年5月12日22时许，被告人张某酒后驾驶小型轿车……经鉴定血液酒精含量为182mg/100ml。"],
    ),
]


def _facts_not_blank(v: str) -> str:
    if not v.strip():
        raise ValueError("facts is empty: paste the facts of the new case (经审理查明…)")
    return v


class SearchIn(_In):
    facts: Facts
    charges: list[str] | None = Field(
        default=None, description="the charges of the new case; predicted from the facts when omitted"
    )
    filters: FiltersIn = Field(default_factory=FiltersIn)
    top_k: int = Field(default=10, ge=1, le=100)
    exclude_ids: list[str] = Field(default_factory=list, description="case ids never to return")
    include_record: bool = Field(default=False, description="add each hit's full case record")

    _facts = field_validator("facts")(_facts_not_blank)
    _charges = field_validator("charges", mode="before")(_listify)

    def to_query(self) -> Query:
        return Query(
            facts=self.facts,
            charges=self.charges or None,
            filters=self.filters.to_filters(),
            top_k=self.top_k,
            exclude_ids=self.exclude_ids,
        )


class ProposedSentenceIn(_In):
    """The sentence the prosecutor proposes (量刑建议), checked against the similar cases."""

    kind: SentenceKind = "有期徒刑"
    months: int | None = Field(default=None, ge=1, le=300)
    probation_months: int | None = Field(default=None, ge=1, le=60)
    fine_yuan: float | None = Field(default=None, ge=0)


class RequesterIn(_In):
    """检索主体: who asks (printed in the report)."""

    name: str | None = Field(default=None, max_length=100, examples=["张检察官"])
    org: str | None = Field(default=None, max_length=200, examples=["某市某区人民检察院"])

    def to_report(self) -> dict[str, str | None]:
        return {
            "name": normalise_text(self.name) if self.name else self.name,
            "organisation": normalise_text(self.org) if self.org else self.org,
        }


class ReportIn(SearchIn):
    proposed_sentence: ProposedSentenceIn | None = None
    requester: RequesterIn | None = None
    stats_k: int = Field(
        default=50, ge=1, le=500, description="similar cases used for the sentencing picture"
    )


class Passage(BaseModel):
    """A piece of a hit's text split at its highlights, ready to display without offset arithmetic:
    ``segments`` alternate plain and matched text (``matched=True``)."""

    section: str
    start: int
    end: int
    segments: list[tuple[str, bool]]


class HitOut(BaseModel):
    id: str
    rank: int
    score: float
    components: dict[str, float]
    reasons: list[str]
    case_number: str | None = None
    court: str | None = None
    court_level: str | None = None
    date: str | None = None
    title: str | None = None
    tier: str = "普通"
    charges: list[str] = Field(default_factory=list)
    sentence: Sentence | None = None
    shared_charges: list[str] = Field(default_factory=list)
    shared_statutes: list[str] = Field(default_factory=list)
    shared_circumstances: list[str] = Field(default_factory=list)
    matched_terms: list[str] = Field(default_factory=list)
    highlights: list[dict[str, Any]] = Field(
        default_factory=list,
        description="{section, start, end, term}: offsets into record.sections.<section>",
    )
    passages: list[Passage] = Field(default_factory=list)
    record: CaseRecord | None = None


class SearchOut(BaseModel):
    query_terms: list[str]
    charges_given: list[str] | None
    charges_predicted: list[ChargePrediction]
    charges_used: list[str]
    filters: dict[str, Any]
    backend: str
    weights: dict[str, float]
    total_candidates: int
    timings_ms: dict[str, float]
    hits: list[HitOut]


def _section_text(record: CaseRecord | None, section: str) -> str:
    if record is None:
        return ""
    if section == "text":
        return record.text
    return getattr(record.sections, section, "") if section in Sections.model_fields else ""


def passages(
    hit: Hit, record: CaseRecord | None, context: int = 30, max_len: int = 160, max_passages: int = 2
) -> list[Passage]:
    """Short excerpts of the hit's text around its highlights: neighbouring highlights are merged
    while the excerpt stays under ``max_len`` characters; the densest excerpts come first."""
    by_section: dict[str, list[tuple[int, int]]] = {}
    for h in hit.highlights:
        if h.end > h.start:
            by_section.setdefault(h.section, []).append((h.start, h.end))
    candidates: list[tuple[int, int, str, list[tuple[int, int]]]] = []
    for order, (section, spans) in enumerate(by_section.items()):
        text = _section_text(record, section)
        if not text:
            continue
        spans = sorted({(max(0, s), min(len(text), e)) for s, e in spans if s < len(text)})
        groups: list[list[tuple[int, int]]] = []
        for s, e in spans:
            if groups and e - groups[-1][0][0] + 2 * context <= max_len:
                groups[-1].append((s, e))
            else:
                groups.append([(s, e)])
        candidates += [(-len(g), order, section, g) for g in groups]
    out: list[Passage] = []
    for _, _, section, g in sorted(candidates, key=lambda c: (c[0], c[1], c[3][0][0]))[:max_passages]:
        text = _section_text(record, section)
        lo, hi = max(0, g[0][0] - context), min(len(text), g[-1][1] + context)
        segs: list[tuple[str, bool]] = []
        pos = lo
        for s, e in g:
            s = max(s, pos)  # overlapping highlights: show each character once
            if e <= s:
                continue
            if s > pos:
                segs.append((text[pos:s], False))
            segs.append((text[s:e], True))
            pos = e
        if pos < hi:
            segs.append((text[pos:hi], False))
        out.append(Passage(section=section, start=lo, end=hi, segments=segs))
    return out


def hit_out(hit: Hit, record: CaseRecord | None, include_record: bool) -> HitOut:
    return HitOut(
        id=hit.id,
        rank=hit.rank,
        score=hit.score,
        components=hit.components,
        reasons=hit.reasons,
        case_number=hit.case_number,
        court=hit.court,
        court_level=hit.court_level,
        date=hit.judgment_date,
        title=hit.title,
        tier=hit.tier,
        charges=hit.charges,
        sentence=hit.sentence,
        shared_charges=hit.shared_charges,
        shared_statutes=hit.shared_statutes,
        shared_circumstances=hit.shared_circumstances,
        matched_terms=hit.matched_terms,
        highlights=[h.model_dump() for h in hit.highlights],
        passages=passages(hit, record),
        record=record if include_record else None,
    )


def search_out(res: SearchResult, records: dict[str, CaseRecord], include_record: bool) -> SearchOut:
    return SearchOut(
        query_terms=res.query_terms,
        charges_given=res.charges_given,
        charges_predicted=res.charges_predicted,
        charges_used=res.charges_used,
        filters=res.filters.model_dump(exclude_none=True),
        backend=res.backend,
        weights=res.weights,
        total_candidates=res.total_candidates,
        timings_ms=res.timings_ms,
        hits=[hit_out(h, h.record or records.get(h.id), include_record) for h in res.hits],
    )


class DocumentIn(_In):
    """A judgment to index: at least ``id`` and its full ``text``; the structured fields are extracted
    from the text unless given."""

    id: str = Field(min_length=1, max_length=200)
    text: str = Field(min_length=1)
    title: str | None = None
    case_number: str | None = None
    court: str | None = None
    court_level: CourtLevel | None = None
    province: str | None = None
    judgment_date: str | None = Field(default=None, pattern=r"^\d{4}-\d{2}-\d{2}$")
    tier: Tier = "普通"
    sections: Sections | None = None

    @field_validator("text")
    @classmethod
    def _text_is_a_judgment(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("text is empty: send the full text of the judgment")
        # the loader's test, so the API indexes nothing that `leian index` would skip as unreadable
        problem = check_text(v)
        if problem is not None:
            raise ValueError(f"{problem[1]}: send the full text of the judgment")
        return v

    def to_record(self, corpus: str = "api") -> CaseRecord:
        data = self.model_dump(exclude_none=True)
        data["source"] = {"corpus": corpus}
        # as `leian index` reads a corpus: \r\n, Word's \v and \f, NUL and other controls normalised
        return normalise_record(CaseRecord.model_validate(data))


class DocumentsIn(_In):
    """``{"documents": [...], "public": false}``; a single document object is accepted as shorthand for
    a list of one."""

    documents: list[DocumentIn] = Field(min_length=1, max_length=10_000)
    public: bool | None = Field(
        default=None,
        description="false: visible only to the writer's office; true: to every office; null (default): a new "
        "document is private, a replaced one keeps its visibility",
    )

    @model_validator(mode="before")
    @classmethod
    def _one(cls, data):
        if isinstance(data, dict) and "documents" not in data:
            one = dict(data)
            public = one.pop("public", None)
            return {"documents": [one], "public": public}
        return data

    @model_validator(mode="after")
    def _unique(self):
        seen: set[str] = set()
        for d in self.documents:
            if d.id in seen:
                raise ValueError(f"duplicate document id {d.id!r} in one request")
            seen.add(d.id)
        return self


class WriteOut(BaseModel):
    written: int
    deleted: int
    failed: dict[str, str]
    doc_count: int
    snapshot: str | None = None


class BatchCaseIn(_In):
    id: str = Field(min_length=1, max_length=200)
    facts: Facts
    charges: list[str] | None = None
    proposed_sentence: ProposedSentenceIn | None = None

    _facts = field_validator("facts")(_facts_not_blank)
    _charges = field_validator("charges", mode="before")(_listify)


class BatchIn(_In):
    cases: list[BatchCaseIn] = Field(min_length=1)
    formats: list[ReportFormat] = Field(
        default_factory=lambda: [ReportFormat.JSON, ReportFormat.DOCX], min_length=1
    )
    requester: RequesterIn | None = None
    filters: FiltersIn = Field(default_factory=FiltersIn)
    top_k: int = Field(default=10, ge=1, le=100)
    stats_k: int = Field(default=50, ge=1, le=500)

    @model_validator(mode="after")
    def _unique(self):
        seen: set[str] = set()
        for c in self.cases:
            if c.id in seen:
                raise ValueError(f"duplicate case id {c.id!r}: every case of a batch needs its own id")
            seen.add(c.id)
        self.formats = list(dict.fromkeys(self.formats))
        return self


class BatchOut(BaseModel):
    id: str
    status: Literal["queued", "running", "done", "failed", "interrupted"]
    total: int
    done: int
    failed: int
    errors: dict[str, str] = Field(default_factory=dict, description="case id -> why its report failed")
    formats: list[str]
    created_at: str
    finished_at: str | None = None
    message: str | None = None
    download: str | None = None


class ErrorDetail(BaseModel):
    code: str = Field(examples=["invalid_input"])
    message: str = Field(examples=["facts is empty: paste the facts of the new case (经审理查明…)"])


class ErrorOut(BaseModel):
    """Every error response: ``{"error": {"code", "message"}}``."""

    error: ErrorDetail


class HealthOut(BaseModel):
    status: Literal["ok", "unavailable"]
    backend: str
    doc_count: int | None = None
    auth: bool
    version: str
    message: str | None = None


class ChargeCount(BaseModel):
    charge: str
    count: int


class StatsOut(BaseModel):
    """What is indexed and how it is searched; nothing about where the server keeps it."""

    doc_count: int
    backend: str
    manifest: dict[str, Any] = Field(
        description="the index manifest: format, snapshot, build and update times, tokenizer, embedding "
        "model (name, fingerprint, dimensions, precision), document count, corpus (name, licence, dates), "
        "BM25 parameters, 量刑测算 model version"
    )
    platform: dict[str, Any] = Field(
        description="the searcher: product, version, backend, tokenizer, model, embedding runtime and "
        "query precision, ranking weights and settings, whether a charge model is loaded"
    )
    charges: list[ChargeCount]


class ExtractedTextOut(BaseModel):
    filename: str
    chars: int
    text: str


# ---------------------------------------------------------------- 量刑测算 (POST /v1/sentencing)

# the extractor's closed list of names: an unknown one is a 422 that lists them
Circumstance = Literal[CIRCUMSTANCE_NAMES]
MAX_SENTENCING_CHARGES = 10


class ElementsIn(Elements):
    """The sentencing elements as the prosecutor states or corrects them (a misspelt field is a 422,
    never a figure silently ignored)."""

    model_config = ConfigDict(extra="forbid")

    def to_elements(self) -> Elements:
        return Elements.model_validate(self.model_dump())


class SentencingIn(_In):
    """Either the facts of the new case (its charges and elements are read from them, as for a report),
    or the charges with the elements and circumstances themselves (to recompute after a correction)."""

    facts: Facts | None = None
    charges: list[Annotated[str, Field(min_length=1, max_length=100)]] | None = Field(
        default=None,
        max_length=MAX_SENTENCING_CHARGES,
        description="the charges; with facts optional (predicted when omitted), with elements required",
        examples=[["盗窃罪"]],
    )
    elements: ElementsIn | None = Field(
        default=None,
        description="the elements to estimate from (instead of facts)",
        examples=[{"amount_yuan": 15000}],
    )
    circumstances: list[Circumstance] = Field(
        default_factory=list, description="with elements: the circumstances to count (自首, 认罪认罚, …)"
    )
    province: str | None = Field(
        default=None,
        description="where the case is tried: the province's amount thresholds apply",
        examples=["浙江省"],
    )

    _charges = field_validator("charges", mode="before")(_listify)

    @field_validator("facts")
    @classmethod
    def _facts(cls, v: str | None) -> str | None:
        return v if v is None else _facts_not_blank(v)

    @field_validator("province")
    @classmethod
    def _province(cls, v: str | None) -> str | None:
        if v is None:
            return v
        try:
            return normalise_province(v, "province")
        except InvalidInput as e:
            raise ValueError(e.message.removeprefix("province: ")) from None

    @model_validator(mode="after")
    def _one_mode(self):
        if self.facts is None and self.elements is None:
            raise ValueError(
                "give either facts (the charges and elements are read from them) "
                "or charges with elements (to recompute a corrected case)"
            )
        if self.facts is not None and self.elements is not None:
            raise ValueError("give either facts or elements, not both")
        if self.elements is None and self.circumstances:
            raise ValueError("circumstances go with elements; with facts they are read from the facts")
        if self.elements is not None and not self.charges:
            raise ValueError('charges: with elements, name the charges to estimate (e.g. ["盗窃罪"])')
        return self

    def to_query(self) -> Query:
        if self.facts is None:
            raise ValueError("no facts to search with")
        return Query(facts=self.facts, charges=self.charges or None)


class ChargeEstimateOut(SentenceEstimate):
    """One charge's 量刑测算 with the elements and circumstances it rests on."""

    elements: Elements
    circumstances: list[str]


class SentencingOut(BaseModel):
    charges: list[str] = Field(
        description="the charges estimated: those given, else those settled on from the facts"
    )
    charges_from: Literal["given", "predicted"]
    elements: Elements = Field(
        description="the elements used: those given, else those read for the first charge (each estimate has its own)"
    )
    circumstances: list[str] = Field(description="likewise the circumstances counted")
    estimates: list[ChargeEstimateOut] = Field(
        description="one per charge; months null where it cannot estimate, basis says why"
    )


def charge_estimate(
    model: SentencingModel | None,
    charge: str,
    elements: Elements,
    circumstances: list[str],
    province: str | None,
) -> ChargeEstimateOut:
    est = estimate_sentence(model, charge, elements, circumstances, province)
    return ChargeEstimateOut(**est.model_dump(), elements=elements, circumstances=list(circumstances))


def sentencing_out(
    model: SentencingModel | None,
    charges: list[str],
    inputs: list[tuple[Elements, list[str]]],
    province: str | None,
    charges_from: Literal["given", "predicted"],
) -> SentencingOut:
    """The answer for ``charges``, each estimated from its (elements, circumstances) in ``inputs``."""
    estimates = [
        charge_estimate(model, c, e, cs, province) for c, (e, cs) in zip(charges, inputs, strict=True)
    ]
    elements, circumstances = inputs[0] if inputs else (Elements(), [])
    return SentencingOut(
        charges=list(charges),
        charges_from=charges_from,
        elements=elements,
        circumstances=list(circumstances),
        estimates=estimates,
    )


def sentencing_from_run(
    model: SentencingModel | None, run: SearchRun, province: str | None, given: bool
) -> SentencingOut:
    """The estimates for a search's charges, each from the suspect whose elements decide its tier."""
    inputs = [suspect_for(c, run.pending, province) for c in run.charges]
    return sentencing_out(model, run.charges, inputs, province, "given" if given else "predicted")


def sentencing_from_elements(model: SentencingModel | None, body: SentencingIn) -> SentencingOut:
    if body.elements is None or not body.charges:
        raise ValueError("sentencing_from_elements needs charges and elements")
    elements = body.elements.to_elements()
    circumstances = list(dict.fromkeys(body.circumstances))
    charges = list(dict.fromkeys(_known_as_written(c) for c in body.charges))
    return sentencing_out(model, charges, [(elements, circumstances)] * len(charges), body.province, "given")


def _known_as_written(charge: str) -> str:
    """盗窃 -> 盗窃罪 as a search takes it; a name that is no 罪名 stays as given, and its estimate says so."""
    try:
        return normalise_charge(charge)
    except InvalidInput:
        return charge
