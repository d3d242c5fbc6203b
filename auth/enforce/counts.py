"""Counts that add up: small-count suppression that subtraction does not undo.

A count below the policy's disclosure.min_count is withheld (null) from a role without row access
to the children counted (KeyCount.count, class statistics, mask small_count). Where the counts of one
answer partition a figure the caller also sees — a village's girls and boys and its children, the
townships of a county and the county's children, in distress and not — one withheld cell would be
that figure minus the rest. So a partition with a withheld cell withholds the smallest other cells
too, until the withheld ones add up to min_count at least: what the caller can subtract is then a
sum of two cells or more, neither of them known.

A count by a category is also a fact of the class the category is derived from (a child seriously
ill: a diagnosis, class health; disabled: class disability). A role that does not read children's
classifications and whose rule for one of those classes is not allow gets that key's small counts
withheld too, whatever it may see of counts: the women's federation reads statistics, not
diagnoses, and a village's one seriously ill child is one.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import TypeVar

from auth.enforce.guard import Guard

K = TypeVar("K", bound=Hashable)

_TYPE, _FIELD = "KeyCount", "count"


Classes = Mapping[str, tuple[str, ...]]
"""The classes of the facts each key of a count is derived from (keys not listed: none)."""


def _refused(guard: Guard, classes: tuple[str, ...]) -> bool:
    """Whether the caller's rule (agency type x role) for any of the classes is not allow. A role
    that reads each child's classification (read_classification, within its row scope) learns
    nothing from a count it could not add up from the rows: only the count's own rule applies."""
    p, policy = guard.principal, guard.policy
    if not classes or not guard.enforcing or p is None or policy is None:
        return False
    if policy.can(p, "read_classification"):
        return False
    for cls in classes:
        try:
            if policy.rule(p.agency_type, p.role, cls) != "allow":
                return True
        except KeyError:  # a type, role or class the policy does not know: not allowed
            return True
    return False


def small(guard: Guard, cells: Mapping[K, int], key_classes: Classes | None = None) -> set[K]:
    """The cells withheld on their own: a small count the caller may not see (KeyCount.count), or
    a small count of a key derived from a class the caller may not see in full."""
    floor = guard.policy.min_count if guard.policy is not None else 0
    classes = key_classes or {}

    def hidden(key: K, n: int) -> bool:
        if guard.value_withheld(_TYPE, _FIELD, n):
            return True
        return 0 < n < floor and _refused(guard, classes.get(str(key), ()))

    return {key for key, n in cells.items() if hidden(key, n)}


def withheld(guard: Guard, cells: Mapping[K, int], key_classes: Classes | None = None) -> set[K]:
    """The cells of one partition this caller gets as null: the small counts and, with them, the
    smallest others until the withheld cells add up to min_count (or none is left). `key_classes`
    names the classes each key's count is derived from (a partition of one key, the rows of a
    table's column: that key's classes for every cell)."""
    out = small(guard, cells, key_classes)
    if not out or guard.policy is None:
        return out
    floor = guard.policy.min_count
    rest = sorted((n, str(key), key) for key, n in cells.items() if key not in out and n > 0)
    while rest and (len(out) < 2 or sum(cells[key] for key in out) < floor):
        out.add(rest.pop(0)[2])
    return out


def withheld_columns(
    guard: Guard, rows: Mapping[str, Mapping[str, int]], key_classes: Classes | None = None
) -> set[tuple[str, str]]:
    """(row, key) cells withheld from a table whose rows (sub-divisions) add up, key by key, to a
    total the caller sees: each key's column is a partition of that key's total."""
    keys = {key for counts in rows.values() for key in counts}
    out: set[tuple[str, str]] = set()
    for key in keys:
        column = {row: int(counts.get(key, 0)) for row, counts in rows.items()}
        classes = {row: key_classes.get(key, ()) for row in column} if key_classes is not None else None
        out |= {(row, key) for row in withheld(guard, column, classes)}
    return out


__all__ = ["Classes", "small", "withheld", "withheld_columns"]
