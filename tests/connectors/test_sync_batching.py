"""Batched sync bookkeeping and check shortcuts (ehr_bridge.sync): quarantine entries are
resolved/refreshed set-wise with the same outcome as per record; fallback Patients covered by a
checked record of the same folder are not validated, uncovered ones still are. Real database
(SQLite, or PostgreSQL with EHR_BRIDGE_TEST_DB)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from connectors._sdk.errors import RecordError
from connectors._sdk.records import Conversion, Issue, SourceRecord
from ehr_bridge.store import open_store
from ehr_bridge.sync.loop import SyncLoop, open_quarantine
from ehr_bridge.sync.storage import convert_group


def _patient(rid: str, **extra: Any) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": rid, **extra}


class _Fake:
    """Payload: ("ok", resources, issues) | ("fail", reason) | ("fallback", resources, fb)."""

    name = "fake"
    Config: ClassVar[Any] = None

    def convert(self, rec: SourceRecord) -> Conversion:
        kind, *rest = rec.payload
        if kind == "fail":
            raise RecordError(rest[0], "PID-3")
        if kind == "fallback":
            return Conversion(resources=list(rest[0]), if_absent=list(rest[1]))
        return Conversion(resources=list(rest[0]), issues=list(rest[1]))

    def discover(self, since: str | None = None) -> Iterator[SourceRecord]:
        return iter(())

    def reload(self, source_ref: str) -> SourceRecord | None:
        return None


def _rec(key: str, payload: Any, fp: str) -> SourceRecord:
    return SourceRecord(key, payload, f"/src/{key}", "", fp)


def test_quarantine_resolved_refreshed_and_kept_in_batches(db_url: str) -> None:
    store = open_store(db_url)
    loop = SyncLoop(store, _Fake(), scope="s", batch_size=3)
    bad_file = Issue("error", "OBX-5", "bad value", "/src/b/file2")
    first = [
        _rec("a", ("fail", "unreadable"), "1"),
        _rec("b", ("ok", [_patient("pb")], [bad_file]), "1"),
        _rec("c", ("fail", "unreadable"), "1"),
        _rec("d", ("ok", [_patient("pd")], []), "1"),
    ]
    rep = loop.process(first)
    assert rep.quarantined == 3 and rep.converted == 2
    opened = {(q["record_key"], q["source_ref"]): q for q in open_quarantine(store, "fake")}
    assert set(opened) == {("a", "/src/a"), ("b", "/src/b/file2"), ("c", "/src/c")}

    second = [
        _rec("a", ("fail", "still unreadable"), "2"),  # seen again: attempts 2, new reason
        _rec("b", ("ok", [_patient("pb")], [bad_file]), "2"),  # element still bad: stays open
        _rec("c", ("ok", [_patient("pc")], []), "2"),  # fixed: resolved
    ]
    loop.process(second)
    now = {(q["record_key"], q["source_ref"]): q for q in open_quarantine(store, "fake")}
    assert set(now) == {("a", "/src/a"), ("b", "/src/b/file2")}
    assert now[("a", "/src/a")]["attempts"] == 2
    assert now[("a", "/src/a")]["reason"] == "still unreadable"
    assert now[("b", "/src/b/file2")]["attempts"] == 2
    assert store.read("Patient", "pc") is not None

    loop.process([_rec("b", ("ok", [_patient("pb")], []), "3")])
    assert {q["record_key"] for q in open_quarantine(store, "fake")} == {"a"}


def test_record_states_replaced_on_update_and_delete(db_url: str) -> None:
    store = open_store(db_url)
    loop = SyncLoop(store, _Fake(), scope="s")
    loop.process([_rec("x", ("ok", [_patient("p1"), _patient("p2")], []), "1")])
    rep = loop.process([_rec("x", ("ok", [_patient("p1")], []), "2")])
    assert rep.deleted_resources == 1 and store.read("Patient", "p2") is None
    rep = loop.process([SourceRecord("x", None, "/src/x")])
    assert rep.deleted_records == 1 and store.read("Patient", "p1") is None
    again = loop.process([_rec("x", ("ok", [_patient("p1")], []), "3")])
    assert again.converted == 1 and store.read("Patient", "p1") is not None


BAD = _patient("pm", birthDate="not-a-date")  # fails the FHIR models, passes the structure


def test_covered_fallback_is_not_validated() -> None:
    master = _rec("m", ("ok", [_patient("pm", gender="male")], []), "1")
    order = _rec("o", ("fallback", [{"resourceType": "Observation", "id": "o1",
                                     "status": "final", "code": {"text": "x"}}], [BAD]), "1")  # fmt: skip
    out = convert_group(_Fake(), [master, order], "full", 20)
    done = out[1].payload
    assert done.conv is not None and done.conv.if_absent == []


def test_uncovered_fallback_is_validated_and_quarantines() -> None:
    order = _rec("o", ("fallback", [], [BAD]), "1")
    done = convert_group(_Fake(), [order], "full", 20)[0].payload
    assert done.conv is None and "FHIR validation failed" in done.reason
    # a master that failed its own checks does not cover the fallback either
    bad_master = _rec("m", ("ok", [BAD], []), "1")
    out = convert_group(_Fake(), [bad_master, order], "full", 20)
    assert out[0].payload.conv is None and out[1].payload.conv is None
    good = _rec("o2", ("fallback", [], [_patient("pm", gender="male")]), "1")
    kept = convert_group(_Fake(), [good], "full", 20)[0].payload
    assert kept.conv is not None and len(kept.conv.if_absent) == 1


def _committed_patients(store: Any) -> set[str]:
    """Patient ids visible to a new connection (committed), not through the loop's own."""
    return {p["id"] for p in store.iter_all("Patient")}


