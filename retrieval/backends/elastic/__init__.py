"""The Elasticsearch backend: the same ``Backend`` interface on a real cluster.

Layout for a logical index ``NAME``::

    NAME              alias -> NAME-<stamp>            cases: tokens, vector, filter fields, record
    NAME-artifacts    alias -> NAME-<stamp>-artifacts  manifest, artifacts (charge model), audit log

Both aliases are swapped in one ``_aliases`` request when a rebuild finishes (``build``); while it
runs, the live artifacts index holds its build lock (``lease``). Scoring agrees with the embedded
backend (``mapping``). Every call is bounded by ``request_timeout`` (``connection``).

Modules: ``options`` (ElasticOptions, index names), ``connection`` (client, errors), ``mapping``
(settings, mappings, documents, filters), ``lease`` (the build lock), ``core`` (the two indices,
manifest), ``reader``, ``artifacts``, ``writer``, ``build``, ``backend`` (ElasticBackend assembled,
open/drop).
"""

from leian.retrieval.backends.elastic.backend import ElasticBackend, drop_elastic, open_elastic
from leian.retrieval.backends.elastic.connection import make_client
from leian.retrieval.backends.elastic.lease import LOCK_ID
from leian.retrieval.backends.elastic.mapping import ELASTIC_FORMAT_VERSION, compile_filters
from leian.retrieval.backends.elastic.options import ElasticOptions, check_name

__all__ = [
    "ELASTIC_FORMAT_VERSION",
    "LOCK_ID",
    "ElasticBackend",
    "ElasticOptions",
    "check_name",
    "compile_filters",
    "drop_elastic",
    "make_client",
    "open_elastic",
]
