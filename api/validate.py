"""The checks of ``retrieval.models`` (Filters, Query) made on a request as it arrives, so that a
batch with one bad case is refused (422) before it is queued, not failed case by case later.

A filter value that can never match (a misspelt 罪名, an unknown province) would silently return
nothing; it is rejected with the reason and the fix instead, and short forms are completed.
"""

from __future__ import annotations

from leian.api.schemas import FiltersIn
from leian.retrieval.models import normalise_charge, normalise_province


def check_request(charges: list[str] | None, filters: FiltersIn) -> None:
    """Normalise in place (short forms to full ones) or raise InvalidInput (422)."""
    if charges:
        charges[:] = [normalise_charge(c, "charges") for c in charges]
    if filters.charge:
        filters.charge = [normalise_charge(c, "filters.charge") for c in filters.charge]
    if filters.province:
        filters.province = [normalise_province(p, "filters.province") for p in filters.province]
