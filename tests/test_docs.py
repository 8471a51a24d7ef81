"""Every setting is documented (in the model and in the README's configuration table)."""

from __future__ import annotations

from pathlib import Path

from ehr_bridge.config import Settings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text("utf-8")


def test_every_setting_has_a_description_and_a_readme_row() -> None:
    missing = [
        name for name, field in Settings.model_fields.items()
        if not field.description or f"`EHR_BRIDGE_{name.upper()}`" not in README
    ]
    assert missing == [], "document these settings (python tools/config_table.py prints the table)"


def test_readme_starts_with_the_two_setup_commands() -> None:
    setup = README.split("## Set up", 1)[1]
    commands = [line for line in setup.splitlines() if line.startswith("python3 -m venv")]
    assert commands[:2] == [
        "python3 -m venv .venv && . .venv/bin/activate && pip install -e '.[native]' "
        "&& python tools/build_native.py && ehr-bridge demo",
        "python3 -m venv .venv && . .venv/bin/activate && pip install -e '.[test,native]' "
        "&& python tools/build_native.py && python -m pytest",
    ]
