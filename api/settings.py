"""Service settings: one validated class, read from ``LEIAN_*`` environment variables and an optional
config file, injected into the app as a dependency (tests build their own instance).

Precedence (highest first): explicit constructor arguments (the CLI flags), environment variables,
the config file named by ``LEIAN_CONFIG`` (TOML or JSON), then the defaults below.
"""

from __future__ import annotations

import json
import logging
import os
import tomllib
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

from leian.errors import InvalidInput
from leian.retrieval.search import SearchConfig

log = logging.getLogger("leian.api")

MIB = 1024 * 1024


class BackendKind(StrEnum):
    embedded = "embedded"
    elasticsearch = "elasticsearch"


class _ConfigFileSource(PydanticBaseSettingsSource):
    """Values from the file named by ``LEIAN_CONFIG`` (keys as the field names, without the prefix)."""

    def __init__(self, settings_cls: type[BaseSettings]):
        super().__init__(settings_cls)
        self._data = _read_config_file(os.environ.get("LEIAN_CONFIG"))

    def get_field_value(self, field, field_name: str):  # pragma: no cover - __call__ is used instead
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return {k: v for k, v in self._data.items() if k in self.settings_cls.model_fields}


def _read_config_file(path: str | None) -> dict[str, Any]:
    if not path:
        return {}
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as e:
        raise InvalidInput(f"LEIAN_CONFIG={path}: cannot read the config file ({e.strerror})") from e
    try:
        data = json.loads(raw) if p.suffix.lower() == ".json" else tomllib.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise InvalidInput(f"LEIAN_CONFIG={path}: not valid TOML/JSON ({e})") from e
    data = data.get("leian", data)  # allow a [leian] table
    unknown = sorted(set(data) - set(Settings.model_fields))
    if unknown:
        raise InvalidInput(
            f"LEIAN_CONFIG={path}: unknown setting(s) {', '.join(unknown)}; "
            f"valid: {', '.join(sorted(Settings.model_fields))}"
        )
    return data


class Settings(BaseSettings):
    """Everything the service needs to start. Field names double as env names (``LEIAN_<NAME>``)."""

    model_config = SettingsConfigDict(env_prefix="LEIAN_", extra="forbid", validate_default=True)

    index: str = Field(default="", description="embedded: index directory; elasticsearch: index/alias name")
    backend: BackendKind = BackendKind.embedded
    es_url: str = "http://127.0.0.1:9200"
    data_dir: Path | None = Field(
        default=None, description="stored reports and batch jobs; default: <index>/../<index name>.service"
    )
    api_keys: Annotated[list[str], NoDecode] = Field(default_factory=list)
    auth_disabled: bool = False
    max_body_bytes: int = Field(default=2 * MIB, ge=1024)
    # Ingest and batch requests legitimately carry many judgments at once.
    max_bulk_body_bytes: int = Field(default=32 * MIB, ge=1024)
    default_top_k: int = Field(default=10, ge=1, le=100)
    max_top_k: int = Field(default=100, ge=1, le=1000)
    stats_k: int = Field(default=50, ge=1, le=1000)
    batch_workers: int = Field(default=1, ge=1, le=8)
    max_batch_cases: int = Field(default=10_000, ge=1)
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    # the ranking every search of the service uses (SearchConfig fields: weights, the court level and
    # recency preferences …); a [ranking] table in the config file, LEIAN_RANKING as JSON, or
    # `leian serve --config KEY=VALUE`
    ranking: SearchConfig = Field(default_factory=SearchConfig)

    @field_validator("api_keys", mode="before")
    @classmethod
    def _split_keys(cls, v):
        if isinstance(v, str):
            v = v.split(",")
        return [k.strip() for k in (v or []) if k and k.strip()]

    @model_validator(mode="after")
    def _auth_is_explicit(self):
        # Auth is off only when someone asked for it; an empty key list is a configuration error, not
        # an open service.
        if not self.auth_disabled and not self.api_keys:
            raise InvalidInput(
                "no API keys configured: set LEIAN_API_KEYS=key1,key2 (or api_keys in the config file), "
                "or disable auth explicitly for local use with --no-auth / LEIAN_AUTH_DISABLED=1"
            )
        if any(len(k) < 8 for k in self.api_keys):
            raise InvalidInput("API keys must have at least 8 characters")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _ConfigFileSource(settings_cls))

    def resolved_data_dir(self) -> Path:
        if self.data_dir is not None:
            return self.data_dir
        if self.backend is BackendKind.embedded and self.index:
            idx = Path(self.index).resolve()
            return idx.parent / f"{idx.name}.service"
        return Path.cwd() / "leian-service-data"


def load_settings(**overrides: Any) -> Settings:
    """Build settings, turning pydantic's error list into one readable line (for the CLI)."""
    from pydantic import ValidationError

    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as e:
        first = e.errors()[0]
        ctx = first.get("ctx", {})
        if isinstance(ctx.get("error"), InvalidInput):
            raise ctx["error"] from None
        loc = ".".join(str(p) for p in first["loc"]) or "settings"
        raise InvalidInput(f"setting {loc}: {first['msg']}") from None
