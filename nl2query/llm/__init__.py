"""LLM engine of nl2query: LangChain ChatOpenAI → any OpenAI-compatible server (vLLM, llama.cpp).

``LLMEngine(LLMConfig(base_url=...)).plan(question)`` returns an :class:`LLMResult` with a
validated :class:`~nl2query.ir.QueryPlan`, or raises an :class:`LLMError` whose ``message`` is
Japanese. See docs/llm.md for server settings.
"""

from .client import LLMEngine, LLMResult, format_validation_error
from .config import LLMConfig
from .errors import (
    LLMError,
    LLMInvalidPlan,
    LLMServerError,
    LLMTimeout,
    LLMUnavailable,
)
from .examples import Example, FewShotStore

__all__ = [
    "Example",
    "FewShotStore",
    "LLMConfig",
    "LLMEngine",
    "LLMError",
    "LLMInvalidPlan",
    "LLMResult",
    "LLMServerError",
    "LLMTimeout",
    "LLMUnavailable",
    "format_validation_error",
]
