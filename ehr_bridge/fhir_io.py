"""Reading and writing FHIR files: NDJSON (one resource a line) and Bundle JSON, by file or folder.

Bad input never stops a run: each problem is reported with file and line (NDJSON) or entry
index (Bundle), and the rest is stored. Problems name the place and the kind of problem only,
never the content (which may be patient data).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from connectors._sdk.fhir_models import validate_resource


@dataclass(frozen=True)
class InputProblem:
    file: str
    line: int  # NDJSON line (1-based), or Bundle entry index + 1
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


@dataclass(frozen=True)
class ParsedResource:
    file: str
    line: int
    resource: dict[str, Any]


def input_files(paths: list[Path]) -> list[Path]:
    """Files to import, folders expanded (sorted; *.ndjson, *.json, *.jsonl)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(
                sorted(
                    p
                    for p in path.rglob("*")
                    if p.is_file() and p.suffix.lower() in (".ndjson", ".json", ".jsonl")
                )
            )
        else:
            files.append(path)
    return files


def _check(resource: Any, validate: bool) -> str | None:
    if not isinstance(resource, dict):
        return "not a JSON object"
    rtype = resource.get("resourceType")
    if not isinstance(rtype, str) or not rtype:
        return "resourceType missing"
    rid = resource.get("id")
    if rid is not None and (not isinstance(rid, str) or not rid or len(rid) > 64):
        return "id is not a FHIR id"
    if validate:
        problems = validate_resource(resource)
        if problems:
            return "invalid resource: " + "; ".join(problems[:3])
    return None


Chunk = list[tuple[int, bytes]]


def check_chunk(
    name: str, chunk: Chunk, validate: bool
) -> tuple[list[ParsedResource], list[InputProblem]]:
    """Parse and check NDJSON lines (pure; runs in a worker process for big imports)."""
    good: list[ParsedResource] = []
    problems: list[InputProblem] = []
    for lineno, raw in chunk:
        try:
            resource = orjson.loads(raw)
        except orjson.JSONDecodeError:
            problems.append(InputProblem(name, lineno, "not valid JSON"))
            continue
        reason = _check(resource, validate)
        if reason:
            problems.append(InputProblem(name, lineno, reason))
        else:
            good.append(ParsedResource(name, lineno, resource))
    return good, problems


def ndjson_chunks(file: Path, size: int) -> Iterator[Chunk]:
    chunk: Chunk = []
    with file.open("rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            if raw.strip():
                chunk.append((lineno, raw))
                if len(chunk) >= size:
                    yield chunk
                    chunk = []
    if chunk:
        yield chunk


def is_bundle_file(file: Path) -> bool:
    with file.open("rb") as fh:
        head = fh.read(4096).lstrip()
    return head.startswith(b"{") and file.suffix.lower() == ".json"


def read_resource_chunks(
    files: list[Path],
    problems: list[InputProblem],
    *,
    validate: bool = True,
    chunk_size: int = 2000,
    workers: int = 0,
) -> Iterator[tuple[int, list[ParsedResource]]]:
    """(input bytes consumed, checked resources) for every file, chunk by chunk, in input order.

    With ``workers`` > 0, NDJSON chunks are parsed and validated in that many worker processes
    while the caller writes the previous chunks (validation is the costliest step of an import).
    """
    pool = None
    if workers > 0:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
    try:
        for file in files:
            name = str(file)
            if not file.exists():
                problems.append(InputProblem(name, 0, "file not found"))
                continue
            if is_bundle_file(file):
                yield file.stat().st_size, list(_read_bundle(file, problems, validate))
                continue
            if pool is None:
                for chunk in ndjson_chunks(file, chunk_size):
                    good, bad = check_chunk(name, chunk, validate)
                    problems.extend(bad)
                    yield sum(len(raw) for _, raw in chunk), good
                continue
            pending: list[tuple[int, Any]] = []
            for chunk in ndjson_chunks(file, chunk_size):
                nbytes = sum(len(raw) for _, raw in chunk)
                pending.append((nbytes, pool.submit(check_chunk, name, chunk, validate)))
                if len(pending) > workers + 1:
                    nbytes, future = pending.pop(0)
                    good, bad = future.result()
                    problems.extend(bad)
                    yield nbytes, good
            for nbytes, future in pending:
                good, bad = future.result()
                problems.extend(bad)
                yield nbytes, good
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)


def _read_bundle(
    file: Path, problems: list[InputProblem], validate: bool
) -> Iterator[ParsedResource]:
    name = str(file)
    try:
        doc = orjson.loads(file.read_bytes())
    except orjson.JSONDecodeError:
        problems.append(InputProblem(name, 1, "not valid JSON"))
        return
    if not isinstance(doc, dict):
        problems.append(InputProblem(name, 1, "not a JSON object"))
        return
    if doc.get("resourceType") != "Bundle":
        reason = _check(doc, validate)
        if reason:
            problems.append(InputProblem(name, 1, reason))
        else:
            yield ParsedResource(name, 1, doc)
        return
    for index, entry in enumerate(doc.get("entry") or [], start=1):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        reason = _check(resource, validate) if resource is not None else "entry has no resource"
        if reason:
            problems.append(InputProblem(name, index, f"Bundle.entry[{index - 1}]: {reason}"))
            continue
        assert isinstance(resource, dict)
        yield ParsedResource(name, index, resource)


def write_ndjson(out_dir: Path, resources: Iterator[dict[str, Any]]) -> dict[str, int]:
    """Write ``<Type>.ndjson`` files (Bulk Data layout). Returns counts per type."""
    out_dir.mkdir(parents=True, exist_ok=True)
    handles: dict[str, Any] = {}
    counts: dict[str, int] = {}
    try:
        for resource in resources:
            rtype = resource["resourceType"]
            if rtype not in handles:
                handles[rtype] = (out_dir / f"{rtype}.ndjson").open("wb")
            handles[rtype].write(orjson.dumps(resource) + b"\n")
            counts[rtype] = counts.get(rtype, 0) + 1
    finally:
        for handle in handles.values():
            handle.close()
    return counts
