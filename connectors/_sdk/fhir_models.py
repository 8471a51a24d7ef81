"""THE one import point for FHIR resource models in ehr-bridge.

JP Core targets FHIR R4 (4.0.1). ``fhir.resources`` 8.x ships R5 (default), R4B (4.3.0) and
STU3 — no R4 package. R4B is R4 plus a small set of additive changes (mostly in medication
definition and subscription resources, none of which ehr-bridge produces or stores), and its
models accept every R4 resource we handle (Patient, Encounter, Condition, Observation,
MedicationRequest, AllergyIntolerance, DiagnosticReport, Specimen, ConceptMap, ...). So R4B is
our R4 validator. Changing the validator is this one line.

``validate_resource`` is the fast, shape-cached validator (``fast_validate``): the same verdict
as ``validate_resource_full`` (the pydantic models themselves), which it runs for every new
resource shape and for every resource whose leaf checks fail (so problem messages are the full
validator's).
"""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B import get_fhir_model_class as _get_class
from pydantic import ValidationError

from connectors._sdk.fast_validate import fast_validate
from connectors._sdk.storable import UNSTORABLE, unstorable_number_path

FHIR_VERSION = "4.0.1"
VALIDATOR_PACKAGE = "fhir.resources.R4B"

__all__ = [
    "FHIR_VERSION",
    "ValidationError",
    "model_class",
    "validate_resource",
    "validate_resource_full",
]


def model_class(resource_type: str) -> Any:
    """The model class for ``resource_type``; KeyError for an unknown type."""
    try:
        return _get_class(resource_type)
    except (KeyError, ValueError, AttributeError) as exc:
        raise KeyError(resource_type) from exc


def validate_resource(resource: dict[str, Any]) -> list[str]:
    """Validation problems of a resource as ``path: message`` strings ([] when valid).

    Messages name the element path and the problem, never the offending value (it may be
    patient data). Fast path (see ``fast_validate``); same verdict as ``validate_resource_full``.
    """
    return fast_validate(resource)


def validate_resource_full(resource: dict[str, Any]) -> list[str]:
    """Like :func:`validate_resource`, always by full pydantic validation of the model.

    A resource that makes the models raise something other than a validation error (e.g. an
    unknown ``resourceType`` in ``contained``) is reported as invalid, by exception type only.
    """
    rtype = resource.get("resourceType")
    if not isinstance(rtype, str):
        return ["resourceType: missing or not a string"]
    try:
        cls = model_class(rtype)
    except KeyError:
        return [f"resourceType: unknown resource type {rtype!r}"]
    try:
        cls.model_validate(resource)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_input=False, include_url=False):
            loc = ".".join(str(p) for p in err.get("loc", ()))
            problems.append(f"{rtype}.{loc}: {err.get('msg', 'invalid')}")
        return problems or [f"{rtype}: invalid"]
    except Exception as exc:  # noqa: BLE001 - the models crash on some invalid input
        return [f"{rtype}: invalid ({type(exc).__name__} in the validator)"]
    path = unstorable_number_path(resource)
    return [f"{path}: {UNSTORABLE}"] if path else []
