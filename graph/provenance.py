"""Provenance: which sources asserted an element, and every value each of them asserted.

An element keeps ``sources`` (one entry per source record) and ``claims`` (per attribute,
one claim per source record). The value the graph shows is chosen from the claims by source
precedence, then recency; the other claims stay, so a disagreement between the household
register and a village survey is never silently overwritten and can be listed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from graph.records import Assertion

# Higher wins when sources disagree. 'manual' is a caseworker's correction over GraphQL.
SOURCE_PRECEDENCE: dict[str, int] = {
    "manual": 100,
    "police_hukou": 80,
    "police_incident": 70,
    "education": 60,
    "health": 50,
    "survey": 40,
}


def _rank(claim: dict[str, Any]) -> tuple[int, str]:
    return SOURCE_PRECEDENCE.get(claim["system"], 0), claim["at"]


@dataclass
class Merged:
    props: dict[str, Any]
    sources: list[dict[str, str]]
    claims: dict[str, list[dict[str, Any]]]
    conflicted: list[str]
    changed: bool

    def encoded(self) -> dict[str, Any]:
        """The row as both adapters store it: system properties JSON-encoded."""
        return {
            **self.props,
            "sources": dump(self.sources),
            "claims": dump(self.claims),
            "conflicted": ",".join(self.conflicted),
        }


def dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def load(text: str | None, empty: Any) -> Any:
    return json.loads(text) if text else empty


def merge(
    existing_sources: list[dict[str, str]],
    existing_claims: dict[str, list[dict[str, Any]]],
    props: dict[str, Any],
    source: Assertion,
) -> Merged:
    """Fold one source record's assertion into an element's provenance.

    A later version of the same source record replaces that record's earlier claims (the
    source changed its own record); claims of other records are kept. ``None`` means the
    record says nothing about the attribute, not that the value is empty. This runs once per
    written record, so the common case (a new element) takes a short path.
    """
    src = source.as_json()
    key = (src["system"], src["record_id"])
    if not existing_sources and not existing_claims:
        claims = {a: [{**src, "value": v}] for a, v in sorted(props.items()) if v is not None}
        return Merged({a: cs[0]["value"] for a, cs in claims.items()}, [src], claims, [], True)

    sources = [s for s in existing_sources if (s["system"], s["record_id"]) != key]
    sources.append(src)
    sources.sort(key=lambda s: (s["system"], s["record_id"]))

    claims = dict(existing_claims)
    for attr, value in props.items():
        if value is None:
            continue
        kept = [c for c in claims.get(attr, ()) if (c["system"], c["record_id"]) != key]
        kept.append({**src, "value": value})
        kept.sort(key=lambda c: (c["system"], c["record_id"]))
        claims[attr] = kept
    claims = dict(sorted(claims.items()))

    resolved: dict[str, Any] = {}
    conflicted: list[str] = []
    for attr, cs in claims.items():
        resolved[attr] = max(cs, key=_rank)["value"] if len(cs) > 1 else cs[0]["value"]
        if len(cs) > 1 and _disagree(cs):
            conflicted.append(attr)

    # An identical assertion made again later is not a change: the element keeps the time
    # its current values were first asserted, and an unchanged element is not rewritten.
    changed = _untimed_sources(sources) != _untimed_sources(existing_sources) or _untimed_claims(
        claims
    ) != _untimed_claims(existing_claims)
    return Merged(resolved, sources, claims, conflicted, changed)


def without(
    sources: list[dict[str, str]], claims: dict[str, list[dict[str, Any]]], drop: set[tuple[str, str]]
) -> Merged:
    """An element's provenance with the given source records taken back.

    What the remaining sources say is chosen again by the same precedence; an attribute no
    remaining source asserts becomes empty. Used when entity resolution moves a source record
    to another person (a merge, or its undoing): its claims leave the person it no longer
    describes and are asserted again on the right one.
    """
    kept_sources = [s for s in sources if (s["system"], s["record_id"]) not in drop]
    kept_claims: dict[str, list[dict[str, Any]]] = {}
    for attr, cs in claims.items():
        kept = [c for c in cs if (c["system"], c["record_id"]) not in drop]
        if kept:
            kept_claims[attr] = kept
    resolved = {a: max(cs, key=_rank)["value"] for a, cs in kept_claims.items()}
    conflicted = [a for a, cs in kept_claims.items() if len(cs) > 1 and _disagree(cs)]
    changed = len(kept_sources) != len(sources) or kept_claims != claims
    return Merged(resolved, kept_sources, kept_claims, conflicted, changed)


def _disagree(cs: list[dict[str, Any]]) -> bool:
    """Whether the claims' values differ as stored (JSON); equal strings, the usual case, are
    settled without encoding (this runs for every attribute two records assert)."""
    first = cs[0]["value"]
    if isinstance(first, str) and all(type(c["value"]) is str and c["value"] == first for c in cs):
        return False
    return len({dump(c["value"]) for c in cs}) > 1


def _untimed_sources(sources: list[dict[str, str]]) -> set[tuple[str, str]]:
    return {(s["system"], s["record_id"]) for s in sources}


def _untimed_claims(
    claims: dict[str, list[dict[str, Any]]],
) -> dict[str, set[tuple[str, str, tuple[str, str]]]]:
    return {
        a: {(c["system"], c["record_id"], _as_stored(c["value"])) for c in cs} for a, cs in claims.items()
    }


def _as_stored(value: Any) -> tuple[str, str]:
    """A value as its JSON text compares (a string as itself, tagged so "1" is not 1)."""
    return ("s", value) if type(value) is str else ("j", dump(value))
