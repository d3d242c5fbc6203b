"""A caseworker's decision on a proposed match, carried through to the graph.

The review queue itself (:mod:`connectors.resolution.review_decisions`) changes only the links between
source records and people; a decision is finished when the graph shows the people as the links
now say, so every merge and undo re-projects exactly the people it changed.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from connectors.resolution.review_decisions import merge, reject, undo_merge
from connectors.resolution.review_queue import MergeOutcome, Review
from graph.port import GraphStore


@dataclass(frozen=True)
class Decision:
    outcome: MergeOutcome
    reprojected: int  # source records asserted again


def _reproject(engine: Engine, graph: GraphStore, outcome: MergeOutcome) -> Decision:
    from connectors.pipeline import Pipeline
    from connectors.sources import ConnectorsConfig

    if not outcome.changed_keys:
        return Decision(outcome, 0)
    report = Pipeline(engine, graph, ConnectorsConfig()).reproject(outcome.changed_keys)
    return Decision(outcome, sum(s.received for s in report.sources))


def merge_match(engine: Engine, graph: GraphStore, review_id: int, decided_by: str) -> Decision:
    """The two mentions are one person: link them, and show one person in the graph. The graph's
    writer is taken first (`GraphStore.writer`): an API mutation waits for it a bounded time and is
    refused with nothing saved, never after the links moved (the graph would not show them, and
    the review item, no longer open, could not be sent again)."""
    with graph.writer():
        return _reproject(engine, graph, merge(engine, review_id, decided_by))


def undo_match_merge(engine: Engine, graph: GraphStore, merge_id: int, decided_by: str) -> Decision:
    """Take a merge back, in the links and in the graph (the writer taken first, as `merge_match`)."""
    with graph.writer():
        return _reproject(engine, graph, undo_merge(engine, merge_id, decided_by))


def reject_match(engine: Engine, review_id: int, decided_by: str) -> Review:
    """The two mentions are different people; the graph already shows them apart."""
    return reject(engine, review_id, decided_by)
