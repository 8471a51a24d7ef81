"""Review decisions: a person's accept/override/unmapped wins over the mapper on every run."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from mappings.jlac.mapper import MapResult


@dataclass(frozen=True)
class Decision:
    jlac10: str
    jlac11: str
    action: str  # accept | override | unmapped


def apply_decisions(
    results: Sequence[MapResult], decisions: Mapping[str, Decision]
) -> list[MapResult]:
    out = []
    for r in results:
        d = decisions.get(r.local_code)
        if d is None:
            out.append(r)
        elif d.action == "unmapped":
            out.append(replace(r, jlac10="", jlac11="", confidence=1.0, status="unmapped"))
        else:
            out.append(replace(r, jlac10=d.jlac10, jlac11=d.jlac11, confidence=1.0, status="auto"))
    return out
