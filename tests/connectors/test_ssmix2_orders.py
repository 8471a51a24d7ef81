"""OML-01 / OMG-01..03 (orders) → JP_ServiceRequest_Common, OMG-11/12 (OMI^Z23 実施通知) →
JP_Procedure, OMD (食事オーダ) → NutritionOrder, on the real NHO samples (cases/ssmix2/SOURCE.md):
values, statuses, the ServiceRequest id shared by the order and its implementation notice, and a
storage sync into a real store (search, re-run, flag-0 delete)."""

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
JP = "http://jpfhir.jp/fhir/core/StructureDefinition/"
JLAC10 = {
    "url": "http://medis.or.jp/CodeSystem/master-JLAC10-17digits",
    "oid": "urn:oid:1.2.392.200119.4.504",
}
JJ1017 = "urn:ehr-bridge:hl7v2-table:JJ1017"
LENDO = "urn:ehr-bridge:hl7v2-table:LENDO"
JP_CATEGORY = "http://jpfhir.jp/fhir/core/CodeSystem/JP_SimpleObservationCategory_CS"
ORDER_NO = "urn:ehr-bridge:ssmix2:order-no"
D = "20111220"
STORAGE = {
    "ADT-00__nho.hl7": "-/ADT-00/9999013_-_ADT-00_999999999999999_20111220224447339_-_1",
    "OML-01__nho.hl7": f"{D}/OML-01/9999013_{D}_OML-01_000000011000354_20111220103059123_15_1",
    "OMG-01__nho.hl7": f"{D}/OMG-01/9999013_{D}_OMG-01_000201101200100_20111220224447339_-_1",
    "OMG-02__nho.hl7": f"{D}/OMG-02/9999013_{D}_OMG-02_201212201252100_20111220224447339_01_1",
    "OMG-03__nho.hl7": f"{D}/OMG-03/9999013_{D}_OMG-03_201112200089100_20111220224447339_01_1",
    "OMG-11__nho.hl7": f"{D}/OMG-11/9999013_{D}_OMG-11_2011122000300_20111220224447339_24_1",
    "OMG-12__nho.hl7": f"{D}/OMG-12/9999013_{D}_OMG-12_201112201656100_20111220224447339_01_1",
    "OMD__nho.hl7": "20111013/OMD/9999013_20111013_OMD_123456789012345_20111014232213000_01_1",
}
# the order of the OMG-11 sample (derived here: no sample carries it)
DERIVED_ORDER = f"{D}/OMG-01/9999013_{D}_OMG-01_2011122000300_20111220100000000_24_1"


def _convert(name: str, form: str = "url", data: bytes | str | None = None) -> Any:
    opts = ConvertOptions(facility_code=FACILITY, uri_form=form)  # type: ignore[arg-type]
    raw = data if data is not None else (CASES / name).read_bytes()
    return convert_message(raw, kind=name.partition("__")[0], options=opts)


def _text(name: str) -> str:
    return decode_message((CASES / name).read_bytes())


def _order_of_the_notice() -> str:
    """The OMG-11 sample turned into its order (OMG^O19): same ORC/OBR, no IPC/ZE1."""
    segs = _text("OMG-11__nho.hl7").replace("\x1c", "").split("\r")
    keep = [s for s in segs if s and not s.startswith(("IPC|", "ZE1|"))]
    return "\r".join(keep).replace("OMI^Z23^OMI_Z23", "OMG^O19^OMG_O19") + "\r"


def _valid(conv: Any) -> None:
    assert all(validate_resource_full(r) == [] for r in [*conv.resources, *conv.if_absent])


def _sr_rule(patient: str, placer: str, code: str, *item: str) -> str:
    return resource_id("ssmix2", "ServiceRequest", FACILITY, patient, placer, code, *item)


