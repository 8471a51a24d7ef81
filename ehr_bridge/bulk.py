"""Settings for long bulk loads (import-fhir, SS-MIX2 storage sync, benchmarks).

Bulk conversion allocates millions of small dicts/lists that reference counting frees. With the
default thresholds (700, 10, 10) the cyclic garbage collector runs every 700 allocations and
rescans the whole long-lived heap (FHIR models, SQLAlchemy, tables ...) every 70,000: measured
16 % of convert+validate time in the SS-MIX2 sync, and a bulk import that slows down as its
process grows. Collect rarely instead, and keep what existed before the load out of the scans.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

GC_THRESHOLD = (50_000, 20, 20)


@contextmanager
def bulk_gc() -> Iterator[None]:
    """Freeze the heap that exists and collect rarely for the duration; restored after."""
    old = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)
    try:
        yield
    finally:
        gc.set_threshold(*old)
        gc.unfreeze()
