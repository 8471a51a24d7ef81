"""The robustness harness (connectors._sdk.fuzz) finds converter crashes and invalid output."""

from __future__ import annotations

import random
from pathlib import Path

from connectors._sdk.errors import RecordError
from connectors._sdk.fuzz import hl7v2_mutant, robustness_problems
from connectors._sdk.records import Conversion, SourceRecord

MESSAGE = "MSH|^~\\&|HIS|S|GW|R|20260101||ADT^A08|1|P|2.5\rPID|1||123^^^^PI||山田^太郎\r"


class _Naive:
    """Reads PID-5's family name, and PID-1 as a number without checking it."""

    def convert(self, record: SourceRecord) -> Conversion:
        text = record.payload.decode("iso2022_jp")
        segs = {s[:3]: s.split("|") for s in text.split("\r") if s}
        if "PID" not in segs:
            raise RecordError("missing PID segment", "PID")
        family = segs["PID"][5].split("^")[0]
        set_id = int(segs["PID"][1])  # ValueError once a mutant puts text there
        return Conversion(resources=[{"resourceType": "Patient", "id": f"p{set_id}",
                                      "name": [{"family": family}]}])  # fmt: skip


def test_mutants_are_deterministic_and_change_the_message() -> None:
    data = MESSAGE.encode("iso2022_jp")
    a = [hl7v2_mutant(data, random.Random(3)) for _ in range(2)]
    assert a[0] == a[1] and a[0] is not None and a[0] != data
    assert a[0].decode("iso2022_jp").startswith("MSH|^~\\&|HIS|")  # MSH is never touched
    assert hl7v2_mutant(b"\x89PNG not HL7", random.Random(0)) is None


def test_harness_reports_crashes_and_invalid_resources(tmp_path: Path) -> None:
    case = tmp_path / "ADT-00__x.hl7"
    case.write_bytes(MESSAGE.encode("iso2022_jp"))
    problems = robustness_problems(_Naive(), case, mutants=60)
    assert any("ValueError at" in p and "test_fuzz.py" in p for p in problems), problems
    # an empty family name ("" from an emptied component) is invalid FHIR: reported too
    assert any("invalid Patient: Patient.name" in p for p in problems), problems
