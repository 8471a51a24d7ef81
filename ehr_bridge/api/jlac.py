"""JLAC API: submit a lab master, map it, read results, record review decisions, ConceptMap."""

from __future__ import annotations

import os
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field

router = APIRouter(prefix="/jlac", tags=["jlac"])


class MasterRow(BaseModel):
    local_code: str
    local_name: str
    specimen: str = ""
    unit: str = ""
    method: str = ""
    category: str = ""


class MasterIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    rows: list[MasterRow]
    map: bool = True


class DecisionIn(BaseModel):
    action: Literal["accept", "override", "unmapped"]
    jlac10: str = ""
    jlac11: str = ""
    user: str = "api"


def _engine(request: Request) -> Any:
    return request.app.state.store.engine


def _tables(request: Request) -> Any:
    from ehr_bridge.jlac.jobs import tables_dir
    from mappings.jlac.tables import load_tables

    extra = tables_dir(request.app.state.settings)
    return load_tables(extra if extra and os.path.isdir(extra) else None)


def _guard(fn: Any, *args: Any, **kwargs: Any) -> Any:
    from ehr_bridge.jlac.service import JlacServiceError

    try:
        return fn(*args, **kwargs)
    except JlacServiceError as exc:
        raise HTTPException(exc.status, str(exc)) from None


@router.post("/masters", status_code=201)
def submit(body: MasterIn, request: Request) -> dict[str, Any]:
    from ehr_bridge.jlac.service import map_master, submit_master
    from mappings.jlac.mapper import MapInput

    rows = [MapInput(**r.model_dump()) for r in body.rows]
    mid = _guard(submit_master, _engine(request), body.name, rows)
    out: dict[str, Any] = {"id": mid, "name": body.name, "rows": len(rows)}
    if body.map:
        out["run"] = _guard(map_master, _engine(request), mid, _tables(request)).as_dict()
    return out


@router.get("/masters")
def masters(request: Request) -> list[dict[str, Any]]:
    from ehr_bridge.jlac.service import list_masters

    return list_masters(_engine(request))


@router.post("/masters/{master_id}/map")
def remap(master_id: int, request: Request) -> dict[str, Any]:
    from ehr_bridge.jlac.service import map_master

    return dict(_guard(map_master, _engine(request), master_id, _tables(request)).as_dict())


@router.get("/masters/{master_id}/results")
def get_results(
    master_id: int, request: Request, status: str | None = None
) -> list[dict[str, Any]]:
    from ehr_bridge.jlac.service import results

    return list(_guard(results, _engine(request), master_id, status))


@router.put("/masters/{master_id}/decisions/{local_code}")
def put_decision(
    master_id: int, local_code: str, body: DecisionIn, request: Request
) -> dict[str, Any]:
    from ehr_bridge.jlac.service import decide

    return dict(
        _guard(
            decide,
            _engine(request),
            master_id,
            local_code,
            body.action,
            body.jlac10,
            body.jlac11,
            body.user,
        )
    )


@router.post("/masters/{master_id}/conceptmap")
def conceptmap(master_id: int, request: Request) -> dict[str, Any]:
    from ehr_bridge.jlac.service import conceptmap as build

    store = request.app.state.store
    cm = _guard(build, store.engine, master_id)
    store.upsert_many([cm])
    return dict(store.read("ConceptMap", cm["id"]) or cm)
