"""Canonical JSON: sorted keys, no insignificant whitespace, UTF-8 (``ensure_ascii=False``)."""

from __future__ import annotations

import json
from typing import Any


def canonical_json(obj: Any, *, indent: int | None = None) -> str:
    if indent is None:
        return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, indent=indent) + "\n"
