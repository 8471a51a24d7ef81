"""fhir_0002 replaces the token lookup index by one ending with res_pk, up and down."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect

from ehr_bridge.store.base import create_engine
from ehr_bridge.store.migrate import alembic_config, upgrade


def _token_indexes(engine) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    return {
        ix["name"]: list(ix["column_names"]) for ix in inspect(engine).get_indexes("fhir_idx_token")
    }


def test_fhir_0002_up_and_down(db_url: str) -> None:
    engine = create_engine(db_url)
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "fhir_0001")
    assert _token_indexes(engine)["ix_fhir_idx_token_lookup"] == [
        "resource_type",
        "param",
        "code",
        "system",
    ]
    assert upgrade(engine) is True
    after = _token_indexes(engine)
    assert "ix_fhir_idx_token_lookup" not in after
    assert after["ix_fhir_idx_token_lookup_pk"] == [
        "resource_type",
        "param",
        "code",
        "res_pk",
        "system",
    ]
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "fhir@fhir_0001")
    back = _token_indexes(engine)
    assert "ix_fhir_idx_token_lookup_pk" not in back and "ix_fhir_idx_token_lookup" in back
    if engine.dialect.name == "postgresql":
        assert "st_fhir_idx_token_key" not in _statistics(engine)
    engine.dispose()


def _statistics(engine) -> set[str]:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return set(
            conn.exec_driver_sql(
                "SELECT stxname FROM pg_statistic_ext WHERE stxnamespace = "
                "(SELECT oid FROM pg_namespace WHERE nspname = current_schema())"
            ).scalars()
        )


def test_statistics_created_on_postgresql(db_url: str) -> None:
    engine = create_engine(db_url)
    upgrade(engine)
    if engine.dialect.name == "postgresql":
        names = _statistics(engine)
        assert {"st_fhir_idx_token_key", "st_fhir_idx_quantity_key"} <= names
    engine.dispose()
