"""The record-linkage core: Splink (DuckDB backend) scores pairs, a constrained clustering joins them.

It works on a generic record frame (a pandas DataFrame with an integer ``unique_id``) and
a :class:`LinkageSpec` naming the Splink comparisons and blocking rules, so the Chinese
person mentions of :mod:`connectors.resolution.chinese` and the English FEBRL test sets
go through the same code path and the same clustering.

Why not Splink's own connected-components clustering: it merges every pair above the
threshold transitively, so one mention that resembles two siblings glues the siblings
together, and a record with no ID number bridges two people who each carry a different,
valid ID number. :func:`cluster` instead takes edges best first, judges each merge on
the median weight over all scored pairs between the two clusters (a record must agree
with most of a person's records, not just one), refuses a merge that would put two
different identifiers, or two records that cannot be the same person (the father and
the mother named on one survey form), into one cluster, and does not guess between two
identified namesakes that fit a record equally well. Pairs between clusters that score
between the review and the match threshold come back as review candidates rather than
being merged or dropped.

Model parameters (Fellegi-Sunter m and u probabilities and the prior) are a Splink
settings dictionary: :func:`train` estimates them (u by random sampling; m from a label
column when one exists, which for people is the valid ID number, otherwise by
expectation maximisation), and :func:`predict` scores with a stored one.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeGuard

import numpy as np
import pandas as pd

__all__ = [
    "ClusterResult",
    "LinkageSpec",
    "ReviewCandidate",
    "cluster",
    "predict",
    "train",
]

log = logging.getLogger(__name__)

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
    sub = frame[frame[label].notna()]
    if column is not None:
        sub = sub[sub[column].notna()]
    sizes = sub[label].value_counts().to_numpy(dtype=np.int64)
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
        thin = {
            name
            for name, column in spec.comparison_columns.items()
            if label_pairs(frame, spec.label_column, column) < spec.min_label_pairs
        }
        if label_pairs(frame, spec.label_column) >= spec.min_label_pairs:
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


def _model_settings(model: dict[str, Any], spec: LinkageSpec, extra_condition: str | None) -> dict[str, Any]:
    settings = dict(model)
    settings["blocking_rules_to_generate_predictions"] = [
        {"blocking_rule": spec.rule(r, extra_condition), "sql_dialect": "duckdb"} for r in spec.blocking_rules
    ]
    settings["retain_matching_columns"] = False
    settings["retain_intermediate_calculation_columns"] = False
    settings["additional_columns_to_retain"] = []
    settings["linker_uid"] = None
    return settings


_EDGE_COLUMNS = ["unique_id_l", "unique_id_r", "match_weight", "match_probability"]


def predict(
    frame: pd.DataFrame,
    spec: LinkageSpec,
    model: dict[str, Any],
    *,
    threshold: float | None,
    extra_condition: str | None = None,
    pairs: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Score candidate pairs of ``frame`` with ``model``; pairs below ``threshold`` are dropped.

    Candidates are generated by the spec's blocking rules (not the stored model's), each
    ANDed with the spec's pair condition and ``extra_condition`` (the resolver passes
    "one side is new"), or are exactly ``pairs`` (columns ``l``, ``r``) when given.
    Term frequencies are computed from ``frame``, which is why the resolver passes the
    whole population and not only the new mentions. Returns columns ``unique_id_l``,
    ``unique_id_r``, ``match_weight``, ``match_probability``.
    """
    from splink import DuckDBAPI, Linker

    db_api = DuckDBAPI()
    df = db_api.register(frame)
    linker = Linker(
        df, _model_settings(model, spec, extra_condition), log_level=logging.WARNING, validate_settings=False
    )
    if pairs is not None:
        if pairs.empty:
            return pd.DataFrame({c: pd.Series(dtype="float64") for c in _EDGE_COLUMNS})
        blocked = pd.DataFrame(
            {
                "match_key": "0",
                "join_key_l": pairs["l"].to_numpy(dtype=np.int64),
                "join_key_r": pairs["r"].to_numpy(dtype=np.int64),
            }
        )
        linker.table_management.register_blocked_pairs_for_predict(db_api.register(blocked))
    result = linker.inference.predict(threshold_match_probability=threshold, warning_mode="never")
    out = result.as_pandas_dataframe()[_EDGE_COLUMNS]
    result.drop_table_from_database_and_remove_from_cache()
    return out


