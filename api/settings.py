"""Settings: one validated tree that owns every ``LEIAN_*`` variable, built once by the process (the
CLI or the service) and handed down; library code never reads the environment.

The tree is the process's own settings (the index, the service's address and limits) and the typed
parts of the layers that use them: ``ranking`` (``SearchConfig``), ``es`` (``ElasticOptions``) and
``embedding`` (``EmbeddingOptions``). A top-level field ``name`` is ``LEIAN_<NAME>`` and ``name`` in
the config file; a part's fields keep the variables they had before the tree (``PART_VARIABLES``)
and are a table in the file (``[ranking]``, ``[es]``, ``[embedding]``).

Precedence (highest first): explicit arguments (the CLI flags), environment variables, the config
file named by ``LEIAN_CONFIG`` (TOML or JSON), then the defaults below. A part merges key by key:
``--config w_recent=5`` leaves the file's ``[ranking] w_court`` in place.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

from leian.errors import InvalidInput
from leian.indexer.embedding import EmbeddingOptions
from leian.retrieval.backends import BackendKind
from leian.retrieval.backends.elastic import ElasticOptions
from leian.retrieval.search import SearchConfig

MIB = 1024 * 1024

# Each variable of a part: (part, field). An empty variable counts as unset.
PART_VARIABLES: dict[str, tuple[str, str]] = {
    "LEIAN_ES_URL": ("es", "url"),
    "LEIAN_ES_USERNAME": ("es", "username"),
    "LEIAN_ES_PASSWORD": ("es", "password"),
    "LEIAN_ES_API_KEY": ("es", "api_key"),
    "LEIAN_ES_CA_CERTS": ("es", "ca_certs"),
    "LEIAN_ES_TIMEOUT": ("es", "request_timeout"),
    "LEIAN_HOME": ("embedding", "home"),
    "LEIAN_EMBED_RUNTIME": ("embedding", "runtime"),
    "LEIAN_QUERY_PRECISION": ("embedding", "query_precision"),
    "LEIAN_TORCH_THREADS": ("embedding", "threads"),
    "LEIAN_MAVEN_URL": ("embedding", "maven_url"),
}
_VARIABLE_OF = {f"{part}.{field}": name for name, (part, field) in PART_VARIABLES.items()}
# config file keys from before the parts: key -> (part, field)
_FILE_ALIASES: dict[str, tuple[str, str]] = {"es_url": ("es", "url")}


class _PartVariablesSource(PydanticBaseSettingsSource):
    """The parts' fields from their variables (``PART_VARIABLES``)."""

    def get_field_value(self, field, field_name: str):  # pragma: no cover - __call__ is used instead
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, (part, field) in PART_VARIABLES.items():
            if value := os.environ.get(name, "").strip():
                out.setdefault(part, {})[field] = value
        return out


class _ConfigFileSource(PydanticBaseSettingsSource):
    """Values from the file named by ``LEIAN_CONFIG`` (keys as the field names, without the prefix)."""

    def __init__(self, settings_cls: type[BaseSettings]):
        super().__init__(settings_cls)
        self._data = _read_config_file(os.environ.get("LEIAN_CONFIG"))

    def get_field_value(self, field, field_name: str):  # pragma: no cover - __call__ is used instead
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return self._data


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
    data = dict(data.get("leian", data))  # allow a [leian] table
    valid = set(Settings.model_fields) | set(_FILE_ALIASES)
    unknown = sorted(set(data) - valid)
    if unknown:
        raise InvalidInput(
            f"LEIAN_CONFIG={path}: unknown setting(s) {', '.join(unknown)}; valid: {', '.join(sorted(valid))}"
        )
    for key, (part, field) in _FILE_ALIASES.items():
        if key in data:
            data[part] = {field: data.pop(key), **data.get(part, {})}
    return data