@pytest.mark.parametrize("form", ["url", "oid"])
def test_lab_order(form: str) -> None:
    conv = _convert("OML-01__nho.hl7", form)
    srs = conv.resources
    _valid(conv)
    assert conv.issues == [] and conv.unconsumed == ["SPM"]
    assert [r["resourceType"] for r in srs] == ["ServiceRequest"] * 9
    assert all(r["meta"]["profile"] == [JP + "JP_ServiceRequest_Common"] for r in srs)
    # two ORC/OBR groups (生化学 E002, 血液学 E001), each with its requested JLAC10 items (OBX-11 O)
    groups = [r for r in srs if "basedOn" not in r]
    assert [g["code"]["coding"][0]["code"] for g in groups] == ["E002", "E001"]
    assert (
        groups[0]["code"]["coding"][0]["system"] == f"urn:ehr-bridge:ssmix2:local:{FACILITY}:99O03"
    )
    items = [r for r in srs if "basedOn" in r]
    assert [i["code"]["coding"][0]["code"] for i in items] == [
        "3A010000002327101", "3J010000002327101", "3B035000002327201", "3B050000002327201",
        "2B0300000022311", "2B100000002231101", "2B120000002206201"]  # fmt: skip
    assert {i["code"]["coding"][0]["system"] for i in items} == {JLAC10[form]}
    assert items[0]["code"]["text"] == "総蛋白"
    assert [i["basedOn"][0]["reference"] for i in items] == (
        [f"ServiceRequest/{groups[0]['id']}"] * 4 + [f"ServiceRequest/{groups[1]['id']}"] * 3
    )
    assert {r["status"] for r in srs} == {"active"} and {r["intent"] for r in srs} == {"order"}
    assert {r["authoredOn"] for r in srs} == {"2011-12-20T18:33:01+09:00"}
    assert {r["identifier"][0]["value"] for r in srs} == {"000000011000354"}
    assert {r["category"][0]["coding"][0]["code"] for r in srs} == {"laboratory"}
    assert {r["subject"]["reference"] for r in srs} == {f"Patient/{conv.if_absent[0]['id']}"}
    assert len({r["id"] for r in srs}) == 9


def test_imaging_order_parent_and_children() -> None:
    conv = _convert("OMG-01__nho.hl7")
    srs = conv.resources
    _valid(conv)
    assert conv.issues == [] and conv.unconsumed == ["OBX"]
    # NW and PA describe the same order (one resource); the 4 CH groups are its items
    assert len(srs) == 5
    parent, *children = srs
    assert parent["code"]["coding"] == [
        {"code": "1000000000000000", "display": "Ｘ線単純撮影", "system": JJ1017}
    ]
    assert parent["id"] == _sr_rule("12345678", "000201101200100", "1000000000000000")
    assert [c["identifier"][0]["value"] for c in children] == [
        f"00020110120010{n}" for n in (1, 2, 3, 4)
    ]
    assert all(c["basedOn"] == [{"reference": f"ServiceRequest/{parent['id']}"}] for c in children)
    assert children[0]["code"]["coding"][0]["code"] == "10000002000102000000010000000000"
    assert {r["category"][0]["coding"][0]["code"] for r in srs} == {"imaging"}
    assert {r["priority"] for r in srs} == {"routine"}
    assert {r["authoredOn"] for r in srs} == {"2011-12-20T10:00:59+09:00"}


def test_endoscopy_and_physiology_orders() -> None:
    endo = _convert("OMG-02__nho.hl7").resources
    assert [(r["code"]["coding"][0]["system"], r["code"]["coding"][0]["code"]) for r in endo] == [
        (LENDO, "11000000000"),
        (LENDO, "11000000100"),
    ]
    assert endo[0]["authoredOn"] == "2012-12-20T12:52:10+09:00"
    ecg = _convert("OMG-03__nho.hl7")
    _valid(ecg)
    (sr,) = ecg.resources
    assert sr["code"]["coding"][0] == {
        "code": "9A110",
        "display": "標準１２誘導心電図",
        "system": JLAC10["url"],
    }
    assert sr["category"][0]["coding"][0] == {"system": JP_CATEGORY, "code": "procedure"}
    assert sr["priority"] == "asap"  # TQ1-9 A
    assert sr["authoredOn"] == "2011-12-20T10:15:00+09:00"  # ORC-9 without seconds


def test_order_status_table() -> None:
    text = _text("OMG-03__nho.hl7")
    cancelled = _convert("OMG-03__x", data=text.replace("ORC|NW|", "ORC|CA|"))
    assert cancelled.resources[0]["status"] == "revoked"
    _valid(cancelled)
    done = _convert(
        "OMG-03__x", data=text.replace("ORC|NW|201112200089100|||", "ORC|NW|201112200089100|||CM")
    )
    assert done.resources[0]["status"] == "completed"  # ORC-5 wins over ORC-1
    held = _convert("OMG-03__x", data=text.replace("ORC|NW|", "ORC|HD|"))
    assert held.resources[0]["status"] == "on-hold"
    odd = _convert("OMG-03__x", data=text.replace("ORC|NW|", "ORC|ZZ|"))
    assert odd.resources[0]["status"] == "unknown"
    assert [i.location for i in odd.issues] == ["ORC[1]-1"]
    # the same order, cancelled: the same resource id
    assert cancelled.resources[0]["id"] == _convert("OMG-03__nho.hl7").resources[0]["id"]


