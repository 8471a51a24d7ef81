"""Incremental, parallel sync of a folder-based storage connector (SS-MIX2).

Incremental: the connector's folders (SS-MIX2 patient folders) each have a *signature* (name,
size, mtime and inode of every entry below the folder, plus the connector configuration); a run
re-reads only folders whose signature differs from the one committed after the folder's records
were last stored (``sync_folder``). The signature is taken *before* the folder's files are read,
so a file written during a run is read again by the next run. Any added, removed, renamed
(condition flag 1→2/0) or rewritten file changes the signature; within a re-read folder,
unchanged records are still skipped by their content fingerprint. ``full=True`` ignores the
signatures (every folder is read; fingerprints still skip unchanged records).

Parallel: with ``workers > 0`` folders are read, decoded, converted and checked in that many
worker processes (batches of folders, bounded queue: memory stays flat) while this process
writes the previous batches through the sync loop (one transaction per batch of records;
folder checkpoints commit with or after their records).

Checks (``validate``):
- ``full``: every resource is validated against the FHIR R4(B) models (the default);
- ``sample``: every resource gets the cheap structural check below, and one resource in
  ``sample_every`` (chosen by id, so deterministic) the full model validation;
- ``none``: no checks.
The structural check: known resource type, FHIR id syntax, no empty/null values anywhere
(FHIR forbids them), only JSON primitive leaves, references ``Type/id``. A resource failing
any check quarantines its record, as before.
"""

from __future__ import annotations

import gc
import logging
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

from connectors._sdk.errors import RecordError
from connectors._sdk.fhir_models import validate_resource
from connectors._sdk.records import Checkpoint, Conversion, SourceRecord
from connectors._sdk.storable import UNSTORABLE, storable_number
from ehr_bridge.bulk import GC_THRESHOLD, bulk_gc
from ehr_bridge.config import COMMIT_SECONDS
from ehr_bridge.store.search_params import SEARCH_PARAMS
from ehr_bridge.sync.loop import SyncLoop, SyncReport

log = logging.getLogger("ehr_bridge.sync")

Validate = Literal["full", "sample", "none"]
# a folder to read: path, signature, and its files when the connector's scan listed them
Folder = tuple[str, str, Any]
_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
_REF = re.compile(r"^[A-Z][A-Za-z]+/[A-Za-z0-9\-.]{1,64}$")
# resource types a storage connector may write: those the store serves (has search parameters
# for), plus Medication (contained in injection orders and administrations)
_TYPES = frozenset(SEARCH_PARAMS) | {"Medication"}


@dataclass(frozen=True)
class Progress:
    """Where a storage sync stands (``on_progress``): folders walked and read (changed) so
    far, records written (counted per committed or flushed batch), quarantined, seconds since
    the start; ``done`` on the last call."""

    folders_seen: int
    folders_read: int
    records: int
    quarantined: int
    elapsed_s: float
    done: bool = False


def structural_problem(res: dict[str, Any]) -> str:
    """The first structural problem of a resource ("" when none); never quotes values."""
    rtype = res.get("resourceType")
    if rtype not in _TYPES:
        return "resourceType: not a resource type this connector writes"
    if not isinstance(res.get("id"), str) or not _ID.match(res["id"]):
        return f"{rtype}.id: not a FHIR id"
    if _structurally_ok(res):
        return ""
    return _first_problem(rtype, res)


def _ref_ok(x: str) -> bool:
    return bool(_REF.match(x)) or x.startswith("#") or x.startswith("urn:")


def _structurally_ok(res: dict[str, Any]) -> bool:
    """The fast path of :func:`structural_problem`: no element paths are built."""
    stack: list[Any] = [res]
    pop, extend = stack.pop, stack.extend
    while stack:
        v = pop()
        t = type(v)
        if t is str:
            if not v or v.isspace():
                return False
        elif t is dict:
            if not v:
                return False
            ref = v.get("reference")
            if type(ref) is str and not _ref_ok(ref):
                return False
            extend(v.values())
        elif t is list:
            if not v:
                return False
            extend(v)
        elif t is int or t is float:
            if not storable_number(v):
                return False
        elif t is not bool:
            return False
    return True


def _first_problem(rtype: str, res: dict[str, Any]) -> str:
    """The slow path: walks again building element paths to name the problem."""
    stack: list[tuple[str, Any]] = [(rtype, res)]
    while stack:
        path, v = stack.pop()
        if isinstance(v, dict):
            if not v:
                return f"{path}: empty object"
            for k, x in v.items():
                if k == "reference" and isinstance(x, str) and not _ref_ok(x):
                    return f"{path}.reference: not Type/id"
                stack.append((f"{path}.{k}", x))
        elif isinstance(v, list):
            if not v:
                return f"{path}: empty array"
            stack.extend((path, x) for x in v)
        elif v is None or (isinstance(v, str) and not v.strip()):
            return f"{path}: empty value"
        elif not isinstance(v, str | int | float | bool):
            return f"{path}: not a JSON value"
        elif isinstance(v, int | float) and not isinstance(v, bool) and not storable_number(v):
            return f"{path}: {UNSTORABLE}"
    return ""  # only str/int subclasses tripped the fast path: fine


