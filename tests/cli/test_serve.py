"""`ehr-bridge serve` as an operator starts it: a real process, the API answering, jobs scheduled."""

from __future__ import annotations

import subprocess
import sys
import time

import httpx

from tests.live_server import free_port


def test_serve_answers_and_schedules_jobs(db_url: str) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "ehr_bridge", "serve", "--port", str(port), "--db", db_url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/fhir/metadata", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                assert time.monotonic() < deadline, "server did not come up"
                time.sleep(0.2)
        assert response.status_code == 200
        assert response.json()["resourceType"] == "CapabilityStatement"
        missing = httpx.get(f"http://127.0.0.1:{port}/fhir/Patient/nope", timeout=5)
        assert missing.status_code == 404 and missing.json()["resourceType"] == "OperationOutcome"
    finally:
        proc.terminate()
        _out, err = proc.communicate(timeout=30)
    assert "scheduler started; jobs: jlac-remap" in err
