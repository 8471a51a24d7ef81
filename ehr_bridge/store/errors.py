"""Store errors. Each maps to one HTTP status and one OperationOutcome issue code."""

from __future__ import annotations


class StoreError(Exception):
    status = 400
    code = "processing"

    def __init__(self, message: str, *, expression: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.expression = expression


class BadRequest(StoreError):
    status = 400
    code = "invalid"


class UnknownParameter(BadRequest):
    code = "not-supported"


class NotFound(StoreError):
    status = 404
    code = "not-found"


class Gone(StoreError):
    status = 410
    code = "deleted"


class VersionConflict(StoreError):
    status = 412
    code = "conflict"


class Conflict(StoreError):
    status = 409
    code = "conflict"


class InvalidResource(StoreError):
    status = 422
    code = "invalid"

    def __init__(self, problems: list[str], *, expression: str | None = None) -> None:
        super().__init__("; ".join(problems) or "invalid resource", expression=expression)
        self.problems = problems
