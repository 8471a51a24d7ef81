"""POST /nl/ask: the same JSON as `ehr-bridge ask --json` (CONTRACT §2)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field

JST = timezone(timedelta(hours=9))

router = APIRouter(prefix="/nl", tags=["nl2query"])


class AskRequest(BaseModel):
    question: str = Field(min_length=1, max_length=2000, description="The question, in Japanese.")
    now: str | None = Field(default=None, description="Fix the clock (ISO 8601).")
    user: str | None = Field(default=None, description="User recorded in the audit log.")


@router.post("/ask")
def ask(body: AskRequest, request: Request) -> dict[str, Any]:
    from ehr_bridge.nl_service import answer_question

    try:
        now = datetime.fromisoformat(body.now) if body.now else datetime.now(JST)
    except ValueError:
        raise HTTPException(status_code=400, detail="now must be ISO 8601") from None
    if now.tzinfo is None:
        now = now.replace(tzinfo=JST)
    return answer_question(
        body.question,
        request.app.state.settings,
        now.astimezone(JST),
        user=body.user or "api",
        engine=request.app.state.store.engine,
    )
