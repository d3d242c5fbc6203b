"""Finding people by name the way caseworkers say it: same sound, any homophone characters."""

from __future__ import annotations

from graph.port import GraphStore
from graph.records import Node
from kernel.names import name_pinyin


def name_key(name: str) -> str:
    """Toneless pinyin, surnames read as surnames (曾 zeng, 单 shan): 张晓明 and 张小明 share
    'zhang xiao ming'. The same function the connectors store Person.name_pinyin with, so a
    spoken name finds what was synced."""
    return name_pinyin(name.strip())


def search_people(store: GraphStore, name: str, limit: int = 20) -> list[Node]:
    exact = store.find("Person", "name", [name.strip()], limit=limit)
    sounds = store.find("Person", "name_pinyin", [name_key(name)], limit=limit)
    seen: dict[str, Node] = {n.id: n for n in exact}
    for n in sounds:
        seen.setdefault(n.id, n)
    return list(seen.values())[:limit]
