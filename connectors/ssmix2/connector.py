"""The SS-MIX2 storage connector: walks a storage root and yields one record per storage record
(patient ID, date, data kind, order number), plus one record per patient folding its visit
(ADT) messages into Encounters. All file I/O is in :meth:`SSMix2Connector.discover`."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field

from connectors._sdk.base import ConnectorConfig
from connectors._sdk.errors import FatalError, RecordError
from connectors._sdk.records import Conversion, SourceRecord
from connectors.ssmix2.convert import (
    EXTENDED_VITALS,
    ConvertOptions,
    convert_message,
    convert_visit_messages,
)
from connectors.ssmix2.encounter import VISIT_KINDS
from connectors.ssmix2.storage import (
    MAIN_DOCUMENT,
    StorageFile,
    iter_patient_dirs,
    parse_name,
    patient_files,
    resolve,
    storage_file,
)

VISITS = "visits"


class SSMix2Config(ConnectorConfig):
    root: str = Field(description="SS-MIX2 storage root (standard or extended storage).")
    facility_code: str = Field(
        "",
        description="医療機関コード (10 digits: prefecture 2 + point-table 1 + code 7). Builds the "
        "JP Core patient identifier system urn:oid:1.2.392.100495.20.3.51.1<code> and scopes ids.",
    )
    jp_core_uri_form: Literal["url", "oid"] = Field(
        "url",
        description="Code-system URI form written: JP Core 1.2 URLs or legacy OIDs (JP-CLINS).",
    )
    local_system_base: str = Field(
        "urn:ehr-bridge:ssmix2:local:",
        description="Prefix of code-system URIs for local (99xxx) HL7 coding systems.",
    )


class SSMix2Connector:
    """SS-MIX2 standardized/extended storage reader."""

    name: ClassVar[str] = "ss-mix2"
    Config: ClassVar[type[ConnectorConfig]] = SSMix2Config

    def __init__(self, config: SSMix2Config) -> None:
        self.config = config
        self.root = Path(config.root)
        self._root_prefix = os.path.join(str(self.root), "")  # root + separator
        self.options = ConvertOptions(
            facility_code=config.facility_code,
            uri_form=config.jp_core_uri_form,
            local_system_base=config.local_system_base,
        )
        # salts the folder signatures: a configuration change re-reads every folder
        self._salt = config.model_dump_json()

    def _key(self, key: str) -> str:
        return f"{self.config.facility_code}:{key}" if self.config.facility_code else key

    # ------------------------------------------------------------------ I/O
    def discover(self, since: str | None = None) -> Iterator[SourceRecord]:
        """Records of every patient folder, patient by patient (memory: one folder at a time).

        Files with an unparsable name are yielded as records whose payload is a ``RecordError``
        so they end up in quarantine.
        """
        if not self.root.is_dir():
            raise FatalError("storage root is not a directory")
        for pdir in iter_patient_dirs(self.root):
            yield from self.patient_records(pdir)

    # ------------------------------------------------------------ incremental
    def folders(self) -> Iterator[Path]:
        """Patient folders in sorted order (the unit of incremental sync)."""
        if not self.root.is_dir():
            raise FatalError("storage root is not a directory")
        return iter_patient_dirs(self.root)

    def folder_key(self, pdir: Path) -> str:
        """``pdir`` relative to the root, ``/``-separated (string slicing: a per-folder hot
        spot where ``Path.relative_to`` cost 1.5 % of a sync)."""
        path = str(pdir)
        if path.startswith(self._root_prefix):
            return path[len(self._root_prefix) :].replace(os.sep, "/")
        return pdir.relative_to(self.root).as_posix()

    def folder_signature(self, pdir: Path) -> str:
        """Changes whenever a file or folder below ``pdir`` is added, removed, renamed or
        rewritten (name, size, mtime in ns and inode of every entry; no file is opened), or the
        connector configuration changes. Costs one ``stat`` per entry."""
        return folder_signature(pdir, self._salt)

    def folder_scan(self, pdir: Path) -> tuple[str, list[tuple[str, str]]]:
        """:meth:`folder_signature` and the folder's message files from the same walk; passing
        the files to :meth:`patient_records` spares a second walk of the folder."""
        return scan_folder(pdir, self._salt)

    def patient_records(
        self, pdir: Path, files_found: list[tuple[str, str]] | None = None
    ) -> Iterator[SourceRecord]:
        """Records of one patient folder; ``files_found`` from :meth:`folder_scan` (else the
        folder is listed here)."""
        files = (
            patient_files(pdir)
            if files_found is None
            else [storage_file(Path(path), name) for path, name in files_found]
        )
        for f in files:
            if f.name is None:
                yield SourceRecord(
                    key=self._key(f"badname/{f.key_name}"),
                    payload=RecordError(
                        f"unrecognised storage file name: {f.problem}", "file name"
                    ),
                    source_ref=str(f.path),
                )
        records = resolve(files)
        pid = pdir.name
        visit_parts: list[tuple[str, str, bytes, str]] = []
        has_visits = False
        # ADT-00 (master record) first, so fallback Patients from other messages are no-ops
        records.sort(key=lambda r: (r.name.kind != "ADT-00", r.key))
        for r in records:
            kind = r.name.kind
            if kind in VISIT_KINDS:
                has_visits = True
                if not r.deleted:
                    data = _read(r.path)
                    visit_parts.append((kind, r.name.sent_sortable + kind, data, str(r.path)))
                continue
            if r.deleted:
                yield SourceRecord(self._key(r.key), None, str(r.path), r.name.sent_sortable)
                continue
            data = _read(r.path)
            yield SourceRecord(
                key=self._key(r.key),
                payload=(r.name.patient_id, kind, data),
                source_ref=str(r.path),
                cursor=r.name.sent_sortable,
                fingerprint=SourceRecord.fingerprint_of(data),
            )
        if has_visits:
            fp = SourceRecord.fingerprint_of(
                *(p[2] for p in visit_parts), *(p[3].encode() for p in visit_parts)
            )
            yield SourceRecord(
                key=self._key(f"{pid}/{VISITS}"),
                payload=(pid, VISITS, tuple(visit_parts)),
                source_ref=str(pdir),
                cursor=max((p[1][:17] for p in visit_parts), default=""),
                fingerprint=fp,
            )

    def reload(self, source_ref: str) -> SourceRecord | None:
        """Re-read the record a file belongs to (``quarantine retry``)."""
        path = Path(source_ref)
        if path.is_dir():  # a patient folder: its visit record
            for rec in self.patient_records(path):
                if rec.key.endswith(f"/{VISITS}"):
                    return rec
            return None
        name_part = path.parent.name if path.name == MAIN_DOCUMENT else path.name
        try:
            name = parse_name(name_part)
        except ValueError:
            return None
        pdir = _patient_dir(path)
        if pdir is None:
            return None
        for rec in self.patient_records(pdir):
            if name.kind in VISIT_KINDS and rec.key.endswith(f"/{VISITS}"):
                return rec
            if rec.key == self._key(name.record_key):
                return rec
        return None

    def case_record(self, path: Path) -> SourceRecord:
        """Golden-case file → record. Name ``<KIND>__<label>.<ext>``: KIND is a data kind,
        ``VITALS`` (extended-storage vitals) or ``MSG`` (derive from MSH-9). ``.hl7`` holds
        the raw message bytes (decoded per MSH-18); ``.txt`` holds published UTF-8 text."""
        kind_part = path.stem.partition("__")[0]
        kind = {"MSG": "", "VITALS": EXTENDED_VITALS}.get(kind_part, kind_part)
        data: bytes | str = path.read_text("utf-8") if path.suffix == ".txt" else path.read_bytes()
        return SourceRecord(path.stem, ("", kind, data), path.name)

    # ------------------------------------------------------------------ pure
    def convert(self, record: SourceRecord) -> Conversion:
        payload = record.payload
        if isinstance(payload, RecordError):
            raise payload
        pid, kind, data = payload
        if kind == VISITS:
            return convert_visit_messages(
                [(k, s, d, ref) for k, s, d, ref in data],
                patient_id=pid,
                options=self.options,
                record_key=record.key,
            )
        return convert_message(
            data,
            kind=kind or None,
            patient_id=pid or None,
            options=self.options,
            source_ref=record.source_ref,
            record_key=record.key,
        )


def folder_signature(pdir: Path, salt: str = "") -> str:
    return scan_folder(pdir, salt)[0]


def scan_folder(pdir: Path, salt: str = "") -> tuple[str, list[tuple[str, str]]]:
    """The folder's signature and, from the same walk, its message files as (path, storage
    name) in :func:`patient_files` order: the files of ``<date>/<kind>/`` and the
    ``main_document.hl7`` of each content folder there (the name is the folder's)."""
    h = hashlib.sha1(salt.encode(), usedforsecurity=False)
    stack = [(str(pdir), 0)]
    found: list[tuple[str, str, bool]] = []  # depth-3 entries: path, name, is a folder
    with_main: set[str] = set()  # depth-3 folders holding a main_document.hl7 file
    while stack:
        d, depth = stack.pop()
        try:
            with os.scandir(d) as it:
                entries = sorted(it, key=lambda e: e.name)
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            h.update(b"?" + d.encode())
            continue
        h.update(b"D" + d.encode())
        subdirs = []
        for e in entries:
            st = e.stat(follow_symlinks=False)
            h.update(f"{e.name}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ino}\n".encode())
            is_dir = e.is_dir(follow_symlinks=False)
            if is_dir:
                subdirs.append((e.path, depth + 1))
            if depth == 2:
                if e.is_file():
                    found.append((e.path, e.name, False))
                elif e.is_dir():
                    found.append((e.path, e.name, True))
            elif depth == 3 and e.name == MAIN_DOCUMENT and e.is_file():
                with_main.add(d)
        stack.extend(reversed(subdirs))
    files = [
        (os.path.join(path, MAIN_DOCUMENT) if is_dir else path, name)
        for path, name, is_dir in found
        if not is_dir or path in with_main
    ]
    return h.hexdigest(), files


def _read(path: Path | str) -> bytes:
    """The file's bytes (os-level: no buffered file object, no isatty probe, no fstat; a
    bulk-path hot spot at one call per message). A short read of a regular file means end of
    file, so a message under 64 KiB (nearly all) costs one read."""
    fd = os.open(path, os.O_RDONLY)
    try:
        data = os.read(fd, _READ_CHUNK)
        if len(data) < _READ_CHUNK:
            return data
        chunks = [data]
        while chunks[-1]:
            chunks.append(os.read(fd, _READ_CHUNK))
        return b"".join(chunks)
    finally:
        os.close(fd)


_READ_CHUNK = 1 << 16


def _patient_dir(path: Path) -> Path | None:
    # <pdir>/<date>/<kind>/<file>  or  <pdir>/<date>/<kind>/<content>/main_document.hl7
    up = 4 if path.name == MAIN_DOCUMENT else 3
    p = path
    for _ in range(up):
        p = p.parent
    return p if p.is_dir() else None


__all__ = ["SSMix2Config", "SSMix2Connector", "StorageFile"]
