"""mappings/_native.py: the compiled build is used only when it is built for this Python from
the current sources, and never when EHR_BRIDGE_NATIVE=0."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mappings import _native


@pytest.fixture
def manifest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "manifest.json"
    monkeypatch.setattr(_native, "MANIFEST", path)
    monkeypatch.delenv("EHR_BRIDGE_NATIVE", raising=False)
    return path


def _write(path: Path, **changes: object) -> None:
    doc = {"modules": list(_native.MODULES), "sources": _native.sources_hash(),
           "extension_suffix": _native.extension_suffix(), **changes}  # fmt: skip
    path.write_text(json.dumps(doc), "utf-8")


def test_a_current_build_is_accepted(manifest: Path) -> None:
    _write(manifest)
    assert _native._why_not() == ""


def test_no_build_stale_sources_other_python_or_switched_off(
    manifest: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _native._why_not().startswith("not built")
    _write(manifest, sources="0" * 64)  # a compiled module's source changed since the build
    assert _native._why_not().startswith("out of date")
    _write(manifest, modules=list(_native.MODULES)[:-1])
    assert _native._why_not().startswith("out of date")
    _write(manifest, extension_suffix=".cpython-39-x86_64-linux-gnu.so")
    assert _native._why_not().startswith("built for another Python")
    _write(manifest)
    monkeypatch.setenv("EHR_BRIDGE_NATIVE", "0")
    assert _native._why_not().startswith("off")


def test_every_listed_module_exists_and_loads_from_where_status_says(tmp_path: Path) -> None:
    assert all(_native.source_path(m).is_file() for m in _native.MODULES)
    # run from another directory, as an operator's shell or a scheduler does: the compiled
    # modules and the plain ones (connectors._sdk.errors is never compiled) must both import
    code = (
        "import connectors.ssmix2.hl7 as h, connectors._sdk.errors, ehr_bridge.sync.storage; "
        "from mappings import _native; "
        "print(_native.status().split()[0], h.__file__.endswith('.py'))"
    )
    for env, pure in (({"EHR_BRIDGE_NATIVE": "0"}, True), ({}, None)):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             env={**_env(), **env}, check=True, cwd=tmp_path).stdout.split()  # fmt: skip
        assert out[1] == str(out[0] == "python")  # .py exactly when status says python
        if pure:
            assert out == ["python", "True"]


def _env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k != "EHR_BRIDGE_NATIVE"}


def test_config_show_says_which_modules_run(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "ehr_bridge", "config", "show"], cwd=tmp_path,
                         capture_output=True, text=True, check=True,
                         env={**_env(), "EHR_BRIDGE_NATIVE": "0"}).stdout  # fmt: skip
    assert "# hot modules: python (off (EHR_BRIDGE_NATIVE=0))" in out
