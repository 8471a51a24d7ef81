"""The compiled build of the hot modules (mypyc), used when it is built and current.

``python tools/build_native.py`` compiles :data:`MODULES` — the SS-MIX2 parser and converters,
the id function, the shape-cached validator, search-index extraction and the flat views: the
per-message Python of an ingest — with mypyc into ``.native/`` at the repository root (ignored
by git), with a manifest of the sources' hash. :func:`activate` (run when any of our packages is
first imported) then puts a finder first on ``sys.meta_path`` that loads those modules from the
compiled extensions. It does nothing, and the ``.py`` files are used as always, when:

- there is no build (a fresh checkout, or an install without a C compiler);
- ``EHR_BRIDGE_NATIVE=0`` is set (to compare, or to rule the build out when debugging);
- the build is for another Python (its extension suffix differs);
- any of the compiled sources changed since the build (a warning says to rebuild). All or
  nothing: compiled modules call each other directly, so one stale module would still run the
  old code of the others.

Behaviour is the same either way; the test suite and a differential fuzz of the converters
(7,531 mutated messages, identical output) check that. Speed: README, "SS-MIX2 ingest".
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import json
import logging
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
NATIVE_DIR = ROOT / ".native"
MANIFEST = NATIVE_DIR / "manifest.json"
GROUP = "ehr_bridge_native"  # name of mypyc's shared library module in NATIVE_DIR

MODULES = (
    "connectors.ssmix2.hl7",
    "connectors.ssmix2.common",
    "connectors.ssmix2.convert",
    "connectors.ssmix2.lab",
    "connectors.ssmix2.medication",
    "connectors.ssmix2.patient",
    "connectors.ssmix2.clinical",
    "connectors.ssmix2.encounter",
    "connectors.ssmix2.coverage",
    "connectors.ssmix2.orders",
    "connectors.ssmix2.nutrition",
    "connectors.ssmix2.administration",
    "connectors.ssmix2.storage",
    "connectors._sdk.ids",
    "connectors._sdk.storable",
    "connectors._sdk.fast_validate",
    "ehr_bridge.store.indexing",
    "ehr_bridge.store.fhirtime",
    "ehr_bridge.store.copy_text",
    "nl2query.views",
    "mappings.code_systems",
)

log = logging.getLogger("ehr_bridge.native")
_NOT_ACTIVATED = "not activated"
# why the Python modules are in use; "" once the compiled ones are (set by activate())
_reason = _NOT_ACTIVATED


def source_path(module: str) -> Path:
    return ROOT.joinpath(*module.split(".")).with_suffix(".py")


def sources_hash() -> str:
    digest = hashlib.sha256()
    for module in MODULES:
        digest.update(module.encode() + b"\0" + source_path(module).read_bytes())
    return digest.hexdigest()


def extension_suffix() -> str:
    return importlib.machinery.EXTENSION_SUFFIXES[0]


class _NativeFinder:
    """Finds :data:`MODULES` as the compiled extensions in ``.native/``."""

    def __init__(self, paths: dict[str, Path]) -> None:
        self.paths = paths

    def find_spec(
        self, fullname: str, path: Any = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        so = self.paths.get(fullname)
        return None if so is None else importlib.util.spec_from_file_location(fullname, so)


def activate() -> bool:
    """Use the compiled modules when built and current (see module doc); True when in use."""
    global _reason
    if _reason != _NOT_ACTIVATED:
        return not _reason
    _reason = _why_not()
    if _reason:
        if _reason.startswith("out of date"):
            log.warning("native build %s; using the Python modules", _reason)
        return False
    suffix = extension_suffix()
    paths = {m: NATIVE_DIR.joinpath(*m.split(".")).with_name(m.rsplit(".", 1)[-1] + suffix)
             for m in MODULES}  # fmt: skip
    # mypyc's shared library is a top-level module. Found by this finder, not by putting
    # NATIVE_DIR on sys.path: its package-shaped folders (no __init__.py) would then become
    # namespace packages wherever our packages are not on sys.path themselves (an editable
    # install run from another directory) and hide every module that is not compiled.
    paths[f"{GROUP}__mypyc"] = NATIVE_DIR / f"{GROUP}__mypyc{suffix}"
    sys.meta_path.insert(0, _NativeFinder(paths))
    return True


def _why_not() -> str:
    if os.environ.get("EHR_BRIDGE_NATIVE", "1") == "0":
        return "off (EHR_BRIDGE_NATIVE=0)"
    return build_problem()


def manifest() -> dict[str, Any]:
    """What a build of the current sources for this Python records (``MANIFEST``)."""
    return {"modules": list(MODULES), "sources": sources_hash(),
            "extension_suffix": extension_suffix()}  # fmt: skip


def build_problem() -> str:
    """Why the build in ``NATIVE_DIR`` cannot be used ("" when it can)."""
    try:
        built = json.loads(MANIFEST.read_text("utf-8"))
    except (OSError, ValueError):
        return "not built (python tools/build_native.py)"
    if built.get("extension_suffix") != extension_suffix():
        return "built for another Python (python tools/build_native.py)"
    if built != manifest():
        return "out of date: sources changed since it was built (python tools/build_native.py)"
    return ""


def status() -> str:
    """'native' or why the Python modules are in use (for ``ehr-bridge config show``)."""
    return f"python ({_reason})" if _reason else "native"
