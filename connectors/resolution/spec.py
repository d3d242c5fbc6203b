"""What a linkage problem is, apart from its data and trained parameters: :class:`LinkageSpec`.

The record-linkage core works on a generic record frame (a pandas DataFrame with an
integer ``unique_id``) and a spec naming the Splink comparisons and blocking rules, so the
Chinese person mentions of :mod:`connectors.resolution.chinese` and the English FEBRL test
sets go through the same code path (:mod:`connectors.resolution.training`,
:mod:`connectors.resolution.scoring`, :mod:`connectors.resolution.linking`) and the same
clustering (:mod:`connectors.resolution.clustering`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Blocking", "LinkageSpec", "Parameters"]

Blocking = str
"""A Splink blocking rule as SQL over ``l.`` and ``r.`` (e.g. ``l.dob = r.dob``)."""


Parameters = dict[str, dict[str, tuple[float, float]]]
"""Default (m, u) per comparison output column and level label."""


@dataclass(frozen=True)
class LinkageSpec:
    """Everything about a linkage problem that is not data or trained parameters.

    ``comparisons`` is a factory because Splink's comparison creators are configured in
    place. ``pair_condition`` is ANDed to every blocking rule, for training and
    prediction alike: FEBRL4 uses it to compare only across its two files; people use it
    to skip pairs that both carry an ID number (those are settled deterministically).
    ``identifier_column`` holds a value that is proof of identity when present: equal
    values are linked before any scoring, and a cluster never holds two different ones.
    ``group_column``/``role_column`` name records that cannot be one entity: two records
    with the same group value are distinct unless their roles are in
    ``compatible_roles`` (on one survey form the guardian may be the mother, the father
    never is). ``default_parameters`` stand in for a comparison the data cannot train
    (fewer than ``min_label_pairs`` labelled pairs with both sides present);
    ``comparison_columns`` says which input column makes each comparison non-null.
    """

    name: str
    version: str
    comparisons: Callable[[], list[Any]]
    blocking_rules: tuple[Blocking, ...]
    pair_condition: str | None = None
    identifier_column: str | None = None
    label_column: str | None = None
    em_blocking_rules: tuple[Blocking, ...] = ()
    prior_rules: tuple[Blocking, ...] = ()
    prior_recall: float = 0.8
    group_column: str | None = None
    role_column: str | None = None
    compatible_roles: frozenset[frozenset[str]] = field(default_factory=frozenset)
    m_floor: float = 1e-3
    fixed_m: dict[tuple[str, str], float] = field(default_factory=dict)
    u_sample_pairs: float = 3e6
    default_parameters: Parameters = field(default_factory=dict)
    default_matches_per_record: float = 1.0
    comparison_columns: dict[str, str] = field(default_factory=dict)
    min_label_pairs: int = 200

    def rule(self, rule: Blocking, extra: str | None = None) -> str:
        """A blocking rule with the spec's pair condition (and ``extra``) ANDed on."""
        parts = [f"({rule})"]
        if self.pair_condition:
            parts.append(f"({self.pair_condition})")
        if extra:
            parts.append(f"({extra})")
        return " AND ".join(parts)

    def settings(self, **overrides: Any) -> Any:
        """An untrained Splink ``SettingsCreator`` for this spec (dedupe over one frame)."""
        from splink import SettingsCreator

        kw: dict[str, Any] = {
            "link_type": "dedupe_only",
            "comparisons": self.comparisons(),
            "blocking_rules_to_generate_predictions": [self.rule(r) for r in self.blocking_rules],
            "retain_matching_columns": False,
            "retain_intermediate_calculation_columns": False,
        }
        kw.update(overrides)
        return SettingsCreator(**kw)
