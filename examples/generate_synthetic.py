"""Seeded, deterministic generator of synthetic JP Core FHIR R4 data (fictitious people).

Writes FHIR Bulk Data layout: one ``<Type>.ndjson`` per resource type. Every patient's
resources are drawn from a ``random.Random`` seeded by ``(seed, patient number)`` only, so
output is byte-identical across runs and machines, and any slice of patients can be produced
without the others. Generation streams patient by patient (constant memory), so
``--patients 50000`` (about 1,000,000 resources) works for benchmarks.

    python examples/generate_synthetic.py                       # examples/synthetic, 300 patients
    python examples/generate_synthetic.py --patients 50000 --out /tmp/synth1m

Stdlib only. Codes (JLAC10, ICD-10, YJ) are a small illustrative selection.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

JST = timezone(timedelta(hours=9))
TODAY = date(2025, 3, 31)  # fixed "now": the data must not depend on the clock
NAMESPACE = uuid.UUID("6f1c1a52-3c1e-5b7e-9a55-2b7d0e3f4a10")
DEFAULT_SEED = 20250331
DEFAULT_PATIENTS = 300

HOSPITAL_ID_SYSTEM = "urn:oid:1.2.392.100495.20.3.51.11312345670"
EN_REPR = "http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation"
JLAC10 = "http://medis.or.jp/CodeSystem/master-JLAC10-17digits"
JLAC10_OID = "urn:oid:1.2.392.200119.4.504"
ICD10 = "http://jpfhir.jp/fhir/core/mhlw/CodeSystem/ICD10-2013-full"
YJ = "http://capstandard.jp/iyaku.info/CodeSystem/YJ-code"
UCUM = "http://unitsofmeasure.org"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
INTERP = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
OBS_CAT = "http://terminology.hl7.org/CodeSystem/observation-category"
COND_CLIN = "http://terminology.hl7.org/CodeSystem/condition-clinical"
COND_VER = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
ALLERGY_CLIN = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
ALLERGY_VER = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
ROUTE = "http://jpfhir.jp/fhir/core/CodeSystem/JP_MedicationRouteHL70162"
MED_UNIT = "urn:oid:1.2.392.100495.20.2.101"
PROFILE = "http://jpfhir.jp/fhir/core/StructureDefinition/"

TYPES = (
    "Location",
    "Patient",
    "Encounter",
    "Condition",
    "Observation",
    "MedicationRequest",
    "AllergyIntolerance",
)

# ------------------------------------------------------------------ vocabularies
# (kanji, kana) family and given names; combinations are random, people are fictitious.
FAMILY = [
    ("佐藤", "サトウ"),
    ("鈴木", "スズキ"),
    ("高橋", "タカハシ"),
    ("田中", "タナカ"),
    ("伊藤", "イトウ"),
    ("渡辺", "ワタナベ"),
    ("山本", "ヤマモト"),
    ("中村", "ナカムラ"),
    ("小林", "コバヤシ"),
    ("加藤", "カトウ"),
    ("吉田", "ヨシダ"),
    ("山田", "ヤマダ"),
    ("佐々木", "ササキ"),
    ("山口", "ヤマグチ"),
    ("松本", "マツモト"),
    ("井上", "イノウエ"),
    ("木村", "キムラ"),
    ("林", "ハヤシ"),
    ("斎藤", "サイトウ"),
    ("清水", "シミズ"),
    ("山崎", "ヤマザキ"),
    ("森", "モリ"),
    ("池田", "イケダ"),
    ("橋本", "ハシモト"),
    ("阿部", "アベ"),
    ("石川", "イシカワ"),
    ("山下", "ヤマシタ"),
    ("中島", "ナカジマ"),
    ("石井", "イシイ"),
    ("小川", "オガワ"),
    ("前田", "マエダ"),
    ("岡田", "オカダ"),
    ("長谷川", "ハセガワ"),
    ("藤田", "フジタ"),
    ("後藤", "ゴトウ"),
    ("近藤", "コンドウ"),
    ("村上", "ムラカミ"),
    ("遠藤", "エンドウ"),
    ("青木", "アオキ"),
    ("坂本", "サカモト"),
]
GIVEN_MALE = [
    ("太郎", "タロウ"),
    ("一郎", "イチロウ"),
    ("健一", "ケンイチ"),
    ("誠", "マコト"),
    ("浩", "ヒロシ"),
    ("翔太", "ショウタ"),
    ("大輔", "ダイスケ"),
    ("拓也", "タクヤ"),
    ("隆", "タカシ"),
    ("茂", "シゲル"),
    ("勇", "イサム"),
    ("悠斗", "ユウト"),
    ("蓮", "レン"),
    ("健太", "ケンタ"),
    ("修", "オサム"),
    ("正男", "マサオ"),
]
GIVEN_FEMALE = [
    ("花子", "ハナコ"),
    ("幸子", "サチコ"),
    ("恵子", "ケイコ"),
    ("陽子", "ヨウコ"),
    ("美咲", "ミサキ"),
    ("愛", "アイ"),
    ("由美", "ユミ"),
    ("久美子", "クミコ"),
    ("さくら", "サクラ"),
    ("結衣", "ユイ"),
    ("和子", "カズコ"),
    ("直美", "ナオミ"),
    ("真由美", "マユミ"),
    ("葵", "アオイ"),
    ("智子", "トモコ"),
    ("明美", "アケミ"),
]
# (postal code, prefecture, city, town, phone area code)
PLACES = [
    ("100-0001", "東京都", "千代田区", "千代田", "03"),
    ("160-0022", "東京都", "新宿区", "新宿", "03"),
    ("150-0002", "東京都", "渋谷区", "渋谷", "03"),
    ("180-0004", "東京都", "武蔵野市", "吉祥寺本町", "0422"),
    ("220-0011", "神奈川県", "横浜市西区", "高島", "045"),
    ("210-0007", "神奈川県", "川崎市川崎区", "駅前本町", "044"),
    ("330-0063", "埼玉県", "さいたま市浦和区", "高砂", "048"),
    ("260-0013", "千葉県", "千葉市中央区", "中央", "043"),
    ("530-0001", "大阪府", "大阪市北区", "梅田", "06"),
    ("460-0008", "愛知県", "名古屋市中区", "栄", "052"),
    ("060-0001", "北海道", "札幌市中央区", "北一条西", "011"),
    ("812-0011", "福岡県", "福岡市博多区", "博多駅前", "092"),
]
# (id, name, kind) — kind "ward" for inpatient wards, "clinic" for outpatient departments.
LOCATIONS = [
    ("ward-3e", "3階東病棟", "ward"),
    ("ward-3w", "3階西病棟", "ward"),
    ("ward-4e", "4階東病棟", "ward"),
    ("ward-4w", "4階西病棟", "ward"),
    ("ward-5e", "5階東病棟", "ward"),
    ("ward-icu", "ICU", "ward"),
    ("clinic-im", "内科外来", "clinic"),
    ("clinic-su", "外科外来", "clinic"),
    ("clinic-cv", "循環器内科外来", "clinic"),
    ("clinic-en", "内分泌・代謝内科外来", "clinic"),
]
WARDS = [loc for loc in LOCATIONS if loc[2] == "ward"]
CLINICS = [loc for loc in LOCATIONS if loc[2] == "clinic"]

# JLAC10 (JP-CLINS core lab item set), display, UCUM code, unit text, ref low/high (None = open),
# mean, sd, decimals. Values drawn from a normal distribution; disease makes some drift.
LABS: list[tuple[str, str, str, str, float | None, float | None, float, float, int]] = [
    ("3D046000001906202", "HbA1c(NGSP)", "%", "%", 4.6, 6.2, 6.0, 0.9, 1),
    ("3D010129902227101", "グルコース(血糖)", "mg/dL", "mg/dL", 73, 109, 110, 30, 0),
    ("3B035000002327201", "AST(GOT)", "U/L", "U/L", 13, 30, 26, 12, 0),
    ("3B045000002327201", "ALT(GPT)", "U/L", "U/L", 10, 42, 25, 15, 0),
    ("3B090000002329101", "γ-GTP(GGT)", "U/L", "U/L", 13, 64, 40, 30, 0),
    ("3C015000002327101", "クレアチニン(Cre)", "mg/dL", "mg/dL", 0.46, 1.07, 0.85, 0.3, 2),
    ("3C025000002327101", "尿素窒素(BUN)", "mg/dL", "mg/dL", 8, 20, 15, 5, 1),
    ("3C020000002329101", "尿酸(UA)", "mg/dL", "mg/dL", 2.6, 7.0, 5.5, 1.4, 1),
    ("3F015000002327101", "中性脂肪(TG)", "mg/dL", "mg/dL", 40, 149, 130, 60, 0),
    ("3F070000002327101", "HDL-コレステロール(HDL-C)", "mg/dL", "mg/dL", 40, None, 58, 14, 0),
    ("3F077000002327101", "LDL-コレステロール(LDL-C)", "mg/dL", "mg/dL", 65, 139, 120, 32, 0),
    ("3H010000002326101", "ナトリウム(Na)", "mmol/L", "mmol/L", 138, 145, 140, 2.5, 0),
    ("3H015000002327201", "カリウム(K)", "mmol/L", "mmol/L", 3.6, 4.8, 4.2, 0.45, 1),
    ("3A010000002329101", "総蛋白(TP)", "g/dL", "g/dL", 6.6, 8.1, 7.1, 0.5, 1),
    ("3A015000002329101", "アルブミン", "g/dL", "g/dL", 4.1, 5.1, 4.2, 0.45, 1),
    ("5C070000002306201", "Ｃ反応性蛋白(CRP)", "mg/dL", "mg/dL", None, 0.14, 0.3, 0.8, 2),
    ("2A990000001930952", "血算-白血球数", "10*3/uL", "10^3/μL", 3.3, 8.6, 6.2, 1.8, 1),
    ("2A030000001930901", "血算-ヘモグロビン", "g/dL", "g/dL", 11.6, 16.8, 13.6, 1.6, 1),
    ("2A050000001930901", "血算-血小板数", "10*4/uL", "10^4/μL", 15.8, 34.8, 24.0, 6.0, 1),
]
PANELS = {
    "basic": [2, 3, 4, 5, 6, 11, 12, 16, 17, 18],
    "diabetes": [0, 1, 5, 8, 9, 10],
    "lipid": [8, 9, 10],
    "liver": [2, 3, 4, 13, 14],
    "renal": [5, 6, 7, 11, 12],
    "inflammation": [15, 16],
}

# ICD-10 code, Japanese display, panels it makes likely, drug indices, lab drift {lab: delta}
CONDITIONS: list[tuple[str, str, list[str], list[int], dict[int, float]]] = [
    ("E11.9", "2型糖尿病（合併症なし）", ["diabetes"], [0, 7], {0: 1.8, 1: 50}),
    ("I10", "本態性（原発性＜一次性＞）高血圧（症）", ["renal"], [1, 3], {}),
    ("E78.5", "高脂血症，詳細不明", ["lipid"], [2], {10: 35, 8: 60}),
    ("N18.3", "慢性腎臓病，ステージ3（中等度）", ["renal"], [3], {5: 0.8, 6: 10}),
    ("K21.9", "食道炎を伴わない胃食道逆流症", ["basic"], [4], {}),
    ("J45.9", "喘息，詳細不明", ["inflammation"], [5], {}),
    ("I48.9", "心房細動及び心房粗動，詳細不明", ["basic"], [6], {}),
    ("M81.9", "骨粗しょう症＜オステオポローシス＞，詳細不明", ["basic"], [], {}),
    ("J18.9", "肺炎，詳細不明", ["inflammation"], [8], {15: 6.0, 16: 5.0}),
    ("E79.0", "炎症性関節炎及び痛風結節性疾患の徴候のない高尿酸血症", ["renal"], [9], {7: 2.5}),
    ("K70.3", "アルコール性肝硬変", ["liver"], [], {2: 30, 3: 20, 4: 120, 14: -0.8}),
    ("I63.9", "脳梗塞，詳細不明", ["basic", "lipid"], [2, 6], {}),
]

# YJ code, name, dose unit (code, text), dose, timing text, frequency/day, when
DRUGS: list[tuple[str, str, str, str, float, str, int, list[str]]] = [
    (
        "3962002F1024",
        "メトホルミン塩酸塩錠２５０ｍｇ",
        "TAB",
        "錠",
        2,
        "1日2回朝夕食後",
        2,
        ["CM", "CV"],
    ),
    ("2171022F1047", "アムロジピン錠５ｍｇ", "TAB", "錠", 1, "1日1回朝食後", 1, ["CM"]),
    ("2189017F1038", "アトルバスタチン錠１０ｍｇ", "TAB", "錠", 1, "1日1回夕食後", 1, ["CV"]),
    ("2149040F1034", "カンデサルタン錠８ｍｇ", "TAB", "錠", 1, "1日1回朝食後", 1, ["CM"]),
    (
        "2329028F1035",
        "ランソプラゾール腸溶カプセル１５ｍｇ",
        "CAP",
        "カプセル",
        1,
        "1日1回朝食後",
        1,
        ["CM"],
    ),
    ("4490025F1027", "モンテルカスト錠１０ｍｇ", "TAB", "錠", 1, "1日1回就寝前", 1, ["HS"]),
    ("3339001F1025", "ワルファリンカリウム錠１ｍｇ", "TAB", "錠", 3, "1日1回朝食後", 1, ["CM"]),
    ("3969010F1027", "シタグリプチン錠５０ｍｇ", "TAB", "錠", 1, "1日1回朝食後", 1, ["CM"]),
    (
        "6132016F1030",
        "セフカペンピボキシル塩酸塩錠１００ｍｇ",
        "TAB",
        "錠",
        1,
        "1日3回毎食後",
        3,
        ["CM", "CD", "CV"],
    ),
    ("3949003F1033", "フェブキソスタット錠２０ｍｇ", "TAB", "錠", 1, "1日1回朝食後", 1, ["CM"]),
]
# substance text, category, optional YJ coding (drug allergies), reaction text
ALLERGENS: list[tuple[str, str, tuple[str, str] | None, str]] = [
    ("卵", "food", None, "蕁麻疹"),
    ("そば", "food", None, "アナフィラキシー"),
    ("えび", "food", None, "蕁麻疹"),
    ("小麦", "food", None, "喘鳴"),
    ("スギ花粉", "environment", None, "鼻炎"),
    (
        "ペニシリン系抗菌薬",
        "medication",
        ("6131001C1045", "アモキシシリンカプセル２５０ｍｇ"),
        "薬疹",
    ),
    (
        "ロキソプロフェンナトリウム",
        "medication",
        ("1149019F1560", "ロキソプロフェンＮａ錠６０ｍｇ"),
        "喘息発作",
    ),
]


# ------------------------------------------------------------------ helpers
def rid(*parts: object) -> str:
    """Deterministic resource id (UUIDv5 of the natural key)."""
    return str(uuid.uuid5(NAMESPACE, "/".join(str(p) for p in parts)))


def hospital_number(n: int) -> str:
    """Unique 8-digit patient number for patient ``n`` (a fixed permutation, not sequential)."""
    return f"{10_000_000 + (n * 7_919_113 + 1_234_567) % 90_000_000:08d}"


def jst(dt: datetime) -> str:
    return dt.replace(tzinfo=JST).isoformat()


def meta(profile: str) -> dict[str, Any]:
    return {"profile": [PROFILE + profile]}


def coding(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    c: dict[str, Any] = {"system": system, "code": code}
    if display:
        c["display"] = display
    return c


def cc(
    system: str, code: str, display: str | None = None, text: str | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {"coding": [coding(system, code, display)]}
    if text:
        out["text"] = text
    return out


def ref(rtype: str, ident: str, display: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"reference": f"{rtype}/{ident}"}
    if display:
        out["display"] = display
    return out


def rand_datetime(rng: random.Random, start: date, end: date, hours: tuple[int, int]) -> datetime:
    days = max((end - start).days, 0)
    d = start + timedelta(days=rng.randint(0, days))
    return datetime(d.year, d.month, d.day, rng.randint(*hours), rng.choice((0, 15, 30, 45)))


# ------------------------------------------------------------------ resources
def locations() -> list[dict[str, Any]]:
    out = []
    for lid, name, kind in LOCATIONS:
        out.append(
            {
                "resourceType": "Location",
                "id": lid,
                "meta": {"profile": ["http://hl7.org/fhir/StructureDefinition/Location"]},
                "status": "active",
                "name": name,
                "mode": "instance",
                "physicalType": cc(
                    "http://terminology.hl7.org/CodeSystem/location-physical-type",
                    "wa" if kind == "ward" else "ro",
                    "Ward" if kind == "ward" else "Room",
                ),
            }
        )
    return out


def patient(rng: random.Random, n: int) -> tuple[dict[str, Any], date]:
    gender = rng.choice(("male", "female"))
    fam_k, fam_r = rng.choice(FAMILY)
    giv_k, giv_r = rng.choice(GIVEN_MALE if gender == "male" else GIVEN_FEMALE)
    age_days = rng.randint(365 * 1, 365 * 95)
    # skew toward older patients, as in a hospital
    if rng.random() < 0.6:
        age_days = rng.randint(365 * 50, 365 * 92)
    birth = TODAY - timedelta(days=age_days)
    postal, pref, city, town, area = rng.choice(PLACES)
    line = f"{town}{rng.randint(1, 5)}丁目{rng.randint(1, 30)}番{rng.randint(1, 20)}号"
    phone = f"{area}-{rng.randint(1000, 9999) if len(area) <= 3 else rng.randint(10, 99)}-{rng.randint(1000, 9999)}"
    pid = rid("Patient", n)
    res = {
        "resourceType": "Patient",
        "id": pid,
        "meta": meta("JP_Patient"),
        "identifier": [{"system": HOSPITAL_ID_SYSTEM, "value": hospital_number(n)}],
        "active": True,
        "name": [
            {
                "extension": [{"url": EN_REPR, "valueCode": "IDE"}],
                "use": "official",
                "text": f"{fam_k} {giv_k}",
                "family": fam_k,
                "given": [giv_k],
            },
            {
                "extension": [{"url": EN_REPR, "valueCode": "SYL"}],
                "use": "official",
                "text": f"{fam_r} {giv_r}",
                "family": fam_r,
                "given": [giv_r],
            },
        ],
        "telecom": [{"system": "phone", "value": phone, "use": "home"}],
        "gender": gender,
        "birthDate": birth.isoformat(),
        "address": [
            {
                "use": "home",
                "text": f"{pref}{city}{line}",
                "line": [line],
                "city": city,
                "state": pref,
                "postalCode": postal,
                "country": "JP",
            }
        ],
    }
    return res, birth


def encounter(
    rng: random.Random, pid: str, n: int, k: int, start: datetime, inpatient: bool
) -> dict[str, Any]:
    if inpatient:
        lid, lname, _ = rng.choice(WARDS)
        end = start + timedelta(days=rng.randint(2, 21), hours=rng.randint(-3, 3))
        cls = coding(ACT_CODE, "IMP", "inpatient encounter")
    else:
        lid, lname, _ = rng.choice(CLINICS)
        end = start + timedelta(minutes=rng.choice((15, 20, 30, 45, 60)))
        cls = coding(ACT_CODE, "AMB", "ambulatory")
    ongoing = inpatient and end.date() > TODAY
    period: dict[str, str] = {"start": jst(start)}
    if not ongoing:
        period["end"] = jst(end)
    return {
        "resourceType": "Encounter",
        "id": rid("Encounter", n, k),
        "meta": meta("JP_Encounter"),
        "status": "in-progress" if ongoing else "finished",
        "class": cls,
        "subject": ref("Patient", pid),
        "period": period,
        "location": [
            {
                "location": ref("Location", lid, lname),
                "status": "active" if ongoing else "completed",
            }
        ],
    }


def condition(
    rng: random.Random,
    pid: str,
    n: int,
    k: int,
    cond: tuple[Any, ...],
    onset: datetime,
    enc_id: str,
) -> dict[str, Any]:
    code, display = cond[0], cond[1]
    resolved = code in ("J18.9",) and rng.random() < 0.7
    status = "resolved" if resolved else rng.choice(("active",) * 8 + ("inactive", "remission"))
    res: dict[str, Any] = {
        "resourceType": "Condition",
        "id": rid("Condition", n, k),
        "meta": meta("JP_Condition"),
        "clinicalStatus": cc(COND_CLIN, status),
        "verificationStatus": cc(COND_VER, "confirmed" if rng.random() < 0.9 else "provisional"),
        "category": [
            cc(
                "http://terminology.hl7.org/CodeSystem/condition-category",
                "encounter-diagnosis",
                "Encounter Diagnosis",
            )
        ],
        "code": cc(ICD10, code, display, display),
        "subject": ref("Patient", pid),
        "encounter": ref("Encounter", enc_id),
        "onsetDateTime": jst(onset),
        "recordedDate": jst(onset + timedelta(hours=rng.randint(0, 48))),
    }
    if status == "resolved":
        res["abatementDateTime"] = jst(onset + timedelta(days=rng.randint(7, 30)))
    return res


def observation(
    rng: random.Random,
    pid: str,
    n: int,
    k: int,
    lab_index: int,
    drift: float,
    when: datetime,
    enc_id: str,
) -> dict[str, Any]:
    code, name, ucum, unit, low, high, mean, sd, decimals = LABS[lab_index]
    value = max(rng.gauss(mean + drift, sd), (low or mean * 0.2) * 0.3)
    value = round(value, decimals) if decimals else float(round(value))
    rr: dict[str, Any] = {}
    if low is not None:
        rr["low"] = {"value": low, "unit": unit, "system": UCUM, "code": ucum}
    if high is not None:
        rr["high"] = {"value": high, "unit": unit, "system": UCUM, "code": ucum}
    if high is not None and value > high:
        interp = ("H", "High")
    elif low is not None and value < low:
        interp = ("L", "Low")
    else:
        interp = ("N", "Normal")
    system = JLAC10_OID if rng.random() < 0.2 else JLAC10  # some senders still use the OID
    qv: float | int = int(value) if decimals == 0 else value
    return {
        "resourceType": "Observation",
        "id": rid("Observation", n, k),
        "meta": meta("JP_Observation_LabResult"),
        "status": "final",
        "category": [cc(OBS_CAT, "laboratory", "Laboratory")],
        "code": cc(system, code, name, name),
        "subject": ref("Patient", pid),
        "encounter": ref("Encounter", enc_id),
        "effectiveDateTime": jst(when),
        "issued": jst(when + timedelta(hours=1, minutes=rng.randint(0, 59))),
        "valueQuantity": {"value": qv, "unit": unit, "system": UCUM, "code": ucum},
        "interpretation": [cc(INTERP, interp[0], interp[1])],
        "referenceRange": [rr],
    }


def medication_request(
    rng: random.Random, pid: str, n: int, k: int, drug_index: int, when: datetime, enc_id: str
) -> dict[str, Any]:
    yj, name, unit_code, unit, dose, timing, per_day, whens = DRUGS[drug_index]
    days = rng.choice((7, 14, 28, 28, 56, 90))
    active = (TODAY - when.date()).days < days + 30 and rng.random() < 0.8
    status = "active" if active else rng.choice(("completed", "completed", "stopped"))
    return {
        "resourceType": "MedicationRequest",
        "id": rid("MedicationRequest", n, k),
        "meta": meta("JP_MedicationRequest"),
        "identifier": [
            {
                "system": "urn:oid:1.2.392.100495.20.3.81.11312345670",
                "value": f"{hospital_number(n)}-{k:03d}",
            }
        ],
        "status": status,
        "intent": "order",
        "medicationCodeableConcept": cc(YJ, yj, name, name),
        "subject": ref("Patient", pid),
        "encounter": ref("Encounter", enc_id),
        "authoredOn": jst(when),
        "dosageInstruction": [
            {
                "text": timing,
                "timing": {
                    "repeat": {"frequency": per_day, "period": 1, "periodUnit": "d", "when": whens}
                },
                "route": cc(ROUTE, "PO", "口"),
                "doseAndRate": [
                    {
                        "doseQuantity": {
                            "value": dose,
                            "unit": unit,
                            "system": MED_UNIT,
                            "code": unit_code,
                        }
                    }
                ],
            }
        ],
        "dispenseRequest": {
            "quantity": {
                "value": dose * per_day * days,
                "unit": unit,
                "system": MED_UNIT,
                "code": unit_code,
            },
            "expectedSupplyDuration": {"value": days, "unit": "日", "system": UCUM, "code": "d"},
        },
    }


def allergy(rng: random.Random, pid: str, n: int, k: int, recorded: datetime) -> dict[str, Any]:
    text, category, yj, reaction = rng.choice(ALLERGENS)
    code: dict[str, Any] = {"text": text}
    if yj:
        code["coding"] = [coding(YJ, yj[0], yj[1])]
    return {
        "resourceType": "AllergyIntolerance",
        "id": rid("AllergyIntolerance", n, k),
        "meta": meta("JP_AllergyIntolerance"),
        "clinicalStatus": cc(ALLERGY_CLIN, "active"),
        "verificationStatus": cc(
            ALLERGY_VER, rng.choice(("confirmed", "confirmed", "unconfirmed"))
        ),
        "type": "allergy",
        "category": [category],
        "criticality": "high"
        if reaction == "アナフィラキシー"
        else rng.choice(("low", "unable-to-assess")),
        "code": code,
        "patient": ref("Patient", pid),
        "recordedDate": jst(recorded),
        "reaction": [{"manifestation": [{"text": reaction}]}],
    }


def patient_bundle(seed: int, n: int) -> Iterator[dict[str, Any]]:
    """All resources of patient ``n`` (Patient first), from its own seeded RNG."""
    rng = random.Random(f"{seed}:{n}")
    pat, birth = patient(rng, n)
    pid = pat["id"]
    yield pat
    first = max(birth + timedelta(days=365), TODAY - timedelta(days=3 * 365))
    conds = rng.sample(CONDITIONS, k=rng.choice((1, 1, 2, 2, 3)))
    n_enc = rng.randint(1, 4)
    starts = sorted(
        rand_datetime(rng, first, TODAY - timedelta(days=1), (8, 17)) for _ in range(n_enc)
    )
    drift: dict[int, float] = {}
    for c in conds:
        for lab, delta in c[4].items():
            drift[lab] = drift.get(lab, 0.0) + delta
    obs_k = med_k = 0
    for e, start in enumerate(starts):
        inpatient = rng.random() < 0.2
        enc = encounter(rng, pid, n, e, start, inpatient)
        yield enc
        if e < len(conds):
            yield condition(rng, pid, n, e, conds[e], start, enc["id"])
        # labs: the panels the patient's conditions make likely, else a basic one
        panel_names = {p for c in conds for p in c[2]} if rng.random() < 0.7 else {"basic"}
        panel_name = rng.choice(sorted(panel_names))
        drawn = start - timedelta(minutes=rng.randint(20, 90))
        labs = PANELS[panel_name] if rng.random() < 0.75 else []
        for lab in labs:
            if rng.random() < 0.8:
                yield observation(rng, pid, n, obs_k, lab, drift.get(lab, 0.0), drawn, enc["id"])
                obs_k += 1
        # prescriptions for the conditions known so far
        for c in conds[: e + 1]:
            for drug in c[3]:
                if rng.random() < 0.45:
                    yield medication_request(
                        rng, pid, n, med_k, drug, start + timedelta(minutes=30), enc["id"]
                    )
                    med_k += 1
    if rng.random() < 0.25:
        for a in range(rng.choice((1, 1, 2))):
            yield allergy(rng, pid, n, a, starts[0])


def dumps(resource: dict[str, Any]) -> str:
    return json.dumps(resource, ensure_ascii=False, separators=(",", ":"))


def generate(out: Path, patients: int, seed: int = DEFAULT_SEED, start: int = 0) -> dict[str, int]:
    """Write ``<Type>.ndjson`` files for patients ``start .. start+patients-1``; returns counts."""
    out.mkdir(parents=True, exist_ok=True)
    counts = dict.fromkeys(TYPES, 0)
    files = {t: (out / f"{t}.ndjson").open("w", encoding="utf-8", newline="\n") for t in TYPES}
    try:
        for loc in locations():
            files["Location"].write(dumps(loc) + "\n")
            counts["Location"] += 1
        for n in range(start, start + patients):
            for res in patient_bundle(seed, n):
                files[res["resourceType"]].write(dumps(res) + "\n")
                counts[res["resourceType"]] += 1
    finally:
        for fh in files.values():
            fh.close()
    return counts


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--patients",
        type=int,
        default=DEFAULT_PATIENTS,
        help="number of patients (~20 resources each)",
    )
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "synthetic")
    ap.add_argument("--start", type=int, default=0, help="first patient number (for sharding)")
    args = ap.parse_args(argv)
    counts = generate(args.out, args.patients, args.seed, args.start)
    for t, c in counts.items():
        print(f"{t}\t{c}", file=sys.stderr)
    print(f"total\t{sum(counts.values())}\t-> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