def link(
    frame: pd.DataFrame,
    spec: LinkageSpec,
    model: dict[str, Any],
    *,
    match_threshold: float,
    review_threshold: float,
    existing: Sequence[str | None] | None = None,
    fresh: np.ndarray | None = None,
    reviewed_pairs: Iterable[tuple[str, str]] = (),
    rejected_pairs: Iterable[tuple[str, str]] = (),
    extra_condition: str | None = None,
    ambiguity_margin: float = 3.0,
    guards: Iterable[tuple[int, int, str]] = (),
    collective: Collective | None = None,
) -> tuple[ClusterResult, pd.DataFrame]:
    """Score and cluster ``frame``: blocked pairs first, then every record against whole candidates.

    Pass one scores the pairs the blocking rules find. A record without an identifier
    usually resembles only some records of the person it belongs to (the register's
    entry has a birth date but no phone, a survey form a phone but no birth date), and
    equally the other records of a namesake may contradict it where the namesake's
    register entry does not. So pass two scores each such record against *every*
    record of each identified person (records sharing an identifier, or an existing
    person) that pass one put in reach, and :func:`cluster` judges a merge on the
    median over all of them.

    With ``fresh`` (the records new to this run; ``extra_condition`` should restrict
    pass one to pairs with a fresh side), only the records that can be affected are
    clustered: the fresh ones, those pass one reached, and every record of the same
    identifier or existing entity as those. The rest keep their entity untouched, and an
    incremental run costs in proportion to what is new rather than to everything known.
    Both passes still score against the whole frame, so term frequencies are the
    population's. Returns the clustering (labels are record indices of the whole frame)
    and all scored edges.

    ``guards`` (record indices of the frame, with a reason) are passed to :func:`cluster`.
    ``collective``, given the first pass's labels over the whole frame, names record pairs
    with a bonus in bits and a reason: evidence from the people around a record. They are
    scored like any pair, the bonus is added, and :func:`cluster` takes them in a second
    round (pairs with a side outside the clustered records are left out).
    """
    n = len(frame)
    identifiers = _column(frame, spec.identifier_column, n)
    first = predict(frame, spec, model, threshold=review_threshold, extra_condition=extra_condition)
    nodes = _affected(n, first, fresh, identifiers, existing) if fresh is not None else np.arange(n)
    anchors = _anchor_members(nodes, identifiers, existing)
    extra = _expansion_pairs(first, anchors, identifiers, _weight(review_threshold))
    if len(extra):
        second = predict(frame, spec, model, threshold=None, pairs=extra)
        edges = pd.concat([first, second], ignore_index=True)
    else:
        edges = first
    position = np.full(n, -1, dtype=np.int64)
    position[nodes] = np.arange(len(nodes))
    local = pd.DataFrame(
        {
            "unique_id_l": position[edges["unique_id_l"].to_numpy(dtype=np.int64)],
            "unique_id_r": position[edges["unique_id_r"].to_numpy(dtype=np.int64)],
            "match_weight": edges["match_weight"].to_numpy(),
        }
    )
    local = local[(local["unique_id_l"] >= 0) & (local["unique_id_r"] >= 0)]
    groups = _column(frame, spec.group_column, n)
    roles = _column(frame, spec.role_column, n)
    keep = nodes.tolist()
    local_guards = [
        (int(position[x]), int(position[y]), reason)
        for x, y, reason in guards
        if position[x] >= 0 and position[y] >= 0
    ]
    second_round = None
    if collective is not None:
        hook = collective

        def second_round(local_labels: np.ndarray) -> tuple[pd.DataFrame, dict[tuple[int, int], str]]:
            return _collective_edges(frame, spec, model, hook, nodes, position, local_labels, existing)

    result = cluster(
        len(nodes),
        local,
        match_threshold=match_threshold,
        review_threshold=review_threshold,
        identifiers=[identifiers[i] for i in keep],
        groups=[groups[i] for i in keep],
        roles=[roles[i] for i in keep],
        compatible_roles=spec.compatible_roles,
        existing=[existing[i] for i in keep] if existing is not None else None,
        reviewed_pairs=reviewed_pairs,
        rejected_pairs=rejected_pairs,
        ambiguity_margin=ambiguity_margin,
        guards=local_guards,
        second_round=second_round,
    )
    labels = np.arange(n, dtype=np.int64)
    labels[nodes] = nodes[result.labels]
    reviews = [
        ReviewCandidate(int(nodes[r.left]), int(nodes[r.right]), r.probability, r.reason)
        for r in result.reviews
    ]
    return ClusterResult(labels=labels, reviews=reviews, refused=result.refused, nodes=nodes), edges


