"""Finding people by name the way caseworkers say it: same sound, any homophone characters."""

from __future__ import annotations

from pypinyin import Style, lazy_pinyin

from graph.port import GraphStore
from graph.records import Node


def name_key(name: str) -> str:
    """Toneless pinyin syllables joined by spaces: 张晓明 and 张小明 share 'zhang xiao ming'."""
    return " ".join(lazy_pinyin(name.strip(), style=Style.NORMAL, errors="ignore"))


def search_people(store: GraphStore, name: str, limit: int = 20) -> list[Node]:
    exact = store.find("Person", "name", [name.strip()], limit=limit)
    sounds = store.find("Person", "name_pinyin", [name_key(name)], limit=limit)
    seen: dict[str, Node] = {n.id: n for n in exact}
    for n in sounds:
        seen.setdefault(n.id, n)
    return list(seen.values())[:limit]
