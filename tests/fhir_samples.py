"""Small hand-written JP Core resources for store and API tests (fictitious people)."""

from __future__ import annotations

from typing import Any

JLAC10_URL = "http://medis.or.jp/CodeSystem/master-JLAC10-17digits"
JLAC10_OID = "urn:oid:1.2.392.200119.4.504"
ICD10 = "http://jpfhir.jp/fhir/core/mhlw/CodeSystem/ICD10-2013-full"
YJ_URL = "http://capstandard.jp/iyaku.info/CodeSystem/YJ-code"
YJ_OID = "urn:oid:1.2.392.100495.20.2.73"
PID_SYSTEM = "urn:oid:1.2.392.100495.20.3.51.11312345670"
HBA1C = "3D046000001920402"
REPR = "http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation"


def patient(
    pid: str, number: str, kanji: tuple[str, str], kana: tuple[str, str], gender: str, birth: str
) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": pid,
        "meta": {"profile": ["http://jpfhir.jp/fhir/core/StructureDefinition/JP_Patient"]},
        "identifier": [{"system": PID_SYSTEM, "value": number}],
        "name": [
            {
                "extension": [{"url": REPR, "valueCode": "IDE"}],
                "use": "official",
                "text": f"{kanji[0]} {kanji[1]}",
                "family": kanji[0],
                "given": [kanji[1]],
            },
            {
                "extension": [{"url": REPR, "valueCode": "SYL"}],
                "use": "official",
                "text": f"{kana[0]} {kana[1]}",
                "family": kana[0],
                "given": [kana[1]],
            },
        ],
        "gender": gender,
        "birthDate": birth,
    }


def observation(
    oid: str,
    pid: str,
    code: str,
    system: str,
    value: float,
    unit: str,
    when: str,
    category: str = "laboratory",
) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": category,
                    }
                ]
            }
        ],
        "code": {"coding": [{"system": system, "code": code}]},
        "subject": {"reference": f"Patient/{pid}"},
        "effectiveDateTime": when,
        "valueQuantity": {
            "value": value,
            "unit": unit,
            "system": "http://unitsofmeasure.org",
            "code": unit,
        },
    }


def sample_resources() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [
        patient("p1", "00000001", ("山田", "太郎"), ("ヤマダ", "タロウ"), "male", "1950-04-01"),
        patient("p2", "00000002", ("佐藤", "花子"), ("サトウ", "ハナコ"), "female", "1980-12-31"),
        patient("p3", "00000003", ("斎藤", "浩"), ("サイトウ", "ヒロシ"), "male", "2001-07-15"),
        {"resourceType": "Location", "id": "ward7e", "name": "7階東病棟"},
        {
            "resourceType": "Encounter",
            "id": "e1",
            "status": "in-progress",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
            "subject": {"reference": "Patient/p1"},
            "period": {"start": "2026-09-20T10:00:00+09:00"},
            "location": [{"location": {"reference": "Location/ward7e"}, "status": "active"}],
        },
        {
            "resourceType": "Encounter",
            "id": "e2",
            "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
            "subject": {"reference": "Patient/p2"},
            "period": {"start": "2026-08-03T09:00:00+09:00", "end": "2026-08-03T09:30:00+09:00"},
        },
        {
            "resourceType": "Condition",
            "id": "c1",
            "clinicalStatus": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                        "code": "active",
                    }
                ]
            },
            "verificationStatus": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                        "code": "confirmed",
                    }
                ]
            },
            "code": {"coding": [{"system": ICD10, "code": "E11.9", "display": "2型糖尿病"}]},
            "subject": {"reference": "Patient/p1"},
            "onsetDateTime": "2020-05-01",
        },
        {
            "resourceType": "Condition",
            "id": "c2",
            "clinicalStatus": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                        "code": "resolved",
                    }
                ]
            },
            "code": {"coding": [{"system": "urn:oid:1.2.392.200119.4.101.6", "code": "J18.9"}]},
            "subject": {"reference": "Patient/p2"},
            "onsetDateTime": "2025-01-10",
        },
        {
            "resourceType": "MedicationRequest",
            "id": "m1",
            "status": "active",
            "intent": "order",
            "medicationCodeableConcept": {
                "coding": [{"system": YJ_OID, "code": "3332001F1020"}],
                "text": "ﾜｰﾌｧﾘﾝ錠1mg",
            },
            "subject": {"reference": "Patient/p1"},
            "authoredOn": "2026-09-01",
        },
        {
            "resourceType": "MedicationRequest",
            "id": "m2",
            "status": "stopped",
            "intent": "order",
            "medicationCodeableConcept": {"coding": [{"system": YJ_URL, "code": "3332001F1020"}]},
            "subject": {"reference": "Patient/p2"},
            "authoredOn": "2025-03-01",
        },
        {
            "resourceType": "AllergyIntolerance",
            "id": "a1",
            "patient": {"reference": "Patient/p2"},
            "code": {
                "coding": [
                    {
                        "system": "http://jpfhir.jp/fhir/core/mhlw/CodeSystem/allergy-substance",
                        "code": "J7F7111190",
                    }
                ],
                "text": "ペニシリン",
            },
        },
    ]
    # HbA1c history for p1: 12 results, half under the URL form and half under the OID form.
    for i in range(12):
        system = JLAC10_URL if i % 2 == 0 else JLAC10_OID
        out.append(
            observation(
                f"o{i:02d}",
                "p1",
                HBA1C,
                system,
                6.0 + i * 0.1,
                "%",
                f"2026-{i % 9 + 1:02d}-15T06:00:00+09:00",
            )
        )
    out.append(
        observation(
            "ow1",
            "p2",
            "9N006000000000001",
            JLAC10_URL,
            52.5,
            "kg",
            "2026-08-03T09:10:00+09:00",
            "vital-signs",
        )
    )
    return out
