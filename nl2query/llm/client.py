"""The LLM engine: question → validated :class:`QueryPlan` through an OpenAI-compatible server.

LangChain ``ChatOpenAI`` (chat-completions API, no retries inside the client) asks for the plan
as structured output (``response_format`` json_schema from the pydantic model), with few-shot
examples retrieved from the store. Output that is not JSON or not a valid plan goes back to the
model with the validation error, at most ``max_repairs`` times. Transport problems become
:mod:`.errors` with Japanese messages. The plan is only a proposal: the pipeline still resolves,
compiles and runs it read-only.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from pydantic import ValidationError

from nl2query.ir import QueryPlan

from .config import LLMConfig
from .errors import LLMError, LLMInvalidPlan, LLMServerError, LLMTimeout, LLMUnavailable
from .examples import FewShotStore
from .prompts import build_messages, plan_schema, repair_messages

log = logging.getLogger(__name__)
JST = timezone(timedelta(hours=9))

# Checks (and may complete) a plan: returns the plan to use (or None to keep it); raises
# ValueError with a message that is fed to the repair round.
Validator = Callable[[QueryPlan], "QueryPlan | None"]


@dataclass
class LLMResult:
    plan: QueryPlan
    attempts: int  # requests made (1 = no repair needed)
    errors: list[str] = field(default_factory=list)  # validation errors fed back, in order
    seconds: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0


def format_validation_error(err: Exception) -> str:
    """Short, model-readable description of why a plan is invalid (no input values echoed)."""
    if isinstance(err, ValidationError):
        parts = []
        for e in err.errors()[:8]:
            loc = ".".join(str(x) for x in e.get("loc", ())) or "(plan)"
            parts.append(f"{loc}: {e.get('msg', '')}")
        return "; ".join(parts)
    msg = str(err).splitlines()[0] if str(err) else type(err).__name__
    return msg[:500]


class LLMEngine:
    """Builds plans with a local LLM. Thread-safe for concurrent ``plan`` calls."""

    def __init__(
        self,
        config: LLMConfig,
        *,
        examples: FewShotStore | None = None,
        validate: Validator | None = None,
    ) -> None:
        self.config = config
        self.examples = examples if examples is not None else FewShotStore.load()
        self.validate = validate
        self._schema = plan_schema(QueryPlan)
        self._runnable: Any = None

    # -- client -------------------------------------------------------------------------
    def _structured(self) -> Any:
        if self._runnable is None:
            from langchain_openai import ChatOpenAI

            llm = ChatOpenAI(
                base_url=self.config.base_url,
                api_key=self.config.api_key,  # type: ignore[arg-type]
                model=self.config.model,
                temperature=self.config.temperature,
                max_completion_tokens=self.config.max_tokens,
                timeout=self.config.timeout_s,
                max_retries=0,
                use_responses_api=False,
            )
            self._runnable = llm.with_structured_output(
                self._schema, method=self.config.method, include_raw=True
            )
        return self._runnable

    def _invoke(self, messages: list[tuple[str, str]]) -> dict[str, Any]:
        import openai

        try:
            out: dict[str, Any] = self._structured().invoke(messages)
            return out
        except openai.APITimeoutError as e:
            raise LLMTimeout(
                f"LLMサーバの応答がタイムアウトしました（{self.config.timeout_s:g}秒）。"
                "時間をおいて再度お試しください。",
                detail=type(e).__name__,
            ) from None
        except openai.APIConnectionError as e:
            raise LLMUnavailable(
                f"LLMサーバに接続できません（{self.config.base_url}）。"
                "サーバが起動しているか、設定 llm_base_url を確認してください。",
                detail=type(e).__name__,
            ) from None
        except openai.LengthFinishReasonError:
            # the model used up max_tokens (usually a repetition loop): a bad attempt to repair,
            # not a server fault
            return {"raw": None, "parsed": None, "truncated": True}
        except openai.APIStatusError as e:
            raise LLMServerError(
                f"LLMサーバがエラーを返しました（HTTP {e.status_code}）。"
                "モデル名・APIキー・構造化出力の設定を確認してください。",
                detail=f"HTTP {e.status_code}",
            ) from None
        except (openai.OpenAIError, ValueError, KeyError, TypeError) as e:
            # 200 with a body that is not a chat completion (garbage, HTML, truncated)
            raise LLMServerError(
                "LLMサーバの応答を解釈できません。OpenAI互換のエンドポイントか確認してください。",
                detail=type(e).__name__,
            ) from None

    # -- engine -------------------------------------------------------------------------
    def plan(self, question: str, *, now: datetime | None = None) -> LLMResult:
        """A valid plan for ``question`` or an :class:`LLMError` (Japanese message)."""
        today = (now or datetime.now(JST)).astimezone(JST).date().isoformat()
        shots = self.examples.nearest(question, self.config.few_shot_k)
        messages = build_messages(question, shots, today=today)
        errors: list[str] = []
        start = time.perf_counter()
        ptok = ctok = 0
        for attempt in range(1, self.config.max_repairs + 2):
            out = self._invoke(messages)
            raw_msg = out.get("raw")
            usage = getattr(raw_msg, "usage_metadata", None) or {}
            ptok += int(usage.get("input_tokens", 0))
            ctok += int(usage.get("output_tokens", 0))
            raw_text = _raw_text(raw_msg)
            try:
                if out.get("truncated"):
                    raise ValueError(
                        f"出力が最大トークン数 ({self.config.max_tokens}) で途中で切れました。"
                        "計画のJSONだけを簡潔に出力してください (output truncated at max_tokens)"
                    )
                if out.get("parsing_error") is not None or out.get("parsed") is None:
                    raise ValueError("出力が有効なJSONではありません (output is not valid JSON)")
                parsed = out["parsed"]
                if not isinstance(parsed, dict):
                    raise ValueError("出力がJSONオブジェクトではありません")
                plan = QueryPlan.model_validate(parsed)
                if self.validate is not None:
                    plan = self.validate(plan) or plan
            except (ValidationError, ValueError) as err:
                msg = format_validation_error(err)
                errors.append(msg)
                log.info("llm plan invalid (attempt %d): %s", attempt, msg)
                messages = messages + repair_messages(raw_text, msg)
                continue
            return LLMResult(
                plan=plan,
                attempts=attempt,
                errors=errors,
                seconds=time.perf_counter() - start,
                prompt_tokens=ptok,
                completion_tokens=ctok,
            )
        raise LLMInvalidPlan(
            f"LLMの出力から有効な検索計画を作れませんでした（修正{self.config.max_repairs}回後）。"
            "質問を言い換えてください。",
            errors=errors,
        )


def _raw_text(msg: Any) -> str:
    if msg is None:
        return ""
    content = getattr(msg, "content", "")
    if isinstance(content, str) and content:
        return content
    calls = getattr(msg, "tool_calls", None) or []
    if calls:
        return json.dumps(calls[0].get("args", {}), ensure_ascii=False)
    return str(content)


__all__ = ["LLMEngine", "LLMResult", "LLMError", "format_validation_error"]
