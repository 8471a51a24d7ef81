"""Errors of the LLM engine. ``message`` is Japanese and safe to show (no patient data)."""

from __future__ import annotations


class LLMError(Exception):
    """Base class: ``code`` for machines, ``message`` (Japanese) for people."""

    code = "llm_error"

    def __init__(self, message: str, *, detail: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail  # technical detail for logs (never question text or data)


class LLMUnavailable(LLMError):
    """Nothing answers at the base URL (connection refused, DNS, reset)."""

    code = "llm_unavailable"


class LLMTimeout(LLMError):
    """The server did not answer within ``timeout_s``."""

    code = "llm_timeout"


class LLMServerError(LLMError):
    """The server answered with an HTTP error (bad model name, unsupported option, 5xx …)."""

    code = "llm_server_error"


class LLMInvalidPlan(LLMError):
    """The model's output was still not a valid plan after the repair rounds."""

    code = "llm_invalid_plan"

    def __init__(self, message: str, *, errors: list[str], detail: str | None = None) -> None:
        super().__init__(message, detail=detail)
        self.errors = errors
