"""FHIR R4 REST API under ``/fhir``: metadata, read, vread, create, update, delete, history,
search (GET and POST ``_search``), and Bundle transaction/batch."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from connectors._sdk.fhir_models import FHIR_VERSION, model_class, validate_resource
from ehr_bridge.api.bundles import process_batch, process_transaction
from ehr_bridge.api.outcome import fhir_response
from ehr_bridge.store import FhirStore
from ehr_bridge.store.errors import BadRequest, InvalidResource, NotFound
from ehr_bridge.store.search import SearchResult, run_search
from ehr_bridge.store.search_params import COMMON_PARAMS, CONTROL_PARAMS, SEARCH_PARAMS

router = APIRouter(prefix="/fhir")
_TYPE = re.compile(r"^[A-Z][A-Za-z]+$")
_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


def _store(request: Request) -> FhirStore:
    return request.app.state.store  # type: ignore[no-any-return]


def _check_type(rtype: str) -> None:
    if not _TYPE.match(rtype):
        raise NotFound(f"unknown resource type {rtype!r}")
    try:
        model_class(rtype)
    except KeyError as exc:
        raise NotFound(f"unknown resource type {rtype!r}") from exc


def _check_id(rid: str) -> None:
    if not _ID.match(rid):
        raise BadRequest(f"{rid!r} is not a valid FHIR id ([A-Za-z0-9-.]{{1,64}})")


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        raise BadRequest("request body is empty; a FHIR JSON resource is required")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"request body is not valid JSON ({exc.args[0].split(':')[0]})") from exc
    if not isinstance(body, dict):
        raise BadRequest("request body must be a JSON object (a FHIR resource)")
    return body


def _validated(body: dict[str, Any], rtype: str) -> dict[str, Any]:
    if body.get("resourceType") != rtype:
        raise BadRequest(f"resourceType in the body must be {rtype}", expression="resourceType")
    problems = validate_resource(body)
    if problems:
        raise InvalidResource(problems)
    return body


def _etag(resource: dict[str, Any]) -> dict[str, str]:
    meta = resource.get("meta") or {}
    headers = {"ETag": f'W/"{meta.get("versionId", "1")}"'}
    if meta.get("lastUpdated"):
        headers["Last-Modified"] = str(meta["lastUpdated"])
    return headers


def _lenient(request: Request) -> bool:
    prefer = request.headers.get("prefer", "")
    return "handling=lenient" in prefer.replace(" ", "").lower()


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/fhir"


def _search_bundle(request: Request, result: SearchResult) -> dict[str, Any]:
    base = _base(request)
    own = [(k, v) for k, v in result.params if k != "_offset"]
    self_q = urlencode(own + ([("_offset", str(result.offset))] if result.offset else []))
    links = [{"relation": "self", "url": f"{base}/{result.resource_type}?{self_q}".rstrip("?")}]
    if not result.summary_count and result.has_next:
        next_q = urlencode(
            [*own, ("_count", str(result.count)), ("_offset", str(result.offset + result.count))]
            if not any(k == "_count" for k, _ in own)
            else [*own, ("_offset", str(result.offset + result.count))]
        )
        links.append({"relation": "next", "url": f"{base}/{result.resource_type}?{next_q}"})
    if result.offset > 0 and not result.summary_count:
        prev = max(0, result.offset - result.count)
        prev_q = urlencode(
            [*own, ("_offset", str(prev))]
            if any(k == "_count" for k, _ in own)
            else [*own, ("_count", str(result.count)), ("_offset", str(prev))]
        )
        links.append({"relation": "previous", "url": f"{base}/{result.resource_type}?{prev_q}"})
    entries = [
        {
            "fullUrl": f"{base}/{r['resourceType']}/{r['id']}",
            "resource": r,
            "search": {"mode": "match"},
        }
        for r in result.matches
    ] + [
        {
            "fullUrl": f"{base}/{r['resourceType']}/{r['id']}",
            "resource": r,
            "search": {"mode": "include"},
        }
        for r in result.included
    ]
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset"}
    if result.total is not None:
        bundle["total"] = result.total
    bundle["link"] = links
    if entries:
        bundle["entry"] = entries
    if result.ignored:
        bundle["meta"] = {
            "tag": [{"code": "lenient", "display": "ignored: " + ", ".join(result.ignored)}]
        }
    return bundle


@router.get("/metadata")
def metadata(request: Request) -> JSONResponse:
    return fhir_response(capability_statement(_base(request)))


@router.get("/{rtype}")
def search(rtype: str, request: Request) -> JSONResponse:
    _check_type(rtype)
    settings = request.app.state.settings
    result = run_search(
        _store(request),
        rtype,
        list(request.query_params.multi_items()),
        lenient=_lenient(request),
        default_count=settings.page_size,
        max_count=settings.max_page_size,
    )
    return fhir_response(_search_bundle(request, result))


@router.post("/{rtype}/_search")
async def search_post(rtype: str, request: Request) -> JSONResponse:
    _check_type(rtype)
    form = await request.form()
    params = list(request.query_params.multi_items()) + [(k, str(v)) for k, v in form.multi_items()]
    settings = request.app.state.settings
    result = run_search(
        _store(request),
        rtype,
        params,
        lenient=_lenient(request),
        default_count=settings.page_size,
        max_count=settings.max_page_size,
    )
    return fhir_response(_search_bundle(request, result))


@router.post("")
@router.post("/", include_in_schema=False)
async def bundle(request: Request) -> JSONResponse:
    body = await _json_body(request)
    if body.get("resourceType") != "Bundle":
        raise BadRequest("POST /fhir expects a Bundle of type transaction or batch")
    kind = body.get("type")
    if kind == "transaction":
        return fhir_response(process_transaction(_store(request), body))
    if kind == "batch":
        return fhir_response(process_batch(_store(request), body))
    raise BadRequest(
        f"Bundle.type must be transaction or batch, got {kind!r}", expression="Bundle.type"
    )


@router.post("/{rtype}")
async def create(rtype: str, request: Request) -> JSONResponse:
    _check_type(rtype)
    body = _validated(await _json_body(request), rtype)
    stored = _store(request).create(body)
    headers = _etag(stored)
    headers["Location"] = (
        f"{_base(request)}/{rtype}/{stored['id']}/_history/{stored['meta']['versionId']}"
    )
    return fhir_response(stored, 201, headers)


@router.get("/{rtype}/{rid}")
def read_resource(rtype: str, rid: str, request: Request) -> JSONResponse:
    _check_type(rtype)
    _check_id(rid)
    resource = _store(request).read_or_raise(rtype, rid)
    return fhir_response(resource, 200, _etag(resource))


@router.put("/{rtype}/{rid}")
async def update(rtype: str, rid: str, request: Request) -> JSONResponse:
    _check_type(rtype)
    _check_id(rid)
    body = _validated(await _json_body(request), rtype)
    if str(body.get("id")) != rid:
        raise BadRequest(
            f"the resource id in the body must equal the URL id {rid}", expression="id"
        )
    if_match = request.headers.get("if-match")
    version = None
    if if_match:
        m = re.match(r'^(?:W/)?"?([^"]+)"?$', if_match.strip())
        if not m:
            raise BadRequest('If-Match must look like W/"3"')
        version = m.group(1)
    outcome = _store(request).update(body, if_match=version)
    headers = _etag(outcome.resource)
    status = 201 if outcome.created else 200
    if outcome.created:
        headers["Location"] = (
            f"{_base(request)}/{rtype}/{rid}/_history/{outcome.resource['meta']['versionId']}"
        )
    return fhir_response(outcome.resource, status, headers)


@router.delete("/{rtype}/{rid}")
def delete(rtype: str, rid: str, request: Request) -> Response:
    _check_type(rtype)
    _check_id(rid)
    _store(request).delete(rtype, rid)
    return Response(status_code=204)


@router.get("/{rtype}/{rid}/_history")
def history(rtype: str, rid: str, request: Request) -> JSONResponse:
    _check_type(rtype)
    _check_id(rid)
    base = _base(request)
    entries = []
    for version, deleted, _updated, resource in _store(request).history(rtype, rid):
        entry: dict[str, Any] = {
            "fullUrl": f"{base}/{rtype}/{rid}",
            "request": {
                "method": "DELETE" if deleted else ("POST" if version == 1 else "PUT"),
                "url": f"{rtype}/{rid}",
            },
            "response": {"status": "200 OK", "etag": f'W/"{version}"'},
        }
        if resource is not None:
            entry["resource"] = resource
        entries.append(entry)
    return fhir_response(
        {"resourceType": "Bundle", "type": "history", "total": len(entries), "entry": entries}
    )


@router.get("/{rtype}/{rid}/_history/{vid}")
def vread(rtype: str, rid: str, vid: str, request: Request) -> JSONResponse:
    _check_type(rtype)
    _check_id(rid)
    resource = _store(request).vread(rtype, rid, vid)
    return fhir_response(resource, 200, _etag(resource))


def capability_statement(base: str) -> dict[str, Any]:
    resources = []
    for rtype, params in sorted(SEARCH_PARAMS.items()):
        refs = [p for p in params.values() if p.type == "reference"]
        resources.append(
            {
                "type": rtype,
                "versioning": "versioned",
                "readHistory": True,
                "updateCreate": True,
                "conditionalCreate": False,
                "conditionalUpdate": False,
                "conditionalDelete": "not-supported",
                "interaction": [
                    {"code": c}
                    for c in (
                        "read",
                        "vread",
                        "update",
                        "delete",
                        "history-instance",
                        "create",
                        "search-type",
                    )
                ],
                "searchInclude": [f"{rtype}:{p.name}" for p in refs],
                "searchRevInclude": sorted(
                    f"{src}:{p.name}"
                    for src, ps in SEARCH_PARAMS.items()
                    for p in ps.values()
                    if p.type == "reference" and rtype in p.targets
                ),
                "searchParam": [{"name": p.name, "type": p.type} for p in params.values()]
                + [{"name": "_id", "type": "token"}, {"name": "_lastUpdated", "type": "date"}],
            }
        )
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-11-25",
        "kind": "instance",
        "software": {"name": "ehr-bridge", "version": "0.1.0"},
        "implementation": {"description": "ehr-bridge FHIR store", "url": base},
        "fhirVersion": FHIR_VERSION,
        "format": ["application/fhir+json", "json"],
        "rest": [
            {
                "mode": "server",
                "documentation": "Search result parameters: "
                + ", ".join(sorted(CONTROL_PARAMS - {"_format", "_pretty", "_elements"}))
                + ". Common parameters: "
                + ", ".join(sorted(COMMON_PARAMS))
                + ". _sort accepts date parameters, _id and _lastUpdated. Prefer: handling=lenient ignores unknown parameters.",
                "resource": resources,
                "interaction": [{"code": "transaction"}, {"code": "batch"}],
            }
        ],
    }
