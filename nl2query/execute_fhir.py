"""Run a plan as FHIR searches against a FHIR R4 base URL (GET only) and answer it.

The searches come from :mod:`nl2query.compile_fhir` and are executed with httpx: ``next`` links
are followed (same base URL only, at most ``max_pages`` pages per search, then the answer is
refused as truncated), every request has a timeout. The fetched resources are projected with
:func:`nl2query.views.project` — the same function the store uses to fill its flat views — into
an in-memory SQLite copy of those views, and the answer is computed there by
:func:`nl2query.execute.evaluate`, the aggregator the SQL path uses. The server does the
narrowing (codes, statuses, dates, thresholds); the shared evaluator applies the exact semantics
(JST calendar dates, newest result per patient, first diagnosis, ward, display-text matches), so
both paths give the same answer whenever the searches return a superset of the deciding records.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import create_engine, delete
from sqlalchemy.pool import StaticPool

from nl2query import compile_sql as cs
from nl2query.compile_fhir import Search, cohort_searches, patient_search, subject_searches
from nl2query.execute import Result, Runner, SourceError, evaluate
from nl2query.ir import QueryPlan
from nl2query.views import project, views_metadata


class FhirError(SourceError):
    """A FHIR search failed or was truncated (the text names no patient data)."""


def _valued(res: dict[str, Any]) -> bool:
    if isinstance((res.get("valueQuantity") or {}).get("value"), int | float):
        return True
    return any(
        isinstance((c.get("valueQuantity") or {}).get("value"), int | float)
        for c in res.get("component") or []
    )


class FhirExecutor:
    """Answers plans from a FHIR server. Thread-safe (one question at a time per executor)."""

    def __init__(
        self,
        base_url: str,
        timeout_s: float = 10.0,
        max_pages: int = 50,
        client: httpx.Client | None = None,
    ) -> None:
        self.base = base_url.rstrip("/")
        self.max_pages = max_pages
        self._client = client or httpx.Client(
            timeout=timeout_s, headers={"Accept": "application/fhir+json"}
        )
        self._scratch = create_engine("sqlite://", poolclass=StaticPool)
        views_metadata.create_all(self._scratch)
        self._lock = threading.Lock()

    def close(self) -> None:
        self._client.close()
        self._scratch.dispose()

    def __call__(self, plan: QueryPlan, now: datetime) -> Result:
        with self._lock:
            return _Run(self).answer(plan, now)


class _Run:
    def __init__(self, ex: FhirExecutor) -> None:
        self.ex = ex
        self.urls: list[str] = []
        self.resources: dict[tuple[str, str], dict[str, Any]] = {}

    def _get(self, url: str) -> dict[str, Any]:
        if not url.startswith(self.ex.base + "/"):
            raise FhirError("FHIR next link points outside the configured base URL")
        self.urls.append(url[len(self.ex.base) + 1 :])
        try:
            r = self.ex._client.get(url)
        except httpx.HTTPError as e:
            raise FhirError(f"FHIR server unreachable ({type(e).__name__})") from None
        if r.status_code != 200:
            raise FhirError(f"FHIR search failed: HTTP {r.status_code}")
        body: dict[str, Any] = r.json()
        return body

    def count(self, s: Search) -> int:
        total = self._get(f"{self.ex.base}/{s.count_url()}").get("total")
        return int(total) if isinstance(total, int) else 1  # unknown: treat as non-empty

    def fetch(self, s: Search) -> None:
        url: str | None = f"{self.ex.base}/{s.url()}"
        pages = valued = 0
        while url:
            if pages >= self.ex.max_pages:
                raise FhirError(f"FHIR search truncated after {pages} pages")
            bundle = self._get(url)
            pages += 1
            for e in bundle.get("entry") or []:
                res = e.get("resource") or {}
                self.resources[(str(res.get("resourceType")), str(res.get("id")))] = res
                if (e.get("search") or {}).get("mode", "match") == "match" and _valued(res):
                    valued += 1
            if s.want is not None and valued >= s.want:
                break
            url = next(
                (ln.get("url") for ln in bundle.get("link") or [] if ln.get("relation") == "next"),
                None,
            )

    def _load(self, conn: Any) -> None:
        for t in views_metadata.sorted_tables:
            conn.execute(delete(t))
        rows: dict[str, list[dict[str, Any]]] = {}
        for res in self.resources.values():
            for table, rs in project(res).items():
                rows.setdefault(table, []).extend(rs)
        for table, rs in rows.items():
            conn.execute(views_metadata.tables[table].insert(), rs)

    def _cohort(self, searches: list[Search]) -> None:
        probes = [s for s in searches if s.probe]
        if len(searches) > 1 and probes:
            totals = {id(s): self.count(s) for s in probes}
            if min(totals.values()) == 0:
                return  # an AND with an empty positive criterion: nothing else to fetch
            searches = sorted(searches, key=lambda s: totals.get(id(s), 0))
        for s in searches:
            self.fetch(s)

    def answer(self, plan: QueryPlan, now: datetime) -> Result:
        today = now.date()
        if plan.patient is None:
            self._cohort(cohort_searches(plan, today))
        else:
            self.fetch(patient_search(plan))
            pid = self._single_patient(plan)
            if pid is not None:
                subj = subject_searches(plan, pid, today)
                if plan.aggregate == "exists":
                    self._cohort(subj)
                else:
                    for s in subj:
                        self.fetch(s)
        with self.ex._scratch.begin() as conn:
            self._load(conn)
            r = Runner(conn, plan.limit)
            res = evaluate(plan, r, today)
        res.fhir, res.sql, res.rows = self.urls, [], len(self.resources)
        return res

    def _single_patient(self, plan: QueryPlan) -> str | None:
        p = plan.patient
        assert p is not None
        if p.id:
            return p.id
        with self.ex._scratch.begin() as conn:
            self._load(conn)
            found = list(conn.execute(cs.find_patients(p.identifier, p.name, p.kana, p.birth_date)))
        return str(found[0][0]) if len(found) == 1 else None
