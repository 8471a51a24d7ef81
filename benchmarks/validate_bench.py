"""FHIR validation cost: full pydantic validation vs the shape-cached fast path.

    python benchmarks/validate_bench.py [--tree /tmp/vtree] [--messages 10000] [--repeat 5]

Corpora: (1) every resource the SS-MIX2 connector makes of a synthetic storage tree
(``gen_ssmix2_tree.py``; generated into ``--tree`` when that folder does not exist), (2)
``examples/synthetic/*.ndjson``. Per corpus: µs per resource of ``validate_resource_full`` (one
pass), of ``fast_validate`` on a cold cache (first pass: every new shape fully validated) and on
a warm cache (best of ``--repeat`` passes), the speed-up, and the shape-cache counters (hit
rate = hits / calls). Single process, one core; timings include nothing but validation.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def ssmix2_corpus(tree: Path, messages: int) -> tuple[list[dict[str, Any]], int]:
    from connectors._sdk.errors import RecordError
    from connectors.ssmix2 import SSMix2Config, SSMix2Connector

    if not tree.is_dir():
        from gen_ssmix2_tree import generate

        generate(tree, messages)
    conn = SSMix2Connector(SSMix2Config(root=str(tree), facility_code="1312345670"))  # type: ignore[call-arg]
    out: list[dict[str, Any]] = []
    n = 0
    for rec in conn.discover():
        if rec.payload is None:
            continue
        try:
            conv = conn.convert(rec)
        except RecordError:
            continue
        n += 1
        out += [*conv.resources, *conv.if_absent]
    return out, n


def synthetic_corpus() -> list[dict[str, Any]]:
    out = []
    for f in sorted((ROOT / "examples" / "synthetic").glob("*.ndjson")):
        out += [json.loads(line) for line in f.read_text(encoding="utf-8").splitlines() if line]
    return out


def measure(name: str, resources: list[dict[str, Any]], repeat: int) -> dict[str, Any]:
    from connectors._sdk import fast_validate as fv
    from connectors._sdk.fhir_models import validate_resource_full

    n = len(resources)
    t0 = time.perf_counter()
    full_bad = sum(1 for r in resources if validate_resource_full(r))
    full_us = (time.perf_counter() - t0) / n * 1e6

    fv.cache_clear()
    t0 = time.perf_counter()
    fast_bad = sum(1 for r in resources if fv.fast_validate(r))
    cold_us = (time.perf_counter() - t0) / n * 1e6
    assert fast_bad == full_bad, (fast_bad, full_bad)
    warm = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for r in resources:
            fv.fast_validate(r)
        warm.append((time.perf_counter() - t0) / n * 1e6)
    info = fv.cache_info()
    calls = info["hits"] + info["misses"] + info["unmappable"]
    res = {
        "corpus": name,
        "resources": n,
        "invalid": full_bad,
        "full_us": round(full_us, 1),
        "fast_cold_us": round(cold_us, 1),
        "fast_warm_us": round(min(warm), 1),
        "speedup_warm": round(full_us / min(warm), 1),
        "shapes": info["size"],
        "hit_rate_cold_pass": round(1 - info["size"] / n, 4),
        "hit_rate_all_passes": round(info["hits"] / calls, 4),
        "fallbacks": info["fallbacks"],
        "unmappable": info["unmappable"],
    }
    print(json.dumps(res), flush=True)
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tree", type=Path, default=Path("/tmp/vtree"))
    ap.add_argument("--messages", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    print(f"python {sys.version.split()[0]}, cpus {os.cpu_count()}", flush=True)
    resources, msgs = ssmix2_corpus(args.tree, args.messages)
    print(f"ssmix2 tree {args.tree}: {msgs} records converted", flush=True)
    measure("ssmix2-tree", resources, args.repeat)
    measure("examples/synthetic", synthetic_corpus(), args.repeat)


if __name__ == "__main__":
    main()
