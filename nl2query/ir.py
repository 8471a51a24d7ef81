"""The typed query plan (intermediate representation) shared by every nl2query engine.

The rules parser and the LLM engine both produce a :class:`QueryPlan`; code (never a model)
validates it, resolves terms to codes, compiles it to FHIR search or SQL and runs it read-only.

Design constraints (the LLM fills this model through JSON-schema constrained decoding):
pydantic v2, enums as ``Literal``, no recursive types (negation is a flag on a criterion, not a
nested ``not`` node), every field documented, dates as ISO ``YYYY-MM-DD`` strings (JST calendar
dates, end inclusive).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Subject = Literal[
    "Patient",
    "Observation",
    "Condition",
    "MedicationRequest",
    "Encounter",
    "AllergyIntolerance",
]

ConceptKind = Literal["condition", "medication", "lab", "allergen"]

Aggregate = Literal[
    "count",  # number of distinct patients (or records when count_unit == "records")
    "list",  # list patients
    "exists",  # boolean: does at least one matching record/patient exist
    "latest",  # newest value(s); n = how many (1 = latest only, >1 = last N)
    "all",  # every value in the period, newest first
    "average",
    "min",
    "max",
    "difference",  # newest minus previous value
    "rose",  # boolean: newest value > previous value
    "fell",  # boolean: newest value < previous value
    "daily_dose",  # sum of dose x frequency per day over the patient's active orders of the drug
    "single_dose",  # dose per administration of the active order
    "distinct_count",  # number of distinct active products (何種類)
    "day_of_stay",  # day number of the current admission (admission day = day 1)
    "age",  # age in completed years at `now`
]

Comparator = Literal["lt", "le", "gt", "ge", "eq"]

CriterionKind = Literal[
    "condition",  # patient has a confirmed diagnosis of concept (onset in period when given)
    "condition_first",  # patient's first confirmed diagnosis of concept falls in period (新たに診断)
    "medication",  # patient has an order of concept (active when `active`; authored in period)
    "medication_first",  # patient's first-ever order of concept was authored in period (新規開始)
    "lab_latest",  # patient's newest result of concept compares (op, value)
    "lab_any",  # patient has any result of concept in period (optionally comparing op/value)
    "allergy",  # patient has an allergy record matching concept
    "age",  # patient's age compares (op, value)
    "sex",  # patient's administrative gender equals `sex`
    "admitted",  # patient had an inpatient admission starting in period (optionally for a reason)
    "currently_admitted",  # patient has an in-progress inpatient encounter (optional ward/dept)
]


class ResolvedCode(BaseModel):
    """One code (or code prefix) a concept resolved to."""

    model_config = ConfigDict(extra="forbid")

    system: Literal["icd10", "yj", "jlac10", "loinc", "text"] = Field(
        description="Code system family: icd10 (ICD-10 prefix, dots ignored), yj (YJ code "
        "prefix, 7-char ingredient part), jlac10 (JLAC10 17-digit code or 5-char analyte "
        "prefix), loinc, or text (a substring of the record's display text)."
    )
    code: str = Field(description="Code or code prefix (or display-text substring for 'text').")
    match: Literal["prefix", "exact", "contains"] = Field(
        default="prefix", description="How `code` is matched against the record."
    )


class Concept(BaseModel):
    """A clinical concept named in the question, with the codes it resolved to."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(description="The words of the question naming this concept, e.g. '糖尿病'.")
    kind: ConceptKind = Field(
        description="What the concept is: condition, medication, lab, allergen."
    )
    key: str | None = Field(
        default=None, description="Stable key of the terminology table entry, e.g. 'dm', 'hba1c'."
    )
    label: str | None = Field(default=None, description="Canonical Japanese name for answers.")
    codes: list[ResolvedCode] = Field(
        default_factory=list, description="Resolved codes; empty until term resolution runs."
    )
    resolved_by: Literal["table", "display_text", "unresolved"] = Field(
        default="unresolved",
        description="table: from a terminology table; display_text: fallback matching the "
        "data's own display texts; unresolved: not yet resolved.",
    )
    component: Literal["systolic", "diastolic"] | None = Field(
        default=None, description="For blood pressure panels: which component is meant."
    )


class Period(BaseModel):
    """A time window, always resolved to JST calendar dates (inclusive)."""

    model_config = ConfigDict(extra="forbid")

    text: str | None = Field(
        default=None, description="The time expression as written, e.g. '先月'."
    )
    kind: Literal["absolute", "relative"] = Field(
        default="absolute", description="absolute: explicit dates; relative: computed from now."
    )
    start: str | None = Field(default=None, description="First day (YYYY-MM-DD, JST), or null.")
    end: str | None = Field(default=None, description="Last day inclusive (YYYY-MM-DD), or null.")


class PatientRef(BaseModel):
    """How the question names a single patient."""

    model_config = ConfigDict(extra="forbid")

    identifier: str | None = Field(default=None, description="Hospital patient number (digits).")
    id: str | None = Field(default=None, description="FHIR Patient.id when known.")
    name: str | None = Field(default=None, description="Kanji name (spaces removed).")
    kana: str | None = Field(default=None, description="Katakana name (spaces removed).")
    birth_date: str | None = Field(default=None, description="Birth date YYYY-MM-DD.")


