"""SS-MIX2 storage layout: file-name parsing, tree walking, record resolution by condition flag.

Standard storage::

    <root>/<id[0:3]>/<id[3:6]>/<id>/<診療日|->/<data kind>/<id>_<date>_<kind>_<order>_<sent>_<dept>_<flag>

Extended storage: the data-kind folder holds *content folders* named like a standard file (the
department may be missing) containing ``main_document.hl7``.

A record is identified by (patient ID, date, data kind, order number). Condition flag ``1`` is
current, ``2`` superseded, ``0`` deleted: the current content of a record is its newest flag-1
file unless a flag-0 file is newer; a record with only flag-0 files is deleted.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

MAIN_DOCUMENT = "main_document.hl7"


@dataclass(frozen=True, slots=True)
class StorageName:
    patient_id: str
    date: str  # YYYYMMDD or "-"
    kind: str
    order_no: str
    sent: str  # 発生日時 as written (15–17 digits)
    department: str  # "-" or "" when absent
    flag: str  # "0" | "1" | "2"

    @property
    def record_key(self) -> str:
        return f"{self.patient_id}/{self.date}/{self.kind}/{self.order_no}"

    @property
    def sent_sortable(self) -> str:
        return self.sent.ljust(17, "0")


def parse_name(name: str) -> StorageName:
    """Parse a storage file (or content folder) name. Raises ``ValueError``."""
    parts = name.split("_")
    if len(parts) < 6:
        raise ValueError("file name has fewer than 6 '_'-separated fields")
    pid, date, flag = parts[0], parts[1], parts[-1]
    if len(parts) == 6:
        kind, order, sent, dept = parts[2], parts[3], parts[4], ""
    else:
        kind = "_".join(parts[2:-4])
        order, sent, dept = parts[-4], parts[-3], parts[-2]
    if not pid:
        raise ValueError("empty patient ID in file name")
    if date != "-" and not (len(date) == 8 and date.isdigit()):
        raise ValueError("date field is neither YYYYMMDD nor '-'")
    if flag not in ("0", "1", "2"):
        raise ValueError("condition flag is not 0, 1 or 2")
    if not sent.isdigit():
        raise ValueError("occurrence timestamp is not numeric")
    if not kind:
        raise ValueError("empty data kind")
    return StorageName(pid, date, kind, order, sent, dept, flag)


@dataclass(frozen=True, slots=True)
class StorageFile:
    path: Path  # the message file
    name: StorageName | None  # None: unparsable name (reason in ``problem``)
    problem: str = ""

    @property
    def key_name(self) -> str:
        """File name, or the content folder name for extended storage."""
        return self.path.parent.name if self.path.name == MAIN_DOCUMENT else self.path.name


@dataclass(frozen=True, slots=True)
class ResolvedRecord:
    key: str
    name: StorageName  # of the chosen file
    path: Path
    deleted: bool
    superseded: tuple[Path, ...] = ()


def _sorted_dirs(path: Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(path) as it:
            return sorted(it, key=lambda e: e.name)
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return []


def iter_patient_dirs(root: Path) -> Iterator[Path]:
    """Patient folders ``root/a/b/<id>`` in sorted order (memory: one folder listing at a time)."""
    for a in _sorted_dirs(root):
        if not a.is_dir():
            continue
        for b in _sorted_dirs(Path(a.path)):
            if not b.is_dir():
                continue
            for p in _sorted_dirs(Path(b.path)):
                if p.is_dir():
                    yield Path(p.path)


def patient_files(patient_dir: Path) -> list[StorageFile]:
    """Every message file below one patient folder (standard files and extended main documents)."""
    out: list[StorageFile] = []
    for d in _sorted_dirs(patient_dir):
        if not d.is_dir():
            continue
        for k in _sorted_dirs(Path(d.path)):
            if not k.is_dir():
                continue
            for e in _sorted_dirs(Path(k.path)):
                if e.is_file():
                    out.append(storage_file(Path(e.path), e.name))
                elif e.is_dir():
                    main = Path(e.path) / MAIN_DOCUMENT
                    if main.is_file():
                        out.append(storage_file(main, e.name))
    return out


def storage_file(path: Path, name: str) -> StorageFile:
    try:
        return StorageFile(path, parse_name(name))
    except ValueError as exc:
        return StorageFile(path, None, str(exc))


def resolve(files: list[StorageFile]) -> list[ResolvedRecord]:
    """Group files by record key and pick each record's current file (or its deletion)."""
    groups: dict[str, list[StorageFile]] = {}
    for f in files:
        if f.name is not None:
            groups.setdefault(f.name.record_key, []).append(f)
    out: list[ResolvedRecord] = []
    for key in sorted(groups):
        fs = sorted(groups[key], key=lambda f: (f.name.sent_sortable, f.name.flag, f.key_name))  # type: ignore[union-attr]
        ones = [f for f in fs if f.name and f.name.flag == "1"]
        zeros = [f for f in fs if f.name and f.name.flag == "0"]
        twos = [f for f in fs if f.name and f.name.flag == "2"]
        newest_one = ones[-1] if ones else None
        newest_zero = zeros[-1] if zeros else None
        if newest_one is not None and (
            newest_zero is None or newest_one.name.sent_sortable >= newest_zero.name.sent_sortable  # type: ignore[union-attr]
        ):
            chosen, deleted = newest_one, False
        elif newest_zero is not None:
            chosen, deleted = newest_zero, True
        else:
            chosen, deleted = twos[-1], False
        superseded = tuple(f.path for f in fs if f is not chosen)
        assert chosen.name is not None
        out.append(ResolvedRecord(key, chosen.name, chosen.path, deleted, superseded))
    return out
