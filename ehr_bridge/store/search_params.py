"""The search parameters the store indexes and the API accepts, per resource type.

Each parameter names its FHIR search type and the element paths it reads (``|`` separates
alternatives, ``.`` steps into elements, lists are flattened). The paths follow the FHIR R4 /
JP Core search parameter definitions for the resource types ehr-bridge serves.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

ParamType = Literal["token", "string", "date", "reference", "quantity"]


@dataclass(frozen=True)
class SearchParam:
    name: str
    type: ParamType
    path: str
    targets: tuple[str, ...] = ()  # reference target types (for _include and validation)
    # the parameter whose index rows hold this one's values: a parameter with the same type and
    # path as an earlier one of its resource type (``subject`` and ``patient`` on most clinical
    # types) is not indexed twice (see :func:`_share_index_rows`)
    index_as: str = ""

    @property
    def index_name(self) -> str:
        """The ``param`` value of this parameter's rows in the index tables."""
        return self.index_as or self.name

    @property
    def paths(self) -> list[list[str]]:
        return [p.strip().split(".") for p in self.path.split("|")]


def _p(name: str, type_: ParamType, path: str, *targets: str) -> SearchParam:
    return SearchParam(name, type_, path, tuple(targets))


_PATIENT_REF = ("Patient",)

SEARCH_PARAMS: dict[str, dict[str, SearchParam]] = {
    "Patient": {
        p.name: p
        for p in [
            _p("identifier", "token", "identifier"),
            _p("name", "string", "name"),
            _p("family", "string", "name.family"),
            _p("given", "string", "name.given"),
            _p("birthdate", "date", "birthDate"),
            _p("gender", "token", "gender"),
            _p("telecom", "token", "telecom"),
            _p("address", "string", "address"),
        ]
    },
    "Encounter": {
        p.name: p
        for p in [
            _p("patient", "reference", "subject", *_PATIENT_REF),
            _p("subject", "reference", "subject", *_PATIENT_REF),
            _p("date", "date", "period"),
            _p("class", "token", "class"),
            _p("status", "token", "status"),
            _p("location", "reference", "location.location", "Location"),
            _p("identifier", "token", "identifier"),
            _p("reason-code", "token", "reasonCode"),
        ]
    },
    "Condition": {
        p.name: p
        for p in [
            _p("patient", "reference", "subject", *_PATIENT_REF),
            _p("subject", "reference", "subject", *_PATIENT_REF),
            _p("code", "token", "code"),
            _p("onset-date", "date", "onsetDateTime|onsetPeriod"),
            _p("recorded-date", "date", "recordedDate"),
            _p("clinical-status", "token", "clinicalStatus"),
            _p("verification-status", "token", "verificationStatus"),
            _p("encounter", "reference", "encounter", "Encounter"),
            _p("identifier", "token", "identifier"),
        ]
    },
    "Observation": {
        p.name: p
        for p in [
            _p("patient", "reference", "subject", *_PATIENT_REF),
            _p("subject", "reference", "subject", *_PATIENT_REF),
            _p("code", "token", "code"),
            _p("date", "date", "effectiveDateTime|effectivePeriod|effectiveInstant"),
            _p("value-quantity", "quantity", "valueQuantity"),
            _p("component-code", "token", "component.code"),
            _p("category", "token", "category"),
            _p("status", "token", "status"),
            _p("encounter", "reference", "encounter", "Encounter"),
            _p("identifier", "token", "identifier"),
        ]
    },
    "MedicationRequest": {
        p.name: p
        for p in [
            _p("patient", "reference", "subject", *_PATIENT_REF),
            _p("subject", "reference", "subject", *_PATIENT_REF),
            _p("code", "token", "medicationCodeableConcept"),
            _p("authoredon", "date", "authoredOn"),
            _p("status", "token", "status"),
            _p("encounter", "reference", "encounter", "Encounter"),
            _p("identifier", "token", "identifier"),
        ]
    },
    "MedicationAdministration": {
        p.name: p
        for p in [
            _p("patient", "reference", "subject", *_PATIENT_REF),
            _p("subject", "reference", "subject", *_PATIENT_REF),
            # injections carry the drug in a contained Medication (JP Core _Injection profile)
            _p("code", "token", "medicationCodeableConcept|contained.code"),
            _p("status", "token", "status"),
            _p("effective-time", "date", "effectiveDateTime|effectivePeriod"),
            _p("request", "reference", "request", "MedicationRequest"),
            _p("identifier", "token", "identifier"),
        ]
    },
    "ServiceRequest": {
        p.name: p
        for p in [
            _p("patient", "reference", "subject", *_PATIENT_REF),
            _p("subject", "reference", "subject", *_PATIENT_REF),
            _p("code", "token", "code"),
            _p("status", "token", "status"),
            _p("authored", "date", "authoredOn"),
            _p("category", "token", "category"),
            _p("identifier", "token", "identifier"),
        ]
    },
    "Procedure": {
        p.name: p
        for p in [
            _p("patient", "reference", "subject", *_PATIENT_REF),
            _p("subject", "reference", "subject", *_PATIENT_REF),
            _p("code", "token", "code"),
            _p("status", "token", "status"),
            _p("date", "date", "performedDateTime|performedPeriod"),
            _p("based-on", "reference", "basedOn", "ServiceRequest"),
            _p("identifier", "token", "identifier"),
        ]
    },
    "NutritionOrder": {
        p.name: p
        for p in [
            _p("patient", "reference", "patient", *_PATIENT_REF),
            _p("status", "token", "status"),
            _p("datetime", "date", "dateTime"),
            _p("identifier", "token", "identifier"),
        ]
    },
    "AllergyIntolerance": {
        p.name: p
        for p in [
            _p("patient", "reference", "patient", *_PATIENT_REF),
            _p("code", "token", "code"),
            _p("clinical-status", "token", "clinicalStatus"),
            _p("date", "date", "recordedDate"),
        ]
    },
    "Coverage": {
        p.name: p
        for p in [
            _p("patient", "reference", "beneficiary", *_PATIENT_REF),
            _p("beneficiary", "reference", "beneficiary", *_PATIENT_REF),
            _p("type", "token", "type"),
            _p("status", "token", "status"),
        ]
    },
    "DiagnosticReport": {
        p.name: p
        for p in [
            _p("patient", "reference", "subject", *_PATIENT_REF),
            _p("subject", "reference", "subject", *_PATIENT_REF),
            _p("code", "token", "code"),
            _p("date", "date", "effectiveDateTime|effectivePeriod"),
            _p("result", "reference", "result", "Observation"),
            _p("status", "token", "status"),
        ]
    },
    "Specimen": {
        p.name: p
        for p in [
            _p("patient", "reference", "subject", *_PATIENT_REF),
            _p("type", "token", "type"),
        ]
    },
    "Location": {
        p.name: p for p in [_p("name", "string", "name"), _p("identifier", "token", "identifier")]
    },
    "Organization": {
        p.name: p for p in [_p("name", "string", "name"), _p("identifier", "token", "identifier")]
    },
    "Practitioner": {
        p.name: p for p in [_p("name", "string", "name"), _p("identifier", "token", "identifier")]
    },
    "ConceptMap": {p.name: p for p in [_p("url", "token", "url"), _p("name", "string", "name")]},
}