class Settings(BaseSettings):
    """Everything a leian process is configured with. Field names double as env names
    (``LEIAN_<NAME>``); the parts' variables are in ``PART_VARIABLES``."""

    model_config = SettingsConfigDict(env_prefix="LEIAN_", extra="forbid", validate_default=True)

    index: str = Field(default="", description="embedded: index directory; elasticsearch: index/alias name")
    backend: BackendKind = BackendKind.embedded
    es: ElasticOptions = Field(default_factory=ElasticOptions)
    embedding: EmbeddingOptions = Field(default_factory=EmbeddingOptions)
    # the ranking every search uses (SearchConfig fields: weights, the court level and recency
    # preferences …); a [ranking] table in the config file, LEIAN_RANKING as JSON, or
    # `--config KEY=VALUE` of search, report, batch, eval and serve
    ranking: SearchConfig = Field(default_factory=SearchConfig)
    progress: bool = True  # the CLI's progress bars on stderr (LEIAN_PROGRESS=0: none)

    # the service (`leian serve`)
    data_dir: Path | None = Field(
        default=None, description="stored reports and batch jobs; default: <index>/../<index name>.service"
    )
    # keys with an office and a role (`leian keys`); default: keys.sqlite in the data directory
    keys_db: Path | None = None
    # the single-user shortcut: each of these keys is an admin of ``api_keys_office``
    api_keys: Annotated[list[str], NoDecode] = Field(default_factory=list)
    api_keys_office: str = Field(default="default", pattern=r"^[\w\u4e00-\u9fff.-]{1,64}$")
    auth_disabled: bool = False
    # per key, unless the key sets its own (`leian keys create --rpm N --max-batches N`); 0: no limit
    requests_per_minute: int = Field(default=600, ge=0)
    max_batches: int = Field(default=2, ge=0, description="batch jobs a key may have queued or running")
    batch_ttl_hours: float = Field(
        default=168.0, gt=0, description="finished batch jobs are deleted after this"
    )
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

    @field_validator("api_keys", mode="before")
    @classmethod
    def _split_keys(cls, v):
        if isinstance(v, str):
            v = v.split(",")
        keys = [k.strip() for k in (v or []) if k and k.strip()]
        if any(len(k) < 8 for k in keys):
            raise InvalidInput("API keys must have at least 8 characters")
        return keys

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            _PartVariablesSource(settings_cls),
            _ConfigFileSource(settings_cls),
        )

    def require_index(self) -> str:
        if not self.index:
            raise InvalidInput("no index given: pass --index DIR (or set LEIAN_INDEX)")
        return self.index

    def resolved_keys_db(self) -> Path:
        return self.keys_db if self.keys_db is not None else self.resolved_data_dir() / "keys.sqlite"

    def resolved_data_dir(self) -> Path:
        if self.data_dir is not None:
            return self.data_dir
        if self.backend is BackendKind.embedded and self.index:
            idx = Path(self.index).resolve()
            return idx.parent / f"{idx.name}.service"
        return Path.cwd() / "leian-service-data"


def load_settings(flags: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Settings with ``overrides`` on top (None, or an empty part, is no override), pydantic's error
    list turned into one readable line that names where the bad value came from: the flag (``flags``
    maps a setting's dotted name to the command-line flag that sets it), the variable, or else the
    setting (the config file, or a default)."""
    given = {k: v for k, v in overrides.items() if v is not None and v != {}}
    try:
        return Settings(**given)
    except ValidationError as e:
        first = e.errors()[0]
        loc = ".".join(str(p) for p in first["loc"]) or "settings"
        got = f"{first['msg']} (got {first.get('input')!r})"
        if flags and loc in flags and _holds(given, first["loc"]):
            raise InvalidInput(f"{flags[loc]}: {got}") from None
        variable = _VARIABLE_OF.get(loc) or (f"LEIAN_{loc.upper()}" if len(first["loc"]) == 1 else None)
        if variable and not _holds(given, first["loc"]) and os.environ.get(variable, "").strip():
            raise InvalidInput(f"{variable}: {got}") from None
        raise InvalidInput(f"setting {loc}: {first['msg']}") from None


def _holds(values: Mapping[str, Any], loc: tuple) -> bool:
    for key in loc:
        if not isinstance(values, Mapping) or key not in values:
            return False
        values = values[key]
    return True
