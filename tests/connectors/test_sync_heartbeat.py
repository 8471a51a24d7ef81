"""A storage sync keeps one transaction open across batches; the job heartbeat it calls while
walking folders writes through its own connection, so it must run between transactions (on
SQLite, inside one it would wait for the lock this very thread holds). Real SS-MIX2 files,
real database (SQLite, or PostgreSQL with EHR_BRIDGE_TEST_DB)."""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy import text

from connectors.ssmix2 import SSMix2Config, SSMix2Connector
from ehr_bridge.store import open_store
from ehr_bridge.sync.storage import sync_storage

FIXTURE = Path(__file__).parent / "storage" / "dev_subset"


def test_heartbeat_runs_outside_the_open_transaction(db_url: str, tmp_path: Path) -> None:
    root = tmp_path / "root"
    shutil.copytree(FIXTURE, root)
    store = open_store(db_url)
    sqlite = store.engine.dialect.name == "sqlite"
    with store.engine.begin() as c:
        c.execute(text("CREATE TABLE beat_probe (n INTEGER NOT NULL)"))
    beats: list[int] = []

    def heartbeat() -> None:  # as the job runner's: a write through another connection
        with store.engine.connect() as c:
            if sqlite:  # fail fast instead of waiting 30 s for a lock that never frees
                c.exec_driver_sql("PRAGMA busy_timeout=300")
            try:
                c.execute(text("INSERT INTO beat_probe (n) VALUES (:n)"), {"n": len(beats)})
                c.commit()
            finally:
                if sqlite:
                    c.exec_driver_sql("PRAGMA busy_timeout=30000")
        beats.append(store.counts().get("Patient", 0))

    connector = SSMix2Connector(SSMix2Config(root=str(root), facility_code="1312345670"))
    # folder by folder, 2 records per batch, one transaction for all: folders are walked (and
    # the heartbeat called) while the transaction is open
    rep = sync_storage(store, connector, scope=str(root), folder_batch=1, sign_batch=1,
                       batch_size=2, commit_records=1000, on_batch=heartbeat,
                       on_batch_every=1)  # fmt: skip
    assert rep.records > 2 and rep.converted > 2
    # the first folder's beat ran before the transaction began (nothing stored yet); the
    # later ones waited for its commit and ran once, seeing everything stored
    assert beats == [0, store.counts()["Patient"]]
    with store.engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM beat_probe")).scalar() == 2
