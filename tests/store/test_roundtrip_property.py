"""Property: any generated resource goes through the store and the API and comes back as written."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors._sdk.fhir_models import validate_resource
from ehr_bridge.api.app import create_app
from ehr_bridge.config import load_settings
from ehr_bridge.store import FhirStore, open_store
from tests.live_server import serve_in_thread

kana = st.text(alphabet=st.characters(min_codepoint=0x30A1, max_codepoint=0x30F6), min_size=1, max_size=8)
kanji = st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x4FFF), min_size=1, max_size=4)
ids = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9\-.]{0,30}", fullmatch=True)
dates = st.dates(min_value=__import__("datetime").date(1900, 1, 1),
                 max_value=__import__("datetime").date(2030, 12, 31)).map(lambda d: d.isoformat())


@st.composite
def patients(draw: Any) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": draw(ids),
        "identifier": [{"system": "urn:oid:1.2.392.100495.20.3.51.11312345670",
                        "value": draw(st.from_regex(r"[0-9]{8}", fullmatch=True))}],
        "name": [{"family": draw(kanji), "given": [draw(kanji)]},
                 {"family": draw(kana), "given": [draw(kana)]}],
        "gender": draw(st.sampled_from(["male", "female", "other", "unknown"])),
        "birthDate": draw(dates),
    }


@st.composite
def observations(draw: Any) -> dict[str, Any]:
    value = draw(st.decimals(min_value=-1000, max_value=100000, places=2, allow_nan=False))
    return {
        "resourceType": "Observation",
        "id": draw(ids),
        "status": draw(st.sampled_from(["final", "amended", "preliminary"])),
        "code": {"coding": [{"system": draw(st.sampled_from(
            ["http://medis.or.jp/CodeSystem/master-JLAC10-17digits", "urn:oid:1.2.392.200119.4.504"])),
            "code": draw(st.from_regex(r"[0-9A-Z]{17}", fullmatch=True))}],
            "text": draw(kana)},
        "subject": {"reference": f"Patient/{draw(ids)}"},
        "effectiveDateTime": draw(dates) + "T06:00:00+09:00",
        "valueQuantity": {"value": float(value), "unit": "mg/dL"},
    }


def strip_meta(resource: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in resource.items() if k != "meta"}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FhirStore, str]]:
    import os

    url = os.environ.get("EHR_BRIDGE_TEST_DB") or f"sqlite:///{tmp_path_factory.mktemp('rt') / 'rt.db'}"
    if url.startswith("postgres"):
        # one throwaway schema for the module
        import uuid

        from sqlalchemy import text

        from ehr_bridge.store.base import create_engine, normalize_db_url

        schema = f"rt_{uuid.uuid4().hex[:10]}"
        admin = create_engine(normalize_db_url(url), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = f"{normalize_db_url(url)}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
    store = open_store(url)
    with serve_in_thread(create_app(load_settings(db=url), store=store)) as base:
        yield store, base


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(resource=st.one_of(patients(), observations()))
def test_resource_round_trips_through_store_and_api(live: tuple[FhirStore, str], resource: dict[str, Any]) -> None:
    store, base = live
    assert validate_resource(resource) == []
    rtype, rid = resource["resourceType"], resource["id"]
    with httpx.Client(base_url=base + "/fhir", timeout=30) as client:
        put = client.put(f"/{rtype}/{rid}", json=resource)
        assert put.status_code in (200, 201), put.text
        got = client.get(f"/{rtype}/{rid}").json()
        assert strip_meta(got) == resource
        assert strip_meta(store.read(rtype, rid) or {}) == resource
        # the resource is findable by its own id and, for observations, by code in either URI form
        assert client.get(f"/{rtype}", params={"_id": rid}).json()["total"] == 1
        if rtype == "Observation":
            code = resource["code"]["coding"][0]["code"]
            for system in ("http://medis.or.jp/CodeSystem/master-JLAC10-17digits", "urn:oid:1.2.392.200119.4.504"):
                found = client.get("/Observation", params={"code": f"{system}|{code}", "_id": rid}).json()
                assert found["total"] == 1
        # writing the same content again adds no version
        version = got["meta"]["versionId"]
        client.put(f"/{rtype}/{rid}", json=resource)
        assert client.get(f"/{rtype}/{rid}").json()["meta"]["versionId"] == version
