"""Bundle processing: ``transaction`` (all or nothing) and ``batch`` (per-entry outcomes)."""

from __future__ import annotations

import uuid
from typing import Any

from connectors._sdk.fhir_models import validate_resource
from ehr_bridge.store import FhirStore
from ehr_bridge.store.errors import BadRequest, InvalidResource, NotFound, StoreError


def _entry_target(
    entry: dict[str, Any], index: int
) -> tuple[str, str, str | None, dict[str, Any] | None]:
    request = entry.get("request")
    if not isinstance(request, dict) or not request.get("method") or not request.get("url"):
        raise BadRequest(
            f"Bundle.entry[{index}].request: method and url are required",
            expression=f"Bundle.entry[{index}].request",
        )
    method = str(request["method"]).upper()
    url = str(request["url"]).split("?", 1)[0].strip("/")
    parts = url.split("/")
    resource = entry.get("resource")
    if method in ("POST", "PUT") and not isinstance(resource, dict):
        raise BadRequest(
            f"Bundle.entry[{index}].resource is required for {method}",
            expression=f"Bundle.entry[{index}].resource",
        )
    rid = parts[1] if len(parts) > 1 else None
    return method, parts[0], rid, resource


def _check(resource: dict[str, Any], rtype: str, index: int) -> None:
    if resource.get("resourceType") != rtype:
        raise BadRequest(
            f"Bundle.entry[{index}]: resourceType does not match request url {rtype}",
            expression=f"Bundle.entry[{index}].resource.resourceType",
        )
    problems = validate_resource(resource)
    if problems:
        raise InvalidResource(
            [f"Bundle.entry[{index}]: {p}" for p in problems],
            expression=f"Bundle.entry[{index}].resource",
        )


def _rewrite_refs(node: Any, mapping: dict[str, str]) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "reference" and isinstance(value, str) and value in mapping:
                out[key] = mapping[value]
            else:
                out[key] = _rewrite_refs(value, mapping)
        return out
    if isinstance(node, list):
        return [_rewrite_refs(v, mapping) for v in node]
    return node


def _apply(
    store: FhirStore,
    conn: Any,
    method: str,
    rtype: str,
    rid: str | None,
    resource: dict[str, Any] | None,
    index: int,
) -> dict[str, Any]:
    if method == "POST":
        assert resource is not None
        stored = store.create(resource, conn=conn)
        return {
            "status": "201 Created",
            "location": f"{rtype}/{stored['id']}/_history/1",
            "resource": stored,
        }
    if method == "PUT":
        assert resource is not None
        if not rid:
            raise BadRequest(f"Bundle.entry[{index}].request.url: PUT needs Type/id")
        if str(resource.get("id")) != rid:
            raise BadRequest(f"Bundle.entry[{index}]: resource id does not match request url")
        outcome = store.update(resource, conn=conn)
        version = outcome.resource["meta"]["versionId"]
        return {
            "status": "201 Created" if outcome.created else "200 OK",
            "location": f"{rtype}/{rid}/_history/{version}",
            "resource": outcome.resource,
        }
    if method == "DELETE":
        if not rid:
            raise BadRequest(f"Bundle.entry[{index}].request.url: DELETE needs Type/id")
        store.delete(rtype, rid, conn=conn)
        return {"status": "204 No Content"}
    if method == "GET":
        if not rid:
            raise BadRequest(
                f"Bundle.entry[{index}]: only reads (Type/id) are supported in bundles"
            )
        found = store.read(rtype, rid, conn=conn)
        if found is None:
            raise NotFound(f"Bundle.entry[{index}]: {rtype}/{rid} is not known")
        return {"status": "200 OK", "resource": found}
    raise BadRequest(f"Bundle.entry[{index}].request.method {method} is not supported")


def _response_entry(result: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {"response": {"status": result["status"]}}
    if "location" in result:
        entry["response"]["location"] = result["location"]
    if "resource" in result:
        entry["resource"] = result["resource"]
    return entry


def process_transaction(store: FhirStore, bundle: dict[str, Any]) -> dict[str, Any]:
    entries = bundle.get("entry") or []
    planned = []
    mapping: dict[str, str] = {}
    for i, entry in enumerate(entries):
        method, rtype, rid, resource = _entry_target(entry, i)
        if method == "POST" and resource is not None:
            new_id = str(uuid.uuid4())
            if entry.get("fullUrl"):
                mapping[str(entry["fullUrl"])] = f"{rtype}/{new_id}"
            resource = {**resource, "id": new_id}
        planned.append((method, rtype, rid, resource, i))
    results = []
    with store.begin() as conn:
        for method, rtype, rid, resource, i in planned:
            if resource is not None:
                resource = _rewrite_refs(resource, mapping)
                _check(resource, rtype, i)
            if method == "POST" and resource is not None:
                store.upsert_many([resource], conn=conn)
                stored = store.read(rtype, resource["id"], conn=conn)
                results.append(
                    {
                        "status": "201 Created",
                        "location": f"{rtype}/{resource['id']}/_history/1",
                        "resource": stored,
                    }
                )
            else:
                results.append(_apply(store, conn, method, rtype, rid, resource, i))
    return {
        "resourceType": "Bundle",
        "type": "transaction-response",
        "entry": [_response_entry(r) for r in results],
    }


def process_batch(store: FhirStore, bundle: dict[str, Any]) -> dict[str, Any]:
    from ehr_bridge.api.outcome import operation_outcome

    out = []
    for i, entry in enumerate(bundle.get("entry") or []):
        try:
            method, rtype, rid, resource = _entry_target(entry, i)
            if resource is not None:
                _check(resource, rtype, i)
            with store.begin() as conn:
                out.append(_response_entry(_apply(store, conn, method, rtype, rid, resource, i)))
        except StoreError as exc:
            out.append(
                {
                    "response": {
                        "status": f"{exc.status}",
                        "outcome": operation_outcome("error", exc.code, exc.message),
                    }
                }
            )
    return {"resourceType": "Bundle", "type": "batch-response", "entry": out}
