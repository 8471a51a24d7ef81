"""Golden cases of the SS-MIX2 converter: real public samples (see cases/ssmix2/SOURCE.md)."""

from pathlib import Path

from connectors._sdk.testing import golden_test
from connectors.ssmix2 import SSMix2Config, SSMix2Connector

CASES = Path(__file__).parent / "cases" / "ssmix2"
# Segments present in the samples that no FHIR resource of ours carries yet (reported, not lost).
ALLOWED_UNCONSUMED = {"IN1", "AL1", "OBX", "TQ1", "NK1", "DB1", "ZPR", "ZI1", "ORC", "RXA", "RXR",
                      "OBR", "ODS", "ODT", "IPC", "ZE1", "ZE2", "SPM", "NTE", "TXA", "RXE"}  # fmt: skip

test_golden = golden_test(
    lambda: SSMix2Connector(SSMix2Config(root=".", facility_code="1312345670")),
    CASES,
    ALLOWED_UNCONSUMED,
    # an administration's / implementation notice's order is its own record
    cross_record_refs={"MedicationRequest", "ServiceRequest"},
)
