"""The client, and its errors as leian's: every call bounded by ``request_timeout``, a cluster that is
down or slow raises ``BackendUnavailable``, never hangs.

``elasticsearch`` is imported where it is used: it takes about 0.3 s, which only an Elasticsearch
index should pay (``leian.retrieval.backends`` imports this package for every backend).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from leian.errors import (
    BackendError,
    BackendUnavailable,
    IndexMissing,
    InvalidInput,
    LeianError,
    Unauthorized,
)
from leian.retrieval.backends.elastic.options import ElasticOptions


def make_client(options: ElasticOptions):
    """An ``Elasticsearch`` client whose every call is bounded by ``options.request_timeout``."""
    from elasticsearch import Elasticsearch  # heavy: see the module docstring

    kw: dict[str, Any] = {
        "request_timeout": options.request_timeout,
        "max_retries": 1,  # one quick retry on a dropped connection; timeouts are not retried
        "retry_on_timeout": False,
        "verify_certs": options.verify_certs,
    }
    if options.username is not None and options.password is not None:
        kw["basic_auth"] = (options.username, options.password.get_secret_value())
    if options.api_key is not None:
        kw["api_key"] = options.api_key.get_secret_value()
    if options.ca_certs:
        kw["ca_certs"] = options.ca_certs
    if not options.verify_certs:
        kw["ssl_show_warn"] = False
    return Elasticsearch(options.url, **kw)


def reason(body: Any) -> str:
    """The useful part of an Elasticsearch error body: type and reason of the root cause."""
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict):
            root = (err.get("root_cause") or [err])[0]
            caused = err.get("caused_by") or {}
            msg = f"{root.get('type', 'error')}: {root.get('reason', '')}"
            if caused and caused.get("reason") and caused.get("reason") not in msg:
                msg += f" ({caused.get('type', '')}: {caused['reason']})"
            return msg
        if err is not None:
            return str(err)
    return str(body)[:500]


@contextlib.contextmanager
def translated(url: str, what: str, index: str = "") -> Iterator[None]:
    """Map client exceptions to leian's hierarchy, with the URL and the fix in the message."""
    # heavy: see the module docstring
    from elastic_transport import ConnectionError as TConnectionError
    from elastic_transport import ConnectionTimeout, SerializationError, TransportError
    from elasticsearch import ApiError, UnsupportedProductError

    try:
        yield
    except LeianError:
        raise
    except ConnectionTimeout as e:
        raise BackendUnavailable(
            f"Elasticsearch at {url} did not answer in time ({what}): {e.message}; "
            "the cluster is overloaded or stuck — check it, or raise the request timeout"
        ) from None
    except TConnectionError as e:
        raise BackendUnavailable(
            f"Elasticsearch at {url} is unreachable ({what}): {e.message}; "
            "start it (scripts/start-elasticsearch) or check --es-url"
        ) from None
    except UnsupportedProductError as e:
        raise BackendError(f"{url} is not an Elasticsearch server ({what}): {e.message}") from None
    except ApiError as e:
        status, why = e.meta.status, reason(e.body)
        if status == 404 and "index_not_found" in why:
            raise IndexMissing(
                f"Elasticsearch index {index or '?'} does not exist at {url} ({what}); build it with "
                f"`leian index CORPUS --backend elasticsearch --es-url {url} --index NAME`"
            ) from None
        if status == 401 or (status == 403 and "security_exception" in why):
            raise Unauthorized(
                f"Elasticsearch at {url} refused the credentials ({what}): {why}; "
                "check --es-user/--es-password or --es-api-key"
            ) from None
        if status == 429 or status >= 500:
            raise BackendUnavailable(
                f"Elasticsearch at {url} failed ({what}, HTTP {status}): {why}"
            ) from None
        if "too_many" in why and "clause" in why.lower() or "maxClauseCount" in why:
            raise InvalidInput(
                f"the query has more distinct terms than Elasticsearch accepts ({why}); "
                "shorten the facts or raise indices.query.bool.max_clause_count"
            ) from None
        raise BackendError(f"Elasticsearch at {url} rejected {what} (HTTP {status}): {why}") from None
    except SerializationError as e:
        raise BackendError(f"Elasticsearch at {url} returned an unreadable answer ({what}): {e}") from None
    except TransportError as e:
        raise BackendUnavailable(f"Elasticsearch at {url} failed ({what}): {e.message}") from None


def aliases(client, url: str, alias: str) -> dict[str, list[str]]:
    """Concrete index -> the aliases named ``alias`` it holds ({} when there is no such alias)."""
    with translated(url, "alias lookup", alias):
        resp = client.options(ignore_status=404).indices.get_alias(name=alias)
    body = dict(resp)
    if resp.meta.status == 404:
        return {}
    return {concrete: sorted((v or {}).get("aliases", {})) for concrete, v in body.items()}


def get_doc(client, url: str, index: str, doc_id: str, what: str) -> dict | None:
    """A document by id (real-time, needs no refresh); None when absent; IndexMissing without the index."""
    with translated(url, what, index):
        resp = client.options(ignore_status=404).get(index=index, id=doc_id)
    body = dict(resp)
    if body.get("found"):
        return body
    if "error" in body:
        raise IndexMissing(f"Elasticsearch index {index} does not exist at {url} ({what}): {reason(body)}")
    return None
