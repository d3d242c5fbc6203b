"""The state :func:`connectors.resolution.clustering.cluster` works on.

:class:`Clusters` is a union-find whose roots carry what a merge must not violate
(identifiers, group roles, reviewers' rejections, guards); :class:`Scores` holds the
pair weights and gives the linkage weight between two clusters (median over their scored
pairs). Kept apart from the algorithm that drives them, so each reads on its own.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TypeGuard

import numpy as np
import pandas as pd


def is_text(x: object) -> TypeGuard[str]:
    """A usable string: pandas hands missing values over as None, NaN or pd.NA."""
    return isinstance(x, str) and bool(x)


class Clusters:
    """Union-find whose roots carry what a merge must not violate, and their members."""

    def __init__(
        self,
        n: int,
        identifiers: Sequence[str | None],
        groups: Sequence[str | None],
        roles: Sequence[str | None],
        compatible: frozenset[frozenset[str]],
        rejected: set[frozenset[str]],
    ) -> None:
        self.parent = list(range(n))
        self.members: list[list[int]] = [[i] for i in range(n)]
        # is_text written out: these run once per clustered record, up to the population a batch.
        self.ids: list[set[str] | None] = [{x} if isinstance(x, str) and x else None for x in identifiers]
        self.groups: list[dict[str, set[str]] | None] = [
            {g: {r if isinstance(r, str) and r else ""}} if isinstance(g, str) and g else None
            for g, r in zip(groups, roles, strict=True)
        ]
        self.keys: list[set[str] | None] = [None] * n
        self.ambiguous: list[bool] = [False] * n
        # Records this cluster may not join automatically (a reviewer may): record → reason.
        self.guards: list[dict[int, str] | None] = [None] * n
        self.compatible = compatible
        self.rejected = rejected

    def find(self, x: int) -> int:
        parent = self.parent
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    def anchored(self, root: int) -> bool:
        """Holds an identifier: it stands for one identified entity."""
        return bool(self.ids[root])

    def conflict(self, a: int, b: int) -> str | None:
        """Why roots ``a`` and ``b`` may not merge, or None."""
        ia, ib = self.ids[a], self.ids[b]
        if ia and ib and ia.isdisjoint(ib):
            return "identifier"
        ka, kb = self.keys[a], self.keys[b]
        if ka and kb and self.rejected:
            for x in ka:
                for y in kb:
                    if x != y and frozenset((x, y)) in self.rejected:
                        return "rejected"
        ga, gb = self.groups[a], self.groups[b]
        if ga and gb:
            if len(ga) > len(gb):
                ga, gb = gb, ga
            for g, roles in ga.items():
                other = gb.get(g)
                if other is None:
                    continue
                for x in roles:
                    for y in other:
                        if x == y or frozenset((x, y)) not in self.compatible:
                            return "group"
        return None

    def guard(self, x: int, y: int, reason: str) -> None:
        """Records ``x`` and ``y`` may end up in one cluster only by a reviewer's decision."""
        for a, b in ((x, y), (y, x)):
            root = self.find(a)
            current = self.guards[root]
            if current is None:
                self.guards[root] = {b: reason}
            else:
                current.setdefault(b, reason)

    def guarded(self, a: int, b: int) -> str | None:
        """Why roots ``a`` and ``b`` must not merge without a reviewer, or None."""
        for x, y in ((a, b), (b, a)):
            gx = self.guards[x]
            if gx:
                for record, reason in gx.items():
                    if self.find(record) == y:
                        return reason
        return None

    def roots(self) -> np.ndarray:
        """``[find(i) for i in range(n)]``, by pointer jumping over the whole parent array at once
        (the clustering asks for every record's root twice a run, over up to the population)."""
        parent = np.asarray(self.parent, dtype=np.int64)
        while True:
            up = parent[parent]
            if np.array_equal(up, parent):
                return parent
            parent = up

    def union(self, a: int, b: int) -> int:
        """Merge roots ``a`` and ``b`` (the caller checked :meth:`conflict`); returns the root."""
        if len(self.members[a]) < len(self.members[b]):
            a, b = b, a
        self.parent[b] = a
        self.members[a].extend(self.members[b])
        self.members[b] = []
        for attr in ("ids", "keys"):
            values: list[set[str] | None] = getattr(self, attr)
            if values[b]:
                values[a] = (values[a] or set()) | values[b]  # type: ignore[operator]
            values[b] = None
        gb = self.groups[b]
        if gb:
            ga = self.groups[a]
            if ga is None:
                self.groups[a] = gb
            else:
                for g, roles in gb.items():
                    ga.setdefault(g, set()).update(roles)
        self.groups[b] = None
        self.ambiguous[a] = self.ambiguous[a] or self.ambiguous[b]
        gd = self.guards[b]
        if gd:
            self.guards[a] = {**gd, **(self.guards[a] or {})}
        self.guards[b] = None
        return a


class Scores:
    """Pair weights, and the linkage weight between two clusters (median over their scored pairs)."""

    def __init__(self, edges: pd.DataFrame) -> None:
        self.weight: dict[tuple[int, int], float] = {}
        self.neighbours: dict[int, list[int]] = {}
        for a, b, w in zip(
            edges["unique_id_l"].tolist(),
            edges["unique_id_r"].tolist(),
            edges["match_weight"].tolist(),
            strict=True,
        ):
            key = (a, b) if a < b else (b, a)
            old = self.weight.get(key)
            if old is None:
                self.neighbours.setdefault(a, []).append(b)
                self.neighbours.setdefault(b, []).append(a)
            if old is None or w > old:
                self.weight[key] = w

    def add(self, edges: pd.DataFrame) -> None:
        """More scored pairs; a pair already scored keeps the higher weight."""
        weight = self.weight
        for a, b, w in zip(
            edges["unique_id_l"].tolist(),
            edges["unique_id_r"].tolist(),
            edges["match_weight"].tolist(),
            strict=True,
        ):
            key = (a, b) if a < b else (b, a)
            old = weight.get(key)
            if old is None:
                self.neighbours.setdefault(a, []).append(b)
                self.neighbours.setdefault(b, []).append(a)
            if old is None or w > old:
                weight[key] = w

    def linkage(self, xs: Sequence[int], ys: Sequence[int]) -> float:
        """Median weight over the scored pairs between ``xs`` and ``ys`` (-inf if none).

        The median and not the mean: one member with a mistyped name would drag a mean
        down by several bits, though every other record of the person agrees; a real
        contradiction (another phone number, another birth date) shows in most members.
        """
        if len(xs) > len(ys):
            xs, ys = ys, xs
        weight = self.weight
        found: list[float] = []
        for x in xs:
            for y in ys:
                w = weight.get((x, y) if x < y else (y, x))
                if w is not None:
                    found.append(w)
        if not found:
            return -math.inf
        found.sort()
        mid = len(found) // 2
        return found[mid] if len(found) % 2 else (found[mid - 1] + found[mid]) / 2