def test_radiology_procedures() -> None:
    conv = _convert("OMG-11__nho.hl7")
    procs = conv.resources
    _valid(conv)
    assert conv.issues == [] and conv.unconsumed == ["ZE1"]
    assert [r["resourceType"] for r in procs] == ["Procedure", "Procedure"]
    assert all(p["meta"]["profile"] == [JP + "JP_Procedure"] for p in procs)
    assert [p["code"]["coding"][0]["code"] for p in procs] == [
        "99A000000000000",
        "99A00005550000000000000000000000",
    ]
    assert {p["code"]["coding"][0]["system"] for p in procs} == {JJ1017}
    assert {p["status"] for p in procs} == {"completed"}
    assert {p["performedDateTime"] for p in procs} == {"2011-12-20"}
    assert procs[0]["identifier"] == [
        {"system": ORDER_NO, "value": "2011122000300"},
        {"system": "urn:dicom:uid", "value": "urn:oid:1.2.392.1114.20045.43233.5.300001"},
    ]
    assert procs[1]["partOf"] == [{"reference": f"Procedure/{procs[0]['id']}"}]
    patient = conv.if_absent[0]["id"]
    assert procs[0]["basedOn"] == [
        {
            "reference": "ServiceRequest/"
            + _sr_rule("3330000333", "2011122000300", "99A000000000000")
        }
    ]
    assert {p["subject"]["reference"] for p in procs} == {f"Patient/{patient}"}


def test_procedure_based_on_is_the_orders_service_request() -> None:
    order = _convert("OMG-01__derived", data=_order_of_the_notice())
    assert order.issues == []
    procs = _convert("OMG-11__nho.hl7").resources
    srs = order.resources
    assert len(srs) == len(procs) == 2
    assert [p["basedOn"][0]["reference"] for p in procs] == [
        f"ServiceRequest/{s['id']}" for s in srs
    ]
    assert srs[1]["basedOn"] == [{"reference": f"ServiceRequest/{srs[0]['id']}"}]


def test_endoscopy_procedures_and_cancelled_notice() -> None:
    conv = _convert("OMG-12__nho.hl7")
    _valid(conv)
    procs = conv.resources
    # NW (ORC-2 …191656100) and PA (ORC-2 …201656100, a typo of the sample; OBR-2 …191656100)
    # are one implementation; two CH items
    assert [p["identifier"][0]["value"] for p in procs] == [
        "201112191656100", "201112191656101", "201112191656102"]  # fmt: skip
    assert [p["code"]["coding"][0]["system"] for p in procs] == [LENDO] * 3
    assert {p["status"] for p in procs} == {"completed"}
    text = _text("OMG-12__nho.hl7")
    cancelled = _convert("OMG-12__x", data=text.replace("ORC|NW|", "ORC|CA|")).resources
    assert [p["status"] for p in cancelled] == ["not-done"] * 3
    assert [p["id"] for p in cancelled] == [p["id"] for p in procs]


def test_diet_order() -> None:
    conv = _convert("OMD__nho.hl7")
    _valid(conv)
    assert conv.issues == [] and conv.unconsumed == []
    (no,) = conv.resources
    assert no["resourceType"] == "NutritionOrder"
    assert (no["status"], no["intent"]) == ("active", "order")
    assert no["dateTime"] == "2011-10-13T23:22:13+09:00"
    assert no["identifier"] == [{"system": ORDER_NO, "value": "123456789012345"}]
    assert no["patient"] == {"reference": f"Patient/{conv.if_absent[0]['id']}"}
    diet = no["oralDiet"]
    assert diet["type"] == [
        {"coding": [{"code": "001", "system": f"urn:ehr-bridge:ssmix2:local:{FACILITY}:99XY3"}]}
    ]
    assert diet["instruction"] == "塩分控えめ"
    assert diet["schedule"][0]["code"]["coding"][0]["code"] == "TID"
    assert diet["schedule"][0]["repeat"]["boundsPeriod"] == {"start": "2011-10-16T07:00:00+09:00"}


def test_kind_from_the_message_type() -> None:
    for kind in ("OML-01", "OMG-01", "OMG-02", "OMG-03", "OMG-11", "OMG-12", "OMD"):
        assert kind_of(parse_message(_text(f"{kind}__nho.hl7"))) == kind
    # ORU^R01: the real ECG result (OBR-4 9A110, JLAC10 category 9, no SPM) is physiological;
    # with a specimen, or a non-physiological test code, it is a lab result
    ecg = _text("OMG-13__nho.hl7")
    assert kind_of(parse_message(ecg)) == "OMG-13"
    assert kind_of(parse_message(ecg.replace("9A110^", "3A010^"))) == "OML-11"
    with_spm = ecg.replace("\rOBR|", "\rSPM|1|||023^血清^JC10\rOBR|", 1)
    assert kind_of(parse_message(with_spm)) == "OML-11"
    # the same conversion without the storage data kind (MLLP)
    opts = ConvertOptions(facility_code=FACILITY)
    raw = (CASES / "OMG-12__nho.hl7").read_bytes()
    assert convert_message(raw, options=opts).resources == _convert("OMG-12__nho.hl7").resources


