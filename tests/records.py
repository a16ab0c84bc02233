"""Certificate records as tests write them: the facet evidence in region order.

The checker reads a tree certificate's facet and no-facet records in the order of
their regions (it checks each region's hyperplanes once the records move past it)
and rejects any other order.  Tests that forge or mutate the evidence place it in
that order, so that a forgery is judged by the evidence checks, not by its place.
"""

from __future__ import annotations

from typing import Any


def evidence_region(record: Any) -> int | None:
    """The region of a facet or no-facet record (-1 when it names none), else None."""
    if not isinstance(record, dict) or not {"f", "nf"} & set(record):
        return None
    target = record.get("f", record.get("nf"))
    if isinstance(target, list) and target and type(target[0]) is int:
        return target[0]
    return -1


def in_region_order(records: list[Any]) -> list[Any]:
    """``records`` with the trailing block of facet evidence stably sorted by region
    (evidence inside the tree's records stays where it is)."""
    start = len(records)
    while start > 0 and evidence_region(records[start - 1]) is not None:
        start -= 1
    return [*records[:start], *sorted(records[start:], key=evidence_region)]
