"""Paging a risk list in a keyed order (a pseudonymised caller's, graph/network.py `_keyed_page`)
across scan windows: every item once, none lost, whatever the page size and the scan budget.

The HTTP tests (tests/test_network_api.py) cover the order on a list shorter than the budget; a
list longer than it is read a window at a time, which a small `_Scan` makes happen here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from graph import network as net
from graph.ladybug import LadybugStore
from graph.model import division_prefix
from tests.test_network_api import TOWN3, township


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LadybugStore]:
    path: Path = tmp_path_factory.mktemp("keyed") / "graph.lbug"
    s = LadybugStore(path, 256)
    s.init_schema()
    township(s)
    yield s
    s.close()


def _order(record_id: str) -> str:
    return hashlib.sha256(b"k" + record_id.encode()).hexdigest()


def _all(store: LadybugStore, which: str, first: int, scan: tuple[int, int] | None, keyed: bool) -> list[str]:
    got: list[str] = []
    after = None
    for _ in range(500):
        s = net._Scan(page=scan[0], max_scanned=scan[1]) if scan else None
        order = _order if keyed else None
        if which == "households":
            page = net.households_without_adults(
                store, division_prefix(TOWN3), date(2026, 6, 1), first, after, lambda n: True, s, order=order
            )
            got += [h.household.id for h in page.items]
        else:
            page = net.children_without_capable_guardian(
                store,
                division_prefix(TOWN3),
                date(2026, 6, 1),
                17,
                first,
                after,
                lambda n: True,
                s,
                order=order,
            )
            got += [c.child.id for c in page.items]
        if not page.has_next:
            return got
        assert page.end_cursor is not None
        after = page.end_cursor
    raise AssertionError("paging did not end")


@pytest.mark.parametrize("which", ["households", "children"])
@pytest.mark.parametrize("first", [1, 3])
@pytest.mark.parametrize("scan", [(2, 5), (3, 7), (500, 20_000)])
def test_keyed_paging_is_complete_across_windows(
    store: LadybugStore, which: str, first: int, scan: tuple[int, int]
) -> None:
    want = _all(store, which, 50, None, keyed=False)
    assert len(want) >= 10 and want == sorted(want)
    got = _all(store, which, first, scan, keyed=True)
    assert len(got) == len(set(got)) and sorted(got) == want, (which, first, scan)
    if scan[1] >= 20_000:  # one window: wholly in the keyed order
        assert got == sorted(want, key=_order)
