"""Write ../agreement_questions.jsonl: questions over this fixture covering every plan shape.

Patients are picked deterministically from the fixture data (first patient by identifier that
has the records a template needs), so the answers are non-trivial. Run from the repo root:
``python tests/nl2query/agreement_data/make_questions.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).parent


def load(rtype: str) -> list[dict]:
    return [json.loads(x) for x in (HERE / f"{rtype}.ndjson").open(encoding="utf-8") if x.strip()]


def main() -> None:
    pats = sorted(load("Patient"), key=lambda p: p["identifier"][0]["value"])
    num = {p["id"]: p["identifier"][0]["value"] for p in pats}

    def kanji(p: dict) -> str:
        for n in p["name"]:
            if any(e.get("valueCode") == "IDE" for e in n.get("extension", [])):
                return str(n["text"])
        return str(p["name"][0]["text"])

    def jdate(d: str) -> str:
        y, m, dd = d.split("-")
        return f"{int(y)}年{int(m)}月{int(dd)}日"

    def named(pid: str) -> str:
        p = next(x for x in pats if x["id"] == pid)
        return f"{kanji(p)}さん（{jdate(p['birthDate'])}生）"

    def ref(r: dict) -> str:
        return str((r.get("subject") or r.get("patient"))["reference"].split("/")[1])

    obs, meds, encs = load("Observation"), load("MedicationRequest"), load("Encounter")

    def with_obs(word: str) -> str:
        """The patient with the most such results this year (ties: lowest number)."""
        per: dict[str, int] = {}
        for o in obs:
            if word in json.dumps(o["code"], ensure_ascii=False):
                per[ref(o)] = per.get(ref(o), 0) + (o.get("effectiveDateTime", "") >= "2026")
        return min(per, key=lambda i: (-per[i], num[i]))

    def with_med(word: str, k: int = 0, status: str = "active") -> str:
        ids = sorted(
            {
                ref(m)
                for m in meds
                if m["status"] == status
                and word in json.dumps(m["medicationCodeableConcept"], ensure_ascii=False)
            },
            key=lambda i: num[i],
        )
        return ids[min(k, len(ids) - 1)]

    inpatient = sorted(
        {ref(e) for e in encs if e["status"] == "in-progress" and e["class"]["code"] == "IMP"},
        key=lambda i: num[i],
    )
    admitted = sorted({ref(e) for e in encs if e["class"]["code"] == "IMP"}, key=lambda i: num[i])
    current = [e for e in encs if e["status"] == "in-progress" and e["class"]["code"] == "IMP"]
    wards = sorted(
        loc["location"]["display"]
        for e in current
        for loc in e.get("location", [])
        if loc.get("status") == "active"
    )
    depts = sorted(e["serviceType"]["text"] for e in current if e.get("serviceType"))
    a1c, cre, k_, crp = (with_obs(w) for w in ("HbA1c", "クレアチニン", "カリウム", "CRP"))
    bp = with_obs("85354-9")
    w = with_obs("体重")
    metf = with_med("3962002")
    warf = with_med("3332001", status="stopped")
    n = num
    qs = [
        # patient lookup / demographics
        f"{named(pats[0]['id'])}の患者番号は？",
        f"患者番号{n[pats[1]['id']]}の患者の年齢を教えて",
        f"患者番号{n[pats[2]['id']]}は男性ですか？",
        f"ID{n[pats[3]['id']]}の患者の年齢を教えて",
        # latest / last N / with date, components, name+birthdate
        f"患者番号{n[a1c]}の最新のHbA1cは？",
        f"患者番号{n[a1c]}の直近3回のHbA1cを新しい順に教えて。",
        f"ID{n[cre]}の患者の最新のeGFRとその測定日は？",
        f"{n[bp]}番の患者さんの最新上の血圧は？",
        f"{named(bp)}の最新下の血圧は？",
        f"{named(k_)}の直近3回のカリウムを新しい順に教えて。",
        f"{named(crp)}について、一番最近測ったCRPの値を教えて。",
        f"{named(w)}の一番最近の体重は何kg？",
        # aggregates in windows
        f"患者番号{n[cre]}の今年の血清クレアチニンの平均値を小数点以下1桁で教えて。",
        f"患者番号{n[cre]}の今年の血清クレアチニンの最高値は？",
        f"{named(crp)}の今年で一番低かったCRPはいくつ？",
        f"{n[crp]}番の患者さんの昨年度のCRPの最高値は？",
        f"ID{n[k_]}の患者は今年に入ってからカリウムを何回測定している？",
        f"{named(w)}の令和7年度で一番低かった体重はいくつ？",
        # change
        f"ID{n[a1c]}の患者のHbA1cについて、最新値と前回値の差（最新−前回）はいくつ？",
        f"{n[cre]}番の患者さんのクレアチニンは前回より上がっている？",
        f"患者番号{n[w]}の体重について、最新値と前回値の差（最新−前回）はいくつ？",
        # medications
        f"ID{n[metf]}の患者のメトホルミンの1日量は何mg？",
        f"{n[metf]}番の患者さんのメトホルミンの1回量は何mg？",
        f"ID{n[metf]}の患者に現在処方されている薬は何種類？",
        f"{n[warf]}番の患者さんはワーファリンを今も服用している？",
        f"{named(warf)}にエリキュースが処方されたことはある？",
        f"{named(metf)}はメトホルミンを今も服用している？",
        # existence
        f"患者番号{n[pats[4]['id']]}にペニシリンアレルギーの記録はある？",
        f"ID{n[cre]}の患者は過去に慢性腎臓病と診断されたことがある？",
        f"ID{n[a1c]}の患者は今年に入ってからLDLコレステロールの検査を受けている？",
        f"ID{n[inpatient[0] if inpatient else admitted[0]]}の患者は現在入院中？",
        # encounters
        f"患者番号{n[admitted[0]]}は過去1年間に何回入院した？",
        f"患者番号{n[admitted[-1]]}は令和6年度に何回入院した？",
        f"患者番号{n[inpatient[0] if inpatient else admitted[0]]}は今日で入院何日目？（入院日を1日目として）",
        # cohorts
        "2型糖尿病と診断されている患者数を教えて。",
        "65歳以上の男性で糖尿病の患者は何人？",
        "50歳未満の慢性腎臓病患者を一覧にして。",
        "高血圧症と2型糖尿病の両方がある患者を一覧で出して。",
        "心房細動の患者のうち、現在抗凝固薬が処方されていない人は何人？",
        "高血圧症の患者のうち、現在アムロジピンが処方されていない人は何人？",
        "DM患者で直近のA1cが7以上の人は？",
        "直近のeGFRが60未満の患者は何人？",
        "直近のLDLコレステロールが140mg/dL以上の患者は何人？",
        "ワーファリンを服用中で、直近のPT-INRが2以上の患者は？",
        "DOAC内服中の患者は何人？",
        "現在インスリン製剤を処方されている患者を一覧にして。",
        "75歳以上でメトホルミンを処方中の患者は何人？",
        "令和7年度にLDLコレステロールを測定した患者は何人？",
        "直近3か月の間にHbA1cを測定した患者は何人？",
        "先月にロスバスタチンが処方された患者は何人？",
        "今年度にメトホルミンを新しく開始した患者は何人？（それ以前に処方歴のない人）",
        "過去1年間に新たに2型糖尿病と診断された患者は何人？",
        "ペニシリンアレルギーが登録されている患者を一覧にして。",
        "卵にアレルギーのある患者は誰？",
        "今年の入院患者数（その期間に入院した人数）は？",
        "昨年度に大腿骨頸部骨折で入院した患者は何人？",
        "現在入院中の患者は何人？",
        f"いま{wards[0]}にいる入院患者は誰？",
        f"{depts[0]}に現在入院している患者は何人？",
        "慢性腎臓病の患者のうち、直近半年の間にクレアチニンを一度も測っていない人は何人？",
        "直近のHbA1cが7%以上で、SGLT2阻害薬が処方されていない2型糖尿病患者を一覧にして。",
    ]
    out = HERE.parent / "agreement_questions.jsonl"
    with out.open("w", encoding="utf-8") as f:
        for i, q in enumerate(qs, 1):
            f.write(json.dumps({"id": f"agree-{i:03d}", "question": q}, ensure_ascii=False) + "\n")
    print(f"{len(qs)} questions -> {out}")


if __name__ == "__main__":
    main()
