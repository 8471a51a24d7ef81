"""Mutated copies of the real sample messages (connectors._sdk.fuzz): every one is either
quarantined with a RecordError or converts to valid, storable resources."""

from pathlib import Path

from connectors._sdk.fuzz import robustness_test
from connectors.ssmix2 import SSMix2Config, SSMix2Connector

CASES = Path(__file__).parent / "cases" / "ssmix2"

test_robust = robustness_test(
    lambda: SSMix2Connector(SSMix2Config(root=".", facility_code="1312345670")), CASES, mutants=40
)
