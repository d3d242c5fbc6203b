"""Training a linkage model: Fellegi-Sunter m and u probabilities and the prior.

Model parameters are a Splink settings dictionary: :func:`train` estimates them (u by
random sampling; m from a label column when one exists, which for people is the valid ID
number, otherwise by expectation maximisation), :func:`default_model` stands in when the
data is too thin to train on, and :func:`connectors.resolution.scoring.predict` scores
with a stored one. Kept apart from scoring and clustering because it is the only part
that estimates anything.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np
import pandas as pd

from connectors.resolution.spec import LinkageSpec

__all__ = ["default_model", "label_pairs", "train"]


def _linker(frame: pd.DataFrame, settings: Any) -> Any:
    from splink import DuckDBAPI, Linker

    db_api = DuckDBAPI()
    df = db_api.register(frame)
    # Splink logs every step at INFO; the resolver reports its own summary instead. Its
    # settings validation only logs columns a rule names but the frame lacks (the specs'
    # rules are fixed and tested), at about a third of a second per linker.
    return Linker(df, settings, log_level=logging.WARNING, validate_settings=False)


def label_pairs(frame: pd.DataFrame, label: str, column: str | None = None) -> int:
    """Pairs of records sharing a label (and, with ``column``, both having that column)."""
    return _LabelGroups(frame, label).pairs(frame, column)


class _LabelGroups:
    """The label column of a frame as group numbers, for counting the pairs sharing a label.

    Counted with ``np.bincount`` over the group numbers of the records kept, the same
    counts as ``value_counts`` over the label, without copying the frame's rows for each
    comparison column (that was a third of a county's training time).
    """

    def __init__(self, frame: pd.DataFrame, label: str) -> None:
        codes, _ = pd.factorize(frame[label])  # a missing label is -1
        self.codes = np.asarray(codes, dtype=np.int64)
        self.labelled = self.codes >= 0

    def pairs(self, frame: pd.DataFrame, column: str | None = None) -> int:
        keep = self.labelled
        if column is not None:
            keep = keep & frame[column].notna().to_numpy(dtype=bool)
        sizes = np.bincount(self.codes[keep])
        return int((sizes * (sizes - 1) // 2).sum())


def _prior_from_labels(frame: pd.DataFrame, column: str) -> float:
    """P(two random records match), counted from the records that carry a label.

    Σ C(nᵢ, 2) / C(N, 2) over the label groups: the records with an ID number are a
    random enough sample of all records (the number is missing through clerical chance,
    not because of who the person is) for their match rate to stand for everyone's.
    """
    n = int(frame[column].notna().sum())
    if n < 2:
        return 1e-4
    return min(0.5, max(label_pairs(frame, column) / (n * (n - 1) / 2), 1e-12))


def default_model(spec: LinkageSpec, records: int) -> dict[str, Any]:
    """The spec's default parameters as a model, for data too thin to train on.

    The prior is ``default_matches_per_record`` other records of the same entity per
    record, spread over the ``records`` present.
    """
    prior = min(0.5, spec.default_matches_per_record / max(records - 1, 1))
    model: dict[str, Any] = spec.settings(probability_two_random_records_match=prior).create_settings_dict(
        "duckdb"
    )
    _apply_defaults(model, spec, {c["output_column_name"] for c in model["comparisons"]})
    return _adjust(model, spec)


def _apply_defaults(model: dict[str, Any], spec: LinkageSpec, names: set[str]) -> None:
    for comparison in model["comparisons"]:
        name = comparison["output_column_name"]
        defaults = spec.default_parameters.get(name)
        if name not in names or not defaults:
            continue
        for lv in comparison["comparison_levels"]:
            mu = defaults.get(lv.get("label_for_charts", ""))
            if mu is not None and not lv.get("is_null_level"):
                lv["m_probability"], lv["u_probability"] = mu


def train(frame: pd.DataFrame, spec: LinkageSpec, *, seed: int = 1) -> dict[str, Any]:
    """Estimate a model for ``spec`` on ``frame``; returns Splink's settings dictionary.

    u (how often a level occurs between different entities) comes from random record
    pairs. m (how often it occurs between records of one entity) comes from the label
    column when the spec has one, since records sharing a valid ID number are known
    matches and their noise is the same noise as everyone else's; otherwise from
    expectation maximisation on the spec's EM blocking rules. A comparison with fewer
    than ``spec.min_label_pairs`` labelled pairs keeps the spec's default parameters
    (the first batch of a sync may be the household register alone: no person in it
    twice, nobody with a phone). Finally every m is floored at ``spec.m_floor`` and the
    spec's ``fixed_m`` applied: a clean synthetic field (no phone number ever changes)
    would otherwise teach the model that a disagreement is impossible, and one real
    changed phone number would then veto a true match.
    """
    overrides: dict[str, Any] = {}
    if spec.label_column:
        overrides["probability_two_random_records_match"] = _prior_from_labels(frame, spec.label_column)
    linker = _linker(frame, spec.settings(**overrides))
    if not spec.label_column and spec.prior_rules:
        linker.training.estimate_probability_two_random_records_match(
            [spec.rule(r) for r in spec.prior_rules], recall=spec.prior_recall
        )
    linker.training.estimate_u_using_random_sampling(max_pairs=spec.u_sample_pairs, seed=seed)
    thin: set[str] = set()
    if spec.label_column:
        groups = _LabelGroups(frame, spec.label_column)
        thin = {
            name
            for name, column in spec.comparison_columns.items()
            if groups.pairs(frame, column) < spec.min_label_pairs
        }
        if groups.pairs(frame) >= spec.min_label_pairs:
            linker.training.estimate_m_from_label_column(spec.label_column)
        else:
            thin = set(spec.comparison_columns)
    else:
        for rule in spec.em_blocking_rules:
            linker.training.estimate_parameters_using_expectation_maximisation(
                spec.rule(rule), estimate_without_term_frequencies=True
            )
    model: dict[str, Any] = linker.misc.save_model_to_json()
    _apply_defaults(model, spec, thin | _unobserved(model))
    return _adjust(model, spec)


def _unobserved(model: dict[str, Any]) -> set[str]:
    """Comparisons the data said nothing about: no level seen among the random pairs, or none
    among the labelled ones (people's life stage only speaks when a birth date is missing,
    and a batch may have no such pair). Left as they were, every level would get the
    floor m and the smallest u, and the comparison would add twenty bits whatever it found.
    """
    out = set()
    for comparison in model["comparisons"]:
        levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
        u_seen = any(_finite(lv.get("u_probability")) for lv in levels)
        m_seen = any(_finite(lv.get("m_probability")) for lv in levels)
        if not (u_seen and m_seen):
            out.add(comparison["output_column_name"])
    return out


def _finite(x: object) -> bool:
    return isinstance(x, int | float) and math.isfinite(x) and x > 0


def _adjust(model: dict[str, Any], spec: LinkageSpec) -> dict[str, Any]:
    """Apply the m floor and the spec's fixed m values; renormalise m within each comparison."""
    for comparison in model["comparisons"]:
        name = comparison["output_column_name"]
        levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
        for lv in levels:
            fixed = spec.fixed_m.get((name, lv.get("label_for_charts", "")))
            m = lv.get("m_probability")
            if fixed is not None:
                lv["m_probability"] = fixed
            elif m is None or not math.isfinite(m) or m < spec.m_floor:
                lv["m_probability"] = spec.m_floor
            u = lv.get("u_probability")
            if u is None or not math.isfinite(u) or u <= 0:
                # A level never seen among random pairs: as rare as the sample could show.
                lv["u_probability"] = 1.0 / spec.u_sample_pairs
        total = sum(lv["m_probability"] for lv in levels)
        for lv in levels:
            lv["m_probability"] = lv["m_probability"] / total
    return model
