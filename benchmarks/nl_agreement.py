"""SQL path vs FHIR path: ask every question both ways and compare the answers.

    python benchmarks/nl_agreement.py QUESTIONS.jsonl DATA_DIR --db URL [-v]

Loads DATA_DIR (FHIR NDJSON) into the database (skipped with --skip-import), starts our FHIR API
under uvicorn on 127.0.0.1, then asks each question through ``nl2query.pipeline.ask`` with the
SQL executor and with :class:`nl2query.execute_fhir.FhirExecutor` and compares status,
answer_type, count, patients, values and boolean. Prints the agreement figure.
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from pathlib import Path
from typing import Any

NOW = datetime.fromisoformat("2026-10-01T09:00:00+09:00")
FIELDS = ("status", "answer_type", "count", "patients", "values", "boolean")


def comparable(ans: dict[str, Any]) -> dict[str, Any]:
    return {k: ans.get(k) for k in FIELDS}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("questions", type=Path)
    ap.add_argument("data", type=Path)
    ap.add_argument("--db", required=True)
    ap.add_argument("--skip-import", action="store_true")
    ap.add_argument("-v", action="store_true")
    a = ap.parse_args()

    from ehr_bridge.api.app import create_app
    from ehr_bridge.api.background import serve_in_thread
    from ehr_bridge.config import load_settings
    from ehr_bridge.store import open_store
    from nl2query.execute_fhir import FhirExecutor
    from nl2query.pipeline import ask

    store = open_store(a.db)
    if not a.skip_import:
        for f in sorted(a.data.glob("*.ndjson")):
            store.upsert_many(json.loads(ln) for ln in f.open(encoding="utf-8") if ln.strip())
    items = [json.loads(ln) for ln in a.questions.open(encoding="utf-8") if ln.strip()]
    same = answered = 0
    diffs = []
    app = create_app(load_settings(db=a.db), store=store)
    with serve_in_thread(app) as base:
        fx = FhirExecutor(base + "/fhir", timeout_s=30)
        for it in items:
            q = it["question"]
            s = ask(q, store.engine, NOW).answer
            f = ask(q, None, NOW, executor=fx).answer
            answered += s["status"] == "answered"
            if comparable(s) == comparable(f):
                same += 1
            else:
                diffs.append((it.get("id"), q, comparable(s), comparable(f), f["query"]["fhir"]))
        fx.close()
    print(f"{a.questions.name}: {same}/{len(items)} identical answers ({answered} answered by SQL)")
    for d in diffs if a.v else diffs[:5]:
        print(json.dumps(d, ensure_ascii=False)[:1500])


if __name__ == "__main__":
    main()
