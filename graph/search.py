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


SURNAME_SCAN = 50_000  # people read at most when a surname alone is asked for


def search_people(store: GraphStore, name: str, limit: int = 20, within: str | None = None) -> list[Node]:
    """Exact name, then same sound; a surname alone (1–2 characters, no full-name match) finds
    the people of `within` (a division code prefix: the caller's scope) whose name starts with it
    or sounds like it does."""
    exact = store.find("Person", "name", [name.strip()], limit=limit)
    sounds = store.find("Person", "name_pinyin", [name_key(name)], limit=limit)
    seen: dict[str, Node] = {n.id: n for n in exact}
    for n in sounds:
        seen.setdefault(n.id, n)
    short = name.strip()
    if not seen and within and within.isdigit() and 1 <= len(short) <= 2:
        key = name_key(short) + " "
        after: str | None = None
        for _ in range(SURNAME_SCAN // 1000):
            page = store.list_by_division("Person", within, 1000, after)
            for n in page.items:
                own = str(n.props.get("name") or "")
                if own.startswith(short) or str(n.props.get("name_pinyin") or "").startswith(key):
                    seen.setdefault(n.id, n)
            if len(seen) >= limit or not page.has_next:
                break
            after = page.end_cursor
    return list(seen.values())[:limit]
