"""Provenance: which sources asserted an element, and every value each of them asserted.

An element keeps ``sources`` (one entry per source record) and ``claims`` (per attribute,
one claim per source record). The value the graph shows is chosen from the claims by source
precedence, then recency; the other claims stay, so a disagreement between the household
register and a village survey is never silently overwritten and can be listed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graph.records import Assertion
from kernel import jsontext

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
    """Compact, keys sorted, no ASCII escapes: the text every store holds (kernel.jsontext)."""
    return jsontext.dumps_sorted(value)


def load(text: str | None, empty: Any) -> Any:
    return jsontext.loads_bounded(text) if text else empty


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
    system, record_id = src["system"], src["record_id"]
    if not existing_sources and not existing_claims:
        claims = {a: [{**src, "value": v}] for a, v in sorted(props.items()) if v is not None}
        return Merged({a: cs[0]["value"] for a, cs in claims.items()}, [src], claims, [], True)

    # An identical assertion made again later is not a change: the element keeps the time its
    # current values were first asserted, and an unchanged element is not rewritten. Changed means
    # the untimed sources or claims differ: (system, record_id) pairs, and per attribute the
    # (system, record_id, value as stored) triples. Only this record's entries are replaced, so
    # that is: the record was not among the sources, or for an attribute it asserts, its entries
    # there were not exactly one value, the same as stored.
    sources = []
    changed = True
    for s in existing_sources:
        if s["record_id"] == record_id and s["system"] == system:
            changed = False
        else:
            sources.append(s)
    sources.append(src)
    sources.sort(key=_by_record)

    claims = dict(existing_claims)
    for attr, value in props.items():
        if value is None:
            continue
        kept = []
        mine = False  # this record's entries for the attribute, all with the value as stored
        for c in claims.get(attr, ()):
            if c["record_id"] == record_id and c["system"] == system:
                if not changed:
                    old = c["value"]
                    same = (
                        old == value
                        if type(old) is str and type(value) is str
                        else _as_stored(old) == _as_stored(value)
                    )
                    if same:
                        mine = True
                    else:
                        changed = True
            else:
                kept.append(c)
        if not mine:
            changed = True
        kept.append({**src, "value": value})
        kept.sort(key=_by_record)
        claims[attr] = kept
    claims = dict(sorted(claims.items()))

    resolved: dict[str, Any] = {}
    conflicted: list[str] = []
    for attr, cs in claims.items():
        if len(cs) == 1:
            resolved[attr] = cs[0]["value"]
        else:
            resolved[attr] = max(cs, key=_rank)["value"]
            if _disagree(cs):
                conflicted.append(attr)
    return Merged(resolved, sources, claims, conflicted, changed)


def _by_record(entry: dict[str, Any]) -> tuple[str, str]:
    return entry["system"], entry["record_id"]


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


def _as_stored(value: Any) -> tuple[str, str]:
    """A value as its JSON text compares (a string as itself, tagged so "1" is not 1)."""
    return ("s", value) if type(value) is str else ("j", dump(value))