Collective = Callable[[np.ndarray], tuple[pd.DataFrame, dict[tuple[int, int], str]]]
"""Labels over the whole frame → pairs (columns ``l``, ``r``, ``bonus``) and a reason per pair."""


def _collective_edges(
    frame: pd.DataFrame,
    spec: LinkageSpec,
    model: dict[str, Any],
    hook: Collective,
    nodes: np.ndarray,
    position: np.ndarray,
    local_labels: np.ndarray,
    existing: Sequence[str | None] | None,
) -> tuple[pd.DataFrame, dict[tuple[int, int], str]]:
    """Second-round edges in local indices: the hook's pairs, scored, plus their bonus."""
    n = len(frame)
    labels = np.arange(n, dtype=np.int64)
    if existing is not None:
        # Records outside the clustered set keep their existing entity: label them by it.
        first: dict[str, int] = {}
        for i, key in enumerate(existing):
            if _text(key):
                labels[i] = first.setdefault(key, i)
    labels[nodes] = nodes[local_labels]
    pairs, reasons = hook(labels)
    empty = pd.DataFrame({c: pd.Series(dtype="float64") for c in _EDGE_COLUMNS[:3]})
    if not len(pairs):
        return empty, {}
    inside = (position[pairs["l"].to_numpy(dtype=np.int64)] >= 0) & (
        position[pairs["r"].to_numpy(dtype=np.int64)] >= 0
    )
    pairs = pairs[inside]
    if not len(pairs):
        return empty, {}
    scored = predict(frame, spec, model, threshold=None, pairs=pairs[["l", "r"]])
    bonus = {
        ((a, b) if a < b else (b, a)): x
        for a, b, x in zip(pairs["l"].tolist(), pairs["r"].tolist(), pairs["bonus"].tolist(), strict=True)
    }
    left = scored["unique_id_l"].to_numpy(dtype=np.int64)
    right = scored["unique_id_r"].to_numpy(dtype=np.int64)
    extra = np.array(
        [
            bonus.get((a, b) if a < b else (b, a), 0.0)
            for a, b in zip(left.tolist(), right.tolist(), strict=True)
        ]
    )
    out = pd.DataFrame(
        {
            "unique_id_l": position[left],
            "unique_id_r": position[right],
            "match_weight": scored["match_weight"].to_numpy(dtype=np.float64) + extra,
        }
    )
    local_reasons: dict[tuple[int, int], str] = {}
    for (a, b), reason in reasons.items():
        x, y = int(position[a]), int(position[b])
        if x >= 0 and y >= 0:
            local_reasons[(x, y) if x < y else (y, x)] = reason
    return out, local_reasons


def _column(frame: pd.DataFrame, name: str | None, n: int) -> list[str | None]:
    if not name:
        return [None] * n
    return [x if isinstance(x, str) and x else None for x in frame[name].tolist()]


def _affected(
    n: int,
    edges: pd.DataFrame,
    fresh: np.ndarray,
    identifiers: Sequence[str | None],
    existing: Sequence[str | None] | None,
) -> np.ndarray:
    """Fresh records, records pass one reached, and their whole identifier and entity groups."""
    mask = np.asarray(fresh, dtype=bool).copy()
    mask[edges["unique_id_l"].to_numpy(dtype=np.int64)] = True
    mask[edges["unique_id_r"].to_numpy(dtype=np.int64)] = True
    series = [pd.Series(identifiers, dtype="object")]
    if existing is not None:
        series.append(pd.Series(existing, dtype="object"))
    while True:
        before = int(mask.sum())
        for col in series:
            wanted = set(col[mask].dropna())
            if wanted:
                mask |= col.isin(wanted).to_numpy()
        if int(mask.sum()) == before:
            return np.flatnonzero(mask)


