"""Compile the hot modules with mypyc into ``.native/`` (see mappings/_native.py).

    python tools/build_native.py            # build (about 1.2 min on 2 cores; nothing when current)
    python tools/build_native.py --force    # rebuild anyway
    python tools/build_native.py --clean    # remove the build: the Python modules are used

Needs a C compiler and the Python headers (``gcc``, ``python3-dev``) and the ``native`` extra
(``pip install -e '.[native]'``: mypy, whose mypyc does the compiling, and setuptools).
Exit 0 with a message when it cannot build: ehr-bridge then runs on the Python modules, same
behaviour, slower.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ["EHR_BRIDGE_NATIVE"] = "0"  # this process reads the sources, never the old build

from mappings import _native  # noqa: E402

SETUP = """
import sys
from setuptools import setup
from mypyc.build import mypycify
paths = sys.argv[1:]
sys.argv = [sys.argv[0], "build_ext", "--build-lib", {out!r}, "--build-temp", {tmp!r}, "--parallel", {jobs!r}]
setup(name="ehr-bridge-native", ext_modules=mypycify(paths, target_dir={tmp!r}, group_name={group!r}))
"""


def build(force: bool = False) -> int:
    try:
        import mypyc  # noqa: F401
    except ImportError:
        print("native build skipped: mypyc is not installed (pip install -e '.[native]')")
        return 0
    out = _native.NATIVE_DIR
    if not force and not _native.build_problem():
        print(f"native build is current ({out.relative_to(ROOT)}/)")
        return 0
    staging = Path(tempfile.mkdtemp(prefix="native_", dir=ROOT))
    try:
        lib, tmp = staging / "lib", staging / "tmp"
        script = staging / "setup_native.py"
        script.write_text(SETUP.format(out=str(lib), tmp=str(tmp), jobs=str(os.cpu_count() or 1),
                                       group=_native.GROUP), "utf-8")  # fmt: skip
        sources = [str(_native.source_path(m).relative_to(ROOT)) for m in _native.MODULES]
        # (EHR_BRIDGE_NATIVE=0 is inherited from this process's environment, set above)
        done = subprocess.run([sys.executable, str(script), *sources], cwd=ROOT,
                              capture_output=True, text=True)  # fmt: skip
        if done.returncode != 0:
            tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
            print(f"native build failed (the Python modules will be used):\n{tail}")
            return 0
        shutil.rmtree(out, ignore_errors=True)
        shutil.copytree(lib, out)
        _native.MANIFEST.write_text(json.dumps(_native.manifest(), indent=1), "utf-8")
        print(
            f"native build: {len(_native.MODULES)} modules compiled into {out.relative_to(ROOT)}/"
        )
        return 0
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--clean", action="store_true", help="remove the build")
    ap.add_argument("--force", action="store_true", help="rebuild even when the build is current")
    args = ap.parse_args()
    if args.clean:
        shutil.rmtree(_native.NATIVE_DIR, ignore_errors=True)
        print("native build removed")
        return 0
    return build(force=args.force)


if __name__ == "__main__":
    raise SystemExit(main())
