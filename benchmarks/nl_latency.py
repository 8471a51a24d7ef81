"""Per-question latency of the rules path in a warm process, with a stage breakdown.

    python benchmarks/nl_latency.py QUESTIONS.jsonl DATA_DIR --db URL [--db URL2 ...]

Loads DATA_DIR (FHIR NDJSON) into each database, asks every question twice (first pass warms
caches, second is timed) and writes a Markdown table to benchmarks/RESULTS-nl.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import datetime
from pathlib import Path

NOW = datetime.fromisoformat("2026-10-01T09:00:00+09:00")


def _pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p * (len(xs) - 1))))]


def bench(db: str, questions: list[str], data: Path) -> dict[str, float]:
    from ehr_bridge.store import open_store
    from nl2query.pipeline import ask

    store = open_store(db)
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
    row = {"p50": statistics.median(total), "p95": _pct(total, 0.95), "max": max(total)}
    for k, v in stages.items():
        row[f"{k}_p50"] = statistics.median(v)
    return row


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("questions", type=Path)
    ap.add_argument("data", type=Path)
    ap.add_argument("--db", action="append", required=True)
    a = ap.parse_args()
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
    for db in a.db:
        r = bench(db, qs, a.data)
        name = db.split(":")[0]
        lines.append(
            f"| {name} | {r['p50']:.1f} | {r['p95']:.1f} | {r['max']:.1f} | {r.get('safety_p50', 0):.2f} "
            f"| {r.get('parse_p50', 0):.2f} | {r.get('execute_p50', 0):.2f} | {r.get('compile_p50', 0):.2f} |"
        )
        print(lines[-1], flush=True)
    out = Path(__file__).with_name("RESULTS-nl.md")
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
