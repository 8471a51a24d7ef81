"""The job registry. A job = name + callable(settings, heartbeat) -> stats dict + cron setting."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

JobFunc = Callable[[Any, Callable[[], None]], dict[str, Any]]


@dataclass(frozen=True)
class JobSpec:
    name: str
    func: JobFunc
    cron_setting: str
    """Name of the Settings field holding the cron expression (min hour dom mon dow)."""
    enabled: Callable[[Any], bool] = lambda _settings: True
    description: str = ""


_REGISTRY: dict[str, JobSpec] = {}
# Modules that register their jobs when imported (one line per feature).
_PROVIDERS = ["ehr_bridge.jlac.jobs", "ehr_bridge.sync.jobs"]


def register(spec: JobSpec) -> None:
    _REGISTRY[spec.name] = spec


def registered() -> dict[str, JobSpec]:
    for mod in _PROVIDERS:
        try:
            importlib.import_module(mod)
        except ImportError:  # a feature that is not installed registers nothing
            continue
    return dict(_REGISTRY)


def get(name: str) -> JobSpec:
    jobs = registered()
    if name not in jobs:
        raise KeyError(f"no job named {name!r}; known: {', '.join(sorted(jobs)) or 'none'}")
    return jobs[name]
