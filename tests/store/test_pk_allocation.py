"""New resources get their primary keys without a second lookup; index rows point at the right
resource, also with two writers importing at the same time."""

from __future__ import annotations

import threading

from sqlalchemy import text

from ehr_bridge.store import open_store
from ehr_bridge.store.repository import insert_resources


def _patient(rid: str) -> dict:
    return {
        "resourceType": "Patient",
        "id": rid,
        "identifier": [{"system": "urn:test", "value": rid}],
        "gender": "female",
    }


def _mismatched_index_rows(store) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    with store.engine.connect() as c:
        total = c.execute(
            text("select count(*) from fhir_idx_token where param = 'identifier'")
        ).scalar_one()
        wrong = c.execute(
            text(
                "select count(*) from fhir_idx_token t join fhir_resource r on r.pk = t.res_pk "
                "where t.param = 'identifier' and t.code <> r.id"
            )
        ).scalar_one()
        orphan = c.execute(
            text(
                "select count(*) from fhir_idx_token t where not exists "
                "(select 1 from fhir_resource r where r.pk = t.res_pk)"
            )
        ).scalar_one()
    return int(total), int(wrong) + int(orphan)


def test_insert_resources_returns_pks_in_row_order(db_url: str) -> None:
    store = open_store(db_url)
    store.upsert_many([_patient("first")])
    rows = [
        {
            "resource_type": "Patient",
            "id": f"p{i}",
            "version_id": 1,
            "last_updated": __import__("datetime").datetime(2026, 1, 1),
            "deleted": False,
            "content_hash": "0" * 40,
            "content": "{}",
        }
        for i in range(7)
    ]
    with store.begin() as c:
        pks = insert_resources(c, rows)
        found = dict(c.execute(text("select id, pk from fhir_resource")).all())
    assert pks == [found[f"p{i}"] for i in range(7)]
    assert len(set(pks)) == 7 and found["first"] not in pks


def test_two_concurrent_writers_keep_index_rows_on_their_resources(db_url: str) -> None:
    open_store(db_url)  # migrate once
    writers = 2
    batches, per_batch = 6, 300
    barrier = threading.Barrier(writers)
    errors: list[BaseException] = []

    def write(w: int) -> None:
        try:
            store = open_store(db_url, migrate=False)
            barrier.wait()
            for b in range(batches):
                store.upsert_many([_patient(f"w{w}-b{b}-{i}") for i in range(per_batch)])
            store.engine.dispose()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    store = open_store(db_url)
    assert store.counts() == {"Patient": writers * batches * per_batch}
    total, wrong = _mismatched_index_rows(store)
    assert total == writers * batches * per_batch
    assert wrong == 0
    # and the search finds each writer's resources under their own ids
    for rid in ("w0-b0-0", "w1-b5-299", "w0-b3-17"):
        result = store.search("Patient", [("identifier", f"urn:test|{rid}")])
        assert [m["id"] for m in result.matches] == [rid]
