"""Observations that arrive with only a local lab code get the JLAC codes of the mapped master."""

from __future__ import annotations

from typing import Any

from connectors._sdk.records import Conversion, SourceRecord
from ehr_bridge.jlac import service
from ehr_bridge.store import open_store
from ehr_bridge.sync.loop import SyncLoop
from mappings.code_systems import JLAC10
from mappings.jlac.mapper import MapInput

LOCAL = "urn:oid:1.2.392.200119.4.504.99"  # a hospital's local lab code system


class LocalLabFeed:
    """A connector whose records are (id, local code) Observations."""

    name = "local-lab-feed"

    def convert(self, record: SourceRecord) -> Conversion:
        rid, local_code = record.payload
        return Conversion(
            resources=[
                {
                    "resourceType": "Observation",
                    "id": rid,
                    "status": "final",
                    "code": {
                        "coding": [{"system": LOCAL, "code": local_code}],
                        "text": "院内コード",
                    },
                    "valueQuantity": {"value": 1.0, "unit": "mg/dL"},
                }
            ]
        )


def codes(obs: dict[str, Any]) -> set[tuple[str, str]]:
    return {(c["system"], c["code"]) for c in obs["code"]["coding"]}


def test_mapped_local_codes_are_applied_when_observations_are_stored(db_url: str) -> None:
    store = open_store(db_url)
    mid = service.submit_master(
        store.engine,
        "lab-a",
        [
            MapInput("L2", "クレアチニン", "血清", "mg/dL", "酵素法"),
            MapInput("L3", "肝機能セット"),  # stays unmapped: never applied
        ],
    )
    service.map_master(store.engine, mid)
    service.decide(store.engine, mid, "L2", "override", "3C015000002327101")

    loop = SyncLoop(store, LocalLabFeed(), scope="test")
    report = loop.process(
        [
            SourceRecord("r1", ("o1", "L2"), "msg-1"),
            SourceRecord("r2", ("o2", "L3"), "msg-2"),
            SourceRecord("r3", ("o3", "L9"), "msg-3"),
        ]
    )
    assert report.jlac_applied == 1
    assert codes(store.read("Observation", "o1") or {}) == {
        (LOCAL, "L2"),
        (JLAC10, "3C015000002327101"),
    }
    assert codes(store.read("Observation", "o2") or {}) == {(LOCAL, "L3")}
    assert codes(store.read("Observation", "o3") or {}) == {(LOCAL, "L9")}
    # findable by the JLAC10 code in either URI form
    assert (
        store.search(
            "Observation", [("code", "urn:oid:1.2.392.200119.4.504|3C015000002327101")]
        ).total
        == 1
    )
