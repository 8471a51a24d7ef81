"""The dependency rule of DESIGN.md: mappings imports nothing of ours; connectors and nl2query
may import mappings (not each other, not ehr_bridge); only ehr_bridge imports them all."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = {"ehr_bridge", "connectors", "nl2query", "mappings"}
ALLOWED = {
    "mappings": {"mappings"},
    "connectors": {"connectors", "mappings"},
    "nl2query": {"nl2query", "mappings"},
    "ehr_bridge": OURS,
}


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text("utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found & OURS


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_dependency_rule(package: str) -> None:
    violations = []
    for path in sorted((ROOT / package).rglob("*.py")):
        bad = imported_packages(path) - ALLOWED[package]
        if bad:
            violations.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert violations == []
