"""One walk of a patient folder gives both its signature and its message files (the sync no
longer walks a changed folder twice); the files must be exactly what ``patient_files`` lists."""

from __future__ import annotations

import shutil
from pathlib import Path

from connectors.ssmix2.connector import folder_signature, scan_folder
from connectors.ssmix2.storage import MAIN_DOCUMENT, iter_patient_dirs, patient_files

FIXTURE = Path(__file__).parent / "storage" / "dev_subset"


def _listing(pdir: Path) -> list[tuple[str, str]]:
    return [(str(f.path), f.key_name) for f in patient_files(pdir)]


def test_scan_lists_what_patient_files_lists_on_real_layout(tmp_path: Path) -> None:
    root = tmp_path / "root"
    shutil.copytree(FIXTURE, root)
    pdirs = list(iter_patient_dirs(root))
    assert len(pdirs) >= 3
    for pdir in pdirs:
        sig, files = scan_folder(pdir, "salt")
        assert files == _listing(pdir)
        assert len(files) > 0
        assert sig == folder_signature(pdir, "salt")


def test_scan_handles_extended_storage_and_stray_entries(tmp_path: Path) -> None:
    pdir = tmp_path / "000" / "000" / "0000000001"
    kind = pdir / "20240101" / "OMP-01"
    kind.mkdir(parents=True)
    (kind / "0000000001_20240101_OMP-01_1_20240101120000000_01_1").write_bytes(b"MSH|")
    (kind / "0000000001_20240101_OMP-01_1_20240102120000000_01_2").write_bytes(b"MSH|")
    ext = pdir / "20240101" / "L-OBSERVATIONS^OBSERVATIONS^99ZL01"
    (ext / "0000000001_20240101_ORU-01_9_20240101130000000__1").mkdir(parents=True)
    (ext / "0000000001_20240101_ORU-01_9_20240101130000000__1" / MAIN_DOCUMENT).write_bytes(b"M")
    (ext / "content_without_main_document").mkdir()
    (ext / "content_without_main_document" / "other.txt").write_bytes(b"x")
    (pdir / "stray_file_at_date_level").write_bytes(b"x")
    (pdir / "20240101" / "stray_file_at_kind_level").write_bytes(b"x")

    sig, files = scan_folder(pdir)
    assert files == _listing(pdir)
    names = [name for _, name in files]
    assert names == [
        "0000000001_20240101_ORU-01_9_20240101130000000__1",
        "0000000001_20240101_OMP-01_1_20240101120000000_01_1",
        "0000000001_20240101_OMP-01_1_20240102120000000_01_2",
    ]
    assert files[0][0].endswith(MAIN_DOCUMENT)

    # renaming a file (condition flag 1 -> 0) changes the signature and the listing
    (kind / "0000000001_20240101_OMP-01_1_20240101120000000_01_1").rename(
        kind / "0000000001_20240101_OMP-01_1_20240101120000000_01_0"
    )
    sig2, files2 = scan_folder(pdir)
    assert sig2 != sig
    assert files2 == _listing(pdir)
    assert files2[1][1].endswith("_0")


def test_read_returns_every_byte_whatever_the_size(tmp_path: Path) -> None:
    """Files are read without fstat: a short read ends the file, a full 64 KiB chunk reads on."""
    from connectors.ssmix2.connector import _READ_CHUNK, _read

    for size in (0, 1, _READ_CHUNK - 1, _READ_CHUNK, _READ_CHUNK + 1, 3 * _READ_CHUNK + 7):
        data = bytes((i * 7 + size) % 251 for i in range(size))
        f = tmp_path / f"m{size}"
        f.write_bytes(data)
        assert _read(f) == data, size