def _anchor_members(
    nodes: np.ndarray, identifiers: Sequence[str | None], existing: Sequence[str | None] | None
) -> dict[int, list[int]]:
    """For each of ``nodes``, the records of its identified group (same identifier or entity)."""
    groups: dict[tuple[str, str], list[int]] = {}
    for i in nodes.tolist():
        entity = existing[i] if existing is not None else None
        if _text(entity):
            groups.setdefault(("p", entity), []).append(i)
        ident = identifiers[i]
        if _text(ident):
            groups.setdefault(("i", ident), []).append(i)
    out: dict[int, list[int]] = {}
    for members in groups.values():
        if len(members) < 2:
            continue
        for i in members:
            current = out.get(i)
            out[i] = members if current is None else sorted(set(current) | set(members))
    return out


def _expansion_pairs(
    edges: pd.DataFrame,
    anchors: dict[int, list[int]],
    identifiers: Sequence[str | None],
    min_weight: float,
) -> pd.DataFrame:
    """Pairs (record, member of the other side's identified group) not scored yet."""
    seen = {
        (a, b) if a < b else (b, a)
        for a, b in zip(edges["unique_id_l"].tolist(), edges["unique_id_r"].tolist(), strict=True)
    }
    out: set[tuple[int, int]] = set()
    weights = edges["match_weight"].tolist()
    for a, b, w in zip(edges["unique_id_l"].tolist(), edges["unique_id_r"].tolist(), weights, strict=True):
        if w < min_weight:
            continue
        for x, y in ((a, b), (b, a)):
            members = anchors.get(y)
            if members is None:
                continue
            for m in members:
                if m == x or (identifiers[x] and identifiers[m]):
                    continue
                key = (x, m) if x < m else (m, x)
                if key not in seen:
                    out.add(key)
    if not out:
        return pd.DataFrame({"l": pd.Series(dtype="int64"), "r": pd.Series(dtype="int64")})
    arr = np.array(sorted(out), dtype=np.int64)
    return pd.DataFrame({"l": arr[:, 0], "r": arr[:, 1]})


def _weight(probability: float) -> float:
    """Match weight (log2 odds) of a match probability."""
    p = min(max(probability, 1e-15), 1 - 1e-15)
    return math.log2(p / (1 - p))


def _probability(weight: float) -> float:
    return 1.0 / (1.0 + 2.0 ** (-weight))


@dataclass(frozen=True)
class ReviewCandidate:
    """Two clusters that might be one entity: the best-scoring record pair between them.

    ``probability`` is the linkage score (median pair weight) of the two clusters when
    the decision was made, as a probability.
    """

    left: int
    right: int
    probability: float
    reason: str | None = None


@dataclass
class ClusterResult:
    """``labels[i]`` is record i's cluster (the index of one of its records)."""

    labels: np.ndarray
    reviews: list[ReviewCandidate]
    refused: dict[str, int]  # high-scoring merges refused: identifier / group / rejected / ambiguous / guard
    nodes: np.ndarray | None = None  # the records clustered (None: all); the others kept their entity


AMBIGUOUS = "记录与两个已识别的人同样相符，无法自动判断"
"""Review reason when a record fits two identified people about equally well."""


def _text(x: object) -> TypeGuard[str]:
    """A usable string: pandas hands missing values over as None, NaN or pd.NA."""
    return isinstance(x, str) and bool(x)


