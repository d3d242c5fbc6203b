"""A person a merge absorbed never counts again, however many people the merge queue held.

The same child registered twice (two source records that entity resolution first kept apart, living
in two townships' villages) is classified twice. A graph built from the record after the merge
(``graph rebuild``, or a first load's build) has no node for the absorbed person, and its settlement
(``connectors.projection.merges_built``) queues the merge's people for their derived state, the
absorbed one without a township (its node is gone). Past ``RECLASSIFY_ALL_ABOVE`` queued people the
drain reclassifies the queued townships in bulk: the absorbed child's old row, in a township nobody
else queued lives in, stayed, and ``classificationCounts`` counted the child twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from connectors.projection import merged_people, merges_built, merges_queued, townships_of
from connectors.resolution.tables import ReprojectQueue
from graph.records import NodeRecord
from kernel.db import session
from protection.classification import RECLASSIFY_ALL_ABOVE, drain
from tests.api_fixtures import Api, serve
from tests.contract.test_graph_store import COUNTY, TOWN, VILLAGE, VILLAGE2
from tests.screening_support import HUKOU, Families, away, data, engine_of, store_of

COUNTS = "query($d: String!) { classificationCounts(division: $d) { division counts { key count } } }"
RECOMPUTE = "mutation($d: String!) { recomputeClassification(division: $d) { children } }"
TOWN2 = VILLAGE2[:9] + "000"


@pytest.fixture
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    yield from serve(tmp_path_factory.mktemp("merged-away"))


def _left_behind(api: Api) -> dict[str, int]:
    rows = data(api.gql("civil", COUNTS, {"d": COUNTY}))["classificationCounts"]
    return {r["division"]: {c["key"]: c["count"] for c in r["counts"]}.get("left_behind", 0) for r in rows}


def test_an_absorbed_child_is_not_counted_after_a_large_merge_queue_is_drained(api: Api) -> None:
    store, engine = store_of(api), engine_of(api)
    fam = Families(store, seed=57)
    kept = fam.child(VILLAGE, father=away(), mother=away())
    absorbed = fam.child(VILLAGE2, father=away(), mother=away())  # the same child, a second record
    data(api.gql("civil", RECOMPUTE, {"d": COUNTY}))
    before = _left_behind(api)
    assert before[TOWN2] >= 1 and before[TOWN] >= 1, before

    # A large merge: the two records now one person (`kept`), among others the merge queue holds.
    year = date.today().year
    others = [f"person:merged{i:03d}" for i in range(RECLASSIFY_ALL_ABOVE + 20)]
    store.upsert_nodes(
        [NodeRecord(p, {"division": VILLAGE, "birth_date": f"{year - 40}-01-01"}, HUKOU) for p in others]
    )
    with session(engine) as s:
        for p in [kept, absorbed, *others]:
            s.add(ReprojectQueue(person_key=p.removeprefix("person:")))
        s.commit()
    # The graph built after the merge: the absorbed person's node is gone (its record is the kept
    # person's now); then the build's settlement and the worker's drain.
    top = merges_queued(engine)
    store.retract([absorbed], [(HUKOU.system, HUKOU.record_id)])
    assert store.get_node(absorbed) is None
    assert merges_built(engine, top, townships_of(store, merged_people(engine, top))) == len(others) + 2
    drain(store, engine)

    after = _left_behind(api)
    assert after.get(TOWN2, 0) == before[TOWN2] - 1, (before, after)  # the absorbed child counts no more
    assert after[TOWN] == before[TOWN] and after[COUNTY] == before[COUNTY] - 1, (before, after)
