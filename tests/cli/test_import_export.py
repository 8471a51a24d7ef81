"""`ehr-bridge import-fhir` / `export-fhir` as a user runs them (real processes, real files)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import orjson

from ehr_bridge.store import open_store
from tests.fhir_samples import sample_resources


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ehr_bridge", *args], capture_output=True, text=True,
                          timeout=120)


def write_ndjson(folder: Path) -> list[dict]:
    resources = sample_resources()
    folder.mkdir()
    by_type: dict[str, list[dict]] = {}
    for r in resources:
        by_type.setdefault(r["resourceType"], []).append(r)
    for rtype, items in by_type.items():
        (folder / f"{rtype}.ndjson").write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in items))
    return resources


def strip_meta(r: dict) -> dict:
    """The resource without the server-set meta.versionId/lastUpdated."""
    meta = {k: v for k, v in (r.get("meta") or {}).items() if k not in ("versionId", "lastUpdated")}
    out = {k: v for k, v in r.items() if k != "meta"}
    return {**out, "meta": meta} if meta else out


def test_import_export_round_trip_and_reimport_adds_nothing(tmp_path: Path, db_url: str) -> None:
    resources = write_ndjson(tmp_path / "in")
    first = cli("import-fhir", str(tmp_path / "in"), "--db", db_url)
    assert first.returncode == 0, first.stderr
    assert "Observation\t13" in first.stdout and "Patient\t3" in first.stdout
    assert f"created {len(resources)}" in first.stdout

    again = cli("import-fhir", str(tmp_path / "in"), "--db", db_url)
    assert again.returncode == 0
    assert f"unchanged {len(resources)}" in again.stdout
    assert sum(open_store(db_url).counts().values()) == len(resources)

    out = cli("export-fhir", str(tmp_path / "out"), "--db", db_url)
    assert out.returncode == 0, out.stderr
    exported = [json.loads(line) for f in sorted((tmp_path / "out").glob("*.ndjson"))
                for line in f.read_text("utf-8").splitlines()]
    assert {(r["resourceType"], r["id"]): strip_meta(r) for r in exported} == {
        (r["resourceType"], r["id"]): strip_meta(r) for r in resources}
    assert all(r["meta"]["versionId"] == "1" for r in exported)


def test_bad_lines_are_reported_with_file_and_line_and_the_rest_is_stored(tmp_path: Path, db_url: str) -> None:
    good = {"resourceType": "Patient", "id": "ok1", "gender": "male"}
    lines = [
        orjson.dumps(good),
        b"{this is not json",
        orjson.dumps({"resourceType": "Patient", "id": "bad-date", "birthDate": "1990-02-30"}),
        orjson.dumps({"id": "no-type"}),
        b"",
        orjson.dumps({"resourceType": "Patient", "id": "ok2", "gender": "female"}),
    ]
    f = tmp_path / "mixed.ndjson"
    f.write_bytes(b"\n".join(lines) + b"\n")
    bundle = tmp_path / "bundle.json"
    bundle.write_text(json.dumps({"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": {"resourceType": "Patient", "id": "ok3"}}, {"resource": {"resourceType": "Patient", "id": "x" * 80}}]}))
    result = cli("import-fhir", str(f), str(bundle), "--db", db_url)
    assert result.returncode == 3
    assert f"{f}:2: not valid JSON" in result.stderr
    assert f"{f}:3: invalid resource" in result.stderr
    assert f"{f}:4: resourceType missing" in result.stderr
    assert f"{bundle}:2: Bundle.entry[1]" in result.stderr
    assert "1990-02-30" not in result.stderr  # values never echoed
    store = open_store(db_url)
    assert {r["id"] for r in store.iter_all("Patient")} == {"ok1", "ok2", "ok3"}


def test_missing_database_server_is_a_clear_error(tmp_path: Path) -> None:
    result = cli("import-fhir", str(tmp_path), "--db", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    assert result.returncode == 1
    assert "cannot use the database" in result.stderr
    assert "Traceback" not in result.stderr
