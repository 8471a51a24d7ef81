"""A second SS-MIX2 check kit: 5 synthetic patients written with the variants of the shared kit
writer that the dev kit does not use (kana before kanji, kana-only and hiragana names, bare PID-3,
no ADT-00, three MSH-18 spellings, CRLF terminators, OBX without OBX-14, ST/CWE and local-only
results, a preliminary result, an injection order, a cancelled admission, a transfer to another
department, a 2-2-1 prescription update, allergy and diagnosis deletes, extended-storage vitals
without department). Optional: needs ``../shared/eval/ss-mix2/tools``; tests never use it.

    python tools/ssmix2_variant_kit.py /tmp/variants
    python ../shared/eval/ss-mix2/score.py /tmp/variants/storage /tmp/variants/expected.json

Result 2026-11-26: facts=87/87 forbidden=0 duplicates=0.
"""

import pathlib
import shutil
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent / "shared" / "eval" / "ss-mix2" / "tools"))
import build_dev as B  # noqa: E402
from ssmix2_writer import Allergy, Inj, Kit, Person, Problem, Res, Spec, t  # noqa: E402

base = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "ssmix2-variants")
out = base / "storage"
shutil.rmtree(out, ignore_errors=True)
kit = Kit(out, "variants", "variant kit")
kit.charsets = [
    ("~ISO IR87", "ISO 2022-1994"),
    ("~ISOIR87", "ISO2022-1994"),
    ("ISO IR87", "ISO 2022-1994"),
]
E = kit.exp
DOC = ("D7001", "青木", "修")
DOC2 = ("D7002", "松本", "彩")

# V01: kana first, only kana given for an update; admit via A14? transfer with dept change; CRLF lab
p = Person(
    "9100000001",
    ("青山", "健"),
    ("アオヤマ", "ケン"),
    "M",
    "19600101",
    "100-0001",
    "東京都千代田区千代田１−１",
    "03-1111-2222",
    kana_first=True,
)
kit.adt00(p, t("2026-01-05 09:00:00.000"), insurance=False)
stay = kit.admit(p, t("2026-01-06 10:00"), "14", DOC, "7A^701^1", "V9100001")
kit.transfer(p, stay, t("2026-01-08 12:00"), "8B^802^2", new_dept="04")
kit.lab(
    p,
    "000000009100001",
    t("2026-01-07 06:00"),
    t("2026-01-07 08:00:00.000"),
    "14",
    DOC,
    [Spec(B.SERUM, B.CHEM, [B.CRE(0.95), B.NA(137), B.K(3.4, "L")])],
    inpatient=True,
    ward="7A^701^1",
    visit="V9100001",
    eol="\r\n",
)
kit.lab(
    p,
    "000000009100002",
    t("2026-01-09 06:00"),
    t("2026-01-09 08:00:00.000"),
    "04",
    DOC,
    [
        Spec(
            B.SERUM,
            B.CHEM,
            [
                B.ALB(3.9, "L", st="P"),
                Res(None, "尿蛋白定性", "1+", None, "-", "A", vtype="ST", local=("U001", "尿蛋白")),
            ],
        )
    ],
    inpatient=True,
    ward="8B^802^2",
    visit="V9100001",
    obx_time=False,
)
kit.discharge(p, stay, t("2026-01-12 10:00"))

# V02: kana only person (no kanji), pid3 bare, hiragana? ; injection order; problems with resolved
p = Person("9100000002", None, ("ニシ", "アキラ"), "F", "19990909", pid3_bare=True)
kit.adt00(p, t("2026-02-01 09:00:00.000"))
stay = kit.admit(p, t("2026-02-02 15:00"), "20", DOC2, "5A^510^3", "V9100002")
kit.injection(
    p,
    "000000009100010",
    t("2026-02-02 16:00:00"),
    t("2026-02-02 16:01:00.000"),
    "20",
    DOC2,
    [
        Inj(
            [("620007329", "ソルデム３Ａ輸液５００ｍＬ", "HOT9", 500, ("ML", "ミリリットル"), "B")],
            500,
            t("2026-02-02 17:00"),
            t("2026-02-03 05:00"),
            rate="42",
        )
    ],
    ward="5A^510^3",
    visit="V9100002",
)
kit.problems(
    p,
    t("2026-02-02 16:30:00.000"),
    [
        Problem("29910001", "肺炎", "J189", "20260201"),
        Problem("29910002", "脱水症", "E86", "20260201", resolved="20260205"),
    ],
    DOC2,
    "20",
)
kit.discharge(p, stay, t("2026-02-09 11:00"))

