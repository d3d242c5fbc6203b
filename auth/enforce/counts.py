"""Counts that add up: small-count suppression that subtraction does not undo.

A count below the policy's disclosure.min_count is withheld (null) from a role without row access
to the children counted (KeyCount.count, class statistics, mask small_count). Where the counts of one
answer partition a figure the caller also sees — a village's girls and boys and its children, the
townships of a county and the county's children, in distress and not — one withheld cell would be
that figure minus the rest. So a partition with a withheld cell withholds the smallest other cells
too, until the withheld ones add up to min_count at least: what the caller can subtract is then a
sum of two cells or more, neither of them known.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import TypeVar

from auth.enforce.guard import Guard

K = TypeVar("K", bound=Hashable)

_TYPE, _FIELD = "KeyCount", "count"


def withheld(guard: Guard, cells: Mapping[K, int]) -> set[K]:
    """The cells of one partition this caller gets as null: the small counts and, with them, the
    smallest others until the withheld cells add up to min_count (or none is left)."""
    out = {key for key, n in cells.items() if guard.value_withheld(_TYPE, _FIELD, n)}
    if not out or guard.policy is None:
        return out
    floor = guard.policy.min_count
    rest = sorted((n, str(key), key) for key, n in cells.items() if key not in out and n > 0)
    while rest and (len(out) < 2 or sum(cells[key] for key in out) < floor):
        out.add(rest.pop(0)[2])
    return out


def withheld_columns(guard: Guard, rows: Mapping[str, Mapping[str, int]]) -> set[tuple[str, str]]:
    """(row, key) cells withheld from a table whose rows (sub-divisions) add up, key by key, to a
    total the caller sees: each key's column is a partition of that key's total."""
    keys = {key for counts in rows.values() for key in counts}
    out: set[tuple[str, str]] = set()
    for key in keys:
        column = {row: int(counts.get(key, 0)) for row, counts in rows.items()}
        out |= {(row, key) for row in withheld(guard, column)}
    return out


__all__ = ["withheld", "withheld_columns"]