class Criterion(BaseModel):
    """A patient-level condition (join through the patient)."""

    model_config = ConfigDict(extra="forbid")

    kind: CriterionKind = Field(description="What is tested about the patient.")
    negate: bool = Field(default=False, description="True: the patient must NOT satisfy this.")
    concept: Concept | None = Field(
        default=None, description="Condition/drug/lab/allergen concept."
    )
    period: Period | None = Field(default=None, description="Time window the test applies to.")
    active: bool | None = Field(
        default=None, description="Medication: only currently active orders (服用中/処方中)."
    )
    op: Comparator | None = Field(default=None, description="Comparator for age/lab values.")
    value: float | None = Field(default=None, description="Threshold for op.")
    sex: Literal["male", "female"] | None = Field(default=None, description="For kind 'sex'.")
    ward: str | None = Field(default=None, description="Ward name (e.g. '4階東病棟').")
    department: str | None = Field(default=None, description="Department name (e.g. '整形外科').")
    reason: Concept | None = Field(default=None, description="Admission reason (kind 'admitted').")

    @model_validator(mode="after")
    def _check(self) -> Criterion:
        needs_concept = {"condition", "condition_first", "medication", "medication_first"}
        needs_concept |= {"lab_latest", "lab_any", "allergy"}
        if self.kind in needs_concept and self.concept is None:
            raise ValueError(f"criterion {self.kind} needs a concept")
        if self.kind in {"lab_latest", "age"} and (self.op is None or self.value is None):
            raise ValueError(f"criterion {self.kind} needs op and value")
        if self.kind == "sex" and self.sex is None:
            raise ValueError("criterion sex needs sex")
        if self.kind in {"condition_first", "medication_first"} and self.period is None:
            raise ValueError(f"criterion {self.kind} needs a period")
        return self


# Fields a plan may filter on, per subject (the whitelist).
FILTER_FIELDS: dict[str, tuple[str, ...]] = {
    "Patient": ("gender", "birth_date"),
    "Observation": ("status", "value"),
    "Condition": ("verification_status", "clinical_status"),
    "MedicationRequest": ("status",),
    "Encounter": ("class_code", "status", "ward", "department"),
    "AllergyIntolerance": ("clinical_status",),
}


class Filter(BaseModel):
    """A filter on a field of the subject resource (field from FILTER_FIELDS[subject])."""

    model_config = ConfigDict(extra="forbid")

    field: str = Field(description="Field name; must be whitelisted for the subject.")
    op: Comparator = Field(default="eq", description="Comparator.")
    value: str | float = Field(description="Value compared against.")


class QueryPlan(BaseModel):
    """A complete, validated query plan."""

    model_config = ConfigDict(extra="forbid")

    intent: Literal["answer", "clarify", "refuse"] = Field(
        description="answer: run the query; clarify: ask back; refuse: out of scope/unsafe."
    )
    reason: str | None = Field(
        default=None, description="For clarify/refuse: why (Japanese, shown to the user)."
    )
    subject: Subject = Field(default="Patient", description="Resource type the answer is about.")
    patient: PatientRef | None = Field(
        default=None, description="The single patient asked about; null for cohort questions."
    )
    concepts: list[Concept] = Field(
        default_factory=list,
        description="Concepts of the subject resource (e.g. the lab whose values are asked).",
    )
    filters: list[Filter] = Field(default_factory=list, description="Subject field filters.")
    period: Period | None = Field(default=None, description="Time window on the subject records.")
    aggregate: Aggregate = Field(default="list", description="What to compute.")
    n: int | None = Field(default=None, ge=1, le=100, description="For 'latest': how many values.")
    order: Literal["newest_first", "oldest_first"] = Field(
        default="newest_first",
        description="Order of listed values ('latest' N, 'all'): 古い順/昇順 = oldest_first.",
    )
    criteria: list[Criterion] = Field(
        default_factory=list, description="Patient-level conditions, all must hold (AND)."
    )
    answer_type: Literal["count", "patients", "values", "boolean", "none"] = Field(
        default="none", description="Shape of the answer (CONTRACT §2)."
    )
    count_unit: Literal["patients", "records"] = Field(
        default="patients", description="count: distinct patients or records (件数/回)."
    )
    decimals: int | None = Field(
        default=None, ge=0, le=6, description="Round numeric answers to this many decimals."
    )
    limit: int = Field(default=1000, ge=1, le=10000, description="Row limit.")

    @model_validator(mode="after")
    def _check(self) -> QueryPlan:
        allowed = FILTER_FIELDS.get(self.subject, ())
        for f in self.filters:
            if f.field not in allowed:
                raise ValueError(f"filter field {f.field!r} not allowed for {self.subject}")
        if self.intent != "answer":
            return self
        if self.answer_type == "none":
            raise ValueError("an answer plan needs an answer_type")
        per_patient = {"latest", "all", "average", "min", "max", "difference", "rose", "fell"}
        per_patient |= {"daily_dose", "single_dose", "distinct_count", "day_of_stay", "age"}
        if self.aggregate in per_patient and self.patient is None:
            raise ValueError(f"aggregate {self.aggregate} needs a patient")
        return self

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


def clarify(reason: str) -> QueryPlan:
    return QueryPlan(intent="clarify", reason=reason)


def refuse(reason: str) -> QueryPlan:
    return QueryPlan(intent="refuse", reason=reason)
