"""A tiny synthetic JP Core-style store for nl2query tests (all people fictitious)."""

from __future__ import annotations

from typing import Any

JLAC = "http://medis.or.jp/CodeSystem/master-JLAC10-17digits"
JLAC_OID = "urn:oid:1.2.392.200119.4.504"
ICD = "http://jpfhir.jp/fhir/core/mhlw/CodeSystem/ICD10-2013-full"
YJ = "http://capstandard.jp/iyaku.info/CodeSystem/YJ-code"
YJ_OID = "urn:oid:1.2.392.100495.20.2.73"
NOW = "2026-10-01T09:00:00+09:00"


def _pat(pid: str, num: str, kanji: str, kana: str, gender: str, birth: str) -> dict[str, Any]:
    rep = "http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation"
    return {
        "resourceType": "Patient",
        "id": pid,
        "identifier": [{"system": "urn:oid:1.2.392.100495.20.3.51.11312345670", "value": num}],
        "name": [
            {"extension": [{"url": rep, "valueCode": "IDE"}], "text": kanji},
            {"extension": [{"url": rep, "valueCode": "SYL"}], "text": kana},
        ],
        "gender": gender,
        "birthDate": birth,
    }


def _cond(
    cid: str, pid: str, code: str, display: str, onset: str, ver: str = "confirmed"
) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": cid,
        "verificationStatus": {"coding": [{"code": ver}]},
        "code": {"coding": [{"system": ICD, "code": code, "display": display}], "text": display},
        "subject": {"reference": f"Patient/{pid}"},
        "onsetDateTime": onset,
    }


def _obs(
    oid: str,
    pid: str,
    code: str,
    display: str,
    value: float,
    unit: str,
    when: str,
    system: str = JLAC,
    status: str = "final",
) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": status,
        "code": {"coding": [{"system": system, "code": code, "display": display}], "text": display},
        "subject": {"reference": f"Patient/{pid}"},
        "effectiveDateTime": when,
        "valueQuantity": {"value": value, "unit": unit},
    }


def _med(
    mid: str,
    pid: str,
    code: str,
    display: str,
    status: str,
    authored: str,
    dose: float,
    freq: int,
    system: str = YJ,
) -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": mid,
        "status": status,
        "intent": "order",
        "medicationCodeableConcept": {
            "coding": [{"system": system, "code": code, "display": display}]
        },
        "subject": {"reference": f"Patient/{pid}"},
        "authoredOn": authored,
        "dosageInstruction": [
            {
                "timing": {"repeat": {"frequency": freq, "period": 1, "periodUnit": "d"}},
                "doseAndRate": [{"doseQuantity": {"value": dose, "unit": "錠"}}],
            }
        ],
    }


def resources() -> list[dict[str, Any]]:
    return [
        _pat("p1", "00000001", "山田 太郎", "ヤマダ タロウ", "male", "1940-05-01"),
        _pat("p2", "00000002", "佐藤 花子", "サトウ ハナコ", "female", "1980-01-15"),
        _pat("p3", "00000003", "佐藤 花子", "サトウ ハナコ", "female", "1955-03-03"),
        _cond("c1", "p1", "E11.9", "2型糖尿病", "2020-01-01"),
        _cond("c2", "p2", "E119", "2型糖尿病", "2026-02-01"),
        _cond("c3", "p3", "E11.9", "2型糖尿病の疑い", "2026-02-01", ver="provisional"),
        _cond("c4", "p1", "I48", "心房細動", "2019-01-01"),
        _obs("o1", "p1", "3D046000001920402", "HbA1c(NGSP)", 7.2, "%", "2026-09-12T10:00:00+09:00"),
        _obs(
            "o2",
            "p1",
            "3D046000001906202",
            "ＨｂＡ１ｃ",
            8.0,
            "%",
            "2024-12-01T10:00:00+09:00",
            JLAC_OID,
        ),
        _obs("o3", "p1", "3D046000001920402", "HbA1c(NGSP)", 6.5, "%", "2026-03-01T06:00:00+09:00"),
        _obs("o4", "p2", "3D046000001920402", "HbA1c(NGSP)", 7.0, "%", "2026-09-01T10:00:00+09:00"),
        _obs(
            "o5",
            "p2",
            "3D046000001920402",
            "HbA1c(NGSP)",
            9.9,
            "%",
            "2026-09-20T10:00:00+09:00",
            status="entered-in-error",
        ),
        _obs(
            "o6",
            "p1",
            "8A065000002391901",
            "eGFR",
            42.0,
            "mL/min/1.73m2",
            "2026-09-12T10:00:00+09:00",
        ),
        _med("m1", "p1", "3332001F1016", "ﾜｰﾌｧﾘﾝ錠1mg", "active", "2026-09-01", 2, 1, YJ_OID),
        _med("m2", "p1", "3332001F3019", "ワーファリン錠0.5mg", "active", "2026-09-01", 1, 1),
        _med("m3", "p2", "3962002F1029", "メトホルミン塩酸塩錠250mg", "active", "2026-08-01", 1, 2),
        _med(
            "m4", "p3", "3962002F1029", "メトホルミン塩酸塩錠250mg", "completed", "2025-01-01", 1, 2
        ),
    ]
