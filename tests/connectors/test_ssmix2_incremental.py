"""Incremental storage sync (ehr_bridge.sync.storage): only changed patient folders are read,
and every kind of change (new file, flag rename, in-place rewrite, delete, config) is seen.
Real files, real database (SQLite, or PostgreSQL with EHR_BRIDGE_TEST_DB)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from connectors.ssmix2 import SSMix2Config, SSMix2Connector
from ehr_bridge.store import open_store
from ehr_bridge.sync.storage import structural_problem, sync_storage

FIXTURE = Path(__file__).parent / "storage" / "dev_subset"
FACILITY = "1312345670"
P4 = "000/030/0000300004"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    dst = tmp_path / "root"
    shutil.copytree(FIXTURE, dst)
    return dst


def _sync(store, root: Path, facility: str = FACILITY, **kw):  # noqa: ANN001, ANN003, ANN202
    conn = SSMix2Connector(SSMix2Config(root=str(root), facility_code=facility))
    return sync_storage(store, conn, scope=str(root), **kw)


def _doses(store) -> list:  # noqa: ANN001
    out = []
    for mr in store.iter_all("MedicationRequest"):
        pid = store.read("Patient", mr["subject"]["reference"].split("/")[1])
        if pid and pid["identifier"][0]["value"] == "0000300004":
            out.append(mr["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]["value"])
    return out


def test_rerun_reads_nothing_and_changes_are_seen(db_url: str, tree: Path) -> None:
    store = open_store(db_url)
    first = _sync(store, tree)
    assert first.folders_seen == 5 and first.folders_read == 5
    assert first.converted > 0 and first.quarantined == 1
    counts = store.counts()

    again = _sync(store, tree)
    assert (again.folders_read, again.records, again.created) == (0, 0, 0)
    assert store.counts() == counts

    # an update the SS-MIX2 way: current file renamed to flag 2, new flag-1 file written
    d = tree / P4 / "20260520" / "OMP-01"
    cur = next(d.glob("*_1"))
    old = next(d.glob("*_2"))
    assert _doses(store) == [150]
    newer = d / cur.name.replace("20260520144000000", "20260521090000000")
    newer.write_bytes(old.read_bytes())  # back to the 100 mg content
    cur.rename(cur.with_name(cur.name[:-1] + "2"))
    rep = _sync(store, tree)
    assert rep.folders_read == 1
    assert _doses(store) == [100]

    # a file rewritten in place (same name, new content) is read again
    newer.write_bytes(cur.with_name(cur.name[:-1] + "2").read_bytes())
    st = newer.stat()
    os.utime(newer, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    rep = _sync(store, tree)
    assert rep.folders_read == 1 and rep.converted == 1
    assert _doses(store) == [150]

    # the whole record deleted (all files renamed to flag 0)
    for f in d.iterdir():
        f.rename(f.with_name(f.name[:-1] + "0"))
    rep = _sync(store, tree)
    assert rep.folders_read == 1 and rep.deleted_records == 1
    assert _doses(store) == []

    # a new patient folder is read, the others are not
    shutil.copytree(tree / "000/030/0000300006", tree / "000/030/0000300099")
    for f in list((tree / "000/030/0000300099").rglob("*")):
        if f.is_file():
            f.rename(f.with_name(f.name.replace("0000300006", "0000300099")))
    rep = _sync(store, tree)
    assert rep.folders_seen == 6 and rep.folders_read == 1

    # --full reads everything again but adds nothing
    before = store.counts()
    rep = _sync(store, tree, full=True)
    assert rep.folders_read == 6 and rep.created == 0 and rep.updated == 0
    assert store.counts() == before


def test_configuration_change_rereads_every_folder(db_url: str, tree: Path) -> None:
    store = open_store(db_url)
    _sync(store, tree)
    rep = _sync(store, tree, facility="1312345671")
    assert rep.folders_read == 5 and rep.created > 0


def test_worker_processes_store_the_same(db_url: str, tree: Path, tmp_path: Path) -> None:
    store = open_store(db_url)
    rep = _sync(store, tree, workers=1)
    assert rep.folders_read == 5 and rep.quarantined == 1
    other = open_store(f"sqlite:///{tmp_path / 'inline.db'}")
    _sync(other, tree)
    assert store.counts() == other.counts()
    ids = sorted(r["id"] for r in store.iter_all("Observation"))
    assert ids == sorted(r["id"] for r in other.iter_all("Observation"))
    assert _sync(store, tree, workers=1).folders_read == 0


def test_sample_mode_still_quarantines_broken_resources(db_url: str, tree: Path) -> None:
    store = open_store(db_url)
    rep = _sync(store, tree, validate="sample")
    assert rep.quarantined == 1  # the file without PID, as with full validation
    assert structural_problem({"resourceType": "Patient", "id": "x", "name": []})
    assert structural_problem({"resourceType": "Patient", "id": "x", "gender": ""})
    assert structural_problem({"resourceType": "Patient", "id": "bad id"})
    assert structural_problem(
        {"resourceType": "Observation", "id": "o", "subject": {"reference": "nope"}}
    )
    assert structural_problem({"resourceType": "Patient", "id": "p", "active": True}) == ""


def test_ssmix2_sync_job(db_url: str, tree: Path) -> None:
    runner = pytest.importorskip("ehr_bridge.jobs.runner")
    from ehr_bridge.config import load_settings
    from ehr_bridge.sync import jobs  # noqa: F401 - registers the job

    settings = load_settings(db=db_url, ssmix2_root=str(tree), facility_code=FACILITY)
    engine = open_store(db_url).engine
    out = runner.run_job(engine, "ssmix2-sync", settings)
    assert out.status == "ok" and out.stats["folders_read"] == 5
    out2 = runner.run_job(engine, "ssmix2-sync", settings)
    assert out2.stats["folders_read"] == 0
    hist = runner.history(engine, "ssmix2-sync")
    assert [h["status"] for h in hist] == ["ok", "ok"]
    assert hist[0]["stats"]["folders_read"] == 0 and hist[1]["stats"]["converted"] > 0


def _snapshot(store) -> dict[str, list]:  # noqa: ANN001
    """Every table the sync writes, as sorted rows without generated keys and times (index
    rows name their resource by type/id instead of its primary key)."""
    import orjson
    from sqlalchemy import MetaData, select

    md = MetaData()
    md.reflect(store.engine)
    generated = {"pk", "id", "last_updated", "updated_at", "first_seen", "last_seen"}
    out: dict[str, list] = {}
    with store.engine.connect() as c:
        key_of = {
            r.pk: (r.resource_type, r.id) for r in c.execute(select(md.tables["fhir_resource"]))
        }
        for name, t in md.tables.items():
            if name in ("alembic_version", "sync_job_run", "apscheduler_jobs"):
                continue
            rows = []
            for r in c.execute(select(t)).mappings():
                row = {k: v for k, v in r.items() if k not in generated or name == "fhir_idx_token"}
                if "res_pk" in row:
                    row["res_pk"] = key_of[row["res_pk"]]
                if "content" in row:  # resources and their history
                    content = orjson.loads(row["content"])
                    content["meta"].pop("lastUpdated")
                    row.update(content=content, key=(r["resource_type"], r["id"]))
                rows.append(repr(sorted(row.items())))
            out[name] = sorted(rows)
    return out


def test_write_behind_stores_what_writing_in_turn_stores(
    db_url: str, second_db_url: str, tree: Path
) -> None:
    """PostgreSQL writes a sync's inserts behind (ehr_bridge.store.write_behind): with small
    batches and transactions, so that reads and deletes of later batches follow inserts that
    are still streaming, every table ends up as when the sync writes in turn — after the first
    ingest and after a re-run that deletes a record and rewrites another."""
    behind, in_turn = open_store(db_url), open_store(second_db_url)
    small = {"batch_size": 3, "commit_records": 7}
    for rerun in (False, True):
        if rerun:
            files = sorted(p for p in tree.rglob("*") if p.is_file())
            flag0 = next(p for p in files if "OMP-01" in p.name and p.name.endswith("_1"))
            flag0.rename(flag0.with_name(flag0.name[:-1] + "0"))  # condition flag 0: deleted
            adt = next(p for p in files if "ADT-00" in p.name)
            adt.write_bytes(adt.read_bytes().replace(b"054-283-2222", b"054-283-2223"))
        a = _sync(behind, tree, write_behind=True, full=rerun, **small)
        b = _sync(in_turn, tree, write_behind=False, full=rerun, **small)
        assert (a.created, a.updated, a.deleted_resources, a.quarantined) == (
            b.created, b.updated, b.deleted_resources, b.quarantined
        )  # fmt: skip
        assert (a.updated > 0 and a.deleted_resources > 0) if rerun else a.created > 0
        snap = _snapshot(behind)
        assert snap["fhir_resource"] and snap["fhir_idx_token"] and snap["sync_record"]
        assert snap == _snapshot(in_turn)
