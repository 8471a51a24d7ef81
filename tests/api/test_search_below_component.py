"""Token ``:below`` (code-prefix) and Observation ``component-code`` through a live uvicorn."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from ehr_bridge.api.app import create_app
from ehr_bridge.config import load_settings
from ehr_bridge.store import open_store
from tests.live_server import serve_in_thread

ICD = "http://jpfhir.jp/fhir/core/mhlw/CodeSystem/ICD10-2013-full"
LOINC = "http://loinc.org"


def _cond(cid: str, code: str) -> dict:
    return {
        "resourceType": "Condition",
        "id": cid,
        "code": {"coding": [{"system": ICD, "code": code}]},
        "subject": {"reference": "Patient/p1"},
    }


def _bp(oid: str) -> dict:
    comp = [
        ("8480-6", 141.0),
        ("8462-4", 88.0),
    ]
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "85354-9"}]},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2026-09-01T10:00:00+09:00",
        "component": [
            {
                "code": {"coding": [{"system": LOINC, "code": c}]},
                "valueQuantity": {"value": v, "unit": "mmHg"},
            }
            for c, v in comp
        ],
    }


@pytest.fixture
def api(db_url: str) -> Iterator[httpx.Client]:
    store = open_store(db_url)
    store.upsert_many(
        [
            {"resourceType": "Patient", "id": "p1"},
            _cond("c1", "E11.9"),
            _cond("c2", "E119"),
            _cond("c3", "E10"),
            _cond("c4", "I63.4"),
            _cond("c5", "E1%"),
            _bp("bp1"),
        ]
    )
    app = create_app(load_settings(db=db_url), store=store)
    with serve_in_thread(app) as base, httpx.Client(base_url=base + "/fhir", timeout=30) as client:
        yield client


def _ids(client: httpx.Client, rtype: str, params: dict[str, str]) -> set[str]:
    r = client.get(f"/{rtype}", params=params)
    assert r.status_code == 200, r.text
    return {e["resource"]["id"] for e in r.json().get("entry", [])}


def test_token_below_is_a_code_prefix_match(api: httpx.Client) -> None:
    assert _ids(api, "Condition", {"code:below": f"{ICD}|E11"}) == {"c1", "c2"}
    assert _ids(api, "Condition", {"code:below": f"{ICD}|E1"}) == {"c1", "c2", "c3", "c5"}
    assert _ids(api, "Condition", {"code:below": "E11,I63"}) == {"c1", "c2", "c4"}
    # LIKE wildcards in the value are literals
    assert _ids(api, "Condition", {"code:below": "E1%"}) == {"c5"}
    assert _ids(api, "Condition", {"code:below": "http://other.example|E11"}) == set()
    # without the modifier the match stays exact
    assert _ids(api, "Condition", {"code": f"{ICD}|E11"}) == set()


def test_unsupported_token_modifier_is_rejected(api: httpx.Client) -> None:
    r = api.get("/Condition", params={"code:above": "E11"})
    assert r.status_code == 400


def test_component_code_finds_panel_observations(api: httpx.Client) -> None:
    assert _ids(api, "Observation", {"component-code": f"{LOINC}|8480-6"}) == {"bp1"}
    assert _ids(api, "Observation", {"code": f"{LOINC}|8480-6"}) == set()
    assert _ids(api, "Observation", {"component-code:below": "8462"}) == {"bp1"}
