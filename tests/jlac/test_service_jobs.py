from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import insert, select
from typer.testing import CliRunner

from ehr_bridge.config import load_settings
from ehr_bridge.jlac import service
from ehr_bridge.jlac.apply import apply_to_observation
from ehr_bridge.jobs.registry import JobSpec, register
from ehr_bridge.jobs.runner import acquire, history, run_job
from ehr_bridge.jobs.tables import locks_table, runs_table
from ehr_bridge.store import open_store
from mappings.jlac.mapper import MapInput

ROWS = [
    MapInput("L1", "ＧＯＴ", "血清", "U/L", "紫外吸光光度法(JSCC標準化対応法)"),
    MapInput("L2", "クレアチニン", "血清", "mg/dL", "酵素法"),
    MapInput("L3", "肝機能セット"),
]


def test_submit_map_decide_conceptmap(db_url: str) -> None:
    store = open_store(db_url)
    mid = service.submit_master(store.engine, "lab-a", ROWS)
    run = service.map_master(store.engine, mid)
    assert (run.rows, run.unmapped) == (3, 1)
    res = {r["local_code"]: r for r in service.results(store.engine, mid)}
    assert res["L1"]["jlac10"] == "3B035000002327201"
    # override wins on the next run; accept keeps the current code
    service.decide(store.engine, mid, "L2", "override", "3C015000002327101")
    service.decide(store.engine, mid, "L1", "accept")
    service.map_master(store.engine, mid)
    res = {r["local_code"]: r for r in service.results(store.engine, mid)}
    assert res["L2"]["jlac10"] == "3C015000002327101" and res["L2"]["source"] == "decision"
    assert res["L1"]["status"] == "auto"
    with pytest.raises(service.JlacServiceError, match="17 characters"):
        service.decide(store.engine, mid, "L2", "override", "3C015")
    with pytest.raises(service.JlacServiceError, match="no row"):
        service.decide(store.engine, mid, "NOPE", "accept")
    cm = service.export_conceptmap(db_url, mid)
    assert cm["resourceType"] == "ConceptMap"
    stored = open_store(db_url).read("ConceptMap", f"jlac-master-{mid}")
    assert stored is not None
    elems = {e["code"]: e for e in stored["group"][0]["element"]}
    assert elems["L1"]["target"][0]["code"] == "3B035000002327201"
    assert elems["L3"]["target"][0]["equivalence"] == "unmatched"
    obs = {"resourceType": "Observation", "code": {"coding": [{"system": "local", "code": "L1"}]}}
    assert apply_to_observation(obs, {"L1": ("3B035000002327201", "")})
    assert obs["code"]["coding"][-1]["code"] == "3B035000002327201"


def test_submit_rejects_bad_rows_without_writing(db_url: str) -> None:
    store = open_store(db_url)
    with pytest.raises(service.JlacServiceError, match="row 2, column local_code: duplicate"):
        service.submit_master(store.engine, "dup", [ROWS[0], ROWS[0]])
    assert service.list_masters(store.engine) == []


def test_jlac_job_remaps_only_changed(db_url: str) -> None:
    store = open_store(db_url)
    settings = load_settings(db=db_url)
    service.submit_master(store.engine, "lab-b", ROWS)
    first = run_job(store.engine, "jlac-remap", settings)
    assert first.status == "ok" and first.stats["masters"] == 1 and first.stats["rows"] == 3
    second = run_job(store.engine, "jlac-remap", settings)
    assert second.stats["masters"] == 0 and second.stats["skipped"] == 1
    h = history(store.engine, "jlac-remap")
    assert [r["status"] for r in h] == ["ok", "ok"] and h[1]["stats"]["auto"] >= 1


_calls: list[str] = []


def _slow(settings: Any, heartbeat: Any) -> dict[str, Any]:
    gate.wait(5)
    _calls.append("ran")
    return {"n": 1}


gate = threading.Event()
register(JobSpec("test-slow", _slow, "jlac_cron"))


