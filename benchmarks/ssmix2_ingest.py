"""SS-MIX2 ingest throughput: our full ingest vs hl7apy's parse alone, SQLite and PostgreSQL.

    python benchmarks/ssmix2_ingest.py --sizes 10000,50000,100000 \
        --db sqlite --db postgresql+psycopg://postgres@127.0.0.1:5432/bench \
        --workers 2 --validate sample --results benchmarks/RESULTS-ssmix2.md

Per backend (in its own process, so peak RSS is its own): a fresh synthetic storage tree
(``gen_ssmix2_tree.py``: real layout, ISO-2022-JP) grown in stages to each size; after each
stage ``sync_storage`` ingests it (walk → folder signature → read → decode → parse → convert →
check → upsert → record state → folder checkpoint, committed) — the first stage from empty,
later stages incrementally (only the new patient folders are read, which this also measures).
Reported per stage: new messages, messages/s, messages/s per core used, peak RSS of the main
process and of the worker processes so far (flat = memory does not grow with the tree).
``--modes`` adds a comparison of check modes/worker counts on the first stage size.
hl7apy: ``hl7apy.parser.parse_message`` (tolerant, after the decode it needs) of a sample of
the same files, timed alone.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from gen_ssmix2_tree import MESSAGES_PER_PATIENT, generate  # noqa: E402


def _fresh_db(url: str, tmp: Path) -> str:
    if url == "sqlite":
        return f"sqlite:///{tmp / 'bench.db'}"
    from sqlalchemy import text

    from ehr_bridge.store.base import create_engine

    schema = f"bench_{os.getpid()}"
    eng = create_engine(url, isolation_level="AUTOCOMMIT")
    with eng.connect() as c:
        c.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        c.execute(text(f'CREATE SCHEMA "{schema}"'))
    eng.dispose()
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}"


def _files(root: Path) -> list[Path]:
    return [Path(d) / f for d, _, fs in os.walk(root) for f in fs]


def hl7apy_rate(root: Path, n: int) -> tuple[float, int]:
    from hl7apy.parser import parse_message

    files = sorted(_files(root))
    random.Random(1).shuffle(files)
    sample = files[:n]
    t0 = time.perf_counter()
    for p in sample:
        text = p.read_bytes().rstrip(b"\x1c\r\n").decode("iso2022_jp")
        parse_message(text, find_groups=False)
    dt = time.perf_counter() - t0
    return len(sample) / dt, len(sample)


def run_backend(db: str, sizes: list[int], workers: int, validate: str, hl7apy_n: int) -> dict:
    from connectors.ssmix2 import SSMix2Config, SSMix2Connector
    from ehr_bridge.store import open_store
    from ehr_bridge.sync.storage import sync_storage

    tmp = Path(tempfile.mkdtemp(prefix="ssmix2bench_"))
    try:
        root = tmp / "root"
        url = _fresh_db(db, tmp)
        store = open_store(url)
        conn = SSMix2Connector(SSMix2Config(root=str(root), facility_code="1312345670"))
        stages = []
        done_patients = 0
        for size in sizes:
            patients = -(-size // MESSAGES_PER_PATIENT)
            new_files = generate(root, (patients - done_patients) * MESSAGES_PER_PATIENT,
                                 start=done_patients)  # fmt: skip
            done_patients = patients
            t0 = time.perf_counter()
            rep = sync_storage(store, conn, scope=str(root), workers=workers, validate=validate)  # type: ignore[arg-type]
            dt = time.perf_counter() - t0
            cores = min(os.cpu_count() or 1, workers + 1)
            stages.append({
                "tree": sum(1 for _ in _files(root)), "new": new_files, "s": round(dt, 1),
                "rate": round(new_files / dt), "per_core": round(new_files / dt / cores),
                "cores": cores, "records": rep.records, "quarantined": rep.quarantined,
                "resources": rep.created, "folders_read": rep.folders_read,  # type: ignore[attr-defined]
                "rss_main_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                "rss_worker_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024),
            })  # fmt: skip
            print(json.dumps(stages[-1]), file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        rep = sync_storage(store, conn, scope=str(root), workers=workers, validate=validate)  # type: ignore[arg-type]
        rerun = {"s": round(time.perf_counter() - t0, 2), "records": rep.records,
                 "folders_read": rep.folders_read}  # type: ignore[attr-defined]  # fmt: skip
        out = {"db": db.split("://")[0].split("+")[0], "stages": stages, "rerun": rerun}
        if hl7apy_n:
            rate, n = hl7apy_rate(root, hl7apy_n)
            out["hl7apy"] = {"rate": round(rate, 1), "n": n}
        store.engine.dispose()
        return out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run_modes(size: int, modes: list[str]) -> list[dict]:
    from connectors.ssmix2 import SSMix2Config, SSMix2Connector
    from ehr_bridge.store import open_store
    from ehr_bridge.sync.storage import sync_storage

    tmp = Path(tempfile.mkdtemp(prefix="ssmix2modes_"))
    out = []
    try:
        root = tmp / "root"
        n = generate(root, size)
        for i, m in enumerate(modes):
            validate, w = m.split(":")
            store = open_store(f"sqlite:///{tmp / f'm{i}.db'}")
            conn = SSMix2Connector(SSMix2Config(root=str(root), facility_code="1312345670"))
            t0 = time.perf_counter()
            sync_storage(store, conn, scope=str(root), workers=int(w), validate=validate)  # type: ignore[arg-type]
            dt = time.perf_counter() - t0
            cores = min(os.cpu_count() or 1, int(w) + 1) if int(w) else 1
            out.append({"validate": validate, "workers": int(w), "rate": round(n / dt),
                        "per_core": round(n / dt / cores), "cores": cores})  # fmt: skip
            print(json.dumps(out[-1]), file=sys.stderr, flush=True)
            store.engine.dispose()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def table(results: list[dict], modes: list[dict]) -> str:
    lines = ["| backend | tree (files) | new msgs | s | msgs/s | msgs/s/core (cores) | "
             "peak RSS main / workers MB | folders read |", "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in results:
        for s in r["stages"]:
            lines.append(f"| {r['db']} | {s['tree']:,} | {s['new']:,} | {s['s']} | {s['rate']:,} | "
                         f"{s['per_core']:,} ({s['cores']}) | {s['rss_main_mb']} / "
                         f"{s['rss_worker_mb']} | {s['folders_read']:,} |")  # fmt: skip
        rr = r["rerun"]
        lines.append(f"| {r['db']} re-run, nothing changed | {r['stages'][-1]['tree']:,} | 0 | "
                     f"{rr['s']} | – | – | – | {rr['folders_read']} |")  # fmt: skip
        if "hl7apy" in r:
            h = r["hl7apy"]
            lines.append(f"| hl7apy parse alone ({h['n']:,}-file sample of the same tree) | – | "
                         f"{h['n']:,} | – | {h['rate']} | {h['rate']} (1) | – | – |")  # fmt: skip
    if modes:
        lines += [
            "",
            "| check mode | workers | msgs/s | msgs/s/core (cores) |",
            "|---|---|---|---|",
        ]
        for m in modes:
            lines.append(f"| {m['validate']} | {m['workers']} | {m['rate']:,} | "
                         f"{m['per_core']:,} ({m['cores']}) |")  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,50000,100000")
    ap.add_argument("--db", action="append", default=[])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--validate", default="sample", choices=["full", "sample", "none"])
    ap.add_argument("--hl7apy", type=int, default=500, help="files in hl7apy's sample")
    ap.add_argument("--modes", default="", help="e.g. full:0,full:2,sample:2,none:2")
    ap.add_argument("--modes-size", type=int, default=10000)
    ap.add_argument("--results", type=Path)
    ap.add_argument("--one", help=argparse.SUPPRESS)
    a = ap.parse_args()
    sizes = [int(s) for s in a.sizes.split(",")]
    if a.one:
        print(json.dumps(run_backend(a.one, sizes, a.workers, a.validate, a.hl7apy)))
        return
    results = []
    for i, db in enumerate(a.db or ["sqlite"]):
        cmd = [sys.executable, __file__, "--one", db, "--sizes", a.sizes, "--workers",
               str(a.workers), "--validate", a.validate, "--hl7apy", str(a.hl7apy if i == 0 else 0)]  # fmt: skip
        res = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True)
        results.append(json.loads(res.stdout.strip().splitlines()[-1]))
    modes = run_modes(a.modes_size, a.modes.split(",")) if a.modes else []
    md = table(results, modes)
    print(md)
    if a.results:
        head = (f"# SS-MIX2 ingest benchmark\n\n`python benchmarks/ssmix2_ingest.py --sizes {a.sizes} "
                f"--workers {a.workers} --validate {a.validate}` on {os.cpu_count()} CPU cores, "
                f"{time.strftime('%Y-%m-%d')}.\n\n")  # fmt: skip
        a.results.write_text(head + md + "\n", "utf-8")


if __name__ == "__main__":
    main()