def _sampled(res: dict[str, Any], every: int) -> bool:
    rid = res["id"].replace("-", "")
    try:
        return int(rid[:8], 16) % every == 0
    except ValueError:
        return True


def check_resources(resources: list[dict[str, Any]], validate: Validate, every: int) -> None:
    """Raise :class:`RecordError` for the first resource failing the checks."""
    if validate == "none":
        return
    for res in resources:
        if validate == "sample":
            p = structural_problem(res)
            if p:
                raise RecordError(f"structural check failed: {p}", p.split(":", 1)[0])
            if not _sampled(res, every):
                continue
        problems = validate_resource(res)
        if problems:
            raise RecordError(
                f"FHIR validation failed: {problems[0]}", problems[0].split(":", 1)[0]
            )


def check_conversion(conv: Conversion, validate: Validate, sample_every: int) -> None:
    """Raise :class:`RecordError` for the first resource (``if_absent`` ones included)
    failing the checks."""
    check_resources([*conv.resources, *conv.if_absent], validate, sample_every)


class _Done:
    """A record converted (and checked) already: ``conv`` or the error that quarantines it."""

    __slots__ = ("conv", "location", "reason")

    def __init__(self, conv: Conversion | None, location: str = "", reason: str = "") -> None:
        self.conv, self.location, self.reason = conv, location, reason


class _Converted:
    """Stands in for the connector in the sync loop: records arrive converted."""

    Config: ClassVar[Any] = None

    def __init__(self, name: str) -> None:
        self.name = name

    def convert(self, record: SourceRecord) -> Conversion:
        done: _Done = record.payload
        if done.conv is None:
            raise RecordError(done.reason, done.location)
        return done.conv

    def discover(self, since: str | None = None) -> Iterator[SourceRecord]:
        return iter(())

    def reload(self, source_ref: str) -> SourceRecord | None:
        return None


def _failed(rec: SourceRecord, exc: Exception) -> _Done:
    if isinstance(exc, RecordError):
        return _Done(None, exc.location, exc.reason)
    # a converter bug quarantines the record; no exception text (it may hold patient data)
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    where = f"{tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}" if tb else "?"
    log.error("record %s: converter raised %s at %s", rec.key, type(exc).__name__, where)
    return _Done(None, "", f"internal error ({type(exc).__name__})")


def convert_record(
    connector: Any, rec: SourceRecord, validate: Validate, every: int
) -> SourceRecord:
    """One record converted and checked (``if_absent`` resources included)."""
    return convert_group(connector, [rec], validate, every)[0]


def convert_group(
    connector: Any, recs: list[SourceRecord], validate: Validate, every: int
) -> list[SourceRecord]:
    """The records of one source folder, converted and checked.

    ``if_absent`` resources (fallback Patients from order messages) whose type/id a record of
    the same folder produces and which passed the checks are dropped unchecked: the sync loop
    would never store them (that resource exists or is written in the same stream), so
    validating them is wasted work (a fifth of all validations in a typical tree)."""
    done: list[tuple[SourceRecord, Conversion | Exception | None]] = []
    produced: set[tuple[str, str]] = set()
    for rec in recs:
        if rec.payload is None:
            done.append((rec, None))
            continue
        try:
            conv = connector.convert(rec)
            check_resources(conv.resources, validate, every)
            produced.update((r["resourceType"], r["id"]) for r in conv.resources)
            done.append((rec, conv))
        except Exception as exc:  # noqa: BLE001 - quarantined by _failed
            done.append((rec, exc))
    out: list[SourceRecord] = []
    for rec, result in done:
        if result is None:
            out.append(rec)
            continue
        if isinstance(result, Conversion):
            fallbacks = [
                r for r in result.if_absent if (r["resourceType"], r["id"]) not in produced
            ]
            try:
                check_resources(fallbacks, validate, every)
                result.if_absent = fallbacks
                item = _Done(result)
            except RecordError as exc:
                item = _failed(rec, exc)
        else:
            item = _failed(rec, result)
        out.append(SourceRecord(rec.key, item, rec.source_ref, rec.cursor, rec.fingerprint))
    return out


def convert_folders(
    connector: Any, folders: list[Folder], validate: Validate, every: int
) -> list[SourceRecord | Checkpoint]:
    """Records of the folders (path, signature, files found by the scan or None), converted,
    each folder followed by its checkpoint. Runs in a worker process (or inline)."""
    out: list[SourceRecord | Checkpoint] = []
    for path, sig, files in folders:
        pdir = Path(path)
        recs = connector.patient_records(pdir) if files is None else \
            connector.patient_records(pdir, files)  # fmt: skip
        out.extend(convert_group(connector, list(recs), validate, every))
        out.append(Checkpoint(connector.folder_key(pdir), sig))
    return out


_WORKER: dict[str, Any] = {}