def test_batches_share_a_transaction_until_commit_records(db_url: str) -> None:
    """batch_size 2, commit_records 4: a record repeated in a later batch of the same open
    transaction is seen (its state is read in that transaction): no duplicate state row, an
    unchanged fingerprint is skipped; everything commits once 4 records have gone by."""
    store = open_store(db_url)
    loop = SyncLoop(store, _Fake(), scope="s", batch_size=2, commit_records=4)
    seen_open: list[set[str]] = []

    def records() -> Iterator[SourceRecord]:
        yield _rec("a", ("ok", [_patient("pa")], []), "1")
        yield _rec("b", ("ok", [_patient("pb")], []), "1")
        seen_open.append(_committed_patients(store))  # first batch flushed, not committed
        yield _rec("a", ("ok", [_patient("pa")], []), "1")  # same record again: skipped
        yield _rec("c", ("ok", [_patient("pc")], []), "1")
        yield _rec("d", ("ok", [_patient("pd")], []), "1")
        seen_open.append(_committed_patients(store))  # 4 records went by: committed

    rep = loop.process(records())
    assert seen_open == [set(), {"pa", "pb", "pc"}]
    assert rep.converted == 4 and rep.skipped == 1
    assert _committed_patients(store) == {"pa", "pb", "pc", "pd"}
    again = loop.process([_rec("a", ("ok", [_patient("pa")], []), "1")])
    assert again.skipped == 1 and again.converted == 0


def test_failure_rolls_back_the_open_transaction_only(db_url: str) -> None:
    """A store failure in the third batch loses the uncommitted batches of that transaction
    (re-read by the next run, no duplicates), not the committed ones."""
    store = open_store(db_url)
    loop = SyncLoop(store, _Fake(), scope="s", batch_size=1, commit_records=2)
    flush = loop._flush
    calls = 0

    def failing_third(*a: Any, **k: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise RuntimeError("disk full")
        flush(*a, **k)

    loop._flush = failing_third  # type: ignore[method-assign]
    recs = [_rec(k, ("ok", [_patient(f"p{k}")], []), "1") for k in "abc"]
    try:
        loop.process(recs)
    except RuntimeError:
        pass
    else:
        raise AssertionError("the failure was swallowed")
    assert _committed_patients(store) == {"pa", "pb"}
    loop._flush = flush  # type: ignore[method-assign]
    rep = loop.process(recs)
    assert rep.skipped == 2 and rep.converted == 1
    assert _committed_patients(store) == {"pa", "pb", "pc"}
