"""OMP-11 / OMP-12 (RAS^O17 実施通知) → JP_MedicationAdministration(_Injection), on the real
NHO samples (cases/ssmix2/SOURCE.md): values, ids shared with the order converter, status rules,
and a storage sync into a real store (search, re-run, flag-0 delete)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from connectors._sdk.fhir_models import validate_resource_full
from connectors._sdk.ids import resource_id
from connectors.ssmix2 import (
    ConvertOptions,
    SSMix2Config,
    SSMix2Connector,
    convert_message,
    decode_message,
    parse_message,
)
from connectors.ssmix2.convert import kind_of
from ehr_bridge.api.fhir import capability_statement
from ehr_bridge.store import open_store
from ehr_bridge.sync.storage import sync_storage

CASES = Path(__file__).parent / "cases" / "ssmix2"
FACILITY = "1312345670"
ORDER = "123456789012345"
JP = "http://jpfhir.jp/fhir/core/StructureDefinition/"
HOT9 = {"url": "http://medis.or.jp/CodeSystem/master-HOT9", "oid": "urn:oid:1.2.392.200119.4.403.1"}
MERIT9 = {
    "url": "http://jpfhir.jp/fhir/core/mhlw/CodeSystem/MedicationUnitMERIT9Code",
    "oid": "urn:oid:1.2.392.100495.20.2.101",
}
# the storage names of the case files (cases/ssmix2/SOURCE.md)
STORAGE = {
    "ADT-00__nho.hl7": "-/ADT-00/9999013_-_ADT-00_999999999999999_20111220224447339_-_1",
    "OMP-02__nho.hl7": f"20110701/OMP-02/9999013_20110701_OMP-02_{ORDER}_20110701224603984_01_1",
    "OMP-11__nho.hl7": f"20110630/OMP-11/9999013_20110630_OMP-11_{ORDER}_20110701113813225_01_1",
    "OMP-12__nho.hl7": f"20110701/OMP-12/9999013_20110701_OMP-12_{ORDER}_20110701113813225_01_1",
}


def _convert(name: str, form: str = "url", data: bytes | str | None = None) -> Any:
    opts = ConvertOptions(facility_code=FACILITY, uri_form=form)  # type: ignore[arg-type]
    raw = data if data is not None else (CASES / name).read_bytes()
    return convert_message(raw, kind=name.partition("__")[0], options=opts)


def _patient_id() -> str:
    pat = _convert("ADT-00__nho.hl7").resources[0]
    assert pat["resourceType"] == "Patient" and pat["identifier"][0]["value"] == "9999013"
    return str(pat["id"])


@pytest.mark.parametrize("form", ["url", "oid"])
def test_prescription_administrations(form: str) -> None:
    conv = _convert("OMP-11__nho.hl7", form)
    mas = conv.resources
    assert [r["resourceType"] for r in mas] == ["MedicationAdministration"] * 2
    assert conv.issues == [] and conv.unconsumed == []
    assert all(validate_resource_full(r) == [] for r in [*mas, *conv.if_absent])
    assert all(r["meta"]["profile"] == [JP + "JP_MedicationAdministration"] for r in mas)
    assert [m["medicationCodeableConcept"]["coding"][0]["code"] for m in mas] == [
        "108665201",
        "110626901",
    ]
    assert {m["medicationCodeableConcept"]["coding"][0]["system"] for m in mas} == {HOT9[form]}
    assert mas[0]["medicationCodeableConcept"]["coding"][0]["display"] == "ダーゼン錠（５mg)"
    assert [m["effectiveDateTime"] for m in mas] == ["2011-07-01T08:30:00+09:00"] * 2
    assert [m["dosage"]["dose"]["value"] for m in mas] == [1, 2]
    assert mas[1]["dosage"]["dose"] == {
        "value": 2,
        "unit": "錠",
        "system": MERIT9[form],
        "code": "TAB",
    }
    assert [m["dosage"]["route"]["coding"][0]["code"] for m in mas] == ["PO", "PO"]
    assert [m["status"] for m in mas] == ["completed", "completed"]
    assert mas[0]["category"]["coding"][0]["code"] == "inpatient"
    patient = _patient_id()
    assert {m["subject"]["reference"] for m in mas} == {f"Patient/{patient}"}
    assert conv.if_absent[0]["id"] == patient
    assert len({m["id"] for m in mas}) == 2


def test_request_is_the_order_lines_medication_request() -> None:
    # the id rule of the OMP-01 converter, pinned on its real sample (ORC-4 "1": lines 1 and 2
    # of RP 1) ...
    mrs = _convert("OMP-01__nho.hl7").resources
    rule = [
        resource_id("ssmix2", "MedicationRequest", FACILITY, "9999013", "OMP-01", order, "1", line)
        for order, line in (("000000011000185", "1"), ("000000011000185", "2"))
    ]
    assert [m["id"] for m in mrs[:2]] == rule
    # ... gives the OMP-11 administrations (same ORC-4 "1", one drug per RXA) their requests
    mas = _convert("OMP-11__nho.hl7").resources
    assert [m["request"]["reference"] for m in mas] == [
        "MedicationRequest/"
        + resource_id("ssmix2", "MedicationRequest", FACILITY, "9999013", "OMP-01", ORDER, "1", n)
        for n in ("1", "2")
    ]


def test_injection_administrations() -> None:
    conv = _convert("OMP-12__nho.hl7")
    mas = conv.resources
    assert len(mas) == 2 and conv.issues == [] and conv.unconsumed == []
    assert all(validate_resource_full(r) == [] for r in mas)
    assert all(m["meta"]["profile"] == [JP + "JP_MedicationAdministration_Injection"] for m in mas)
    # the Injection profile allows only medicationReference: a contained Medication
    assert all(m["medicationReference"] == {"reference": "#med"} for m in mas)
    codes = [m["contained"][0]["code"]["coding"][0] for m in mas]
    assert [(c["system"], c["code"]) for c in codes] == [
        (HOT9["url"], "620007329"),
        (HOT9["url"], "620002559"),
    ]
    assert all(
        m["effectivePeriod"]
        == {"start": "2011-07-01T08:05:21+09:00", "end": "2011-07-01T13:05:43+09:00"}
        for m in mas
    )
    assert [(m["dosage"]["dose"]["value"], m["dosage"]["dose"]["code"]) for m in mas] == [
        (1, "HON"),
        (1, "AMP"),
    ]
    assert mas[0]["dosage"]["rateQuantity"] == {"value": 102, "unit": "ml/hr"}
    assert mas[0]["dosage"]["route"]["coding"][0]["code"] == "IV"
    assert mas[0]["note"] == [{"text": "左手に実施"}]
    assert {m["subject"]["reference"] for m in mas} == {f"Patient/{_patient_id()}"}
    # both mixed drugs were given under the order line 123456789012345_01_001 of OMP-02
    mr = _convert("OMP-02__nho.hl7").resources[0]
    assert mr["resourceType"] == "MedicationRequest"
    assert {m["request"]["reference"] for m in mas} == {f"MedicationRequest/{mr['id']}"}
    assert mas[0]["id"] != mas[1]["id"]


def test_completion_status_and_delete_action() -> None:
    text = decode_message((CASES / "OMP-11__nho.hl7").read_bytes())
    first, second = [s for s in text.split("\r") if s.startswith("RXA|")]

    def variant(seg: str, status: str, action: str = "") -> str:
        fields = seg.split("|")
        fields[20], fields[21] = status, action
        return "|".join(fields)

    refused = text.replace(first, variant(first, "RE")).replace(second, variant(second, "PA"))
    mas = _convert("OMP-11__x", data=refused).resources
    assert [m["status"] for m in mas] == ["not-done", "stopped"]
    assert all(validate_resource_full(m) == [] for m in mas)
    unset = _convert("OMP-11__x", data=text.replace(first, variant(first, ""))).resources
    assert unset[0]["status"] == "completed"  # RXA-20 empty means CP (HL7 v2.5)
    original = _convert("OMP-11__nho.hl7").resources
    deleted = _convert("OMP-11__x", data=text.replace(first, variant(first, "CP", "D")))
    assert [m["id"] for m in deleted.resources] == [original[1]["id"]]


def test_kind_from_the_message_type() -> None:
    for name, kind in (("OMP-11__nho.hl7", "OMP-11"), ("OMP-12__nho.hl7", "OMP-12")):
        assert kind_of(parse_message(decode_message((CASES / name).read_bytes()))) == kind


def test_capability_statement_lists_medication_administration() -> None:
    cs = capability_statement("http://127.0.0.1/fhir")
    by_type = {r["type"]: r for r in cs["rest"][0]["resource"]}
    names = {p["name"] for p in by_type["MedicationAdministration"]["searchParam"]}
    assert names >= {"patient", "subject", "code", "status", "effective-time", "request"}
    assert "MedicationAdministration:request" in by_type["MedicationRequest"]["searchRevInclude"]


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    pdir = root / "999" / "901" / "9999013"
    for case, rel in STORAGE.items():
        dst = pdir / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(CASES / case, dst)
    return root


def _sync(store: Any, root: Path, **kw: Any) -> Any:
    conn = SSMix2Connector(SSMix2Config(root=str(root), facility_code=FACILITY))
    return sync_storage(store, conn, scope=str(root), **kw)


def _ids(result: Any) -> list[str]:
    return sorted(r["id"] for r in result.matches)


def test_sync_search_rerun_and_delete(db_url: str, tree: Path) -> None:
    store = open_store(db_url)
    first = _sync(store, tree)
    assert first.quarantined == 0
    assert store.counts()["MedicationAdministration"] == 4
    patient = _patient_id()
    s = store.search
    every = _ids(s("MedicationAdministration", [("patient", f"Patient/{patient}")]))
    assert len(every) == 4
    assert len(_ids(s("MedicationAdministration", [("status", "completed")]))) == 4
    tablets = s("MedicationAdministration", [("code", f"{HOT9['url']}|110626901")]).matches
    assert [m["dosage"]["dose"]["value"] for m in tablets] == [2]
    # a contained Medication's code (injection) and the legacy OID form of HOT9 both match
    drip = s("MedicationAdministration", [("code", f"{HOT9['oid']}|620007329")]).matches
    assert len(drip) == 1 and "effectivePeriod" in drip[0]
    # the drip (08:05–13:05) began before 08:10, the tablets (08:30) did not
    early = s("MedicationAdministration", [("effective-time", "lt2011-07-01T08:10")]).matches
    assert len(early) == 2 and all("medicationReference" in m for m in early)
    assert len(s("MedicationAdministration", [("effective-time", "2011-07-01")]).matches) == 4
    # the injections' order was stored by its own record: the reference resolves
    req = drip[0]["request"]["reference"]
    assert store.read("MedicationRequest", req.split("/")[1]) is not None
    assert len(s("MedicationAdministration", [("request", req)]).matches) == 2

    counts = store.counts()
    again = _sync(store, tree)
    assert (again.folders_read, again.records, again.created) == (0, 0, 0)
    full = _sync(store, tree, full=True)
    assert full.folders_read == 1 and full.created == 0 and full.updated == 0
    assert store.counts() == counts

    # OMP-11 record deleted the SS-MIX2 way (flag 0): its administrations go, OMP-12's stay
    f = tree / "999/901/9999013" / STORAGE["OMP-11__nho.hl7"]
    f.rename(f.with_name(f.name[:-1] + "0"))
    rep = _sync(store, tree)
    assert rep.deleted_records == 1 and rep.deleted_resources == 2
    left = s("MedicationAdministration", [("patient", f"Patient/{patient}")]).matches
    assert {m["id"] for m in left} == {m["id"] for m in _convert("OMP-12__nho.hl7").resources}


def test_sample_checks_accept_administrations(db_url: str, tree: Path) -> None:
    """The cheap structural check of ``validate=sample`` knows MedicationAdministration (and
    the contained Medication of injections): nothing is quarantined, the same 4 are stored."""
    store = open_store(db_url)
    rep = _sync(store, tree, validate="sample")
    assert rep.quarantined == 0
    assert store.counts()["MedicationAdministration"] == 4
