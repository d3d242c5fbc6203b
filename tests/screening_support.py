"""Shared helpers for the screening, visit, reporting and statistics tests: synthetic families.

People are generated from a seeded random source (made-up names from character lists,
dates only): nothing resembles a real person, and the same seed gives the same families.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from typing import Any

import httpx

from graph.model import node_id
from graph.port import GraphStore
from graph.records import Assertion, NodeRecord, RelRecord
from kernel import clock
from tests.api_fixtures import Api

HUKOU = Assertion("police_hukou", "HK-SYN", datetime(2026, 3, 1, 9, 0))
SURVEY = Assertion("survey", "SV-SYN", datetime(2026, 4, 2, 15, 30))
HEALTH = Assertion("health", "FHIR-SYN", datetime(2026, 4, 3, 10, 0))
SCHOOL = Assertion("education", "XJ-SYN", datetime(2026, 4, 5, 8, 0))
_SURNAMES = "甲乙丙丁戊己庚辛壬癸"
_GIVEN = "子丑寅卯辰巳午未申酉戌亥"


def store_of(api: Api) -> GraphStore:
    return api.client.app.state.graph  # type: ignore[no-any-return,attr-defined]


def engine_of(api: Api) -> Any:
    return api.client.app.state.sql  # type: ignore[attr-defined]


def data(resp: httpx.Response) -> dict[str, Any]:
    body = resp.json()
    assert not body.get("errors"), body.get("errors")
    return body["data"]


def error(resp: httpx.Response) -> dict[str, Any]:
    body = resp.json()
    assert body.get("errors"), body
    return body["errors"][0]


class Families:
    """Writes synthetic children with parents, guardians and events into the graph."""

    def __init__(self, store: GraphStore, seed: int) -> None:
        self.store = store
        self.rng = random.Random(seed)
        self.seed = seed
        self.n = 0

    def name(self) -> str:
        return self.rng.choice(_SURNAMES) + "".join(self.rng.choice(_GIVEN) for _ in range(2))

    def birth(self, age: int, as_of: date | None = None) -> str:
        as_of = as_of or clock.today()
        return (as_of - timedelta(days=365 * age + self.rng.randint(30, 300))).isoformat()

    def key(self, prefix: str) -> str:
        self.n += 1
        return f"syn{self.seed}n{self.n:04d}{prefix}"

    def child(
        self,
        division: str,
        *,
        age: int = 9,
        sex: str = "M",
        hukou: str = "rural",
        father: dict[str, Any] | None = None,
        mother: dict[str, Any] | None = None,
        guardian: dict[str, Any] | None = None,
        guardian_id: str | None = None,
        **props: Any,
    ) -> str:
        """A child and the given parents/guardian (each a dict of Person properties)."""
        cid = node_id("Person", self.key("c"))
        nodes = [
            NodeRecord(
                cid,
                {
                    "name": self.name(),
                    "birth_date": self.birth(age),
                    "sex": sex,
                    "hukou_type": hukou,
                    "division": division,
                    **props,
                },
                HUKOU,
            )
        ]
        rels = []
        for role, spec in (("father", father), ("mother", mother)):
            if spec is None:
                continue
            pid = node_id("Person", self.key(role[0]))
            nodes.append(NodeRecord(pid, {"name": self.name(), "division": division, **spec}, HUKOU))
            rels.append(RelRecord("PARENT_OF", pid, cid, {"role": role}, HUKOU))
        if guardian is not None or guardian_id is not None:
            gid = guardian_id or node_id("Person", self.key("g"))
            if guardian is not None:
                nodes.append(NodeRecord(gid, {"name": self.name(), "division": division, **guardian}, SURVEY))
            rels.append(RelRecord("GUARDIAN_OF", gid, cid, {"kind": "entrusted"}, SURVEY))
        self.store.upsert_nodes(nodes)
        self.store.upsert_rels(rels)
        return cid

    def event(self, child: str, label: str, props: dict[str, Any], source: Assertion = HEALTH) -> str:
        eid = node_id(label, self.key("e"))
        self.store.upsert_nodes([NodeRecord(eid, props, source)])
        self.store.upsert_rels([RelRecord("CONCERNS", eid, child, {}, source)])
        return eid


def away() -> dict[str, Any]:
    return {"works_away": True, "work_destination": "广东"}
