"""Entity resolution: which mentions in which agency records are the same person.

Deterministic on a valid ID number, probabilistic (Splink on DuckDB) otherwise, with
pinyin-aware, surname-aware name comparison; matches below certainty go to a review
queue that caseworkers resolve, and a merge can be undone. See
:mod:`connectors.resolution.resolver` for the method, :mod:`connectors.resolution.review_queue` and
:mod:`connectors.resolution.review_decisions` for the queue, and
:mod:`connectors.resolution.evaluate` for how it is measured.

The public names are imported lazily so that importing the table definitions (which
the migration environment does) does not load pandas, DuckDB or Splink.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from connectors.resolution.resolver import ResolverSettings, release_population, resolve
    from connectors.resolution.review_decisions import merge, reject, undo_merge
    from connectors.resolution.review_queue import (
        MentionView,
        MergeOutcome,
        Review,
        get_review,
        open_review_count,
        open_reviews,
        person_mentions,
    )
    from connectors.resolution.store import ResolutionError

__all__ = [
    "MentionView",
    "MergeOutcome",
    "ResolutionError",
    "ResolverSettings",
    "Review",
    "get_review",
    "merge",
    "open_review_count",
    "open_reviews",
    "person_mentions",
    "reject",
    "release_population",
    "resolve",
    "undo_merge",
]


# Where each public name lives (a module of this package).
_HOME = {
    "MentionView": "review_queue",
    "MergeOutcome": "review_queue",
    "ResolutionError": "store",
    "ResolverSettings": "resolver",
    "Review": "review_queue",
    "get_review": "review_queue",
    "merge": "review_decisions",
    "open_review_count": "review_queue",
    "open_reviews": "review_queue",
    "person_mentions": "review_queue",
    "reject": "review_decisions",
    "release_population": "resolver",
    "resolve": "resolver",
    "undo_merge": "review_decisions",
}


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(importlib.import_module(f"connectors.resolution.{_HOME[name]}"), name)
    raise AttributeError(f"module 'connectors.resolution' has no attribute {name!r}")
