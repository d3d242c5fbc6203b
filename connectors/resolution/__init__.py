"""Entity resolution: which mentions in which agency records are the same person.

Deterministic on a valid ID number, probabilistic (Splink on DuckDB) otherwise, with
pinyin-aware, surname-aware name comparison; matches below certainty go to a review
queue that caseworkers resolve, and a merge can be undone. See
:mod:`connectors.resolution.resolver` for the method and
:mod:`connectors.resolution.evaluate` for how it is measured.

The public names are imported lazily so that importing the table definitions (which
the migration environment does) does not load pandas, DuckDB or Splink.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from connectors.resolution.resolver import (
        MentionView,
        MergeOutcome,
        ResolutionError,
        ResolverSettings,
        Review,
        get_review,
        merge,
        open_review_count,
        open_reviews,
        person_mentions,
        reject,
        resolve,
        undo_merge,
    )

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
    "resolve",
    "undo_merge",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from connectors.resolution import resolver

        return getattr(resolver, name)
    raise AttributeError(f"module 'connectors.resolution' has no attribute {name!r}")
