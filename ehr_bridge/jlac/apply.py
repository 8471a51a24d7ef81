"""Mapped JLAC codes applied to incoming Observations that carry only local lab codes.

A hospital's HIS often sends results under its own local test codes. Once its lab master is
mapped (``ehr-bridge jlac map`` / the API / the ``jlac-remap`` job), every Observation the
connectors store gets the JLAC10 (and JLAC11) coding of its local code added beside the local
one — only from rows whose mapping is ``auto`` or was decided by a reviewer, and only where the
local code means one thing across all registered masters.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, select

from ehr_bridge.jlac.tables import result_table
from mappings.code_systems import JLAC10, JLAC11, LOINC, canonical_system

log = logging.getLogger("ehr_bridge.jlac")

_STANDARD = {JLAC10, JLAC11, LOINC}
LocalMapping = dict[str, tuple[str, str]]


def apply_to_observation(obs: dict[str, Any], mapping: LocalMapping) -> bool:
    """Add the JLAC10 (and JLAC11) codings of the Observation's local code; True when added.

    Nothing changes when the Observation already has a JLAC10 coding (in any URI form) or
    none of its non-standard codings is in ``mapping``.
    """
    code = obs.get("code")
    if not isinstance(code, dict):
        return False
    codings = code.get("coding") or []
    systems = {canonical_system(c.get("system")) for c in codings if isinstance(c, dict)}
    if JLAC10 in systems:
        return False
    for coding in list(codings):
        if not isinstance(coding, dict) or canonical_system(coding.get("system")) in _STANDARD:
            continue
        hit = mapping.get(str(coding.get("code", "")))
        if hit and hit[0]:
            codings.append({"system": JLAC10, "code": hit[0]})
            if hit[1]:
                codings.append({"system": JLAC11, "code": hit[1]})
            code["coding"] = codings
            return True
    return False


def load_local_mapping(engine: Engine) -> LocalMapping:
    """Local code → (JLAC10, JLAC11) from every registered master; ambiguous codes left out."""
    t = result_table
    found: dict[str, set[tuple[str, str]]] = {}
    with engine.connect() as conn:
        rows = conn.execute(
            select(t.c.local_code, t.c.jlac10, t.c.jlac11).where(
                t.c.status == "auto", t.c.jlac10 != ""
            )
        )
        for local_code, jlac10, jlac11 in rows:
            found.setdefault(local_code, set()).add((jlac10, jlac11))
    ambiguous = [k for k, v in found.items() if len({j10 for j10, _ in v}) > 1]
    if ambiguous:
        log.warning(
            "%d local lab codes map to different JLAC10 codes in different masters; not applied",
            len(ambiguous),
        )
    return {k: sorted(v)[0] for k, v in found.items() if k not in ambiguous}


class LabCodeEnricher:
    """Applies the mapping to batches of resources; reloads it every ``refresh_s`` seconds."""

    def __init__(
        self, engine: Engine, refresh_s: float = 300.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.engine = engine
        self.refresh_s = refresh_s
        self.clock = clock
        self._mapping: LocalMapping | None = None
        self._loaded_at = 0.0

    def mapping(self) -> LocalMapping:
        now = self.clock()
        if self._mapping is None or now - self._loaded_at >= self.refresh_s:
            try:
                self._mapping = load_local_mapping(self.engine)
            except Exception as exc:  # no JLAC tables yet (older schema): nothing to apply
                log.warning("JLAC mapping not loaded (%s)", type(exc).__name__)
                self._mapping = {}
            self._loaded_at = now
        return self._mapping

    def __call__(self, resources: list[dict[str, Any]]) -> int:
        observations = [r for r in resources if r.get("resourceType") == "Observation"]
        if not observations:
            return 0
        mapping = self.mapping()
        if not mapping:
            return 0
        return sum(apply_to_observation(obs, mapping) for obs in observations)
