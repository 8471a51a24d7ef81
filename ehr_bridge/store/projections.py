"""Projections: tables derived from each resource and kept in step with every write.

The store's own search index is one projection; nl2query's flat SQL-on-FHIR-style views
(``nl2query.views``) are another. A projection's tables each carry ``resource_type`` and
``resource_id`` columns naming the source resource, so the store can delete a resource's old
rows before inserting the new ones, in the same transaction as the write.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table

ProjectFn = Callable[[dict[str, Any]], dict[str, list[dict[str, Any]]]]


@dataclass(frozen=True)
class Projection:
    name: str
    tables: Sequence[Table]
    project: ProjectFn

    def table(self, name: str) -> Table:
        for table in self.tables:
            if table.name == name:
                return table
        raise KeyError(name)


def default_projections() -> list[Projection]:
    """nl2query's flat views, when that package provides them."""
    try:
        from nl2query import views
    except ImportError:  # pragma: no cover - nl2query is part of the product
        return []
    project = getattr(views, "project", None)
    meta = getattr(views, "views_metadata", None)
    if project is None or meta is None:
        return []
    return [Projection("nl2query.views", list(meta.sorted_tables), project)]
