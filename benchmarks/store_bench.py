"""FHIR store benchmark: import throughput and search latency, against hand-written SQL.

    python benchmarks/store_bench.py --resources 1000000 --backend sqlite,postgresql \
        --results benchmarks/RESULTS-store.md

For each backend: a fresh database, import of synthetic JP Core data (``examples/
generate_synthetic.py``, generated once into ``--data``) through ``FhirStore.upsert_many`` in
batches of 2,000 (the path ``ehr-bridge import-fhir`` takes, without its model validation),
then each search case timed through ``run_search`` and as the equivalent hand-written SQL over
``fhir_resource`` + ``fhir_idx_*`` on the same tables in the same run (the ids of both must be
equal, checked every iteration), and a few cases through the HTTP API (httpx against a real
uvicorn on 127.0.0.1). Prints a Markdown table; ``--results FILE`` replaces this backend's
section in FILE.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ehr_bridge.store import FhirStore, open_store  # noqa: E402
from ehr_bridge.store.fhirtime import parse_range  # noqa: E402
from ehr_bridge.store.search import run_search  # noqa: E402

RESOURCES_PER_PATIENT = 17.7  # measured on the default seed
BATCH = 2000
JLAC10 = "http://medis.or.jp/CodeSystem/master-JLAC10-17digits"
ICD10 = "http://jpfhir.jp/fhir/core/mhlw/CodeSystem/ICD10-2013-full"
ICD10_OID = "urn:oid:1.2.392.200119.4.101.6"
HOSP = "urn:oid:1.2.392.100495.20.3.51.11312345670"
TARGET_IMPORT = 5000.0
TARGET_P95_MS = 50.0
TARGET_RATIO = 1.5


# ------------------------------------------------------------------ data
def _generator() -> Any:
    path = ROOT / "examples" / "generate_synthetic.py"
    spec = importlib.util.spec_from_file_location("generate_synthetic", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def ensure_data(data_dir: Path, resources: int) -> Path:
    patients = math.ceil(resources / RESOURCES_PER_PATIENT)
    out = data_dir / f"synthetic-{patients}p"
    if not (out / ".complete").exists():
        print(f"generating {patients} patients into {out} ...", file=sys.stderr)
        _generator().generate(out, patients)
        (out / ".complete").write_text("ok\n")
    return out


def read_ndjson(folder: Path) -> Iterator[dict[str, Any]]:
    gen = _generator()
    for rtype in gen.TYPES:
        with (folder / f"{rtype}.ndjson").open("rb") as fh:
            for line in fh:
                if line.strip():
                    yield orjson.loads(line)


# ------------------------------------------------------------------ databases
def fresh_url(backend: str, args: argparse.Namespace) -> str:
    if backend == "sqlite":
        path = Path(args.sqlite_path)
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        return f"sqlite:///{path}"
    admin = args.pg_admin
    name = args.pg_db
    subprocess.run(["dropdb", "--if-exists", "-h", admin[0], "-U", admin[1], name], check=True)
    subprocess.run(["createdb", "-h", admin[0], "-U", admin[1], name], check=True)
    return f"postgresql+psycopg://{admin[1]}@{admin[0]}:5432/{name}"


def db_size(store: FhirStore, backend: str, url: str) -> str:
    if backend == "sqlite":
        path = Path(url.split("///", 1)[1])
        size = sum(
            Path(str(path) + s).stat().st_size for s in ("", "-wal") if Path(str(path) + s).exists()
        )
    else:
        with store.engine.connect() as c:
            size = int(c.execute(text("select pg_database_size(current_database())")).scalar_one())
    return f"{size / 2**30:.2f} GiB"


def do_import(store: FhirStore, folder: Path, limit: int) -> tuple[int, float]:
    from ehr_bridge.bulk import bulk_gc

    with bulk_gc():
        return _import(store, folder, limit)


def _import(store: FhirStore, folder: Path, limit: int) -> tuple[int, float]:
    n = 0
    batch: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    last = t0
    for resource in read_ndjson(folder):
        batch.append(resource)
        n += 1
        if len(batch) >= BATCH:
            store.upsert_many(batch)
            batch = []
            if time.perf_counter() - last > 30:
                last = time.perf_counter()
                rate = n / (last - t0)
                print(f"  {n} resources, {rate:.0f}/s", file=sys.stderr, flush=True)
        if n >= limit:
            break
    if batch:
        store.upsert_many(batch)
    return n, time.perf_counter() - t0


def analyze(store: FhirStore) -> None:
    """ANALYZE (SQLite); VACUUM ANALYZE on PostgreSQL, as autovacuum does shortly after a bulk
    load: it also sets the visibility map, without which index-only scans visit the heap."""
    if store.engine.dialect.name == "postgresql":
        with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text("VACUUM (ANALYZE)"))
        return
    with store.engine.begin() as c:
        c.execute(text("ANALYZE"))


# ------------------------------------------------------------------ cases
@dataclass
class Case:
    name: str
    rtype: str
    params: list[tuple[str, str]]
    sql: str
    binds: dict[str, Any]


@dataclass
class Timing:
    fhir: list[float] = field(default_factory=list)
    counted: list[float] = field(default_factory=list)  # run_search with _total=estimate
    sql: list[float] = field(default_factory=list)
    total: list[int] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)


def _sample(store: FhirStore, rtype: str, k: int) -> list[dict[str, Any]]:
    """k resources of a type spread evenly over the table (deterministic)."""
    with store.engine.connect() as c:
        n = int(
            c.execute(
                text("select count(*) from fhir_resource where resource_type = :t"), {"t": rtype}
            ).scalar_one()
        )
        step = max(n // k, 1)
        rows = c.execute(
            text(
                "select content from fhir_resource where resource_type = :t "
                "and pk in (select pk from fhir_resource where resource_type = :t "
                "order by pk limit :lim) order by pk"
            ),
            {"t": rtype, "lim": step * k},
        ).all()
    return [orjson.loads(r.content) for r in rows[::step]][:k]


def _bounds(value: str) -> tuple[datetime, datetime]:
    return parse_range(value)  # naive UTC, as the index stores it


_LIVE = "r.deleted = :f"
_PAGE = " order by r.pk limit :lim offset :off"


def build_cases(store: FhirStore, k: int) -> dict[str, list[Case]]:
    """Per case name, k parameterisations drawn from the imported data."""
    pats = _sample(store, "Patient", k)
    obs = _sample(store, "Observation", k)
    meds = _sample(store, "MedicationRequest", k)
    base = {"f": False, "lim": 50, "off": 0}
    cases: dict[str, list[Case]] = {}

    cases["Patient identifier"] = [
        Case(
            "Patient identifier",
            "Patient",
            [("identifier", f"{HOSP}|{p['identifier'][0]['value']}")],
            "select r.id, r.content from fhir_resource r join fhir_idx_token t on t.res_pk = r.pk "
            "where t.resource_type = 'Patient' and t.param = 'identifier' and t.system = :sys "
            f"and t.code = :code and {_LIVE}" + _PAGE,
            {**base, "sys": HOSP, "code": p["identifier"][0]["value"]},
        )
        for p in pats
    ]

    def kana_prefix(p: dict[str, Any], i: int) -> str:
        family = p["name"][1]["family"]
        return family[: 2 + i % 2]

    cases["Patient kana name prefix"] = [
        Case(
            "Patient kana name prefix",
            "Patient",
            [("name", kana_prefix(p, i))],
            "select r.id, r.content from fhir_resource r where r.resource_type = 'Patient' "
            f"and {_LIVE} and exists (select 1 from fhir_idx_string s where s.res_pk = r.pk "
            "and s.resource_type = 'Patient' and s.param = 'name' "
            "and s.value >= :lo and s.value < :hi)" + _PAGE,
            {**base, "lo": kana_prefix(p, i), "hi": kana_prefix(p, i) + "\U0010ffff"},
        )
        for i, p in enumerate(pats)
    ]

    cases["Observation patient+code _sort=-date"] = [
        Case(
            "Observation patient+code _sort=-date",
            "Observation",
            [
                ("patient", o["subject"]["reference"]),
                ("code", f"{JLAC10}|{o['code']['coding'][0]['code']}"),
                ("_sort", "-date"),
            ],
            "select r.id, r.content from fhir_resource r "
            "join fhir_idx_reference p on p.res_pk = r.pk and p.resource_type = 'Observation' "
            "and p.param = 'patient' and p.target_type = 'Patient' and p.target_id = :pid "
            "join fhir_idx_token c on c.res_pk = r.pk and c.resource_type = 'Observation' "
            "and c.param = 'code' and c.system = :sys and c.code = :code "
            "join fhir_idx_date d on d.res_pk = r.pk and d.param = 'date' "
            f"where {_LIVE} order by d.start desc, r.pk limit :lim offset :off",
            {
                **base,
                "pid": o["subject"]["reference"].split("/")[1],
                "sys": JLAC10,
                "code": o["code"]["coding"][0]["code"],
            },
        )
        for o in obs
    ]

    thresholds = [
        ("3D046000001906202", "8.0"),
        ("3D010129902227101", "200"),
        ("3F077000002327101", "180"),
        ("5C070000002306201", "5"),
        ("3C015000002327101", "1.5"),
        ("3H015000002327201", "5.0"),
    ]
    cases["Observation code+value-quantity ge"] = [
        Case(
            "Observation code+value-quantity ge",
            "Observation",
            [("code", f"{JLAC10}|{code}"), ("value-quantity", f"ge{v}")],
            "select r.id, r.content from fhir_resource r "
            "join fhir_idx_token c on c.res_pk = r.pk and c.resource_type = 'Observation' "
            "and c.param = 'code' and c.system = :sys and c.code = :code "
            "join fhir_idx_quantity q on q.res_pk = r.pk and q.resource_type = 'Observation' "
            f"and q.param = 'value-quantity' and q.value >= :v where {_LIVE}" + _PAGE,
            {**base, "sys": JLAC10, "code": code, "v": float(v)},
        )
        for code, v in (thresholds * k)[:k]
    ]

    icd = ["E11.9", "I10", "E78.5", "N18.3", "J45.9", "I48.9", "K21.9", "E79.0"]
    cases["Condition code (OID form)+clinical-status"] = [
        Case(
            "Condition code (OID form)+clinical-status",
            "Condition",
            [("code", f"{ICD10_OID}|{code}"), ("clinical-status", "active")],
            "select r.id, r.content from fhir_resource r "
            "join fhir_idx_token c on c.res_pk = r.pk and c.resource_type = 'Condition' "
            "and c.param = 'code' and c.system = :sys and c.code = :code "
            "join fhir_idx_token s on s.res_pk = r.pk and s.resource_type = 'Condition' "
            "and s.param = 'clinical-status' and s.code = 'active' "
            f"where {_LIVE}" + _PAGE,
            {**base, "sys": ICD10, "code": code},
        )
        for code in (icd * k)[:k]
    ]

    months = [f"{y}-{m:02d}" for y in (2022, 2023, 2024) for m in range(1, 13)]
    enc_cases = []
    for i in range(k):
        cls = "IMP" if i % 2 == 0 else "AMB"
        m = months[(i * 7) % len(months)]
        lo, _ = _bounds(m + "-01")
        nxt = (
            months[(i * 7) % len(months) + 1]
            if (i * 7) % len(months) + 1 < len(months)
            else "2025-01"
        )
        hi, _ = _bounds(nxt + "-01")
        enc_cases.append(
            Case(
                "Encounter class+date range",
                "Encounter",
                [("class", cls), ("date", f"ge{m}-01"), ("date", f"lt{nxt}-01")],
                "select r.id, r.content from fhir_resource r "
                "join fhir_idx_token c on c.res_pk = r.pk and c.resource_type = 'Encounter' "
                "and c.param = 'class' and c.code = :cls "
                "join fhir_idx_date d on d.res_pk = r.pk and d.resource_type = 'Encounter' "
                "and d.param = 'date' and d.\"end\" > :lo and d.start < :hi "
                f"where {_LIVE}" + _PAGE,
                {**base, "cls": cls, "lo": lo, "hi": hi},
            )
        )
    cases["Encounter class+date range"] = enc_cases

    cases["MedicationRequest patient+status"] = [
        Case(
            "MedicationRequest patient+status",
            "MedicationRequest",
            [("patient", m["subject"]["reference"]), ("status", m["status"])],
            "select r.id, r.content from fhir_resource r "
            "join fhir_idx_reference p on p.res_pk = r.pk and p.resource_type = 'MedicationRequest' "
            "and p.param = 'patient' and p.target_type = 'Patient' and p.target_id = :pid "
            "join fhir_idx_token s on s.res_pk = r.pk and s.resource_type = 'MedicationRequest' "
            "and s.param = 'status' and s.code = :status "
            f"where {_LIVE}" + _PAGE,
            {**base, "pid": m["subject"]["reference"].split("/")[1], "status": m["status"]},
        )
        for m in meds
    ]

    cases["Observation code, page 2 (_count=50&_offset=50)"] = [
        Case(
            "Observation code, page 2 (_count=50&_offset=50)",
            "Observation",
            [("code", f"{JLAC10}|{code}"), ("_count", "50"), ("_offset", "50")],
            "select r.id, r.content from fhir_resource r "
            "join fhir_idx_token c on c.res_pk = r.pk and c.resource_type = 'Observation' "
            "and c.param = 'code' and c.system = :sys and c.code = :code "
            f"where {_LIVE}" + _PAGE,
            {**base, "sys": JLAC10, "code": code, "off": 50},
        )
        for code, _ in (thresholds * k)[:k]
    ]
    return cases


# ------------------------------------------------------------------ timing
def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, math.ceil(q * len(s)) - 1))]


def time_cases(store: FhirStore, cases: dict[str, list[Case]], warmup: int) -> dict[str, Timing]:
    out: dict[str, Timing] = {}
    for name, variants in cases.items():
        timing = Timing()
        for i, case in enumerate([*variants[:warmup], *variants]):
            record = i >= warmup

            def fhir(
                case: Case = case, record: bool = record, timing: Timing = timing
            ) -> list[str]:
                result = run_search(store, case.rtype, case.params)
                return [m["id"] for m in result.matches]

            def counted(
                case: Case = case, record: bool = record, timing: Timing = timing
            ) -> list[str]:
                result = run_search(store, case.rtype, [*case.params, ("_total", "estimate")])
                if record:  # None: more than 1,000 matches
                    timing.total.append(1001 if result.total is None else result.total)
                return [m["id"] for m in result.matches]

            def sql(case: Case = case) -> list[str]:
                with store.engine.connect() as c:
                    rows = c.execute(text(case.sql), case.binds).all()
                return [orjson.loads(r.content)["id"] for r in rows]

            order: list[tuple[str, Callable[[], list[str]]]] = [
                ("fhir", fhir),
                ("counted", counted),
                ("sql", sql),
            ]
            if i % 2:
                order.reverse()
            ids: dict[str, list[str]] = {}
            for label, fn in order:
                t0 = time.perf_counter()
                ids[label] = fn()
                dt = (time.perf_counter() - t0) * 1000
                if record:
                    getattr(timing, label).append(dt)
            if not ids["fhir"] == ids["counted"] == ids["sql"]:
                raise AssertionError(f"{name}: FHIR search and SQL disagree for {case.params}")
            if record:
                timing.rows.append(len(ids["fhir"]))
        out[name] = timing
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def time_http(
    url: str, cases: dict[str, list[Case]], names: list[str], warmup: int
) -> dict[str, list[float]]:
    import httpx

    port = _free_port()
    env = {**os.environ, "EHR_BRIDGE_DB": url}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "ehr_bridge.api.app:app_from_env",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=ROOT,
    )
    out: dict[str, list[float]] = {}
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            for _ in range(200):
                try:
                    client.get("/fhir/metadata")
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            for name in names:
                times: list[float] = []
                variants = cases[name]
                for i, case in enumerate([*variants[:warmup], *variants]):
                    t0 = time.perf_counter()
                    resp = client.get(f"/fhir/{case.rtype}", params=tuple(case.params))
                    dt = (time.perf_counter() - t0) * 1000
                    resp.raise_for_status()
                    body = resp.json()
                    got = [
                        e["resource"]["id"]
                        for e in body.get("entry", [])
                        if e.get("search", {}).get("mode", "match") == "match"
                    ]
                    want = [m["id"] for m in run_search_ids(url, case)]
                    if got != want:
                        raise AssertionError(f"HTTP {name}: ids differ from run_search")
                    if i >= warmup:
                        times.append(dt)
                out[name] = times
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return out


_STORES: dict[str, FhirStore] = {}


def run_search_ids(url: str, case: Case) -> list[dict[str, Any]]:
    store = _STORES.setdefault(url, open_store(url, migrate=False))
    return run_search(store, case.rtype, case.params).matches


# ------------------------------------------------------------------ report
def report(
    backend: str,
    n: int,
    seconds: float | None,
    size: str,
    timings: dict[str, Timing],
    http: dict[str, list[float]],
    iterations: int,
) -> str:
    lines = [f"### {backend}: {n:,} resources", ""]
    if seconds is not None:
        rate = n / seconds
        ok = "yes" if rate >= TARGET_IMPORT else "**no**"
        lines += [
            "| import | resources | seconds | resources/s | ≥ 5,000/s | database size |",
            "|---|---:|---:|---:|---|---:|",
            f"| `upsert_many`, batches of {BATCH} | {n:,} | {seconds:.0f} | {rate:,.0f} | {ok} | {size} |",
            "",
        ]
    lines += [
        f"Search latency in ms over {iterations} parameterisations each (FHIR = `run_search` as "
        "the API calls it: parse + SQL for the page (`total` only where free: the last page) + "
        "JSON decode; counted = the same with `_total=estimate` (`total` on every page, exact up "
        "to 1,000 matches, counted up to 1,001); SQL = hand-written query for the same page + "
        "JSON decode).",
        "",
        "| search | matches (median total, counted) | FHIR p50 | FHIR p95 | SQL p50 | SQL p95 | "
        "p95 ratio | counted p95 | counted ratio | p95 ≤ 50 ms | ratio ≤ 1.5 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for name, t in timings.items():
        f95, p95, s95 = pct(t.fhir, 0.95), pct(t.counted, 0.95), pct(t.sql, 0.95)
        ratio = f95 / s95 if s95 else float("inf")
        pratio = p95 / s95 if s95 else float("inf")
        lines.append(
            f"| {name} | {_matches(t.total)} | {pct(t.fhir, 0.5):.1f} | {f95:.1f} | "
            f"{pct(t.sql, 0.5):.1f} | {s95:.1f} | {ratio:.2f} | {p95:.1f} | {pratio:.2f} | "
            f"{'yes' if f95 <= TARGET_P95_MS else '**no**'} | "
            f"{'yes' if ratio <= TARGET_RATIO else '**no**'} |"
        )
    if http:
        lines += [
            "",
            "| HTTP GET /fhir (httpx → uvicorn, one worker) | p50 ms | p95 ms |",
            "|---|---:|---:|",
        ]
        for name, times in http.items():
            lines.append(f"| {name} | {pct(times, 0.5):.1f} | {pct(times, 0.95):.1f} |")
    return "\n".join(lines) + "\n"


def _matches(totals: list[int]) -> str:
    median = statistics.median(totals)
    return "> 1,000" if median > 1000 else f"{median:,.0f}"


def write_results(path: Path, backend: str, body: str) -> None:
    start, end = f"<!-- store-bench:{backend} -->", f"<!-- /store-bench:{backend} -->"
    text_ = path.read_text("utf-8") if path.exists() else "# Store benchmark results\n\n"
    block = f"{start}\n{body}{end}\n"
    if start in text_ and end in text_:
        head, rest = text_.split(start, 1)
        text_ = head + block + rest.split(end, 1)[1].lstrip("\n")
    else:
        text_ = text_.rstrip("\n") + "\n\n" + block
    path.write_text(text_, "utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--resources", type=int, default=50_000)
    ap.add_argument("--backend", default="sqlite,postgresql")
    ap.add_argument("--data", type=Path, default=Path("/tmp/ehr-bridge-bench"))
    ap.add_argument("--sqlite-path", default="/tmp/ehr-bridge-bench/store.db")
    ap.add_argument("--pg-host", default="127.0.0.1")
    ap.add_argument("--pg-user", default="postgres")
    ap.add_argument("--pg-db", default="ehr_bridge_bench")
    ap.add_argument("--iterations", type=int, default=40)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument(
        "--skip-import", action="store_true", help="reuse the databases of a former run"
    )
    ap.add_argument("--no-http", action="store_true")
    ap.add_argument("--results", type=Path)
    args = ap.parse_args(argv)
    args.pg_admin = (args.pg_host, args.pg_user)
    args.data.mkdir(parents=True, exist_ok=True)
    folder = ensure_data(args.data, args.resources)
    for backend in args.backend.split(","):
        if args.skip_import:
            url = (
                f"sqlite:///{args.sqlite_path}"
                if backend == "sqlite"
                else f"postgresql+psycopg://{args.pg_user}@{args.pg_host}:5432/{args.pg_db}"
            )
            store = open_store(url)
            n = sum(store.counts().values())
            seconds = None
        else:
            url = fresh_url(backend, args)
            store = open_store(url)
            print(f"[{backend}] importing ...", file=sys.stderr)
            n, seconds = do_import(store, folder, args.resources)
            print(f"[{backend}] {n} resources in {seconds:.1f} s", file=sys.stderr)
        analyze(store)
        size = db_size(store, backend, url)
        cases = build_cases(store, args.iterations)
        timings = time_cases(store, cases, args.warmup)
        http: dict[str, list[float]] = {}
        if not args.no_http:
            names = [
                "Patient identifier",
                "Observation patient+code _sort=-date",
                "Condition code (OID form)+clinical-status",
                "Observation code, page 2 (_count=50&_offset=50)",
            ]
            http = time_http(url, cases, names, args.warmup)
        body = report(backend, n, seconds, size, timings, http, args.iterations)
        print(body)
        if args.results:
            write_results(args.results, backend, body)
        store.engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
