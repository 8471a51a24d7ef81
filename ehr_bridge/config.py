"""The one settings object of ehr-bridge.

Every field can be set by an environment variable with the ``EHR_BRIDGE_`` prefix
(``EHR_BRIDGE_DB``, ``EHR_BRIDGE_LLM_BASE_URL`` ...) or by a TOML file named in
``EHR_BRIDGE_CONFIG`` (keys are the field names). Environment variables win over the file.
The README's "Configuration" section lists every field; ``ehr-bridge config show`` prints
the effective values (secrets masked).
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

DEFAULT_DB_URL = "sqlite:///./ehr_bridge.db"

# Seconds of records per bulk-sync transaction: the setting's default and the sync loop's.
COMMIT_SECONDS = 5.0


class _TomlFileSource(PydanticBaseSettingsSource):
    """Reads the optional TOML file named by ``EHR_BRIDGE_CONFIG``."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        path = os.environ.get("EHR_BRIDGE_CONFIG")
        if not path:
            return {}
        file = Path(path)
        if not file.is_file():
            raise ValueError(f"EHR_BRIDGE_CONFIG names {path!r}, which is not a file")
        with file.open("rb") as fh:
            data = tomllib.load(fh)
        return {k: v for k, v in data.items() if k in self.settings_cls.model_fields}


class Settings(BaseSettings):
    """Effective configuration. Field docs are the reference documentation."""

    model_config = SettingsConfigDict(env_prefix="EHR_BRIDGE_", extra="ignore")

    db: str = Field(
        DEFAULT_DB_URL,
        description="SQLAlchemy URL of the FHIR store. SQLite file by default; "
        "PostgreSQL as postgresql+psycopg://user@host:5432/dbname in production.",
    )
    host: str = Field("127.0.0.1", description="Address `ehr-bridge serve` listens on.")
    port: int = Field(8000, description="Port `ehr-bridge serve` listens on.")
    log_level: str = Field("INFO", description="Python logging level name.")
    jp_core_uri_form: Literal["url", "oid"] = Field(
        "url",
        description="Which JP Core code-system URI form connectors write: 'url' (JP Core 1.2 "
        "URLs) or 'oid' (legacy urn:oid form used by JP-CLINS). Search matches both anyway.",
    )
    page_size: int = Field(50, description="Default FHIR search page size (_count).")
    max_page_size: int = Field(1000, description="Largest _count a client may ask for.")

    # nl2query
    nl_engine: Literal["rules", "llm", "auto"] = Field(
        "auto",
        description="Engine for natural-language questions: 'rules' (deterministic parser only), "
        "'llm' (local LLM only), 'auto' (rules first, LLM when the rules cannot build a plan "
        "and an LLM base URL is set).",
    )
    nl_row_limit: int = Field(1000, description="Most rows an nl2query query may return.")
    nl_user: str = Field("cli", description="User name written to the nl2query audit record.")
    nl_via: Literal["sql", "fhir"] = Field(
        "sql",
        description="Where questions are answered: 'sql' (read-only SQL on the store's flat "
        "views) or 'fhir' (GET-only FHIR R4 searches against nl_fhir_base).",
    )
    nl_fhir_base: str | None = Field(
        None,
        description="FHIR R4 base URL for nl_via='fhir' (our API: http://HOST:PORT/fhir, or a "
        "remote server that supports token :below on the code systems asked about).",
    )
    nl_fhir_timeout_s: float = Field(10.0, description="Timeout of one FHIR search request, s.")
    nl_fhir_max_pages: int = Field(
        50, description="Most pages followed per FHIR search; beyond it the answer is refused."
    )

    # LLM (vLLM or any OpenAI-compatible server)
    llm_base_url: str | None = Field(
        None,
        description="OpenAI-compatible base URL of the local LLM, e.g. http://gpu-host:8001/v1.",
    )
    llm_model: str = Field("local-model", description="Model name as served (vllm serve MODEL).")
    llm_api_key: SecretStr = Field(
        SecretStr("EMPTY"), description="API key for the LLM server (vLLM --api-key)."
    )
    llm_timeout_s: float = Field(60.0, description="Timeout of one LLM request, seconds.")
    llm_max_repairs: int = Field(2, description="Repair rounds fed the validation error.")

    # Scheduler / batch jobs
    scheduler_enabled: bool = Field(
        True, description="Run the APScheduler jobs inside `ehr-bridge serve`."
    )
    jlac_cron: str = Field(
        "0 2 * * *", description="Cron schedule (min hour dom mon dow) of the JLAC re-mapping job."
    )
    jlac_tables_dir: str = Field(
        "./jlac_tables",
        description="Folder of code-book tables imported with `ehr-bridge jlac import-codebook` "
        "(JSLM JLAC10 code book, JLAC11 lists); loaded on top of the shipped tables when present.",
    )
    ssmix2_root: str | None = Field(
        None, description="SS-MIX2 storage root synced on a schedule (unset: no sync job)."
    )
    facility_code: str = Field(
        "",
        description="医療機関コード (10 digits) of this hospital: builds the JP Core patient "
        "identifier system urn:oid:1.2.392.100495.20.3.51.1<code> written by connectors.",
    )
    ssmix2_cron: str = Field("*/10 * * * *", description="Cron schedule of the SS-MIX2 sync job.")
    ssmix2_workers: int = Field(
        0,
        description="Worker processes that read, convert and check SS-MIX2 patient folders "
        "while the main process writes (0: all in one process). Use the number of cores.",
    )
    ssmix2_validate: Literal["full", "sample", "none"] = Field(
        "full",
        description="Checks of converted resources: 'full' (every resource against the FHIR "
        "models; the default: nothing invalid is stored, at ~12 % of bulk-ingest CPU), 'sample' "
        "(cheap structural check of every resource + full validation of one in "
        "ssmix2_sample_every, chosen by id; ~7 % faster, may store a converter defect that "
        "only some inputs trigger), 'none'. Failing records are quarantined.",
    )
    ssmix2_sample_every: int = Field(
        20, description="With ssmix2_validate='sample': fully validate one resource in N."
    )
    pg_write_behind: bool = Field(
        True,
        description="PostgreSQL: a sync's bulk inserts (COPY) are streamed by a background "
        "thread while the next batch converts, in the same transaction and order (a statement "
        "waits for them; the commit waits for them). false: write and convert in turn.",
    )
    ssmix2_commit_seconds: float = Field(
        COMMIT_SECONDS,
        description="SS-MIX2 sync: seconds of records per transaction (also at most 20,000 "
        "records). Longer transactions write far less (each commit writes every index page it "
        "touched), but on SQLite other writers (the MLLP listener, FHIR API writes) wait up to "
        "this long plus one batch. 0: commit every 2,000 records.",
    )
    mllp_host: str = Field("127.0.0.1", description="Address the MLLP listener binds.")
    mllp_port: int = Field(2575, description="Port the MLLP listener binds.")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _TomlFileSource(settings_cls))


def load_settings(**overrides: Any) -> Settings:
    """Settings from file + environment, with explicit overrides (e.g. CLI ``--db``) on top."""
    clean = {k: v for k, v in overrides.items() if v is not None}
    return Settings(**clean)
