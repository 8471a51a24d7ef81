"""Settings of the LLM engine (plain data; ``ehr_bridge`` fills it from its ``Settings``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class LLMConfig(BaseModel):
    """How to reach an OpenAI-compatible server (vLLM, llama.cpp's server …)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_url: str = Field(description="OpenAI-compatible base URL, e.g. http://gpu-host:8001/v1.")
    model: str = Field("local-model", description="Model name as served (vllm serve MODEL).")
    api_key: str = Field("EMPTY", description="API key (vLLM --api-key); 'EMPTY' when none.")
    timeout_s: float = Field(60.0, gt=0, description="Timeout of one request, seconds.")
    max_repairs: int = Field(2, ge=0, le=5, description="Repair rounds fed the validation error.")
    temperature: float = Field(0.0, ge=0, le=2, description="Sampling temperature.")
    max_tokens: int = Field(1024, ge=64, description="Most tokens one reply may have.")
    few_shot_k: int = Field(6, ge=0, le=20, description="Few-shot examples put in the prompt.")
    method: Literal["json_schema", "function_calling"] = Field(
        "json_schema",
        description="Structured-output method: json_schema (vLLM and llama.cpp) or "
        "function_calling (vLLM only).",
    )
