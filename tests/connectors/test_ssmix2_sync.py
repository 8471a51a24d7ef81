"""SS-MIX2 connector through the sync loop on a real database (SQLite, or PostgreSQL with
EHR_BRIDGE_TEST_DB): flags, updates, deletes, quarantine, idempotent re-runs, retry."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from connectors.ssmix2 import SSMix2Config, SSMix2Connector
from ehr_bridge.store import open_store
from ehr_bridge.sync.loop import SyncLoop, open_quarantine

FIXTURE = Path(__file__).parent / "storage" / "dev_subset"
FACILITY = "1312345670"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    dst = tmp_path / "root"
    shutil.copytree(FIXTURE, dst)
    return dst


def _loop(store, root: Path) -> SyncLoop:
    return SyncLoop(
        store,
        SSMix2Connector(SSMix2Config(root=str(root), facility_code=FACILITY)),
        scope=str(root),
    )


def _patient(store, pid: str) -> str:
    found = [
        p for p in store.iter_all("Patient")
        if any(i["value"] == pid for i in p.get("identifier", []))
    ]  # fmt: skip
    assert len(found) == 1
    return found[0]["id"]


def _of(store, rtype: str, patient_rid: str) -> list[dict]:
    key = "patient" if rtype == "AllergyIntolerance" else "subject"
    return [
        r
        for r in store.iter_all(rtype)
        if r.get(key, {}).get("reference") == f"Patient/{patient_rid}"
    ]


def test_ingest_rules_and_rerun(db_url: str, tree: Path) -> None:
    store = open_store(db_url)
    rep = _loop(store, tree).run()
    assert rep.quarantined == 1  # 0000300011 OMP-01 without PID
    q = open_quarantine(store)
    assert len(q) == 1 and q[0]["location"] == "PID" and "missing PID" in q[0]["reason"]
    assert q[0]["source_ref"].endswith(
        "0000300011_20260715_OMP-01_000000002601155_20260715140100000_06_1"
    )

    # update: flag 2 (100 mg) superseded by flag 1 (150 mg)
    p4 = _patient(store, "0000300004")
    doses = [
        mr["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]["value"]
        for mr in _of(store, "MedicationRequest", p4)
    ]
    assert doses == [150]
    # delete: record with only flag-0 files has no content; the replacement order is there
    p5 = _patient(store, "0000300005")
    assert len(_of(store, "MedicationRequest", p5)) == 1
    # planned admission + admission + discharge = one counted inpatient Encounter
    p2 = _patient(store, "0000123402")
    encs = _of(store, "Encounter", p2)
    active = [e for e in encs if e["status"] not in ("planned", "cancelled")]
    assert len(active) == 1
    assert active[0]["period"]["start"].startswith("2026-05-11T10:00:00+09:00")
    assert active[0]["period"]["end"].startswith("2026-05-18T11:00")
    # patient master record wins; JP Core identifier system
    pat = store.read("Patient", p2)
    assert pat["identifier"][0]["system"] == f"urn:oid:1.2.392.100495.20.3.51.1{FACILITY}"

    counts = store.counts()
    rep2 = _loop(store, tree).run()
    assert rep2.created == 0 and rep2.updated == 0 and rep2.deleted_resources == 0
    assert store.counts() == counts
    assert len(open_quarantine(store)) == 1  # same entry, not a duplicate


def test_update_after_first_run_replaces_and_deletes(db_url: str, tree: Path) -> None:
    store = open_store(db_url)
    _loop(store, tree).run()
    p6 = _patient(store, "0000300006")
    before = {c["id"] for c in _of(store, "Condition", p6)}
    # the diagnosis list's current file disappears: the older (flag-2) file becomes current
    d = tree / "000/030/0000300006/-/PPR-01"
    cur = next(d.glob("*_1"))
    old = next(d.glob("*_2"))
    cur.unlink()
    old.rename(old.with_name(old.name[:-1] + "1"))
    _loop(store, tree).run()
    after = {c["id"] for c in _of(store, "Condition", p6)}
    assert after != before  # entries removed in the newer list are back; stale ones deleted
    # delete the whole prescription record of 0000300004 (all files flag 0)
    for f in (tree / "000/030/0000300004/20260520/OMP-01").iterdir():
        f.rename(f.with_name(f.name[:-1] + "0"))
    rep = _loop(store, tree).run()
    assert rep.deleted_records == 1 and rep.deleted_resources >= 1
    assert _of(store, "MedicationRequest", _patient(store, "0000300004")) == []


def test_quarantine_retry_after_fix(db_url: str, tree: Path) -> None:
    store = open_store(db_url)
    loop = _loop(store, tree)
    loop.run()
    bad = Path(open_quarantine(store)[0]["source_ref"])
    good = next((tree / "000/030/0000300011/20260715/OMP-01").glob("*2601151*_1"))
    text = good.read_bytes().replace(b"2601151", b"2601155")
    bad.write_bytes(text)
    rep = loop.retry()
    assert rep.converted == 1 and rep.quarantined == 0
    assert open_quarantine(store) == []


def test_cli_ingest_and_quarantine_list(db_url: str, tree: Path) -> None:
    env = dict(os.environ, EHR_BRIDGE_FACILITY_CODE=FACILITY)
    cli = [sys.executable, "-m", "ehr_bridge"]
    r = subprocess.run(
        [*cli, "ingest", "ss-mix2", str(tree), "--db", db_url],
        capture_output=True,
        text=True,
        env=env,
    )
    assert r.returncode == 3, r.stderr
    assert "quarantined=1" in r.stdout
    r = subprocess.run(
        [*cli, "quarantine", "list", "--db", db_url], capture_output=True, text=True, env=env
    )
    assert r.returncode == 0
    assert "0000300011_20260715_OMP-01_000000002601155_20260715140100000_06_1" in r.stdout
    assert "missing PID segment" in r.stdout
    # no patient data in the output: names of the fixture patients never appear
    assert "鈴木" not in r.stdout + r.stderr
    r = subprocess.run([*cli, "connectors", "list"], capture_output=True, text=True, env=env)
    assert "ss-mix2" in r.stdout


def test_cli_ingest_reports_progress_on_stderr(db_url: str, tree: Path) -> None:
    """Progress lines (counts only) go to stderr; stdout keeps its one summary line."""
    env = dict(os.environ, EHR_BRIDGE_FACILITY_CODE=FACILITY)
    cmd = [sys.executable, "-m", "ehr_bridge", "ingest", "ss-mix2", str(tree), "--db", db_url]
    r = subprocess.run([*cmd, "--progress", "0.000001"], capture_output=True, text=True, env=env)
    assert r.returncode == 3, r.stderr
    lines = [x for x in r.stderr.splitlines() if x.startswith("ss-mix2: ")]
    folders = len(list((tree / "000").glob("*/*")))
    assert len(lines) == folders + 1  # one per folder walked (interval ~0) and the last
    walked = [int(x.split()[1].split("/")[0]) for x in lines]
    assert walked == sorted(walked) and walked[-1] == folders
    assert lines[-1].startswith(f"ss-mix2: {folders}/{folders} folders walked ({folders} changed)")
    assert "1 quarantined, done in 0:0" in lines[-1]
    assert " left" in lines[0]
    assert r.stdout.startswith("records=") and r.stdout.count("\n") == 1
    assert "0000300011" not in "\n".join(lines)  # no patient IDs in progress lines
    again = subprocess.run([*cmd, "--progress", "0"], capture_output=True, text=True, env=env)
    assert again.returncode == 0 and "ss-mix2: " not in again.stderr
    assert "skipped=0" in again.stdout and f"folders=0/{folders}" in again.stdout


def test_converter_bug_is_quarantined_without_patient_text(
    db_url: str, tree: Path, caplog: pytest.LogCaptureFixture
) -> None:
    class Exploding(SSMix2Connector):
        def convert(self, record):  # type: ignore[no-untyped-def]
            if "PPR-01" in record.key:
                raise ValueError("secret 山田太郎 1952-03-14")
            return super().convert(record)

    store = open_store(db_url)
    conn = Exploding(SSMix2Config(root=str(tree), facility_code=FACILITY))
    rep = SyncLoop(store, conn, scope=str(tree)).run()
    assert rep.quarantined >= 5 and rep.converted > 0
    reasons = {q["reason"] for q in open_quarantine(store)}
    assert "internal error (ValueError)" in reasons
    assert "山田" not in caplog.text and "1952" not in caplog.text


def test_cli_ingest_lists_warnings_by_kind(db_url: str, tmp_path: Path) -> None:
    """Warnings are not only counted: stderr names each kind (segment-field and reason) with
    its count and the first files, and the run's report (also the job history) keeps the
    counts by kind. Real NHO sample bytes: the ADT-61 and OMD messages carry another patient
    ID in PID-3 than their storage folder (9999013); the OMP-01 carries the same one."""
    cases = Path(__file__).parent / "cases" / "ssmix2"
    pdir = tmp_path / "root" / "999" / "901" / "9999013"
    names = {
        "ADT-00__nho.hl7": ("-", "9999013_-_ADT-00_999999999999999_20111220100000000_-_1"),
        "ADT-61__nho.hl7": ("-", "9999013_-_ADT-61_999999999999999_20111014232213000_-_1"),
        "OMD__nho.hl7": ("20111013", "9999013_20111013_OMD_123456789012345_20111014232213000_01_1"),
        "OMP-01__nho.hl7": ("20110701", "9999013_20110701_OMP-01_000000011000185_20110701120000000_01_1"),
    }  # fmt: skip
    for case, (day, name) in names.items():
        kind = name.split("_")[2]
        (pdir / day / kind).mkdir(parents=True)
        (pdir / day / kind / name).write_bytes((cases / case).read_bytes())
    env = dict(os.environ, EHR_BRIDGE_FACILITY_CODE=FACILITY)
    cmd = [sys.executable, "-m", "ehr_bridge", "ingest", "ss-mix2", str(tmp_path / "root")]
    r = subprocess.run([*cmd, "--db", db_url, "--progress", "0"], capture_output=True,
                       text=True, env=env)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "warnings=2 " in r.stdout and r.stdout.count("\n") == 1
    lines = [x for x in r.stderr.splitlines() if x.startswith("warning ")]
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("warning ×2: PID-3: patient ID in the message differs")
    assert names["ADT-61__nho.hl7"][1] in lines[0] and names["OMD__nho.hl7"][1] in lines[0]
    assert "OMP-01" not in lines[0] and "ADT-00" not in lines[0]
    # the ADT-00's DB1 (disability) is not mapped (NK1 → contact, IN1 → Coverage are): one line
    unmapped = [x for x in r.stderr.splitlines() if x.startswith("present but not mapped")]
    assert unmapped == ["present but not mapped (records): DB1 ×1"], r.stderr

    fresh = open_store(f"sqlite:///{tmp_path / 'loop.db'}")  # the records are new to it
    report = _loop(fresh, tmp_path / "root").run()
    assert report.as_dict()["warning_kinds"] == {
        "PID-3: patient ID in the message differs from the storage patient ID; the storage ID "
        "is used": 2
    }
    assert report.as_dict()["unmapped"] == {"DB1": 1}
