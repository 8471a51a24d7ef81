"""The FastAPI application: ``create_app(settings)``; no state at import time."""

from __future__ import annotations

import importlib
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ehr_bridge.api.outcome import outcome_response
from ehr_bridge.config import Settings
from ehr_bridge.store import FhirStore, StoreError, open_store

log = logging.getLogger("ehr_bridge.api")

# Feature routers: modules under ehr_bridge.api exposing ``router``.
_ROUTERS = [
    "ehr_bridge.api.fhir",
    "ehr_bridge.api.jlac",
    "ehr_bridge.api.nl",
    "ehr_bridge.api.jobs",
]


def create_app(settings: Settings, store: FhirStore | None = None) -> FastAPI:
    app = FastAPI(
        title="ehr-bridge",
        version="0.1.0",
        description="FHIR R4 (JP Core) store and API inside the hospital.",
    )
    app.state.settings = settings
    app.state.store = store or open_store(settings.db)
    for name in _ROUTERS:
        app.include_router(importlib.import_module(name).router)
    _install_error_handlers(app)
    return app


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(StoreError)
    async def _store_error(_request: Request, exc: StoreError) -> JSONResponse:
        return outcome_response(exc.status, exc.code, exc.message, exc.expression)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        where = "; ".join(
            ".".join(str(p) for p in e.get("loc", ())) + ": " + str(e.get("msg"))
            for e in exc.errors()
        )
        return outcome_response(400, "invalid", f"invalid request: {where}")

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not-found", 405: "not-supported"}.get(exc.status_code, "processing")
        return outcome_response(exc.status_code, code, str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Never echo exception text: it may carry patient data. Log the type and path only.
        log.error("unexpected %s on %s %s", type(exc).__name__, request.method, request.url.path)
        return outcome_response(500, "exception", "internal error; see the server log")


def app_from_env() -> Any:
    """Factory for ``uvicorn --factory ehr_bridge.api.app:app_from_env``."""
    from ehr_bridge.config import load_settings

    return create_app(load_settings())
