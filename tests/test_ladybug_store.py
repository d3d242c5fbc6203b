"""LadybugDB-specific behaviour beside the shared contract: the store reopening itself."""

from __future__ import annotations

from pathlib import Path

from graph.ladybug import LadybugStore
from tests.contract.test_graph_store import family


def test_reopening_between_transactions_keeps_every_write(tmp_path: Path) -> None:
    store = LadybugStore(tmp_path / "g.lbug", buffer_pool_mb=128)
    store.init_schema()
    store.reopen_after_writes = 1  # reopen after every committed write
    family(store)
    family(store)
    stats = store.stats()
    assert stats["nodes"]["Person"] == 5
    assert stats["relationships"]["PARENT_OF"] == 4
    assert store.neighbourhood("person:child", 1).nodes.keys() >= {"person:father", "person:granny"}
    store.close()
