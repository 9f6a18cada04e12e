"""How to reach the cluster and how to lay out an index, and which index names are valid."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from leian.errors import InvalidInput

_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,150}$")


class ElasticOptions(BaseModel):
    """How to reach the cluster and how to lay out an index (one validated settings record)."""

    model_config = ConfigDict(extra="forbid")

    url: str = "http://127.0.0.1:9200"
    username: str | None = None
    password: SecretStr | None = None
    api_key: SecretStr | None = None  # base64 "id:key", as Elasticsearch prints it
    ca_certs: str | None = None  # PEM file of the CA that signed the cluster's certificate
    verify_certs: bool = True
    request_timeout: float = Field(default=10.0, gt=0, le=600)  # every search/get/admin call
    bulk_timeout: float = Field(default=120.0, gt=0, le=3600)  # one bulk request
    max_retries: int = Field(default=3, ge=0, le=10)  # bulk: 429/5xx/connection errors, with backoff
    initial_backoff: float = Field(default=0.5, ge=0, le=60)
    shards: int = Field(default=1, ge=1, le=1024)
    replicas: int = Field(default=0, ge=0, le=16)
    refresh: Literal["true", "false", "wait_for"] = "wait_for"  # visibility of incremental writes
    bulk_docs: int = Field(default=200, ge=1, le=10_000)
    bulk_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    vector_index: Literal["hnsw", "int8_hnsw", "flat", "int8_flat"] = "hnsw"
    knn_candidates_factor: float = Field(default=10.0, ge=1.0)  # num_candidates = factor * k (>= 100)
    swap_grace_s: float = Field(default=2.0, ge=0, le=600)  # old index lives this long after a swap

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        v = v.strip().rstrip("/")
        if not re.match(r"^https?://[^/\s]+", v):
            raise InvalidInput(f"--es-url {v!r} is not an http(s) URL; e.g. http://127.0.0.1:9200")
        return v

    @model_validator(mode="after")
    def _auth(self) -> ElasticOptions:
        if (self.username is None) != (self.password is None):
            raise InvalidInput("Elasticsearch basic auth needs both a user name and a password")
        if self.api_key is not None and self.username is not None:
            raise InvalidInput("give either an Elasticsearch API key or a user and password, not both")
        return self


def check_name(name: str) -> str:
    """Logical index names become Elasticsearch index and alias names: lower case, no separators."""
    if not _NAME_RE.match(name or "") or name.endswith("-artifacts") or name in (".", ".."):
        raise InvalidInput(
            f"invalid Elasticsearch index name {name!r}: use lower-case letters, digits, '-', '_' or '.', "
            "starting with a letter or digit, at most 151 characters, not ending in '-artifacts'"
        )
    return name
