"""Finding a child by the sound of the name, as a caseworker hears it on the phone."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from graph.ladybug import LadybugStore
from graph.records import Assertion, NodeRecord
from graph.search import search_people
from kernel.names import name_pinyin


def test_homophones_and_surname_readings_find_the_synced_person(tmp_path: Path) -> None:
    store = LadybugStore(tmp_path / "g.lbug", buffer_pool_mb=128)
    store.init_schema()
    src = Assertion("education", "XJ-9", datetime(2026, 9, 1))
    # Stored the way the connectors store it; 曾 as a surname reads zeng, not ceng.
    store.upsert_nodes(
        [
            NodeRecord(f"person:{key}", {"name": name, "name_pinyin": name_pinyin(name)}, src)
            for key, name in (("a", "曾小明"), ("b", "单丽"))
        ]
    )
    assert [n.id for n in search_people(store, "曾晓明")] == ["person:a"]
    assert [n.id for n in search_people(store, "单莉")] == ["person:b"]
    assert search_people(store, "张三") == []
    store.close()
