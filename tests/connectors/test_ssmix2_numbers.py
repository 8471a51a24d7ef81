"""Numbers the store cannot hold (found by differential fuzzing of the converters): a 20-digit
RXE-10 dispense amount passed FHIR validation and then made the store's JSON encoder (64-bit
integers) fail the whole batch. Now the converter leaves such a value out with a warning naming
the field, and validation rejects any resource still carrying one, so the record is quarantined
instead of the batch lost."""

from __future__ import annotations

import shutil
from pathlib import Path

from connectors._sdk.fhir_models import validate_resource
from connectors.ssmix2 import SSMix2Config, SSMix2Connector
from connectors.ssmix2.common import decimal_value
from ehr_bridge.store import open_store
from ehr_bridge.sync.storage import structural_problem, sync_storage

FIXTURE = Path(__file__).parent / "storage" / "dev_subset"
ORDER = "000/030/0000300005/20260615/OMP-01/0000300005_20260615_OMP-01_000000002600623_20260615115602000_05_1"
OTHER = "000/012/0000123402/20260512/OMP-01/0000123402_20260512_OMP-01_000000002600215_20260512083112050_10_1"


def _with_rxe10(data: bytes, value: str) -> bytes:
    segs = data.decode("iso2022_jp").split("\r")
    for i, seg in enumerate(segs):
        if seg.startswith("RXE|"):
            fields = seg.split("|")
            fields[10] = value
            segs[i] = "|".join(fields)
    return "\r".join(segs).encode("iso2022_jp")


def test_huge_dispense_amount_is_left_out_and_the_batch_is_stored(
    db_url: str, tmp_path: Path
) -> None:
    root = tmp_path / "root"
    for rel in (ORDER, OTHER):
        (root / rel).parent.mkdir(parents=True)
        shutil.copy(FIXTURE / rel, root / rel)
    (root / ORDER).write_bytes(_with_rxe10((root / ORDER).read_bytes(), "9" * 20))
    store = open_store(db_url)
    conn = SSMix2Connector(SSMix2Config(root=str(root), facility_code="1312345670"))
    rep = sync_storage(store, conn, scope=str(root))
    assert (rep.converted, rep.quarantined) == (2, 0)
    kinds = rep.as_dict()["warning_kinds"]
    assert any(k.startswith("RXE-10: not a number, or too large to store") for k in kinds), kinds
    requests = list(store.iter_all("MedicationRequest"))
    assert len(requests) >= 2  # both patients' orders stored
    orders = [r for r in requests if any(i["value"] == "000000002600623" for i in r["identifier"])]
    assert orders and all("quantity" not in r.get("dispenseRequest", {}) for r in orders)
    assert all(r["dosageInstruction"][0]["doseAndRate"] for r in orders)  # the rest is kept


def test_decimal_value_refuses_numbers_the_store_cannot_hold() -> None:
    assert decimal_value("9223372036854775807") == 2**63 - 1
    assert decimal_value("9" * 20) is None
    assert decimal_value("-" + "9" * 20) is None
    assert decimal_value("1e400") is None
    assert decimal_value("12.5") == 12.5


def _observation(value: int | float) -> dict:
    return {
        "resourceType": "Observation",
        "id": "o1",
        "status": "final",
        "code": {"text": "x"},
        "valueQuantity": {"value": value, "unit": "mg"},
    }


def test_validation_rejects_unstorable_numbers_with_the_element_named() -> None:
    assert validate_resource(_observation(2**63 - 1)) == []  # caches this shape as valid
    problems = validate_resource(_observation(10**20))  # same shape: must not pass the cache
    assert problems == [
        "Observation.valueQuantity.value: number too large to store (beyond 64-bit integers) "
        "or not finite"
    ]
    assert validate_resource(_observation(float("inf")))
    assert structural_problem(_observation(10**20)) == (
        "Observation.valueQuantity.value: number too large to store (beyond 64-bit integers) "
        "or not finite"
    )
    assert structural_problem(_observation(12)) == ""