def _worker_convert(
    cls_path: str, cfg_json: str, folders: list[Folder], validate: Validate, every: int
) -> list[SourceRecord | Checkpoint]:
    key = cls_path + cfg_json
    connector = _WORKER.get(key)
    if connector is None:
        import importlib

        mod, _, name = cls_path.rpartition(".")
        cls = getattr(importlib.import_module(mod), name)
        connector = cls(cls.Config.model_validate_json(cfg_json))
        _WORKER.clear()
        _WORKER[key] = connector
        gc.freeze()  # a worker process does nothing else (see ehr_bridge.bulk)
        gc.set_threshold(*GC_THRESHOLD)
    return convert_folders(connector, folders, validate, every)


def sync_storage(
    store: Any,
    connector: Any,
    *,
    scope: str,
    full: bool = False,
    workers: int = 0,
    validate: Validate = "full",
    sample_every: int = 20,
    folder_batch: int = 32,
    sign_batch: int = 256,
    batch_size: int = 2000,
    commit_records: int = 20_000,
    commit_seconds: float = COMMIT_SECONDS,
    on_batch: Any = None,
    on_batch_every: int = 1000,
    on_progress: Callable[[Progress], None] | None = None,
    progress_every_s: float = 5.0,
    write_behind: bool = True,
) -> SyncReport:
    """Sync the changed folders of ``connector`` (see module doc).

    ``batch_size``: records per transaction. Larger batches write each B-tree page that many
    records touch once per commit instead of once per smaller batch: 500 → 2,000 records cut
    the SQLite WAL written for a 20k-message tree from 603 to 351 MB (benchmarks/
    RESULTS-ssmix2.md); memory grows with the batch (about 1 MB per 100 records).
    ``commit_records`` / ``commit_seconds``: a transaction commits after that many records or
    seconds, whichever comes first (see :class:`SyncLoop`); ``commit_seconds`` 0 commits every
    batch.
    ``folder_batch``: folders per conversion task; ``sign_batch``: folders signed before their
    stored signatures are looked up (one query).
    ``on_batch``: called every ``on_batch_every`` folders walked, outside the transaction.
    ``on_progress``: called with a :class:`Progress` at most every ``progress_every_s`` seconds
    while folders are walked, and once at the end (it must not write to the store).
    ``write_behind``: see :class:`SyncLoop` (PostgreSQL only).
    """
    loop = SyncLoop(store, _Converted(connector.name), scope=scope, validate=False,
                    batch_size=batch_size,
                    commit_records=commit_records, commit_seconds=commit_seconds,
                    write_behind=write_behind)  # fmt: skip
    seen = read = 0
    report = SyncReport()
    started = last_progress = time.monotonic()

    def progress(done: bool = False) -> None:
        nonlocal last_progress
        if on_progress is None:
            return
        now = time.monotonic()
        if done or now - last_progress >= progress_every_s:
            last_progress = now
            on_progress(Progress(seen, read, report.records, report.quarantined,
                                 now - started, done))  # fmt: skip

    # a connector that lists a folder's files while signing it (``folder_scan``) hands the
    # list on, so a changed folder is walked once, not twice
    scan = getattr(connector, "folder_scan", None)

    def sign(pdir: Path) -> tuple[str, Any]:
        if scan is not None:
            sig, files = scan(pdir)
            return sig, files
        return connector.folder_signature(pdir), None

    def changed() -> Iterator[list[Folder]]:
        nonlocal seen, read
        batch: list[tuple[str, Path, str, Any]] = []

        def flush() -> list[Folder]:
            nonlocal read
            known = {} if full else loop.folder_signatures([b[0] for b in batch])
            todo = [(str(p), sig, files) for k, p, sig, files in batch if known.get(k) != sig]
            read += len(todo)
            return todo

        for pdir in connector.folders():
            seen += 1
            if on_batch is not None and seen % on_batch_every == 0:
                # e.g. the job runner's heartbeat; not while this run's transaction is open
                loop.when_idle(on_batch)
            progress()
            batch.append((connector.folder_key(pdir), pdir, *sign(pdir)))
            if len(batch) >= max(folder_batch, sign_batch):
                todo = flush()
                batch = []
                for i in range(0, len(todo), folder_batch):
                    yield todo[i : i + folder_batch]
        if batch:
            todo = flush()
            for i in range(0, len(todo), folder_batch):
                yield todo[i : i + folder_batch]

    def inline() -> Iterator[SourceRecord | Checkpoint]:
        for folders in changed():
            yield from convert_folders(connector, folders, validate, sample_every)

    def pooled() -> Iterator[SourceRecord | Checkpoint]:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        cls_path = f"{type(connector).__module__}.{type(connector).__qualname__}"
        cfg_json = connector.config.model_dump_json()
        pending: list[Any] = []
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            try:
                for folders in changed():
                    pending.append(pool.submit(_worker_convert, cls_path, cfg_json, folders,
                                               validate, sample_every))  # fmt: skip
                    while len(pending) > 2 * workers:
                        yield from pending.pop(0).result()
                while pending:
                    yield from pending.pop(0).result()
            finally:
                for f in pending:
                    f.cancel()

    with bulk_gc():
        loop.process(pooled() if workers > 0 else inline(), report)
    report.folders_seen = seen
    report.folders_read = read
    progress(done=True)
    return report
