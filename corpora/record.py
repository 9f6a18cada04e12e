"""The case record: one typed record of a judgment that travels from loading to the API.

Loaders fill ``id``, ``text`` (and ``title``/``sections``/``source`` when the corpus has them);
``leian.indexer.extract`` fills the structured fields and ``spans``.
"""

from __future__ import annotations

import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SentenceKind = Literal[
    "有期徒刑", "拘役", "管制", "无期徒刑", "死刑", "死刑缓期执行", "免予刑事处罚", "单处罚金"
]
CourtLevel = Literal["最高", "高级", "中级", "基层"]
Procedure = Literal["一审", "二审", "再审", "其他"]
Tier = Literal["指导性案例", "典型案例", "参考性案例", "普通"]
TIERS: tuple[str, ...] = ("指导性案例", "典型案例", "参考性案例", "普通")
COURT_LEVELS: tuple[str, ...] = ("最高", "高级", "中级", "基层")


class Span(BaseModel):
    """Where an extracted value came from: ``text[start:end]`` of the judgment's full text."""

    model_config = ConfigDict(frozen=True)

    field: str  # dotted path, e.g. "case_number" or "defendants.0.sentence.months"
    start: int
    end: int
    text: str


class Sentence(BaseModel):
    kind: SentenceKind | None = None
    # Principal penalty as finally executed (决定执行), in months; None for 无期/死刑/免刑.
    months: int | None = None
    probation_months: int | None = None
    fine_yuan: float | None = None
    deprivation_of_rights: str | None = None  # e.g. "剥夺政治权利二年", "终身"


InjuryGrade = Literal["轻微伤", "轻伤二级", "轻伤一级", "重伤二级", "重伤一级"]
INJURY_GRADES: tuple[str, ...] = ("轻微伤", "轻伤二级", "轻伤一级", "重伤二级", "重伤一级")  # mild → grave
Stage = Literal["既遂", "未遂", "中止", "预备"]
Role = Literal["主犯", "从犯", "胁从犯"]
Responsibility = Literal["全部", "主要", "同等", "次要"]


class DrugQuantity(BaseModel):
    kind: str  # the substance as the drug tables name it: 甲基苯丙胺, 海洛因, 氯胺酮, 甲基苯丙胺片剂 …
    grams: float = Field(ge=0)


class Elements(BaseModel):
    """The quantities that set a defendant's statutory tier and sentence (each with its span in
    ``CaseRecord.spans``, field ``defendants.<i>.elements.<name>``). ``None`` = not stated / not applicable."""

    # 数额: what this defendant took, defrauded, embezzled, received … over every count they joined,
    # other currencies converted as the judgment states; never compensation, 退赔, fines or bail.
    amount_yuan: float | None = Field(default=None, ge=0)
    offence_count: int | None = Field(default=None, ge=1)  # 次数 of the offence (多次 = 3 or more)
    drugs: list[DrugQuantity] = Field(default_factory=list)  # per kind, grams summed over the counts
    bac_mg_per_100ml: float | None = Field(default=None, ge=0)  # 血液酒精含量
    injuries: list[InjuryGrade] = Field(default_factory=list)  # one grade per injured person
    deaths: int | None = Field(default=None, ge=0)
    traffic_responsibility: Responsibility | None = None  # 交通肇事: the share of responsibility
    hit_and_run: bool | None = None  # 交通肇事: 逃逸
    stage: Stage | None = None  # 犯罪形态
    role: Role | None = None  # in a joint crime

    @property
    def worst_injury(self) -> str | None:
        return max(self.injuries, key=INJURY_GRADES.index) if self.injuries else None


class Defendant(BaseModel):
    name: str
    charges: list[str] = Field(default_factory=list)
    statutes: list[str] = Field(default_factory=list)
    sentence: Sentence | None = None
    circumstances: list[str] = Field(default_factory=list)
    elements: Elements = Field(default_factory=Elements)


class Sections(BaseModel):
    parties: str = ""
    facts: str = ""
    reasoning: str = ""
    judgment: str = ""


class Source(BaseModel):
    corpus: str = ""
    licence: str = ""
    path: str = ""  # file the record was read from (and line, when there is one)


class CaseRecord(BaseModel):
    """A judgment. Only ``id`` and ``text`` are required."""

    id: str = Field(min_length=1)
    text: str
    title: str | None = None
    case_number: str | None = None
    court: str | None = None
    court_level: CourtLevel | None = None
    province: str | None = None
    procedure: Procedure | None = None
    doc_type: str | None = None
    judgment_date: str | None = None  # ISO yyyy-mm-dd
    sections: Sections = Field(default_factory=Sections)
    defendants: list[Defendant] = Field(default_factory=list)
    # 涉案数额 of the case: every count once, however many co-defendants share it
    amount_yuan: float | None = None
    tier: Tier = "普通"
    source: Source = Field(default_factory=Source)
    spans: list[Span] = Field(default_factory=list)

    @property
    def charges(self) -> list[str]:
        """All charges of all defendants, in first-seen order."""
        return _unique(c for d in self.defendants for c in d.charges)

    @property
    def statutes(self) -> list[str]:
        return _unique(s for d in self.defendants for s in d.statutes)

    @property
    def circumstances(self) -> list[str]:
        return _unique(c for d in self.defendants for c in d.circumstances)

    @property
    def year(self) -> int | None:
        return int(self.judgment_date[:4]) if self.judgment_date else None

    def to_compact_json(self) -> str:
        """The record as JSON with each section that occurs in the text as its ``[start, end]`` there.

        Sections are cut from the full text, so writing them out again doubled every stored or sent
        record (19 + 18 KB of a LeCaRD judgment's 46 KB); any occurrence gives back the same string,
        so this is lossless. ``from_compact_json`` reads it back (plain ``model_dump_json`` too)."""
        text = self.text
        sections = {}
        for name, value in self.sections:
            at = text.find(value) if value else -1
            sections[name] = [at, at + len(value)] if at >= 0 else value
        # pydantic's own serializer for the rest (several times faster than json.dumps of model_dump);
        # its output is one object, so the sections go in before the closing brace
        head = self.model_dump_json(exclude={"sections"})
        return f'{head[:-1]},"sections":{json.dumps(sections, ensure_ascii=False)}}}'

    @classmethod
    def from_compact_json(cls, data: str) -> CaseRecord:
        obj = json.loads(data)
        text = obj["text"]
        obj["sections"] = {
            name: text[v[0] : v[1]] if isinstance(v, list) else v for name, v in obj["sections"].items()
        }
        return cls.model_validate(obj)


# The fields `leian extract` prints, in order (DESIGN.md "The case record").
EXTRACT_FIELDS: tuple[str, ...] = (
    "id",
    "case_number",
    "court",
    "court_level",
    "province",
    "procedure",
    "judgment_date",
    "defendants",
    "amount_yuan",
)


def _unique(items) -> list[str]:
    return list(dict.fromkeys(items))
