"""Benchmark: the dev question set through the LLM engine alone (no rules parser, no safety layer).

Each question goes to the model (few-shot, json_schema structured output, repair rounds); the
plan is linked (terms → codes, time → dates) and executed read-only over a store loaded with the
dev data; the answer is scored with the dev scorer's own ``score_item``. Records accuracy,
seconds per question and repair statistics into ``benchmarks/RESULTS-nl-llm.md``.

    # real small model on CPU (llama.cpp server via xllamacpp, optional extra llm-e2e)
    python benchmarks/nl_llm.py --dev ../shared/eval/nl/dev.jsonl --gguf qwen2.5-coder-0.5b
    # any OpenAI-compatible server (vLLM on the GPU host)
    python benchmarks/nl_llm.py --dev ../shared/eval/nl/dev.jsonl --base-url http://gpu:8001/v1 --model MODEL
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 10, 1, 9, 0, tzinfo=timezone(timedelta(hours=9)))


def _load_scorer(path: Path) -> Any:
    spec = importlib.util.spec_from_file_location("nl_score", path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--dev", type=Path, required=True, help="dev.jsonl (data/ and score.py beside it)"
    )
    ap.add_argument(
        "--gguf",
        help="start llama.cpp's server on this fixture model (tests/nl2query_llm/local_model.py)",
    )
    ap.add_argument("--base-url", help="OpenAI-compatible base URL of a running server")
    ap.add_argument("--model", default="local-model")
    ap.add_argument("--api-key", default="EMPTY")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--limit", type=int, default=None, help="first N items")
    ap.add_argument("--stride", type=int, default=1, help="every Nth item (spread a sample)")
    ap.add_argument("--timeout", type=float, default=180.0)
    ap.add_argument("--label", default=None, help="section title in the results file")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "RESULTS-nl-llm.md")
    ap.add_argument("--jsonl", type=Path, default=None, help="per-item results")
    ap.add_argument(
        "--from-jsonl", type=Path, default=None, help="only rebuild the report from a --jsonl file"
    )
    ap.add_argument("--model-desc", default=None, help="model description in the report")
    ap.add_argument(
        "--concurrency", type=int, default=1, help="questions in flight at once (threads)"
    )
    ap.add_argument(
        "--server-start-s", type=float, default=0.0, help="server start time measured outside"
    )
    args = ap.parse_args(argv)

    sys.path.insert(0, str(ROOT))
    from ehr_bridge.cli.fhir import load_paths
    from ehr_bridge.store import open_store
    from nl2query.llm import LLMConfig, LLMEngine
    from nl2query.llm.bridge import LLMPlanner

    scorer = _load_scorer(args.dev.parent / "score.py")
    data_dir = args.dev.parent / "data"
    items = [json.loads(line) for line in args.dev.read_text("utf-8").splitlines() if line.strip()]
    items = items[:: args.stride][: args.limit]
    all_patients = scorer.load_patients(str(data_dir))
    if args.from_jsonl:
        rows = [json.loads(x) for x in args.from_jsonl.read_text("utf-8").splitlines() if x]
        by_id = {it["id"]: it for it in items}
        _add_safety(rows, by_id, scorer, all_patients)
        section = _report(rows, args.model_desc or "?", 0.0, 0.0, args, len(rows), 0.0)
        _write(args.out, args.label or "report", section)
        print(section)
        return 0

    tmp = tempfile.mkdtemp(prefix="nl_llm_bench_")
    db = f"sqlite:///{tmp}/bench.db"
    t = time.perf_counter()
    load_paths(db, [data_dir], validate=False)
    load_s = time.perf_counter() - t
    engine = open_store(db, migrate=False).engine

    server = None
    if args.gguf:
        sys.path.insert(0, str(ROOT / "tests" / "nl2query_llm"))
        from local_model import model_path, start_llamacpp

        path = model_path(args.gguf)
        if path is None:
            print(f"model {args.gguf} not installed (see docs/llm.md)", file=sys.stderr)
            return 2
        t = time.perf_counter()
        server, base_url = start_llamacpp(path, threads=args.threads)
        start_s = time.perf_counter() - t
        model_desc = f"{args.gguf} (GGUF Q4_K_M, llama.cpp server via xllamacpp, {args.threads or os.cpu_count()} CPU threads)"
    else:
        if not args.base_url:
            ap.error("--gguf or --base-url is required")
        base_url, start_s = args.base_url, args.server_start_s
        model_desc = args.model_desc or f"{args.model} at {args.base_url}"

    cfg = LLMConfig(
        base_url=base_url, model=args.model, api_key=args.api_key, timeout_s=args.timeout
    )
    local = threading.local()

    def run_item(item: dict[str, Any]) -> dict[str, Any]:
        planner = getattr(local, "planner", None)
        if planner is None:  # one planner per thread: it keeps the last result and error
            planner = local.planner = LLMPlanner(cfg, engine=LLMEngine(cfg))
        return _run_item(planner, item, engine, scorer, all_patients)

    t = time.perf_counter()
    rows = []
    with ThreadPoolExecutor(max_workers=max(1, args.concurrency)) as pool:
        for n, row in enumerate(pool.map(run_item, items), 1):
            rows.append(row)
            print(
                f"[{n}/{len(items)}] {row['id']} {row['gold']}->{row['pred']} ok={row['ok']} {row['seconds']:.1f}s",
                flush=True,
            )
    wall_s = time.perf_counter() - t
    if server is not None:
        del server

    _add_safety(rows, {it["id"]: it for it in items}, scorer, all_patients)
    if args.jsonl:
        args.jsonl.write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8"
        )
    section = _report(rows, model_desc, load_s, start_s, args, len(items), wall_s)
    _write(args.out, args.label or model_desc, section)
    print(section)
    return 0


def _run_item(
    planner: Any, item: dict[str, Any], engine: Any, scorer: Any, all_patients: Any
) -> dict[str, Any]:
    """One question: plan with the LLM, execute the plan read-only, score the answer."""
    from nl2query.pipeline import run_plan

    t = time.perf_counter()
    plan = planner.plan(item["question"], NOW)
    res, err = planner.last, planner.last_error
    if plan.intent == "answer":
        try:
            pred = run_plan(plan, engine, NOW, "llm", {}).answer
        except Exception as e:  # noqa: BLE001 - a crash is a wrong answer
            pred = {"status": "error", "text": f"{type(e).__name__}: {str(e)[:120]}"}
    else:
        pred = {
            "status": "clarify" if plan.intent == "clarify" else "refused",
            "text": plan.reason,
        }
    secs = time.perf_counter() - t
    ok, why = scorer.score_item(item, pred, all_patients)
    return {
        "id": item["id"],
        "category": item["category"],
        "gold": item["status"],
        "pred": pred.get("status"),
        "ok": bool(ok),
        "why": why,
        "seconds": round(secs, 2),
        "attempts": res.attempts if res else None,
        "llm_error": err.code if err else None,
        "llm_error_detail": err.detail if err else None,
        "error": pred.get("text") if pred.get("status") == "error" else None,
        "repair_errors": res.errors if res else getattr(err, "errors", None),
        "plan": plan.model_dump(mode="json", exclude_defaults=True),
        "completion_tokens": res.completion_tokens if res else None,
    }


def _add_safety(rows: list[dict[str, Any]], items: dict[str, Any], scorer: Any, pats: Any) -> None:
    """What the product's LLM engine would answer: the pure safety layer runs first."""
    from nl2query.safety import check

    for r in rows:
        item = items[r["id"]]
        v = check(item["question"])
        if v is None:
            r["ok_with_safety"] = r["ok"]
        else:
            ok, _ = scorer.score_item(item, {"status": v.status, "text": v.reason}, pats)
            r["ok_with_safety"] = bool(ok)