# V03: cancelled admission then real one; allergies update with D action; three-step update (2,2,1)
p = Person("9100000003", ("川村", "さくら"), ("かわむら", "さくら"), "F", "19850315", "", "", "")
kit.adt00(p, t("2026-03-01 09:00:00.000"))
s1 = kit.admit(p, t("2026-03-02 10:00"), "19", DOC, "2A^201^1", "V9100003", flag=0, record=False)
kit.cancel_admission(p, s1, t("2026-03-02 10:30:00.000"))
s2 = kit.admit(p, t("2026-03-03 09:00"), "19", DOC, "2A^202^1", "V9100004")
kit.allergies(
    p,
    t("2026-03-03 09:10:00.000"),
    [
        Allergy("DA", "110626901", "パンスポリンＴ錠１００", "HOT9"),
        Allergy("FA", "5A1002411023006", "ソバ", "JC10", "SV", "アナフィラキシー"),
    ],
    flag=2,
    record=False,
)
kit.allergies(
    p,
    t("2026-03-04 09:10:00.000"),
    [
        Allergy("DA", "110626901", "パンスポリンＴ錠１００", "HOT9", action="D"),
        Allergy("FA", "5A1002411023006", "ソバ", "JC10", "SV", "アナフィラキシー", action="U"),
    ],
)
old = B.rx(B.LOXONIN, 1, B.TAB, B.U3, 3, 3)
mid = B.rx(B.LOXONIN, 1, B.TAB, B.U2, 2, 3)
new = B.rx(B.LOXONIN, 2, B.TAB, B.U2, 2, 5)


def rx_version(hour: int, drug: object, **kw: object) -> str:
    """One version of the same prescription record (order 000000009100020)."""
    return kit.prescription(  # type: ignore[misc]
        p, "000000009100020", t(f"2026-03-03 {hour}:00:00"), t(f"2026-03-03 {hour}:01:00.000"),
        "19", DOC, [drug], inpatient=True, ward="2A^202^1", visit="V9100004", **kw,
    )  # fmt: skip


pa = rx_version(10, old, flag=2, record=False)
pb = rx_version(11, mid, flag=2, record=False, control="XO")
rx_version(12, new, control="XO", rxe32=True)
E.forbid(
    p.id,
    "medication_requests",
    {"codes": [old.code], "dose": {"value": 1.0, "units": ["TAB", "錠"]}, "source": pa},
)
kit.discharge(p, s2, t("2026-03-08 10:00"))

# V04: no ADT-00 (Patient from message PIDs); outpatient visits, CWE result, local-only code; undotted MSH-7
p = Person("9100000004", ("森田", "一"), ("モリタ", "ハジメ"), "M", "19700707")
kit.visit(p, t("2026-04-01 09:00"), "01", DOC, "V9100005")
kit.lab(
    p,
    "000000009100030",
    t("2026-04-01 09:10"),
    t("2026-04-01 10:00:00.000"),
    "01",
    DOC,
    [
        Spec(
            B.SERUM,
            B.CHEM,
            [
                B.AST(31, "H"),
                Res(
                    None,
                    "ＨＢｓ抗原",
                    "陰性",
                    None,
                    "",
                    "",
                    vtype="CWE",
                    local=("L0900", "ＨＢｓＡｇ"),
                    cwe=("N", "陰性", "99LAB"),
                ),
            ],
        )
    ],
    visit="V9100005",
)
kit.prescription(
    p,
    "000000009100031",
    t("2026-04-01 10:10:00"),
    t("2026-04-01 10:11:00.000"),
    "01",
    DOC,
    [B.rx(B.MUCODYNE, 1, B.TAB, B.U3, 3, 7), B.rx(B.DASEN, 1, B.TAB, B.U3, 3, 7)],
    visit="V9100005",
)
kit.problems(
    p,
    t("2026-04-01 10:30:00.000"),
    [Problem("29910401", "急性気管支炎", "J209", "20260330")],
    DOC,
    "01",
)

# V05: extended storage vitals without department; problem list with DE on resubmission
p = Person("9100000005", ("大野", "智子"), ("オオノ", "トモコ"), "F", "19480229", "", "", "")
kit.adt00(p, t("2026-05-01 09:00:00.000"), inpatient=True)
stay = kit.admit(p, t("2026-05-01 11:00"), "11", DOC2, "6B^603^2", "V9100006")
kit.vitals(
    p,
    "20260502",
    "000000009150001",
    t("2026-05-02 22:00:00.000"),
    None,
    DOC2,
    "6B^603^2",
    [
        (
            t("2026-05-02 08:00"),
            [
                Res("9A751000000000001", "収縮期血圧", 142, "mmHg", "<130", "H"),
                Res("9P100000000000001", "体温", 36.9, "Cel", "35.5-37.5", "", unit_text="℃"),
            ],
        )
    ],
)
kit.problems(
    p,
    t("2026-05-01 12:00:00.000"),
    [
        Problem("29910501", "心不全", "I509", "20260430"),
        Problem("29910502", "貧血", "D649", "20260430"),
    ],
    DOC2,
    "11",
    flag=2,
    record=False,
)
kit.problems(
    p,
    t("2026-05-03 12:00:00.000"),
    [
        Problem("29910501", "心不全", "I509", "20260430", action="UP"),
        Problem("29910502", "貧血", "D649", "20260430", action="DE"),
    ],
    DOC2,
    "11",
)
E.doc["notes"] = ["variants"]
kit.exp.dump(base / "expected.json")
print("ok", sum(1 for f in out.rglob("*") if f.is_file()))
