"""The FHIR REST API through a real uvicorn server on 127.0.0.1 (SQLite or PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from ehr_bridge.api.app import create_app
from ehr_bridge.config import load_settings
from ehr_bridge.store import open_store
from tests.fhir_samples import (
    HBA1C,
    JLAC10_OID,
    JLAC10_URL,
    YJ_OID,
    YJ_URL,
    patient,
    sample_resources,
)
from tests.live_server import serve_in_thread


@pytest.fixture
def api(db_url: str) -> Iterator[httpx.Client]:
    store = open_store(db_url)
    store.upsert_many(sample_resources())
    app = create_app(load_settings(db=db_url), store=store)
    with serve_in_thread(app) as base, httpx.Client(base_url=base + "/fhir", timeout=30) as client:
        yield client


def ids(bundle: dict) -> set[str]:
    return {e["resource"]["id"] for e in bundle.get("entry", []) if e["search"]["mode"] == "match"}


SEARCHES = [
    ("Patient", {"identifier": "urn:oid:1.2.392.100495.20.3.51.11312345670|00000002"}, {"p2"}),
    ("Patient", {"identifier": "00000003"}, {"p3"}),
    ("Patient", {"name": "山田"}, {"p1"}),
    ("Patient", {"name": "さとう"}, {"p2"}),  # hiragana finds the katakana (SYL) name
    ("Patient", {"name": "ｻｲﾄｳ"}, {"p3"}),  # half-width kana too
    ("Patient", {"name": "山田太郎"}, {"p1"}),
    ("Patient", {"family": "佐藤"}, {"p2"}),
    ("Patient", {"given": "ヒロシ"}, {"p3"}),
    ("Patient", {"birthdate": "1950"}, {"p1"}),
    ("Patient", {"birthdate": "ge1980-01-01"}, {"p2", "p3"}),
    ("Patient", {"birthdate": "lt1980-12-31"}, {"p1"}),
    ("Patient", {"gender": "male"}, {"p1", "p3"}),
    ("Encounter", {"patient": "Patient/p1"}, {"e1"}),
    ("Encounter", {"date": "2026-08"}, {"e2"}),
    ("Encounter", {"date": "ge2026-09-01"}, {"e1"}),
    ("Encounter", {"class": "IMP"}, {"e1"}),
    ("Encounter", {"status": "finished"}, {"e2"}),
    ("Encounter", {"location": "Location/ward7e"}, {"e1"}),
    ("Condition", {"patient": "p1"}, {"c1"}),
    (
        "Condition",
        {"code": "http://jpfhir.jp/fhir/core/mhlw/CodeSystem/ICD10-2013-full|J18.9"},
        {"c2"},
    ),
    ("Condition", {"code": "urn:oid:1.2.392.200119.4.101.6|E11.9"}, {"c1"}),
    ("Condition", {"onset-date": "lt2024-01-01"}, {"c1"}),
    ("Condition", {"clinical-status": "active"}, {"c1"}),
    ("Observation", {"patient": "p2"}, {"ow1"}),
    ("Observation", {"code": f"{JLAC10_URL}|9N006000000000001"}, {"ow1"}),
    ("Observation", {"code": f"{JLAC10_OID}|9N006000000000001"}, {"ow1"}),
    ("Observation", {"date": "2026-08-03"}, {"ow1"}),
    ("Observation", {"date": "2026-08"}, {"ow1", "o07"}),
    (
        "Observation",
        {"date": "2026-09-14T21:00:00Z"},
        {"o08"},
    ),  # 06:00 JST = 21:00 UTC the day before
    ("Observation", {"value-quantity": "gt52"}, {"ow1"}),
    ("Observation", {"value-quantity": "ge7.0", "code": HBA1C}, {"o10", "o11"}),
    ("Observation", {"value-quantity": "7.1"}, {"o11"}),
    ("Observation", {"category": "vital-signs"}, {"ow1"}),
    ("MedicationRequest", {"patient": "p1"}, {"m1"}),
    ("MedicationRequest", {"code": f"{YJ_URL}|3332001F1020"}, {"m1", "m2"}),
    ("MedicationRequest", {"code": f"{YJ_OID}|3332001F1020"}, {"m1", "m2"}),
    ("MedicationRequest", {"authoredon": "2026"}, {"m1"}),
    ("MedicationRequest", {"status": "active"}, {"m1"}),
    ("AllergyIntolerance", {"patient": "p2"}, {"a1"}),
    ("AllergyIntolerance", {"code": "J7F7111190"}, {"a1"}),
    ("Patient", {"_id": "p1,p3"}, {"p1", "p3"}),
]


@pytest.mark.parametrize(("rtype", "params", "expected"), SEARCHES)
def test_search_parameters(api: httpx.Client, rtype: str, params: dict, expected: set[str]) -> None:
    response = api.get(f"/{rtype}", params={**params, "_count": "100"})
    assert response.status_code == 200, response.text
    bundle = response.json()
    assert bundle["type"] == "searchset"
    assert ids(bundle) == expected
    assert bundle["total"] == len(expected)


def test_url_and_oid_forms_match_the_same_data(api: httpx.Client) -> None:
    by_url = api.get("/Observation", params={"code": f"{JLAC10_URL}|{HBA1C}", "_count": 100}).json()
    by_oid = api.get("/Observation", params={"code": f"{JLAC10_OID}|{HBA1C}", "_count": 100}).json()
    assert by_url["total"] == by_oid["total"] == 12
    assert ids(by_url) == ids(by_oid)


def test_paging_walks_every_page_via_next_links(api: httpx.Client) -> None:
    url: str | None = f"/Observation?code={HBA1C}&_count=5&_sort=-date"
    seen: list[str] = []
    pages = 0
    while url:
        bundle = api.get(url).json()
        pages += 1
        seen.extend(e["resource"]["id"] for e in bundle.get("entry", []))
        url = next((link["url"] for link in bundle["link"] if link["relation"] == "next"), None)
    assert pages == 3
    assert len(seen) == len(set(seen)) == 12
    dates = [api.get(f"/Observation/{i}").json()["effectiveDateTime"] for i in seen]
    assert dates == sorted(dates, reverse=True)


def test_include_and_revinclude(api: httpx.Client) -> None:
    bundle = api.get(
        "/MedicationRequest", params={"status": "active", "_include": "MedicationRequest:patient"}
    ).json()
    modes = {
        (e["resource"]["resourceType"], e["resource"]["id"], e["search"]["mode"])
        for e in bundle["entry"]
    }
    assert modes == {("MedicationRequest", "m1", "match"), ("Patient", "p1", "include")}
    rev = api.get("/Patient", params={"_id": "p2", "_revinclude": "Encounter:patient"}).json()
    assert {(e["resource"]["id"], e["search"]["mode"]) for e in rev["entry"]} == {
        ("p2", "match"),
        ("e2", "include"),
    }


def test_summary_count_and_sort(api: httpx.Client) -> None:
    counted = api.get("/Observation", params={"patient": "p1", "_summary": "count"}).json()
    assert counted["total"] == 12 and "entry" not in counted
    newest = api.get("/Observation", params={"patient": "p1", "_sort": "-date", "_count": 1}).json()
    assert newest["entry"][0]["resource"]["effectiveDateTime"].startswith("2026-09-15")


def test_last_updated_filter(api: httpx.Client) -> None:
    assert api.get("/Patient", params={"_lastUpdated": "ge2000-01-01"}).json()["total"] == 3
    assert api.get("/Patient", params={"_lastUpdated": "lt2000-01-01"}).json()["total"] == 0


def test_crud_history_and_vread(api: httpx.Client) -> None:
    body = patient(
        "new1", "00000099", ("田中", "一郎"), ("タナカ", "イチロウ"), "male", "1970-01-01"
    )
    created = api.put("/Patient/new1", json=body)
    assert created.status_code == 201 and created.headers["etag"] == 'W/"1"'
    body["gender"] = "other"
    updated = api.put("/Patient/new1", json=body)
    assert updated.status_code == 200 and updated.json()["meta"]["versionId"] == "2"
    assert api.get("/Patient/new1/_history/1").json()["gender"] == "male"
    assert api.get("/Patient/new1/_history").json()["total"] == 2
    assert api.delete("/Patient/new1").status_code == 204
    gone = api.get("/Patient/new1")
    assert gone.status_code == 410 and gone.json()["resourceType"] == "OperationOutcome"
    posted = api.post(
        "/Patient", json={"resourceType": "Patient", "id": "ignored", "gender": "female"}
    )
    assert posted.status_code == 201
    assert posted.json()["id"] != "ignored"
    assert posted.headers["location"].endswith(f"/Patient/{posted.json()['id']}/_history/1")


def test_if_match_conflict_leaves_resource_unchanged(api: httpx.Client) -> None:
    before = api.get("/Patient/p1").json()
    changed = {**before, "gender": "female"}
    conflict = api.put("/Patient/p1", json=changed, headers={"If-Match": 'W/"7"'})
    assert conflict.status_code == 412
    assert conflict.json()["resourceType"] == "OperationOutcome"
    assert api.get("/Patient/p1").json() == before
    ok = api.put(
        "/Patient/p1", json=changed, headers={"If-Match": f'W/"{before["meta"]["versionId"]}"'}
    )
    assert ok.status_code == 200 and ok.json()["gender"] == "female"


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        (
            "post",
            "/Patient",
            {"content": b"{not json", "headers": {"content-type": "application/fhir+json"}},
            400,
        ),
        ("post", "/Patient", {"content": b"[1,2]"}, 400),
        ("post", "/Patient", {"content": b""}, 400),
        ("get", "/Patient", {"params": {"shoe-size": "42"}}, 400),
        ("get", "/Patient", {"params": {"birthdate": "yesterday"}}, 400),
        ("get", "/Observation", {"params": {"value-quantity": "high"}}, 400),
        ("get", "/Observation", {"params": {"_count": "many"}}, 400),
        ("get", "/Observation", {"params": {"_sort": "value-quantity"}}, 400),
        ("get", "/Observation", {"params": {"_include": "Observation:nothing"}}, 400),
        ("post", "/Patient", {"json": {"resourceType": "Patient", "birthDate": "1990-13-45"}}, 422),
        ("post", "/Patient", {"json": {"resourceType": "Patient", "name": "not a list"}}, 422),
        ("post", "/Patient", {"json": {"resourceType": "Observation", "status": "final"}}, 400),
        ("put", "/Patient/p1", {"json": {"resourceType": "Patient", "id": "p9"}}, 400),
        ("get", "/Patient/no-such-patient", {}, 404),
        ("get", "/NoSuchType", {}, 404),
        ("get", "/Patient/p1/_history/99", {}, 404),
        ("post", "", {"json": {"resourceType": "Bundle", "type": "collection"}}, 400),
    ],
)
def test_errors_are_operation_outcomes(
    api: httpx.Client, method: str, path: str, kwargs: dict, status: int
) -> None:
    response = getattr(api, method)(path, **kwargs)
    assert response.status_code == status, response.text
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["diagnostics"]


def test_lenient_handling_ignores_unknown_parameters(api: httpx.Client) -> None:
    response = api.get(
        "/Patient",
        params={"shoe-size": "42", "gender": "female"},
        headers={"Prefer": "handling=lenient"},
    )
    assert response.status_code == 200
    assert ids(response.json()) == {"p2"}


def test_transaction_with_one_bad_entry_commits_nothing(api: httpx.Client) -> None:
    before = api.get("/Patient", params={"_summary": "count"}).json()["total"]
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:aaaa",
                "resource": {"resourceType": "Patient", "gender": "male"},
                "request": {"method": "POST", "url": "Patient"},
            },
            {
                "resource": {"resourceType": "Patient", "id": "p1", "gender": "unknown"},
                "request": {"method": "PUT", "url": "Patient/p1"},
            },
            {
                "resource": {
                    "resourceType": "Observation",
                    "status": "final",
                    "code": {"text": "x"},
                    "effectiveDateTime": "2026-02-30",
                },
                "request": {"method": "POST", "url": "Observation"},
            },
        ],
    }
    response = api.post("", json=bundle)
    assert 400 <= response.status_code < 500
    assert response.json()["resourceType"] == "OperationOutcome"
    assert api.get("/Patient", params={"_summary": "count"}).json()["total"] == before
    assert api.get("/Patient/p1").json()["gender"] == "male"


def test_transaction_commits_all_and_resolves_internal_references(api: httpx.Client) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:p-new",
                "resource": {"resourceType": "Patient", "gender": "male"},
                "request": {"method": "POST", "url": "Patient"},
            },
            {
                "resource": {
                    "resourceType": "Observation",
                    "status": "final",
                    "code": {"text": "体重"},
                    "subject": {"reference": "urn:uuid:p-new"},
                },
                "request": {"method": "POST", "url": "Observation"},
            },
        ],
    }
    response = api.post("", json=bundle)
    assert response.status_code == 200, response.text
    entries = response.json()["entry"]
    assert [e["response"]["status"] for e in entries] == ["201 Created", "201 Created"]
    new_patient = entries[0]["resource"]["id"]
    assert entries[1]["resource"]["subject"]["reference"] == f"Patient/{new_patient}"
    assert api.get("/Observation", params={"patient": new_patient}).json()["total"] == 1


def test_batch_reports_each_entry(api: httpx.Client) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {
                "resource": {"resourceType": "Patient", "id": "b1", "gender": "female"},
                "request": {"method": "PUT", "url": "Patient/b1"},
            },
            {
                "resource": {"resourceType": "Patient", "id": "b2", "birthDate": "bad"},
                "request": {"method": "PUT", "url": "Patient/b2"},
            },
        ],
    }
    response = api.post("", json=bundle)
    assert response.status_code == 200
    statuses = [e["response"]["status"] for e in response.json()["entry"]]
    assert statuses[0].startswith("201") and statuses[1].startswith("422")
    assert api.get("/Patient/b1").status_code == 200
    assert api.get("/Patient/b2").status_code == 404


def test_capability_statement_lists_what_is_supported(api: httpx.Client) -> None:
    cs = api.get("/metadata").json()
    assert cs["resourceType"] == "CapabilityStatement" and cs["fhirVersion"] == "4.0.1"
    by_type = {r["type"]: r for r in cs["rest"][0]["resource"]}
    assert {p["name"] for p in by_type["Observation"]["searchParam"]} >= {
        "patient",
        "code",
        "date",
        "value-quantity",
        "category",
    }
    assert "Observation:patient" in by_type["Patient"]["searchRevInclude"]


def test_total_is_capped_for_broad_searches_unless_accurate_is_asked(db_url: str) -> None:
    from ehr_bridge.store.search import TOTAL_CAP
    from tests.fhir_samples import observation

    store = open_store(db_url)
    n = TOTAL_CAP + 5
    store.upsert_many(
        observation(
            f"bulk{i}",
            "p1",
            "5C070000002306201",
            JLAC10_URL,
            float(i % 7),
            "mg/dL",
            "2026-05-01T09:00:00+09:00",
        )
        for i in range(n)
    )
    app = create_app(load_settings(db=db_url), store=store)
    with serve_in_thread(app) as base, httpx.Client(base_url=base + "/fhir", timeout=30) as client:
        broad = client.get(
            "/Observation", params={"code": "5C070000002306201", "_count": 10}
        ).json()
        assert "total" not in broad and len(broad["entry"]) == 10
        assert any(link["relation"] == "next" for link in broad["link"])
        exact = client.get(
            "/Observation", params={"code": "5C070000002306201", "_total": "accurate", "_count": 10}
        ).json()
        assert exact["total"] == n
        counted = client.get(
            "/Observation", params={"code": "5C070000002306201", "_summary": "count"}
        ).json()
        assert counted["total"] == n
        last = client.get(
            "/Observation", params={"code": "5C070000002306201", "_count": 10, "_offset": n - 3}
        ).json()
        assert len(last["entry"]) == 3
        assert not any(link["relation"] == "next" for link in last["link"])


def test_coverage_from_adt00_is_searchable_by_patient_and_type(api: httpx.Client) -> None:
    cov = {
        "resourceType": "Coverage",
        "id": "cov1",
        "status": "active",
        "type": {
            "coding": [{"system": "http://jami.jp/SS-MIX2/CodeSystem/JHSD0001", "code": "06"}]
        },
        "beneficiary": {"reference": "Patient/p1"},
        "payor": [
            {
                "display": "保険者番号 06050116",
                "identifier": {
                    "system": "http://jpfhir.jp/fhir/core/mhlw/IdSystem/InsurerNumber",
                    "value": "06050116",
                },
            }
        ],
    }
    assert api.put("/Coverage/cov1", json=cov).status_code in (200, 201)
    assert ids(api.get("/Coverage", params={"patient": "p1"}).json()) == {"cov1"}
    assert ids(api.get("/Coverage", params={"beneficiary": "Patient/p2"}).json()) == set()
    assert ids(api.get("/Coverage", params={"type": "06"}).json()) == {"cov1"}