def test_capability_statement_lists_orders() -> None:
    cs = capability_statement("http://127.0.0.1/fhir")
    by_type = {r["type"]: r for r in cs["rest"][0]["resource"]}
    names = {t: {p["name"] for p in by_type[t]["searchParam"]} for t in
             ("ServiceRequest", "Procedure", "NutritionOrder")}  # fmt: skip
    assert names["ServiceRequest"] >= {"patient", "subject", "code", "status", "authored",
                                       "category", "identifier"}  # fmt: skip
    assert names["Procedure"] >= {"patient", "subject", "code", "status", "date", "based-on"}
    assert names["NutritionOrder"] >= {"patient", "status", "datetime"}
    assert "Procedure:based-on" in by_type["ServiceRequest"]["searchRevInclude"]


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    pdir = root / "999" / "901" / "9999013"
    for case, rel in STORAGE.items():
        dst = pdir / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(CASES / case, dst)
    derived = pdir / DERIVED_ORDER
    derived.parent.mkdir(parents=True, exist_ok=True)
    derived.write_bytes(_order_of_the_notice().encode("iso2022_jp"))
    return root


def _sync(store: Any, root: Path, **kw: Any) -> Any:
    conn = SSMix2Connector(SSMix2Config(root=str(root), facility_code=FACILITY))
    return sync_storage(store, conn, scope=str(root), **kw)


def test_sync_search_rerun_and_delete(db_url: str, tree: Path) -> None:
    store = open_store(db_url)
    first = _sync(store, tree)
    assert first.quarantined == 0
    counts = store.counts()
    # OML-01 9, OMG-01 5, OMG-02 2, OMG-03 1, the derived order 2
    assert (counts["ServiceRequest"], counts["Procedure"], counts["NutritionOrder"]) == (19, 5, 1)
    patient = _convert("ADT-00__nho.hl7").resources[0]["id"]
    s = store.search
    by_patient = s("ServiceRequest", [("patient", f"Patient/{patient}")]).matches
    assert len(by_patient) == 19
    tp = s("ServiceRequest", [("patient", f"Patient/{patient}"),
                              ("code", f"{JLAC10['url']}|3A010000002327101")]).matches  # fmt: skip
    assert [r["code"]["text"] for r in tp] == ["総蛋白"]
    # the legacy OID form of JLAC10 matches too
    assert len(s("ServiceRequest", [("code", f"{JLAC10['oid']}|3A010000002327101")]).matches) == 1
    assert len(s("ServiceRequest", [("category", f"{JP_CATEGORY}|imaging")]).matches) == 7
    later = s("ServiceRequest", [("authored", "ge2012-01-01")]).matches
    assert {r["identifier"][0]["value"] for r in later} == {"201212201252100", "201212201252101"}
    procs = s("Procedure", [("patient", f"Patient/{patient}"), ("code", f"{LENDO}|11000000000")])
    assert len(procs.matches) == 1
    # the radiology notice's orders were stored by their own record: basedOn resolves
    us = s("Procedure", [("code", f"{JJ1017}|99A000000000000")]).matches
    ref = us[0]["basedOn"][0]["reference"]
    assert store.read("ServiceRequest", ref.split("/")[1]) is not None
    assert [p["id"] for p in s("Procedure", [("based-on", ref)]).matches] == [us[0]["id"]]
    assert len(s("Procedure", [("date", "2011-12-20")]).matches) == 5
    diet = s("NutritionOrder", [("patient", f"Patient/{patient}"), ("datetime", "2011-10-13")])
    assert len(diet.matches) == 1

    again = _sync(store, tree)
    assert (again.folders_read, again.records, again.created) == (0, 0, 0)
    full = _sync(store, tree, full=True)
    assert full.created == 0 and full.updated == 0
    assert store.counts() == counts

    # the OMG-01 order deleted the SS-MIX2 way (flag 0): its 5 ServiceRequests go
    f = tree / "999/901/9999013" / STORAGE["OMG-01__nho.hl7"]
    f.rename(f.with_name(f.name[:-1] + "0"))
    rep = _sync(store, tree)
    assert rep.deleted_records == 1 and rep.deleted_resources == 5
    assert store.counts()["ServiceRequest"] == 14
    assert s("ServiceRequest", [("identifier", f"{ORDER_NO}|000201101200100")]).matches == []
    assert store.read("ServiceRequest", ref.split("/")[1]) is not None


def test_sample_checks_accept_orders(db_url: str, tree: Path) -> None:
    """``validate=sample`` structurally checks every type the store serves: nothing is
    quarantined, the same resources are stored."""
    store = open_store(db_url)
    rep = _sync(store, tree, validate="sample")
    assert rep.quarantined == 0
    counts = store.counts()
    assert (counts["ServiceRequest"], counts["Procedure"], counts["NutritionOrder"]) == (19, 5, 1)