def _report(
    rows: list[dict[str, Any]],
    model: str,
    load_s: float,
    start_s: float,
    args: Any,
    n: int,
    wall_s: float,
) -> str:
    ok = sum(r["ok"] for r in rows)
    ans = [r for r in rows if r["gold"] == "answered"]
    secs = [r["seconds"] for r in rows]
    attempts = Counter(r["attempts"] for r in rows)
    errs = Counter(r["llm_error"] for r in rows if r["llm_error"])
    status = Counter((r["gold"], r["pred"]) for r in rows)
    cats = Counter(r["category"] for r in rows)
    repairs = Counter(e.split("\n")[0][:80] for r in rows for e in (r.get("repair_errors") or []))
    cat_ok = Counter(r["category"] for r in rows if r["ok"])
    lines = [
        f"- Model: {model}",
        f"- Machine: {platform.machine()}, {os.cpu_count()} CPUs; Python {platform.python_version()}; "
        f"run {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- Items: {n} of the dev set (stride {args.stride}, limit {args.limit}); engine = LLM alone "
        "(no rules parser, no safety layer), plans linked by nl2query.resolve and executed read-only.",
        f"- Server start {start_s:.1f} s; dev data import {load_s:.1f} s."
        if start_s or load_s
        else "- Report rebuilt from per-item results (--from-jsonl).",
        "",
        "| metric | value |",
        "|---|---|",
        f"| execution accuracy (all items) | {ok}/{n} = {ok / max(n, 1):.3f} |",
        f"| with the safety layer in front (product path, engine=llm) | {sum(r.get('ok_with_safety', r['ok']) for r in rows)}/{n} = {sum(r.get('ok_with_safety', r['ok']) for r in rows) / max(n, 1):.3f} |",
        f"| accuracy on answerable items | {sum(r['ok'] for r in ans)}/{len(ans)} = {sum(r['ok'] for r in ans) / max(len(ans), 1):.3f} |",
        f"| seconds per question (mean / median / p95) | {statistics.mean(secs):.2f} / {statistics.median(secs):.2f} / {sorted(secs)[int(0.95 * (len(secs) - 1))]:.2f} |",
        f"| questions in flight / wall time / questions per second | {args.concurrency} / {wall_s:.1f} s / {n / wall_s:.2f} |"
        if wall_s
        else "| questions in flight | (not measured) |",
        f"| requests per question (1 = no repair) | {dict(sorted((str(k), v) for k, v in attempts.items()))} |",
        f"| LLM errors | {dict(errs) or 'none'} |",
        "",
        "gold → predicted status: "
        + ", ".join(f"{g}→{p}: {c}" for (g, p), c in sorted(status.items(), key=str)),
        "",
        "per category: " + ", ".join(f"{c} {cat_ok[c]}/{cats[c]}" for c in sorted(cats)),
    ]
    if repairs:
        lines += ["", "most frequent errors fed back for repair:"]
        lines += [f"- {n}× {msg}" for msg, n in repairs.most_common(5)]
    return "\n".join(lines) + "\n"


def _write(path: Path, label: str, section: str) -> None:
    head = (
        "# nl2query LLM engine benchmark\n\n"
        "Written by `benchmarks/nl_llm.py` (one section per run label; a rerun replaces its section).\n"
    )
    text = path.read_text("utf-8") if path.exists() else head
    marker = f"\n## {label}\n"
    if marker in text:
        before, _, rest = text.partition(marker)
        nxt = rest.find("\n## ")
        text = before + (rest[nxt:] if nxt >= 0 else "")
    path.write_text(text.rstrip("\n") + "\n" + marker + "\n" + section, "utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
