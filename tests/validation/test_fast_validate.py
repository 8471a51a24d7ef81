"""The shape-cached validator gives full validation's verdict (and messages), cold and warm."""

from __future__ import annotations

import random
from typing import Any

import pytest

from connectors._sdk import fast_validate as fv
from connectors._sdk.fhir_models import validate_resource, validate_resource_full

from .corpus import (
    MARK,
    mutations,
    one_per_structure,
    ssmix2_resources,
    synthetic_resources,
)


@pytest.fixture(scope="module")
def valid() -> list[dict[str, Any]]:
    return synthetic_resources() + ssmix2_resources()


@pytest.fixture(scope="module")
def bases(valid: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return one_per_structure(valid)


def test_corpus_valid_cold_and_warm(valid: list[dict[str, Any]]) -> None:
    assert len(valid) > 5000
    assert {r["resourceType"] for r in valid} >= {
        "Patient", "Encounter", "Observation", "MedicationRequest", "Condition",
        "AllergyIntolerance"}  # fmt: skip
    fv.cache_clear()
    for r in valid:
        assert validate_resource_full(r) == []
        assert fv.fast_validate(r) == []
    for r in valid:
        assert fv.fast_validate(r) == []
    info = fv.cache_info()
    assert info["misses"] == info["size"] and info["hits"] >= 2 * len(valid) - info["size"]
    assert info["fallbacks"] == 0 and info["unmappable"] == 0


def test_mutations_same_verdict_cold_and_warm(bases: list[dict[str, Any]]) -> None:
    rng = random.Random(20260101)
    total = valid_n = 0
    mismatches = []
    for base in bases:
        for m in mutations(base, rng, per_resource=400):
            total += 1
            want = validate_resource_full(m)
            valid_n += want == []
            fv.cache_clear()
            cold = fv.fast_validate(m)  # new shape: full validation decides
            fv.fast_validate(base)  # the base's shape is now cached
            warm = fv.fast_validate(m)  # value mutations hit the base's shape: leaf checks
            again = fv.fast_validate(m)  # and now the mutant's own shape, if it was cached
            if not (want == cold == warm == again):
                mismatches.append((want, cold, warm, again, m))
            for p in want:
                assert MARK not in p
    assert not mismatches, mismatches[:5]
    # the corpus exercises both verdicts substantially
    assert total > 15000 and 0.2 * total < valid_n < 0.8 * total


def test_leaf_mutation_of_cached_shape_falls_back() -> None:
    fv.cache_clear()
    obs = {"resourceType": "Observation", "status": "final", "code": {"text": "x"},
           "effectiveDateTime": "2020-01-02T10:00:00+09:00"}  # fmt: skip
    assert validate_resource(obs) == []
    bad = {**obs, "effectiveDateTime": f"{MARK}-01-02"}
    problems = validate_resource(bad)
    assert problems and problems == validate_resource_full(bad)
    assert all(MARK not in p for p in problems)
    assert fv.cache_info()["fallbacks"] == 1
    # FHIR-valid but not fast-accepted forms (leap second, leap day) still pass via fallback
    for v in ("2016-12-31T23:59:60Z", "2020-02-29", "2020-01-01T10:00:00.123456789Z"):
        assert validate_resource({**obs, "effectiveDateTime": v}) == []
    assert validate_resource({**obs, "effectiveDateTime": "2021-02-29"}) != []


def test_shape_not_mappable_is_always_fully_validated() -> None:
    fv.cache_clear()
    # a JSON string for a model field is accepted by the models; we do not map it
    pat = {"resourceType": "Patient", "managingOrganization": '{"reference": "Organization/1"}'}
    assert validate_resource_full(pat) == []
    assert validate_resource(pat) == [] and validate_resource(pat) == []
    assert fv.cache_info()["unmappable"] == 1
    broken = {**pat, "managingOrganization": '{"reference": 1}'}
    assert validate_resource(broken) == validate_resource_full(broken) != []


def test_failing_shape_never_cached() -> None:
    fv.cache_clear()
    bad = {"resourceType": "Patient", "gender": "male", "unknown": 1}
    for _ in range(3):
        assert validate_resource(bad) == validate_resource_full(bad) != []
    assert fv.cache_info()["size"] == 0


def test_validator_crash_is_a_problem_without_values() -> None:
    r = {"resourceType": "Patient", "contained": [{"resourceType": f"{MARK}Nope"}]}
    problems = validate_resource(r)
    assert problems and all(MARK not in p for p in problems)


def test_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    fv.cache_clear()
    monkeypatch.setattr(fv, "MAX_SHAPES", 16)
    for i in range(100):
        r = {"resourceType": "Patient", "identifier": [{"value": "x"}] * i}
        assert validate_resource(r) == []
        assert fv.cache_info()["size"] <= 16
    assert fv.cache_info()["clears"] >= 5


def test_non_json_values_fall_back() -> None:
    import datetime

    r = {"resourceType": "Patient", "birthDate": datetime.date(2000, 1, 2)}
    assert validate_resource(r) == validate_resource_full(r)
    assert validate_resource({"resourceType": 1}) == validate_resource_full({"resourceType": 1})