class _Clusters:
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
        self.ids: list[set[str] | None] = [{x} if _text(x) else None for x in identifiers]
        self.groups: list[dict[str, set[str]] | None] = [
            {g: {r if _text(r) else ""}} if _text(g) else None for g, r in zip(groups, roles, strict=True)
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


class _Scores:
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


def _clear_winner(
    cl: _Clusters, scores: _Scores, loose: int, target: int, weight: float, margin: float
) -> bool:
    """``loose`` fits ``target`` (at ``weight``) by ``margin`` better than any conflicting rival."""
    members = cl.members[loose]
    seen: set[int] = {loose, target}
    for u in members:
        for v in scores.neighbours.get(u, ()):
            rv = cl.find(v)
            if rv in seen:
                continue
            seen.add(rv)
            if (
                cl.anchored(rv)
                and cl.conflict(target, rv) is not None
                and weight - scores.linkage(members, cl.members[rv]) < margin
            ):
                return False
    return True


def cluster(
    n: int,
    edges: pd.DataFrame,
    *,
    match_threshold: float,
    review_threshold: float,
    identifiers: Sequence[str | None] | None = None,
    groups: Sequence[str | None] | None = None,
    roles: Sequence[str | None] | None = None,
    compatible_roles: frozenset[frozenset[str]] = frozenset(),
    existing: Sequence[str | None] | None = None,
    reviewed_pairs: Iterable[tuple[str, str]] = (),
    rejected_pairs: Iterable[tuple[str, str]] = (),
    ambiguity_margin: float = 3.0,
    guards: Iterable[tuple[int, int, str]] = (),
    second_round: Callable[[np.ndarray], tuple[pd.DataFrame, dict[tuple[int, int], str]]] | None = None,
) -> ClusterResult:
    """Cluster ``n`` records from scored ``edges`` (``unique_id_l/r``, ``match_weight``).

    1. Records of one ``existing`` entity (a key from an earlier run) start as one cluster.
    2. Records sharing an identifier are joined (deterministic linkage).
    3. A cluster with no identifier whose best identified candidate does not beat a
       conflicting second one by ``ambiguity_margin`` bits (two namesakes in one
       village, and nothing on the record to tell them apart) is *ambiguous*: it is not
       merged into either automatically, only proposed for review.
    4. Edges are taken best first. Two clusters merge when the median weight over all
       scored pairs between them reaches ``match_threshold`` (as a probability) and the
       merge would not combine two different identifiers, two incompatible records of
       one group, or two existing entities a reviewer said are different
       (``rejected_pairs``). Other cluster pairs whose median reaches
       ``review_threshold`` become review candidates, except where identifiers, groups or
       a rejection prove them different, and except pairs of existing entities already
       reviewed (``reviewed_pairs``).

    ``guards`` are record pairs ``(x, y, reason)`` that may be one entity but only by a
    reviewer's decision (twins; a record whose identifier was set aside because the rest
    of it contradicts the identifier's holder): a merge that would join them is refused
    and proposed for review with the reason. ``second_round``, given the labels after the
    first pass, returns more scored edges (evidence that only exists once the first pass
    has linked the people around a record, e.g. a parent through the child the form
    names) and a reason per edge; they are taken best first on the same clusters.

    Two existing entities end up in one cluster only when at most one of them holds an
    identifier: an entity known so far only from records without an ID number is
    provisional, and is absorbed when its identified counterpart turns up. The caller
    sees this as one label covering two existing keys.
    """
    none: list[str | None] = [None] * n
    rejected = {frozenset(x) for x in rejected_pairs}
    cl = _Clusters(n, identifiers or none, groups or none, roles or none, compatible_roles, rejected)
    scores = _Scores(edges)
    guard_list = list(guards)
    w_match, w_review = _weight(match_threshold), _weight(review_threshold)
    refused = {"identifier": 0, "group": 0, "rejected": 0, "ambiguous": 0, "guard": 0}

    if existing is not None:
        first: dict[str, int] = {}
        for i, key in enumerate(existing):
            if not _text(key):
                continue
            j = first.setdefault(key, i)
            ri = cl.find(i)
            if j != i:
                ri = cl.union(cl.find(j), ri)
            cl.keys[ri] = {key}
    if identifiers is not None:
        # Records set aside by a guard keep their identifier out of this step: the caller
        # has already removed the identifiers it does not trust.
        by_id: dict[str, int] = {}
        for i, ident in enumerate(identifiers):
            if not _text(ident):
                continue
            j = by_id.setdefault(ident, i)
            if j == i:
                continue
            ra, rb = cl.find(j), cl.find(i)
            if ra == rb:
                continue
            why = cl.conflict(ra, rb)
            if why is None:
                cl.union(ra, rb)
            else:
                refused[why] += 1

    for x, y, reason in guard_list:
        cl.guard(x, y, reason)

    for root in range(n):
        if cl.find(root) != root or cl.anchored(root):
            continue
        candidates: dict[int, float] = {}
        members = cl.members[root]
        for u in members:
            for v in scores.neighbours.get(u, ()):
                rv = cl.find(v)
                if rv != root and rv not in candidates and cl.anchored(rv):
                    candidates[rv] = scores.linkage(members, cl.members[rv])
        if len(candidates) < 2:
            continue
        ranked = sorted(candidates.items(), key=lambda kv: -kv[1])
        best_root, best = ranked[0]
        if best < w_match:
            continue
        rivals = [w for r, w in ranked[1:] if cl.conflict(best_root, r) is not None]
        if rivals and best - rivals[0] < ambiguity_margin:
            cl.ambiguous[root] = True

    pending: list[tuple[int, int, float, str | None]] = []

    def take(frame_: pd.DataFrame, reasons: dict[tuple[int, int], str]) -> None:
        """Judge the edges of ``frame_`` best first; merge, or keep as review candidates."""
        if not len(frame_):
            return
        # Best first; ties broken by record indices, not by the order DuckDB's threads
        # happened to return rows in, so that the same input always clusters the same.
        order = np.lexsort(
            (
                frame_["unique_id_r"].to_numpy(),
                frame_["unique_id_l"].to_numpy(),
                -np.round(frame_["match_weight"].to_numpy(dtype=np.float64), 9),
            )
        )
        left = frame_["unique_id_l"].to_numpy()[order].tolist()
        right = frame_["unique_id_r"].to_numpy()[order].tolist()
        weight = frame_["match_weight"].to_numpy()[order].tolist()
        for a, b, w in zip(left, right, weight, strict=True):
            if w < w_review:
                break
            ra, rb = cl.find(a), cl.find(b)
            if ra == rb:
                continue
            why = cl.conflict(ra, rb)
            if why is not None:
                if w >= w_match:
                    refused[why] += 1
                continue
            avg = scores.linkage(cl.members[ra], cl.members[rb])
            if avg < w_review:
                continue
            reason = reasons.get((a, b) if a < b else (b, a))
            guard = cl.guarded(ra, rb)
            if guard is not None:
                if avg >= w_match:
                    refused["guard"] += 1
                pending.append((a, b, avg, guard))
                continue
            if avg >= w_match:
                blocked = (cl.ambiguous[ra] and not cl.anchored(ra) and cl.anchored(rb)) or (
                    cl.ambiguous[rb] and not cl.anchored(rb) and cl.anchored(ra)
                )
                if blocked and reason is not None:
                    # Second-round evidence (the family) may settle what names could not.
                    loose, target = (ra, rb) if not cl.anchored(ra) else (rb, ra)
                    blocked = not _clear_winner(cl, scores, loose, target, avg, ambiguity_margin)
                if not blocked:
                    cl.union(ra, rb)
                    continue
                refused["ambiguous"] += 1
                reason = reason or AMBIGUOUS
            pending.append((a, b, avg, reason))

    take(edges, {})
    if second_round is not None:
        now = np.fromiter((cl.find(i) for i in range(n)), dtype=np.int64, count=n)
        more, reasons = second_round(now)
        if len(more):
            scores.add(more)
            take(more, reasons)

    labels = np.fromiter((cl.find(i) for i in range(n)), dtype=np.int64, count=n)
    reviewed = {frozenset(x) for x in reviewed_pairs}
    best_pairs: dict[tuple[int, int], ReviewCandidate] = {}
    for a, b, w, cause in pending:
        ra, rb = int(labels[a]), int(labels[b])
        if ra == rb or cl.conflict(ra, rb) is not None:
            continue
        ka, kb = cl.keys[ra] or set(), cl.keys[rb] or set()
        if any(frozenset((x, y)) in reviewed for x in ka for y in kb):
            continue
        pair = (min(ra, rb), max(ra, rb))
        p = _probability(w)
        if pair not in best_pairs or best_pairs[pair].probability < p:
            best_pairs[pair] = ReviewCandidate(
                a, b, p, cause or (best_pairs[pair].reason if pair in best_pairs else None)
            )
    reviews = sorted(best_pairs.values(), key=lambda r: -r.probability)
    return ClusterResult(labels=labels, reviews=reviews, refused=refused)