def _share_index_rows(params: dict[str, SearchParam]) -> dict[str, SearchParam]:
    """Parameters with the type, path and targets of an earlier one read that one's index rows.

    The rows would be identical (same values from the same elements); writing them twice cost
    ~3 of ~22 index rows per SS-MIX2 message. Rows written before this rule under the later
    name stay until their resource is next written, and are never read.
    """
    first: dict[tuple[str, str, tuple[str, ...]], str] = {}
    out: dict[str, SearchParam] = {}
    for name, sp in params.items():
        key = (sp.type, sp.path, sp.targets)
        if key in first:
            sp = replace(sp, index_as=first[key])
        else:
            first[key] = name
        out[name] = sp
    return out


SEARCH_PARAMS = {rtype: _share_index_rows(params) for rtype, params in SEARCH_PARAMS.items()}

# Parameters every resource type has; handled on the resource table itself.
COMMON_PARAMS = {"_id", "_lastUpdated"}

# Result-shaping parameters (not filters).
CONTROL_PARAMS = {
    "_count",
    "_offset",
    "_sort",
    "_include",
    "_revinclude",
    "_summary",
    "_total",
    "_format",
    "_pretty",
    "_elements",
}


def params_for(resource_type: str) -> dict[str, SearchParam]:
    return SEARCH_PARAMS.get(resource_type, {})
