"""Schema migrations (Alembic, configured in code: no alembic.ini to ship or find)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

_MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    return cfg


def head_revisions() -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config()).get_heads())


def current_revisions(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads())


def is_up_to_date(engine: Engine) -> bool:
    """True when every head revision (and so everything below it) is applied.

    The database records only the revisions not implied by others (a branch that
    ``depends_on`` the core implies the core), so compare ancestries, not the sets.
    """
    script = ScriptDirectory.from_config(alembic_config())
    current = current_revisions(engine)
    if not current:
        return False
    applied = {rev.revision for rev in script.revision_map.iterate_revisions(tuple(current), "base")}
    return set(script.get_heads()) <= applied


def upgrade(engine: Engine) -> bool:
    """Bring the schema to every head. Returns True when something was applied."""
    if is_up_to_date(engine):
        return False
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "heads")
    return True
