"""Audit record per natural-language question: question, plan, compiled query, row count,
engine, user, status and timings. Never result values."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, DateTime, Integer, String, Table, Text

from ehr_bridge.store.base import metadata

nl_audit = Table(
    "nl_audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("user", String(128), nullable=False),
    Column("question", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("engine", String(16), nullable=False),
    Column("plan", Text),
    Column("query_fhir", Text),
    Column("query_sql", Text),
    Column("row_count", Integer, nullable=False),
    Column("duration_ms", Integer),
)


def record(engine: Any, question: str, outcome: Any, user: str) -> None:
    ans = outcome.answer
    plan = outcome.plan.to_json() if outcome.plan is not None else None
    with engine.begin() as conn:
        conn.execute(
            nl_audit.insert().values(
                at=datetime.now(UTC),
                user=user,
                question=question,
                status=ans["status"],
                engine=ans["engine"],
                plan=json.dumps(plan, ensure_ascii=False) if plan else None,
                query_fhir=json.dumps(ans["query"]["fhir"], ensure_ascii=False),
                query_sql=ans["query"]["sql"],
                row_count=outcome.rows,
                duration_ms=int(sum(v for v in outcome.timings_ms.values())),
            )
        )
