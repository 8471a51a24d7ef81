"""Deterministic Japanese parser: question → :class:`nl2query.ir.QueryPlan` (the default engine)."""

from nl2query.parse_rules.parser import Incomplete, parse

__all__ = ["Incomplete", "parse"]
