"""How the runner cuts its graph writes into graph transactions.

LadybugDB keeps the pool pages of every statement of a transaction pinned until the transaction
ends, so neither a batch's upsert nor the re-projection of the people automatic merges queued is
written in one transaction: a batch goes in parts of about ``graph_tx_records`` records
(:func:`record_parts`), queued people ``REPROJECT_CHUNK`` at a time (:class:`Reprojected` holds what
one such transaction leaves for the relational side to record). Apart from the runner: how a
write is cut, and what the cut was measured to cost, reads without the runner's steps around it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from graph.records import NodeRecord, RelRecord

# Queued people re-projected per graph transaction (see Pipeline._batch). Measured on the synced
# 60,000-person county, 110 people queued before a survey batch (no checkpoint between them): 10 a
# transaction took 6.3 s in all, and one transaction grew the pool's use by up to 250 MB; 40 a
# transaction 470 MB; all 110 in one 1.9 s and 670 MB. Bigger saves per-transaction reads (the
# resolver's known mentions, the records' latest rows) but spends pool the batch's own
# transaction needs.
REPROJECT_CHUNK = 10


@dataclass
class Reprojected:
    """One graph transaction of queued re-projections, committed, not yet recorded."""

    queue_ids: list[int]
    mark: tuple[str, int]
    stale: dict[str, str | None]
    projected: dict[int, str]


def record_parts(
    nodes: list[NodeRecord], rels: list[RelRecord], size: int
) -> list[tuple[list[NodeRecord], list[RelRecord]]]:
    """Nodes then relationships in parts of about ``size`` records (at least one part, empty when
    there is nothing), every element's records whole in one part, in their order."""
    node_groups: dict[str, list[NodeRecord]] = defaultdict(list)
    for n in nodes:
        node_groups[n.id].append(n)
    rel_groups: dict[str, list[RelRecord]] = defaultdict(list)
    for r in rels:
        rel_groups[r.id].append(r)
    parts: list[tuple[list[NodeRecord], list[RelRecord]]] = [([], [])]
    for group in node_groups.values():
        if parts[-1][0] and len(parts[-1][0]) + len(group) > size:
            parts.append(([], []))
        parts[-1][0].extend(group)
    for rel_group in rel_groups.values():
        held = len(parts[-1][0]) + len(parts[-1][1])
        if held and held + len(rel_group) > size:
            parts.append(([], []))
        parts[-1][1].extend(rel_group)
    return parts
