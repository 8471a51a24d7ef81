"""Job list, run-now and run history over a real HTTP server."""

from __future__ import annotations

import httpx

from ehr_bridge.api.app import create_app
from ehr_bridge.config import load_settings
from ehr_bridge.store import open_store
from tests.live_server import serve_in_thread


def test_jobs_are_listed_run_and_recorded(db_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = load_settings(db=db_url, jlac_tables_dir=str(tmp_path / "tables"))
    app = create_app(settings, store=open_store(db_url))
    with serve_in_thread(app) as base, httpx.Client(base_url=base, timeout=60) as client:
        jobs = {j["name"]: j for j in client.get("/jobs").json()["jobs"]}
        assert jobs["jlac-remap"]["enabled"] is True
        assert "0 2 * * *" in jobs["jlac-remap"]["schedule"]
        assert jobs["ssmix2-sync"]["enabled"] is False  # no ssmix2_root configured
        run = client.post("/jobs/jlac-remap/run").json()
        assert run["status"] == "ok" and run["run_id"]
        history = client.get("/jobs/history", params={"job": "jlac-remap"}).json()["runs"]
        assert history[0]["id"] == run["run_id"] and history[0]["status"] == "ok"
        assert history[0]["finished_at"] >= history[0]["started_at"]
        missing = client.post("/jobs/no-such-job/run")
        assert missing.status_code == 404 and missing.json()["resourceType"] == "OperationOutcome"