def test_never_twice_and_stale_lock_recovery(db_url: str) -> None:
    store = open_store(db_url)
    settings = load_settings(db=db_url)
    gate.clear()
    t = threading.Thread(target=run_job, args=(store.engine, "test-slow", settings))
    t.start()
    for _ in range(100):
        with store.engine.connect() as c:
            if c.execute(select(locks_table)).first():
                break
        threading.Event().wait(0.05)
    assert run_job(store.engine, "test-slow", settings).status == "skipped"
    gate.set()
    t.join(10)
    assert _calls.count("ran") == 1
    # a crashed holder: lock + 'running' row with an old heartbeat
    old = datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=2)
    with store.engine.begin() as c:
        rid = c.execute(
            insert(runs_table).values(
                job="test-slow",
                trigger="manual",
                owner="dead",
                status="running",
                started_at=old,
                stats="{}",
                error="",
            )
        ).inserted_primary_key[0]
        c.execute(
            insert(locks_table).values(
                job="test-slow", owner="dead", run_id=rid, acquired_at=old, heartbeat_at=old
            )
        )
    assert not acquire(store.engine, "test-slow", "other", stale_after_s=3 * 3600)
    out = run_job(store.engine, "test-slow", settings, stale_after_s=60)
    assert out.status == "ok"
    with store.engine.connect() as c:
        assert (
            c.execute(select(runs_table.c.status).where(runs_table.c.id == rid)).scalar()
            == "abandoned"
        )
        assert c.execute(select(locks_table)).first() is None


def test_jobs_cli(db_url: str) -> None:
    from ehr_bridge.cli.main import _load_features, app

    _load_features()
    runner = CliRunner()
    res = runner.invoke(app, ["jobs", "list", "--db", db_url])
    assert res.exit_code == 0 and "jlac-remap" in res.output
    res = runner.invoke(app, ["jobs", "run", "jlac-remap", "--db", db_url])
    assert res.exit_code == 0 and json.loads(res.output.strip().splitlines()[-1])["status"] == "ok"
    res = runner.invoke(app, ["jobs", "history", "--db", db_url])
    assert "jlac-remap" in res.output
    res = runner.invoke(app, ["jobs", "run", "nope", "--db", db_url])
    assert res.exit_code == 2 and "no job named" in res.output


def test_scheduler_persists_jobs(db_url: str) -> None:
    from ehr_bridge.jobs.scheduler import build_scheduler

    store = open_store(db_url)
    sched = build_scheduler(load_settings(db=db_url, jlac_cron="5 3 * * *"), store.engine)
    sched.start(paused=True)
    try:
        job = sched.get_job("jlac-remap")
        assert job is not None and job.next_run_time.hour == 3
    finally:
        sched.shutdown(wait=False)
    with store.engine.connect() as c:
        from sqlalchemy import text

        assert c.execute(text("SELECT count(*) FROM apscheduler_jobs")).scalar() >= 1


def test_api(db_url: str) -> None:
    from ehr_bridge.api.app import create_app
    from tests.live_server import serve_in_thread

    app = create_app(load_settings(db=db_url))
    with serve_in_thread(app) as base, httpx.Client(base_url=base, timeout=30) as client:
        body = {"name": "lab-api", "rows": [r.__dict__ for r in ROWS]}
        r = client.post("/jlac/masters", json=body)
        assert r.status_code == 201, r.text
        mid = r.json()["id"]
        assert r.json()["run"]["rows"] == 3
        res = client.get(f"/jlac/masters/{mid}/results").json()
        assert res[0]["jlac10"] == "3B035000002327201"
        r = client.put(
            f"/jlac/masters/{mid}/decisions/L2", json={"action": "override", "jlac10": "BAD"}
        )
        assert r.status_code == 400
        r = client.put(f"/jlac/masters/{mid}/decisions/L3", json={"action": "unmapped"})
        assert r.status_code == 200
        assert client.post(f"/jlac/masters/{mid}/map").json()["decided"] == 1
        cm = client.post(f"/jlac/masters/{mid}/conceptmap").json()
        assert cm["resourceType"] == "ConceptMap"
        assert client.get(f"/fhir/ConceptMap/{cm['id']}").status_code == 200
        assert client.get("/jlac/masters/999/results").status_code == 404
