from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from scripted_server import Reply, ScriptedOpenAI  # noqa: E402


@pytest.fixture
def scripted() -> Iterator[Callable[..., ScriptedOpenAI]]:
    servers: list[ScriptedOpenAI] = []

    def start(*replies: Reply) -> ScriptedOpenAI:
        srv = ScriptedOpenAI(list(replies)).start()
        servers.append(srv)
        return srv

    yield start
    for srv in servers:
        srv.stop()
