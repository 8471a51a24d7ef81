"""Per-question latency of the rules path in a warm process, with a stage breakdown.

    python benchmarks/nl_latency.py QUESTIONS.jsonl DATA_DIR --db URL [--db URL2 ...] [--cli N]

Loads DATA_DIR (FHIR NDJSON) into each database, asks every question twice (first pass warms
caches, second is timed) three ways: in process on the SQL views (with a stage breakdown),
through ``POST /nl/ask`` of a live uvicorn (httpx client), and through the FHIR path
(``FhirExecutor`` against the same uvicorn's /fhir). ``--cli N`` also times N cold
``ehr-bridge ask … --json`` processes. Writes a Markdown table to benchmarks/RESULTS-nl.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import time
from datetime import datetime
from pathlib import Path
from typing import Any

NOW = datetime.fromisoformat("2026-10-01T09:00:00+09:00")


def _pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p * (len(xs) - 1))))]


def _stats(total: list[float]) -> dict[str, float]:
    return {"p50": statistics.median(total), "p95": _pct(total, 0.95), "max": max(total)}


def bench_http(db: str, store: Any, questions: list[str]) -> dict[str, dict[str, float]]:
    """POST /nl/ask and the FHIR path, both against one live uvicorn of our API."""
    import httpx

    from ehr_bridge.api.app import create_app
    from ehr_bridge.api.background import serve_in_thread
    from ehr_bridge.config import load_settings
    from nl2query.execute_fhir import FhirExecutor
    from nl2query.pipeline import ask

    out: dict[str, dict[str, float]] = {}
    with serve_in_thread(create_app(load_settings(db=db), store=store)) as base:
        with httpx.Client(base_url=base, timeout=60) as client:
            body = {"now": NOW.isoformat(), "user": "bench"}
            for q in questions:
                client.post("/nl/ask", json={**body, "question": q}).raise_for_status()
            total = []
            for q in questions:
                t = time.perf_counter()
                client.post("/nl/ask", json={**body, "question": q}).raise_for_status()
                total.append((time.perf_counter() - t) * 1000)
            out["POST /nl/ask"] = _stats(total)
        fx = FhirExecutor(base + "/fhir", timeout_s=60)
        for q in questions:
            ask(q, None, NOW, executor=fx)
        total, searches = [], []
        for q in questions:
            t = time.perf_counter()
            a = ask(q, None, NOW, executor=fx).answer
            total.append((time.perf_counter() - t) * 1000)
            searches.append(len(a["query"]["fhir"]))
        fx.close()
        out["FHIR path"] = {**_stats(total), "searches_p50": statistics.median(searches)}
    return out


def bench_cli(db: str, questions: list[str], n: int) -> dict[str, float]:
    """Cold ``ehr-bridge ask … --json`` processes (one per question, n questions)."""
    total = []
    for q in questions[:n]:
        t = time.perf_counter()
        subprocess.run(
            ["ehr-bridge", "ask", q, "--json", "--db", db, "--now", NOW.isoformat()],
            check=True,
            capture_output=True,
        )
        total.append((time.perf_counter() - t) * 1000)
    return _stats(total)


def bench(db: str, questions: list[str], data: Path, store: Any) -> dict[str, float]:
    from nl2query.pipeline import ask

    for f in sorted(data.glob("*.ndjson")):
        store.upsert_many(json.loads(line) for line in f.open(encoding="utf-8") if line.strip())
    for q in questions:
        ask(q, store.engine, NOW)
    total: list[float] = []
    stages: dict[str, list[float]] = {}
    for q in questions:
        t = time.perf_counter()
        out = ask(q, store.engine, NOW)
        total.append((time.perf_counter() - t) * 1000)
        for k, v in out.timings_ms.items():
            stages.setdefault(k, []).append(v)
    row = _stats(total)
    for k, v in stages.items():
        row[f"{k}_p50"] = statistics.median(v)
    return row


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("questions", type=Path)
    ap.add_argument("data", type=Path)
    ap.add_argument("--db", action="append", required=True)
    ap.add_argument("--cli", type=int, default=0, help="also time N cold CLI processes")
    a = ap.parse_args()
    from ehr_bridge.store import open_store

    qs = [json.loads(line)["question"] for line in a.questions.open(encoding="utf-8")]
    lines = [
        "# nl2query latency (rules path, warm process)",
        "",
        f"{len(qs)} questions from `{a.questions.name}`; times in ms. Stage columns are medians "
        "(execute includes SQL compile + run + answer aggregation; compile = FHIR URL build).",
        "",
        "| database | p50 | p95 | max | safety p50 | parse p50 | execute p50 | compile p50 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    other: list[str] = []
    for db in a.db:
        store = open_store(db)
        r = bench(db, qs, a.data, store)
        name = db.split(":")[0]
        lines.append(
            f"| {name} | {r['p50']:.1f} | {r['p95']:.1f} | {r['max']:.1f} | {r.get('safety_p50', 0):.2f} "
            f"| {r.get('parse_p50', 0):.2f} | {r.get('execute_p50', 0):.2f} | {r.get('compile_p50', 0):.2f} |"
        )
        print(lines[-1], flush=True)
        for path, h in bench_http(db, store, qs).items():
            extra = f" ({h['searches_p50']:.0f} searches p50)" if "searches_p50" in h else ""
            other.append(
                f"| {name} | {path}{extra} | {h['p50']:.1f} | {h['p95']:.1f} | {h['max']:.1f} |"
            )
            print(other[-1], flush=True)
        if a.cli:
            c = bench_cli(db, qs, a.cli)
            other.append(
                f"| {name} | cold CLI `ehr-bridge ask … --json` ({a.cli} processes) "
                f"| {c['p50']:.1f} | {c['p95']:.1f} | {c['max']:.1f} |"
            )
            print(other[-1], flush=True)
    lines += [
        "",
        "Same questions over HTTP (live uvicorn on 127.0.0.1, httpx client; the FHIR path runs "
        "the plan's FHIR searches against the same server's /fhir and answers with the shared "
        "evaluator), and cold CLI processes:",
        "",
        "| database | path | p50 | p95 | max |",
        "|---|---|---|---|---|",
        *other,
    ]
    out = Path(__file__).with_name("RESULTS-nl.md")
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
